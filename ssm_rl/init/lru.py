"""LRU initialisers (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long
Sequences"), in JAX so they serve as Flax parameter initialisers.

Eigenvalues are parameterised as `λ = exp(-exp(ν_log) + i exp(θ_log))`, so |λ| < 1 always.
Ring init: |λ|^2 uniform in [r_min^2, r_max^2] (uniform by area on the ring) and the phase
uniform in [0, max_phase]. The input normalisation `γ = sqrt(1 - |λ|^2)` makes the stationary
state variance of a state driven by white noise equal to the variance of its input:
`E|h|^2 = γ^2 sum_k |λ|^(2k) E|Bu|^2 = E|Bu|^2`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def check_radii(r_min: float, r_max: float) -> None:
    """ValueError unless `0 <= r_min < r_max < 1`."""
    if not 0.0 <= r_min < r_max < 1.0:
        raise ValueError(f"need 0 <= r_min < r_max < 1, got r_min={r_min!r}, r_max={r_max!r}")


def check_phase(max_phase: float) -> None:
    """ValueError unless `max_phase > 0`."""
    if not max_phase > 0.0:
        raise ValueError(f"max_phase must be > 0 (radians), got {max_phase!r}")


def nu_log_init(key: jax.Array, num_states: int, r_min: float, r_max: float) -> jax.Array:
    """`nu_log[P]` float32: |λ|^2 = r_min^2 + U (r_max^2 - r_min^2), nu_log = log(-log|λ|)."""
    check_radii(r_min, r_max)
    u = jax.random.uniform(key, (num_states,), jnp.float32)
    mag_sq = jnp.maximum(r_min**2 + u * (r_max**2 - r_min**2), 1e-12)
    return jnp.log(-0.5 * jnp.log(mag_sq))


def theta_log_init(key: jax.Array, num_states: int, max_phase: float) -> jax.Array:
    """`theta_log[P]` float32 with phase = exp(theta_log) = max_phase U."""
    check_phase(max_phase)
    u = jax.random.uniform(key, (num_states,), jnp.float32)
    return jnp.log(jnp.maximum(max_phase * u, 1e-12))


def lru_lambda(nu_log: jax.Array, theta_log: jax.Array) -> jax.Array:
    """`λ = exp(-exp(nu_log) + i exp(theta_log))`, complex64."""
    return jnp.exp(jax.lax.complex(-jnp.exp(nu_log), jnp.exp(theta_log)))


def gamma_log_init(nu_log: jax.Array) -> jax.Array:
    """`log γ = log sqrt(1 - |λ|^2)` with `|λ| = exp(-exp(nu_log))`."""
    # 1 - |λ|^2 = -expm1(-2 exp(ν)), accurate for |λ| close to 1.
    return 0.5 * jnp.log(-jnp.expm1(-2.0 * jnp.exp(nu_log)))
