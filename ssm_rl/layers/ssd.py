"""Mamba-2 mixer (structured state-space duality, Dao & Gu 2024) with in-sequence resets.

H = d_model, E = expand * H channels split into heads of P = head_dim channels (default
gcd(E, 64); nh = E / P heads), N = state_size, B and C shared by all heads (one group):

    [z_t, xBC_t, δ_t] = W_in u_t                        (z: [E], xBC: [E + 2N], δ: [nh])
    [x_t, B_t, C_t] = silu(causal_conv(xBC))_t         (x: [nh, P], B, C: [N])
    Δ_t  = softplus(δ_t + b_dt)                         ([nh])
    S_t  = exp(Δ_t A) · where(reset_t, 0, S_{t-1}) + Δ_t x_t B_t^T     (S: [nh, P, N])
    y_t  = W_out rmsnorm((S_t C_t + D x_t) ⊙ silu(z_t)) ⊙ g

with one scalar decay A = -exp(A_log) per head. The scalar decay is what makes the sequence
mode a few matmuls ("SSD"): inside a chunk of L steps the output is masked attention,

    y_t = sum_{s<=t, same episode} (C_t · B_s) exp(c_t - c_s) Δ_s x_s  +  exp(c_t) C_t S_0,

c_t = sum_{r<=t} Δ_r A the cumulative log decay in the chunk and S_0 the state entering it
(dropped after a reset in the chunk). Only the chunk-end states go through
`resettable_scan`, T / L steps of it. A reset is folded into the mask: s contributes to t
iff no reset lies in (s, t].

Init as Mamba-2: A = -U[1, 16], D = 1, Δ = softplus(b_dt) log-uniform in [dt_min, dt_max]
(floored at dt_init_floor), conv weights and bias uniform in ±d_conv^-1/2, W_in and W_out
lecun-normal without bias, norm gain g = 1.

Carry: `(S [*batch, nh, P, N], window [*batch, d_conv - 1, E + 2N])` float32. The mixer
carries its own gate and output projection, so the stack default is `activation="none"`.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssm_rl.init.mamba import dt_bias, symmetric_uniform
from ssm_rl.layers.causal_conv import causal_conv, causal_conv_step
from ssm_rl.layers.selective import check_mixer_options
from ssm_rl.memory import Memory, register_layer
from ssm_rl.scan import resettable_scan


@register_layer("mamba2")
class SSD(Memory):
    """Mamba-2 mixer: `[T, *batch, d_model] -> [T, *batch, d_model]`."""

    d_model: int
    state_size: int = 16
    expand: int = 2
    head_dim: int | None = None
    d_conv: int = 4
    chunk_size: int = 32
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    dt_init_floor: float = 1e-4
    backend: str | None = None

    stack_defaults = {"activation": "none"}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_mixer_options(self)
        if self.head_dim is not None and (
            not isinstance(self.head_dim, int) or self.head_dim < 1 or self.inner % self.head_dim
        ):
            raise ValueError(
                f"head_dim={self.head_dim!r} must be None or a positive divisor of "
                f"expand * d_model = {self.inner}"
            )

    @property
    def inner(self) -> int:
        """E = expand * d_model."""
        return self.expand * self.d_model

    @property
    def head_size(self) -> int:
        """P: head_dim, default gcd(E, 64) (Mamba-2's 64 where E allows it)."""
        return self.head_dim or math.gcd(self.inner, 64)

    @property
    def heads(self) -> int:
        """nh = E / P."""
        return self.inner // self.head_size

    def setup(self) -> None:
        E, N, nh = self.inner, self.state_size, self.heads
        self.in_proj = nn.Dense(2 * E + 2 * N + nh, use_bias=False)
        conv_init = symmetric_uniform(1.0 / np.sqrt(self.d_conv))
        self.conv_w = self.param("conv_w", conv_init, (self.d_conv, E + 2 * N))
        self.conv_b = self.param("conv_b", conv_init, (E + 2 * N,))

        self.dt_bias = self.param(
            "dt_bias", dt_bias(self.dt_min, self.dt_max, self.dt_init_floor), (nh,)
        )
        self.A_log = self.param(
            "A_log", lambda key: jnp.log(jax.random.uniform(key, (nh,), jnp.float32, 1.0, 16.0))
        )
        self.D = self.param("D", nn.initializers.ones, (nh,))
        self.norm = nn.RMSNorm(epsilon=1e-5)
        self.out_proj = nn.Dense(self.d_model, use_bias=False)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
        N, E = self.state_size, self.inner
        return (
            jnp.zeros((*batch_shape, self.heads, self.head_size, N), jnp.float32),
            jnp.zeros((*batch_shape, self.d_conv - 1, E + 2 * N), jnp.float32),
        )

    def _split_input(self, u: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """`u[..., H]` -> `(z [..., E], xBC [..., E + 2N], Δ [..., nh])`."""
        if u.shape[-1] != self.d_model:
            raise ValueError(f"x has width {u.shape[-1]}, mamba2 expects d_model={self.d_model}")
        E, N = self.inner, self.state_size
        z, xbc, dt = jnp.split(self.in_proj(u), [E, 2 * E + 2 * N], axis=-1)
        return z, xbc, jax.nn.softplus(dt + self.dt_bias)

    def _split_conv(self, conv: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """`conv[..., E + 2N]` -> `(x [..., nh, P], B [..., N], C [..., N])` after SiLU."""
        E, N = self.inner, self.state_size
        x, B, C = jnp.split(jax.nn.silu(conv), [E, E + N], axis=-1)
        return x.reshape(*x.shape[:-1], self.heads, self.head_size), B, C

    def _output(self, y: jax.Array, x: jax.Array, z: jax.Array) -> jax.Array:
        """`W_out rmsnorm((y + D x) ⊙ silu(z))` from `y, x[..., nh, P]`, `z[..., E]`."""
        y = y + self.D[:, None] * x
        return self.out_proj(self.norm(y.reshape(z.shape) * jax.nn.silu(z)))

    def __call__(self, carry, u: jax.Array, reset: jax.Array):
        """`u[T, *batch, H]`, `reset[T, *batch]` -> `(carry, y[T, *batch, H])`."""
        S0, window = carry
        z, xbc, dt = self._split_input(u)
        conv, window = causal_conv(window, xbc, reset, self.conv_w, self.conv_b)
        x, B, C = self._split_conv(conv)
        A = -jnp.exp(self.A_log)
        y, S_last = ssd_scan(
            x, dt, A, B, C, reset, S0, chunk_size=self.chunk_size, backend=self.backend
        )
        return (S_last, window), self._output(y, x, z)

    def step(self, carry, u: jax.Array, reset: jax.Array):
        """`u[*batch, H]`, `reset[*batch]` -> `(carry, y[*batch, H])`."""
        S, window = carry
        z, xbc, dt = self._split_input(u)
        conv, window = causal_conv_step(window, xbc, reset, self.conv_w, self.conv_b)
        x, B, C = self._split_conv(conv)
        decay = jnp.exp(dt * -jnp.exp(self.A_log))[..., None, None]  # [*b, nh, 1, 1]
        S = jnp.where(reset[..., None, None, None], 0.0, S) * decay
        S = S + (dt[..., None] * x)[..., None] * B[..., None, None, :]
        y = jnp.einsum("...hpn,...n->...hp", S, C)
        return (S, window), self._output(y, x, z)


def masked_exp(keep: jax.Array, log_value: jax.Array) -> jax.Array:
    """`exp(log_value)` where `keep[..., None]`, exactly 0 elsewhere (values and gradients: the
    masked entries may be +inf before the mask)."""
    return jnp.exp(jnp.where(keep[..., None], log_value, -jnp.inf))


def ssd_scan(
    x: jax.Array,
    dt: jax.Array,
    A: jax.Array,
    B: jax.Array,
    C: jax.Array,
    reset: jax.Array,
    S0: jax.Array,
    *,
    chunk_size: int,
    backend: str | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Chunked SSD: `y_t = S_t C_t` for `S_t = exp(Δ_t A) S_{t-1} + Δ_t x_t B_t^T`, resets included.

    Shapes: `x[T, *batch, nh, P]`, `dt[T, *batch, nh]`, `A[nh]`, `B, C[T, *batch, N]`,
    `reset[T, *batch]`, `S0[*batch, nh, P, N]` -> `(y[T, *batch, nh, P], S_last)`.
    The last chunk is padded with Δ = 0 (decay 1, no input), which leaves the state as it is.
    """
    T, batch = x.shape[0], x.shape[1:-2]
    L = min(chunk_size, T)
    pad = -T % L

    def chunked(v: jax.Array) -> jax.Array:  # [T, *b, ...] -> [n, L, M, ...]
        v = jnp.pad(v, [(0, pad)] + [(0, 0)] * (v.ndim - 1))
        return v.reshape(v.shape[0] // L, L, -1, *v.shape[1 + len(batch) :])

    x, dt, B, C, reset = map(chunked, (x, dt, B, C, reset))
    S0 = S0.reshape(-1, *S0.shape[len(batch) :])  # [M, nh, P, N]
    xdt = x * dt[..., None]  # [n, L, M, nh, P]
    # c_t: log decay since the later of the chunk start and the last reset, [n, L, M, nh].
    # It restarts at a reset (a cumulative sum over the whole chunk would give the same masked
    # weights, but through cancelling terms, so inputs before a reset would move later outputs
    # and gradients by rounding).
    steps_first = lambda v: jnp.moveaxis(v, 1, 0)  # noqa: E731
    log_decay, _ = resettable_scan(1.0, steps_first(dt * A), steps_first(reset), backend=backend)
    log_decay = jnp.moveaxis(log_decay, 0, 1)
    episode = jnp.cumsum(reset, axis=1)  # resets in the chunk up to t: [n, L, M]
    # Within the chunk: s -> t weight exp(c_t - c_s) iff s <= t and no reset in (s, t].
    causal = jnp.tril(jnp.ones((L, L), bool))
    same = (episode[:, :, None] == episode[:, None, :]) & causal[None, :, :, None]  # [n,t,s,M]
    gap = log_decay[:, :, None] - log_decay[:, None, :]  # [n, t, s, M, nh]
    weights = masked_exp(same, gap)
    scores = jnp.einsum("ntmk,nsmk->ntsm", C, B)[..., None] * weights
    y = jnp.einsum("ntsmh,nsmhp->ntmhp", scores, xdt)
    # State at each chunk end from the chunk's own inputs, and the decay across the chunk.
    to_end = masked_exp(episode == episode[:, -1:], log_decay[:, -1:] - log_decay)
    S_chunk = jnp.einsum("nsmh,nsmhp,nsmk->nmhpk", to_end, xdt, B)
    carried = masked_exp(episode[:, -1] == 0, log_decay[:, -1])  # [n, M, nh]
    n, M, nh, P, N = S_chunk.shape
    S_ends, S_last = resettable_scan(
        carried[..., None],
        S_chunk.reshape(n, M, nh, P * N),
        jnp.zeros((n, M, nh), bool),
        S0.reshape(M, nh, P * N),
        backend=backend,
    )
    S_starts = jnp.concatenate([S0[None], S_ends[:-1].reshape(n - 1, M, nh, P, N)])
    # State entering the chunk, decayed to t, unless a reset at or before t cut it.
    from_start = masked_exp(episode == 0, log_decay)  # [n, L, M, nh]
    y = y + jnp.einsum("ntmk,nmhpk->ntmhp", C, S_starts) * from_start[..., None]
    y = y.reshape(n * L, *batch, nh, P)[:T]
    return y, S_last.reshape(*batch, nh, P, N)
