"""Initialisers shared by the Mamba-style mixers (ssm_rl/layers/selective.py and ssd.py)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def inverse_softplus(y: jax.Array) -> jax.Array:
    """`x` with `softplus(x) = y` (y > 0)."""
    return y + jnp.log(-jnp.expm1(-y))


def symmetric_uniform(bound: float) -> nn.initializers.Initializer:
    """Initialiser drawing from U[-bound, bound]."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def dt_bias(dt_min: float, dt_max: float, floor: float) -> nn.initializers.Initializer:
    """Bias `b` with `softplus(b)` log-uniform in [dt_min, dt_max], floored at `floor`."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
        log_dt = jax.random.uniform(key, shape, dtype, np.log(dt_min), np.log(dt_max))
        return inverse_softplus(jnp.maximum(jnp.exp(log_dt), floor))

    return init
