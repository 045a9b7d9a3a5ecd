"""S4D: H independent single-input single-output diagonal SSMs (Gu et al. 2022), with resets.

Channel h (of H = d_model) has N/2 complex states (N = `state_size`; the conjugate halves
are implied) and its own timescale Δ_h = exp(log_step_h):

    Λ̄_hn = exp(Δ_h Λ_hn),   B̄_hn = ((Λ̄_hn - 1) / Λ_hn) B_hn                 (ZOH)
    x_t[h, n] = Λ̄_hn where(reset_t, 0, x_{t-1}[h, n]) + B̄_hn u_t[h]
    y_t[h]    = 2 Re(sum_n C_hn x_t[h, n]) + D_h u_t[h]

S4D's usual FFT convolution cannot restart inside a sequence, so the recurrence runs through
`resettable_scan`. Init (`ssm_rl.init.s4d`): Λ and B from "lin", "inv" or "legs" (copied to
every channel), C complex standard normal, D ~ N(0, 1), log Δ ~ U[log dt_min, log dt_max].
`Re Λ = -exp(Lambda_log_neg_re) < 0` always.

Parameters (float32): Lambda_log_neg_re, Lambda_im [H, N/2]; B, C [2, H, N/2] (re, im);
D, log_step [H]. Carry: `[*batch, H * N/2]` complex64.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssm_rl.init.s4d import S4D_INITS, s4d_init
from ssm_rl.memory import Memory, register_layer
from ssm_rl.scan import BACKENDS, resettable_scan, resettable_step


@register_layer("s4d")
class S4D(Memory):
    """S4D layer: `[T, *batch, d_model] -> [T, *batch, d_model]`, N/2 complex states/channel."""

    d_model: int
    state_size: int = 16
    eig_init: str = "lin"
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    backend: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eig_init not in S4D_INITS:
            raise ValueError(f"eig_init={self.eig_init!r} is not one of {S4D_INITS}")
        if self.backend is not None and self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not None or one of {BACKENDS}")
        if not isinstance(self.d_model, int) or self.d_model < 1:
            raise ValueError(f"d_model must be a positive integer, got {self.d_model!r}")
        if not isinstance(self.state_size, int) or self.state_size < 2 or self.state_size % 2:
            raise ValueError(f"state_size must be an even integer >= 2, got {self.state_size!r}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")

    @property
    def num_states(self) -> int:
        """Complex states per channel, N/2."""
        return self.state_size // 2

    def setup(self) -> None:
        H, n = self.d_model, self.num_states
        Lambda, B = s4d_init(self.eig_init, self.state_size)

        def copied(values: np.ndarray, shape: tuple[int, ...]):
            """Initialiser: `values` broadcast to `shape` (the same init for every channel)."""
            return lambda _: jnp.broadcast_to(jnp.asarray(values, jnp.float32), shape)

        self.Lambda_log_neg_re = self.param(
            "Lambda_log_neg_re", copied(np.log(-Lambda.real), (H, n))
        )
        self.Lambda_im = self.param("Lambda_im", copied(Lambda.imag, (H, n)))
        self.B = self.param("B", copied(np.stack([B.real, B.imag])[:, None], (2, H, n)))
        self.C = self.param("C", nn.initializers.normal(np.sqrt(0.5)), (2, H, n))
        self.D = self.param("D", nn.initializers.normal(1.0), (H,))
        log_lo, log_hi = np.log(self.dt_min), np.log(self.dt_max)
        self.log_step = self.param(
            "log_step", lambda key: jax.random.uniform(key, (H,), jnp.float32, log_lo, log_hi)
        )

    def discretize(self) -> tuple[jax.Array, jax.Array]:
        """ZOH `(Λ̄ [H, N/2], B̄ [H, N/2])` complex64."""
        Lambda = jax.lax.complex(-jnp.exp(self.Lambda_log_neg_re), self.Lambda_im)
        Lambda_bar = jnp.exp(jnp.exp(self.log_step)[:, None] * Lambda)
        B = jax.lax.complex(self.B[0], self.B[1])
        return Lambda_bar, (Lambda_bar - 1.0) / Lambda * B

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, self.d_model * self.num_states), jnp.complex64)

    def _input(self, u: jax.Array, B_bar: jax.Array) -> jax.Array:
        """B̄ u per channel: `u[..., H]` -> `[..., H * N/2]` complex64."""
        if u.shape[-1] != self.d_model:
            raise ValueError(f"x has width {u.shape[-1]}, S4D expects d_model={self.d_model}")
        return (u[..., None] * B_bar).reshape(*u.shape[:-1], -1)

    def _output(self, x: jax.Array, u: jax.Array) -> jax.Array:
        """`y = 2 Re(sum_n C x) + D u`: `x[..., H * N/2]` -> `[..., H]`."""
        x = x.reshape(*x.shape[:-1], self.d_model, self.num_states)
        re_cx = jnp.sum(self.C[0] * jnp.real(x) - self.C[1] * jnp.imag(x), axis=-1)
        return 2.0 * re_cx + self.D * u

    def __call__(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        """`x[T, *batch, H]`, `reset[T, *batch]` -> `(carry [*batch, H*N/2], y[T, *batch, H])`."""
        Lambda_bar, B_bar = self.discretize()
        h_all, h_last = resettable_scan(
            Lambda_bar.reshape(-1), self._input(x, B_bar), reset, carry, backend=self.backend
        )
        return h_last, self._output(h_all, x)

    def step(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        """`x[*batch, H]`, `reset[*batch]` -> `(carry [*batch, H*N/2], y[*batch, H])`."""
        Lambda_bar, B_bar = self.discretize()
        h = resettable_step(Lambda_bar.reshape(-1), self._input(x, B_bar), reset, carry)
        return h, self._output(h, x)
