"""Action spaces -> policy output layers producing a distribution (`agents.common.distributions`).

`ActionHead.for_space(space)` reads a gymnax action space:

- `Discrete(n)` -> `Categorical` over n logits;
- `envs.spaces.MultiDiscrete(nvec)` -> `MultiCategorical` (independent components);
- `Box(low, high, (d,))` -> a Gaussian with a learned, state-independent `log_std[d]`:
  `squash="clip"` (default) a diagonal Gaussian whose raw samples the env clips to the Box,
  `squash="tanh"` a `TanhGaussian` whose samples lie inside the Box (bounds must be finite).

`env_action(space, action)` maps a sampled action to what the environment accepts (samples
clipped to the Box; the unclipped sample is what the log-probability refers to).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from agents.common.distributions import (
    Categorical,
    Distribution,
    MultiCategorical,
    TanhGaussian,
    diag_gaussian,
)
from envs.spaces import MultiDiscrete

ACTION_KINDS = ("discrete", "multi_discrete", "continuous")
SQUASHES = ("clip", "tanh")  # how a continuous head meets the Box


class ActionHead(nn.Module):
    """Features `[*batch, F]` -> a distribution over actions.

    kind: one of `ACTION_KINDS`; sizes: `(n,)`, `nvec` or `(d,)`; the final layer is
    initialised with a small orthogonal scale (`init_scale`) so the initial policy is near
    uniform / near zero-mean. Continuous heads: `squash` one of `SQUASHES`, and for "tanh"
    the Box bounds `low`, `high` (`d` floats each).
    """

    kind: str
    sizes: tuple[int, ...]
    init_scale: float = 0.01
    log_std_init: float = 0.0
    squash: str = "clip"
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @staticmethod
    def for_space(space: Any, squash: str = "clip", **options: Any) -> ActionHead:
        """The head of a gymnax action space; `squash` applies to a Box (ValueError if it is
        not one of `SQUASHES`, or "tanh" with an unbounded Box)."""
        kind, sizes = action_kind(space)
        if squash not in SQUASHES:
            raise ValueError(f"action squash {squash!r} is not one of {list(SQUASHES)}")
        if kind != "continuous" or squash == "clip":
            return ActionHead(kind=kind, sizes=sizes, **options)
        low, high = (np.broadcast_to(np.asarray(b, np.float64), sizes) for b in
                     (space.low, space.high))
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ValueError(f"a tanh-squashed Gaussian needs a bounded Box; this one has "
                             f"low={low.tolist()}, high={high.tolist()} (use squash=clip)")
        return ActionHead(kind=kind, sizes=sizes, squash=squash, low=tuple(low.tolist()),
                          high=tuple(high.tolist()), **options)

    @nn.compact
    def __call__(self, features: jax.Array) -> Distribution:
        init = nn.initializers.orthogonal(self.init_scale)
        outputs = int(np.sum(self.sizes)) if self.kind == "multi_discrete" else self.sizes[0]
        out = nn.Dense(outputs, kernel_init=init, bias_init=nn.initializers.zeros)(features)
        if self.kind == "discrete":
            return Categorical(out)
        if self.kind == "multi_discrete":
            return MultiCategorical(out, tuple(self.sizes))
        log_std = self.param(
            "log_std", nn.initializers.constant(self.log_std_init), (self.sizes[0],)
        )
        if self.squash == "tanh":
            return TanhGaussian(out, log_std, jnp.asarray(self.low), jnp.asarray(self.high))
        return diag_gaussian(out, log_std)


def action_kind(space: Any) -> tuple[str, tuple[int, ...]]:
    """`(kind, sizes)` of a gymnax action space; TypeError for unsupported spaces."""
    if isinstance(space, spaces.Discrete):
        return "discrete", (int(space.n),)
    if isinstance(space, MultiDiscrete):
        return "multi_discrete", tuple(int(n) for n in space.nvec)
    if isinstance(space, spaces.Box) and len(space.shape) <= 1:
        return "continuous", (int(np.prod(space.shape)),)
    raise TypeError(
        f"unsupported action space {space!r}: expected Discrete, MultiDiscrete or a 0/1-D Box"
    )


def env_action(space: Any, action: jax.Array) -> jax.Array:
    """The action to pass to the environment: Box samples clipped (and reshaped) to the space."""
    if isinstance(space, spaces.Box):
        clipped = jnp.clip(action, jnp.asarray(space.low), jnp.asarray(space.high))
        return clipped.reshape(action.shape[: action.ndim - 1] + tuple(space.shape))
    return action
