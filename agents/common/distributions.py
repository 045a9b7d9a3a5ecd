"""Action distributions, built on distrax: categorical, multi-categorical, diagonal Gaussian and
tanh-squashed Gaussian.

Every distribution holds its parameters with arbitrary leading batch axes `[*batch]` and offers
distrax's `sample(seed=key)`, `log_prob(action)`, `entropy()` and `mode()`, returning `[*batch]`
(plus the event axis for actions). distrax distributions are pytrees, so they pass through
`jit`, `vmap` and `lax.scan`.

- `Categorical(logits[*batch, n])`: distrax's, actions int32 `[*batch]`.
- `MultiCategorical(logits[*batch, sum(nvec)], nvec)`: independent categoricals side by side;
  log-probability and entropy of the joint are the sums over components; actions int32
  `[*batch, k]`.
- `diag_gaussian(mean[*batch, d], log_std)`: distrax's `MultivariateNormalDiag`; actions are
  the raw samples (the environment clips them to its Box).
- `TanhGaussian(mean, log_std, low, high)`: `low + (high - low) (tanh(u) + 1) / 2` with
  `u ~ N(mean, exp(log_std)^2)`, a `distrax.Transformed` through `Tanh` and an affine map, so
  samples lie inside the Box. Its entropy has no closed form; `entropy()` is that of the
  Gaussian before squashing (the usual bonus for squashed policies). `log_prob` clips actions
  a hair inside the bounds, where `atanh` is finite.
"""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp

Categorical = distrax.Categorical

# Actions are clipped this fraction of the half-width inside the Box before `atanh`.
SQUASH_MARGIN = 1e-6


def diag_gaussian(mean: jax.Array, log_std: jax.Array) -> distrax.MultivariateNormalDiag:
    """Gaussian with diagonal covariance, `mean[*batch, d]`, `log_std` broadcastable to it."""
    return distrax.MultivariateNormalDiag(mean, jnp.broadcast_to(jnp.exp(log_std), mean.shape))


class MultiCategorical(distrax.Distribution):
    """Independent categoricals over `nvec = (n_0, ..., n_{k-1})` from `logits[*batch,
    sum(nvec)]` (the components' logits side by side)."""

    def __init__(self, logits: jax.Array, nvec: tuple[int, ...]):
        super().__init__()
        self.logits = logits
        self.nvec = tuple(int(n) for n in nvec)

    def _components(self) -> list[distrax.Categorical]:
        bounds = [0]
        for n in self.nvec:
            bounds.append(bounds[-1] + n)
        return [distrax.Categorical(logits=self.logits[..., lo:hi])
                for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (len(self.nvec),)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.logits.shape[:-1]

    def _sample_n(self, key: jax.Array, n: int) -> jax.Array:
        keys = jax.random.split(key, len(self.nvec))
        parts = zip(self._components(), keys, strict=True)
        return jnp.stack([c.sample(seed=k, sample_shape=n) for c, k in parts], axis=-1)

    def log_prob(self, value: jax.Array) -> jax.Array:
        return sum(c.log_prob(value[..., i]) for i, c in enumerate(self._components()))

    def entropy(self) -> jax.Array:
        return sum(c.entropy() for c in self._components())

    def mode(self) -> jax.Array:
        return jnp.stack([c.mode() for c in self._components()], axis=-1)


class TanhGaussian(distrax.Distribution):
    """`u ~ N(mean[*batch, d], exp(log_std)^2)` squashed into `[low, high]` by tanh."""

    def __init__(self, mean: jax.Array, log_std: jax.Array, low: jax.Array, high: jax.Array):
        super().__init__()
        self.gaussian = diag_gaussian(mean, log_std)
        self.low, self.high = jnp.asarray(low, mean.dtype), jnp.asarray(high, mean.dtype)
        to_box = distrax.ScalarAffine(shift=(self.high + self.low) / 2,
                                      scale=(self.high - self.low) / 2)
        self.squashed = distrax.Transformed(
            self.gaussian, distrax.Block(distrax.Chain([to_box, distrax.Tanh()]), 1))

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.gaussian.event_shape

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.gaussian.batch_shape

    def _sample_n(self, key: jax.Array, n: int) -> jax.Array:
        return self.squashed.sample(seed=key, sample_shape=n)

    def log_prob(self, value: jax.Array) -> jax.Array:
        margin = SQUASH_MARGIN * (self.high - self.low) / 2
        return self.squashed.log_prob(jnp.clip(value, self.low + margin, self.high - margin))

    def entropy(self) -> jax.Array:
        return self.gaussian.entropy()

    def mode(self) -> jax.Array:
        return self.squashed.bijector.forward(self.gaussian.mode())


Distribution = distrax.Distribution
