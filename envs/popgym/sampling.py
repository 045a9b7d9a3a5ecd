"""Uniform choice among the True entries of a mask, from one uniform number (cheap under vmap).

`jax.random.choice(p=...)` or Gumbel-argmax draw one random number per entry; on CPU the
random-number generation then dominates the auto-reset of board and maze envs, so we draw one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def uniform_true_index(u: jax.Array, mask: jax.Array) -> jax.Array:
    """Index (int32) of the `floor(u * count)`-th True entry of flat bool `mask[n]`, u ~ U[0, 1).

    Each True entry is equally likely. `mask` must hold at least one True.
    """
    count = jnp.sum(mask, dtype=jnp.int32)
    rank = jnp.minimum(jnp.floor(u * count).astype(jnp.int32), count - 1)  # u * count may round up
    return jnp.sum(jnp.cumsum(mask, dtype=jnp.int32) <= rank, dtype=jnp.int32)
