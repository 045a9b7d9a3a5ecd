"""Action spaces -> policy output layers producing a distribution (`agents.common.distributions`).

`ActionHead.for_space(space)` reads a gymnax action space:

- `Discrete(n)` -> `Categorical` over n logits;
- `envs.spaces.MultiDiscrete(nvec)` -> `MultiCategorical` (independent components);
- `Box(low, high, (d,))` -> `DiagGaussian` with a learned, state-independent `log_std[d]`.

`env_action(space, action)` maps a sampled action to what the environment accepts (Gaussian
samples are clipped to the Box; the unclipped sample is what the log-probability refers to).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from agents.common.distributions import Categorical, DiagGaussian, Distribution, MultiCategorical
from envs.spaces import MultiDiscrete

ACTION_KINDS = ("discrete", "multi_discrete", "continuous")


class ActionHead(nn.Module):
    """Features `[*batch, F]` -> a distribution over actions.

    kind: one of `ACTION_KINDS`; sizes: `(n,)`, `nvec` or `(d,)`; the final layer is
    initialised with a small orthogonal scale (`init_scale`) so the initial policy is near
    uniform / near zero-mean.
    """

    kind: str
    sizes: tuple[int, ...]
    init_scale: float = 0.01
    log_std_init: float = 0.0

    @staticmethod
    def for_space(space: Any, **options: Any) -> ActionHead:
        kind, sizes = action_kind(space)
        return ActionHead(kind=kind, sizes=sizes, **options)

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
        return DiagGaussian(out, jnp.broadcast_to(log_std, out.shape))


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
