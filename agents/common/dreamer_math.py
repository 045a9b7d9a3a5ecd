"""DreamerV3 numerics shared by world-model agents: symlog, two-hot, λ-returns, return scale.

- `symlog(x) = sign(x) log(1 + |x|)`, `symexp` its inverse: squash targets of unknown scale.
- Two-hot: a scalar `y` between bins `b_k <= y < b_{k+1}` becomes weights
  `(b_{k+1} - y) / (b_{k+1} - b_k)` on `b_k` and the rest on `b_{k+1}`; a categorical head over
  the bins is trained by cross-entropy against it and read out as the expected bin value.
  `TwoHot` does this in symlog space (DreamerV3's reward and value heads).
- `lambda_returns`: `R_t = r_t + γ c_t ((1 - λ) v_{t+1} + λ R_{t+1})`, bootstrapped by `v_H`.
- `ReturnScale`: an EMA of the 5th-95th percentile range of returns; advantages are divided
  by `max(1, range)` (DreamerV3's percentile return normalisation).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
from flax import struct


def symlog(x: jax.Array) -> jax.Array:
    """`sign(x) log(1 + |x|)`, elementwise."""
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x: jax.Array) -> jax.Array:
    """`sign(x) (exp(|x|) - 1)`, the inverse of `symlog`."""
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


def twohot(y: jax.Array, bins: jax.Array) -> jax.Array:
    """Two-hot weights of `y[...]` over sorted `bins[K]` -> `[..., K]` (sums to 1).

    Values outside `[bins[0], bins[-1]]` put all weight on the nearest end bin.
    """
    y = jnp.clip(y, bins[0], bins[-1])
    upper = jnp.clip(jnp.searchsorted(bins, y, side="right"), 1, bins.shape[0] - 1)
    lower = upper - 1
    width = bins[upper] - bins[lower]
    w_upper = jnp.clip((y - bins[lower]) / width, 0.0, 1.0)
    num = bins.shape[0]
    return jax.nn.one_hot(lower, num) * (1.0 - w_upper)[..., None] + jax.nn.one_hot(
        upper, num
    ) * w_upper[..., None]


@struct.dataclass
class TwoHot:
    """Two-hot categorical over `bins` in symlog space (DreamerV3: 255 bins on [-20, 20]).

    Values are measured in `unit`s: `loss(logits, y)` is the cross-entropy against
    `twohot(symlog(y / unit))` and `mean(logits)` is `unit * symexp(Σ softmax(logits) bins)`.
    With unit 1 this is DreamerV3's head; a task whose rewards are +-1/104 (POPGym RepeatFirst)
    needs unit ~1/104, or its targets land 94 % on the zero bin and the sign barely moves the
    loss. Shapes: `logits[..., K]`, `y[...]`.
    """

    bins: jax.Array
    unit: float = struct.field(pytree_node=False, default=1.0)

    @classmethod
    def create(
        cls, num_bins: int = 255, low: float = -20.0, high: float = 20.0, unit: float = 1.0
    ) -> TwoHot:
        if num_bins < 2 or not low < high:
            raise ValueError(
                f"TwoHot needs num_bins >= 2 and low < high, got {num_bins}, {low}, {high}"
            )
        if not unit > 0:
            raise ValueError(f"TwoHot unit must be > 0, got {unit!r}")
        return cls(bins=jnp.linspace(low, high, num_bins, dtype=jnp.float32), unit=float(unit))

    @property
    def num_bins(self) -> int:
        return self.bins.shape[0]

    def loss(self, logits: jax.Array, y: jax.Array) -> jax.Array:
        """Cross-entropy `-Σ twohot(symlog(y / unit)) log softmax(logits)`, shape `[...]`."""
        target = jax.lax.stop_gradient(twohot(symlog(y / self.unit), self.bins))
        return -jnp.sum(target * jax.nn.log_softmax(logits, axis=-1), axis=-1)

    def mean(self, logits: jax.Array) -> jax.Array:
        """Expected value `unit * symexp(Σ_k p_k b_k)`, shape `[...]`."""
        return self.unit * symexp(jnp.sum(jax.nn.softmax(logits, axis=-1) * self.bins, axis=-1))


def lambda_returns(
    reward: jax.Array, cont: jax.Array, value: jax.Array, gamma: float, lam: float
) -> jax.Array:
    """λ-returns over an imagined horizon, time-major.

    Args:
      reward: `[H, *batch]`, reward of step t (after action t).
      cont: `[H, *batch]`, probability that the episode goes on after step t.
      value: `[H + 1, *batch]`, critic values of states 0..H.
    Returns:
      `R[H, *batch]` with `R_t = r_t + γ c_t ((1 - λ) v_{t+1} + λ R_{t+1})`, `R_H := v_H`.
    """
    chex.assert_equal_shape([reward, cont])
    if value.shape != (reward.shape[0] + 1, *reward.shape[1:]):
        raise ValueError(f"value needs H + 1 = {reward.shape[0] + 1} steps of the reward's "
                         f"batch {reward.shape[1:]}, got {value.shape}")

    def backward(next_return, inputs):
        r_t, c_t, v_next = inputs
        ret = r_t + gamma * c_t * ((1.0 - lam) * v_next + lam * next_return)
        return ret, ret

    _, returns = jax.lax.scan(backward, value[-1], (reward, cont, value[1:]), reverse=True)
    return returns


@struct.dataclass
class ReturnScale:
    """EMA of the 5th and 95th return percentiles; `scale = max(1, p95 - p5)`."""

    low: jax.Array
    high: jax.Array

    @classmethod
    def create(cls) -> ReturnScale:
        return cls(low=jnp.zeros((), jnp.float32), high=jnp.zeros((), jnp.float32))

    def update(self, returns: jax.Array, decay: float = 0.99) -> ReturnScale:
        flat = jax.lax.stop_gradient(returns).reshape(-1)
        low, high = jnp.percentile(flat, 5.0), jnp.percentile(flat, 95.0)
        return ReturnScale(
            low=decay * self.low + (1.0 - decay) * low,
            high=decay * self.high + (1.0 - decay) * high,
        )

    @property
    def scale(self) -> jax.Array:
        return jnp.maximum(1.0, self.high - self.low)
