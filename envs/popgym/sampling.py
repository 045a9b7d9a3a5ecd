"""Discrete uniform choices from uniform floats u ~ U[0, 1).

`jax.random.choice(p=...)` or Gumbel-argmax draw one random number per entry; on CPU the
random-number generation then dominates the auto-reset of board and maze envs. Drawing all of a
reset's uniforms in one `jax.random.uniform` call and mapping them here is cheaper to run, and
to compile (each random call site costs ~0.3 s of XLA:CPU compile).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def uniform_int(u: jax.Array, n: jax.Array | int) -> jax.Array:
    """Uniform int32 in [0, n) from u ~ U[0, 1): `floor(u * n)`, kept below n (it may round up)."""
    return jnp.minimum(jnp.floor(u * n).astype(jnp.int32), jnp.asarray(n, jnp.int32) - 1)


def uniform_true_index(u: jax.Array, mask: jax.Array) -> jax.Array:
    """Index (int32) of a uniformly chosen True entry of flat bool `mask[n]`, u ~ U[0, 1).

    `mask` must hold at least one True.
    """
    rank = uniform_int(u, jnp.sum(mask, dtype=jnp.int32))
    return jnp.sum(jnp.cumsum(mask, dtype=jnp.int32) <= rank, dtype=jnp.int32)
