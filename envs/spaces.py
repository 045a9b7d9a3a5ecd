"""Spaces beyond gymnax's own: a jittable MultiDiscrete.

gymnax ships Discrete, Box, Dict and Tuple; POPGym uses MultiDiscrete for observations
(e.g. Battleship's hit/miss flags) and actions (Battleship's row/column), so we add it here
with the same `sample` / `contains` contract. It is an integer `Box` (low 0, high nvec - 1,
int32) to everything that knows only gymnax's spaces, so gymnax's wrappers (e.g.
`GymnaxToGymWrapper`, which converts it to a gymnasium integer Box) accept it; code of this
project tests for MultiDiscrete before Box.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments.spaces import Box


class MultiDiscrete(Box):
    """Integer vector `x[k]` with `0 <= x[i] < nvec[i]`, dtype int32.

    `flat_n` is the size of the flattened single categorical (`prod(nvec)`), used by agents
    that need one categorical action (see `envs.wrappers.FlattenMultiDiscreteAction`).
    """

    def __init__(self, nvec: Sequence[int], dtype=jnp.int32):
        nvec = np.asarray(nvec, dtype=np.int64)
        if nvec.ndim != 1 or nvec.size == 0 or np.any(nvec <= 0):
            raise ValueError(
                f"MultiDiscrete nvec must be a non-empty 1-D list of positive ints, got {nvec!r}"
            )
        super().__init__(np.zeros(nvec.size, np.int32), (nvec - 1).astype(np.int32),
                         (int(nvec.size),), dtype)
        self.nvec = nvec

    def __repr__(self) -> str:
        return f"MultiDiscrete({self.nvec.tolist()})"

    @property
    def flat_n(self) -> int:
        return int(np.prod(self.nvec))

    def sample(self, key: jax.Array) -> jax.Array:
        u = jax.random.uniform(key, self.shape)
        return jnp.floor(u * jnp.asarray(self.nvec, jnp.float32)).astype(self.dtype)

    def contains(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.all((x >= 0) & (x < jnp.asarray(self.nvec)))

    def unflatten(self, index: jax.Array) -> jax.Array:
        """Flat categorical index in [0, flat_n) -> multi-index `[k]` (row-major, last fastest)."""
        strides = np.concatenate([np.cumprod(self.nvec[::-1])[::-1][1:], [1]])
        digits = (index[..., None] // jnp.asarray(strides)) % jnp.asarray(self.nvec)
        return digits.astype(self.dtype)

    def flatten(self, x: jax.Array) -> jax.Array:
        """Multi-index `[..., k]` -> flat index (inverse of `unflatten`)."""
        strides = np.concatenate([np.cumprod(self.nvec[::-1])[::-1][1:], [1]])
        return jnp.sum(jnp.asarray(x) * jnp.asarray(strides), axis=-1).astype(self.dtype)


class CountsActions:
    """Mixin for envs: gymnax's `num_actions` from `action_space(default_params)` — `n` of a
    Discrete space, the flattened size `prod(nvec)` of a MultiDiscrete, the width of a Box."""

    @property
    def num_actions(self) -> int:
        space = self.action_space(self.default_params)
        if isinstance(space, MultiDiscrete):
            return space.flat_n
        if hasattr(space, "n"):
            return int(space.n)
        return int(np.prod(space.shape))
