"""LRU: the Linear Recurrent Unit (Orvieto et al. 2023), with in-sequence resets.

H = d_model inputs/outputs, P = `state_size` complex states, all parameters real:

    λ = exp(-exp(nu_log) + i exp(theta_log))          (|λ| < 1 by construction)
    γ = exp(gamma_log)                                 (init sqrt(1 - |λ|^2), then trained)
    h_t = λ ⊙ where(reset_t, 0, h_{t-1}) + γ ⊙ (B u_t)
    y_t = Re(C h_t) + D ⊙ u_t                          (no factor 2: no conjugate halving)

Init (`ssm_rl.init.lru`): |λ|^2 uniform in [r_min^2, r_max^2], phase uniform in
[0, max_phase]; B complex with Re, Im ~ N(0, 1/(2H)) and C complex with Re, Im ~ N(0, 1/P)
(the paper's Glorot-like choice: unit-variance B u per state, O(1) outputs); D ~ N(0, 1).

Defaults for RL: r_min = 0.9, r_max = 0.999 (memory timescales 1/(1 - |λ|) of ~10 to ~1000
steps, the paper's long-range setting; its generic default is r_min = 0, r_max = 1) and
max_phase = 2π (the paper's default; it uses π/10 only for its longest-range tasks).

Parameters (float32): nu_log, theta_log, gamma_log [P]; D [H];
B [H, 2, P] with B[h, 0, p] = Re B[p, h], B[h, 1, p] = Im B[p, h];
C [2, P, H] with C[0, p, h] = Re C[h, p], C[1, p, h] = Im C[h, p].
So `B u` is one real matmul `u[N, H] @ B[H, 2P]` and `Re(C h)` is `[Re h, -Im h] @ C[2P, H]`.
Carry: `[*batch, P]` complex64.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssm_rl.init.lru import (
    check_phase,
    check_radii,
    gamma_log_init,
    lru_lambda,
    nu_log_init,
    theta_log_init,
)
from ssm_rl.memory import Memory, register_layer
from ssm_rl.scan import BACKENDS, resettable_scan, resettable_step


@register_layer("lru")
class LRU(Memory):
    """LRU layer: `[T, *batch, d_model] -> [T, *batch, d_model]`, P complex states."""

    d_model: int
    state_size: int = 256
    r_min: float = 0.9
    r_max: float = 0.999
    max_phase: float = 2.0 * np.pi
    backend: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_radii(self.r_min, self.r_max)
        check_phase(self.max_phase)
        if self.backend is not None and self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not None or one of {BACKENDS}")
        for name in ("d_model", "state_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    def setup(self) -> None:
        H, P = self.d_model, self.state_size

        self.nu_log = self.param("nu_log", nu_log_init, P, self.r_min, self.r_max)
        self.theta_log = self.param("theta_log", theta_log_init, P, self.max_phase)
        self.gamma_log = self.param("gamma_log", lambda _: gamma_log_init(self.nu_log))
        self.B = self.param("B", nn.initializers.normal(1.0 / np.sqrt(2 * H)), (H, 2, P))
        self.C = self.param("C", nn.initializers.normal(1.0 / np.sqrt(P)), (2, P, H))
        self.D = self.param("D", nn.initializers.normal(1.0), (H,))

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, self.state_size), jnp.complex64)

    def _input(self, u: jax.Array) -> jax.Array:
        """γ ⊙ (B u): `u[..., H]` -> `[..., P]` complex64 via one real matmul."""
        if u.shape[-1] != self.d_model:
            raise ValueError(f"x has width {u.shape[-1]}, LRU expects d_model={self.d_model}")
        P = self.state_size
        bu = u @ self.B.reshape(self.d_model, 2 * P)
        return jax.lax.complex(bu[..., :P], bu[..., P:]) * jnp.exp(self.gamma_log)

    def _output(self, h: jax.Array, u: jax.Array) -> jax.Array:
        """`y = Re(C h) + D u`: `h[..., P]` -> `[..., H]`."""
        parts = jnp.concatenate([jnp.real(h), -jnp.imag(h)], axis=-1)
        return parts @ self.C.reshape(2 * self.state_size, self.d_model) + self.D * u

    def __call__(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        """`x[T, *batch, H]`, `reset[T, *batch]` -> `(carry [*batch, P], y[T, *batch, H])`."""
        h_all, h_last = resettable_scan(
            lru_lambda(self.nu_log, self.theta_log), self._input(x), reset, carry,
            backend=self.backend,
        )
        return h_last, self._output(h_all, x)

    def step(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        """`x[*batch, H]`, `reset[*batch]` -> `(carry [*batch, P], y[*batch, H])`."""
        h = resettable_step(lru_lambda(self.nu_log, self.theta_log), self._input(x), reset, carry)
        return h, self._output(h, x)
