"""Selective SSM (Mamba-style mixer, Gu & Dao 2023) with in-sequence resets.

H = d_model, E = expand * H channels, N = state_size real states per channel, R = dt_rank:

    [x_t, z_t] = W_in u_t                                    (x, z: [E])
    c_t  = silu(conv_b + sum_{k<d_conv} conv_w[k] ⊙ x_{t-k})  (causal depthwise conv)
    [δ_t, B_t, C_t] = W_x c_t                                (δ: [R], B, C: [N])
    Δ_t  = softplus(W_dt δ_t + b_dt)                         ([E])
    h_t  = exp(Δ_t A) ⊙ where(reset_t, 0, h_{t-1}) + (Δ_t ⊙ c_t) B_t^T    (h: [E, N])
    y_t  = W_out ((h_t C_t + D ⊙ c_t) ⊙ silu(z_t))

with A = -exp(A_log) [E, N] real. A reset at t clears the SSM state and the conv window: the
conv never sees inputs from before the episode start (x_{t-k} := 0 for those), in sequence
and step mode alike.

Init as Mamba: A_n = n + 1 (S4D-real), D = 1, Δ = softplus(b_dt) log-uniform in
[dt_min, dt_max] (floored at dt_init_floor) through the inverse softplus, W_dt uniform in
±R^-1/2, conv weights and bias uniform in ±d_conv^-1/2, W_in, W_x, W_out lecun-normal, no bias.
`conv_w[k]` multiplies x_{t-k} (lag order).

Carry: `(h [*batch, E, N], window [*batch, d_conv - 1, E])` float32; the window holds the
last d_conv - 1 conv inputs, oldest first, zero before the episode start.
The mixer carries its own gate and output projection, so the stack default is
`activation="none"` (a Mamba block is `u + mixer(norm(u))`).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssm_rl.memory import Memory, register_layer
from ssm_rl.scan import BACKENDS, resettable_scan, resettable_step


def _inverse_softplus(y: jax.Array) -> jax.Array:
    return y + jnp.log(-jnp.expm1(-y))


def _symmetric_uniform(bound: float) -> nn.initializers.Initializer:
    """Initialiser drawing from U[-bound, bound]."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


@register_layer("mamba")
class Selective(Memory):
    """Mamba-style selective SSM: `[T, *batch, d_model] -> [T, *batch, d_model]`."""

    d_model: int
    state_size: int = 16
    expand: int = 2
    d_conv: int = 4
    dt_rank: int | None = None
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    dt_init_floor: float = 1e-4
    backend: str | None = None

    stack_defaults = {"activation": "none"}

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("d_model", "state_size", "expand", "d_conv"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.dt_rank is not None and (not isinstance(self.dt_rank, int) or self.dt_rank < 1):
            raise ValueError(f"dt_rank must be None or a positive integer, got {self.dt_rank!r}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")
        if self.backend is not None and self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not None or one of {BACKENDS}")

    @property
    def inner(self) -> int:
        """E = expand * d_model."""
        return self.expand * self.d_model

    @property
    def rank(self) -> int:
        """R: dt_rank, default ceil(d_model / 16)."""
        return self.dt_rank or math.ceil(self.d_model / 16)

    def setup(self) -> None:
        E, N, R = self.inner, self.state_size, self.rank
        self.in_proj = nn.Dense(2 * E, use_bias=False)
        conv_init = _symmetric_uniform(1.0 / np.sqrt(self.d_conv))
        self.conv_w = self.param("conv_w", conv_init, (self.d_conv, E))
        self.conv_b = self.param("conv_b", conv_init, (E,))
        self.x_proj = nn.Dense(R + 2 * N, use_bias=False)

        def dt_bias(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
            log_dt = jax.random.uniform(key, shape, dtype, np.log(self.dt_min), np.log(self.dt_max))
            return _inverse_softplus(jnp.maximum(jnp.exp(log_dt), self.dt_init_floor))

        self.dt_proj = nn.Dense(
            E, kernel_init=_symmetric_uniform(1.0 / np.sqrt(R)), bias_init=dt_bias
        )
        self.A_log = self.param(
            "A_log", lambda _: jnp.log(jnp.broadcast_to(jnp.arange(1.0, N + 1.0), (E, N)))
        )
        self.D = self.param("D", nn.initializers.ones, (E,))
        self.out_proj = nn.Dense(self.d_model, use_bias=False)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
        E = self.inner
        return (
            jnp.zeros((*batch_shape, E, self.state_size), jnp.float32),
            jnp.zeros((*batch_shape, self.d_conv - 1, E), jnp.float32),
        )

    def _split_input(self, u: jax.Array) -> tuple[jax.Array, jax.Array]:
        if u.shape[-1] != self.d_model:
            raise ValueError(f"x has width {u.shape[-1]}, mamba expects d_model={self.d_model}")
        x, z = jnp.split(self.in_proj(u), 2, axis=-1)
        return x, z

    def _selective_terms(self, c: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """`c[..., E]` -> `(a [..., E*N], b [..., E*N], C [..., N])` of the recurrence."""
        E, N, R = self.inner, self.state_size, self.rank
        dbc = self.x_proj(c)
        delta = jax.nn.softplus(self.dt_proj(dbc[..., :R]))  # [..., E]
        B, C = dbc[..., R : R + N], dbc[..., R + N :]
        A = -jnp.exp(self.A_log)  # [E, N]
        a = jnp.exp(delta[..., None] * A)
        b = (delta * c)[..., None] * B[..., None, :]
        flat = (*c.shape[:-1], E * N)
        return a.reshape(flat), b.reshape(flat), C

    def _readout(self, h: jax.Array, C: jax.Array, c: jax.Array, z: jax.Array) -> jax.Array:
        """`h[..., E*N]` -> `y[..., H] = W_out((h C + D c) ⊙ silu(z))`."""
        h = h.reshape(*h.shape[:-1], self.inner, self.state_size)
        y = jnp.einsum("...en,...n->...e", h, C) + self.D * c
        return self.out_proj(y * jax.nn.silu(z))

    def __call__(self, carry, x: jax.Array, reset: jax.Array):
        """`x[T, *batch, H]`, `reset[T, *batch]` -> `(carry, y[T, *batch, H])`."""
        h0, window = carry
        T, K = x.shape[0], self.d_conv
        xs, z = self._split_input(x)
        # Conv inputs, time-major: the carried window (steps -K+1 .. -1), then this chunk.
        full = jnp.concatenate([jnp.moveaxis(window, -2, 0), xs], axis=0)  # [T+K-1, *b, E]
        # age_t: steps since the last reset at or before t in this chunk (large if none), so
        # x_{t-k} belongs to the current episode iff k <= age_t.
        steps = jnp.arange(T).reshape(T, *([1] * (reset.ndim - 1)))
        last_reset = jax.lax.cummax(jnp.where(reset, steps, -1), axis=0)
        age = jnp.where(last_reset >= 0, steps - last_reset, T + K)[..., None]
        conv = self.conv_b + sum(
            self.conv_w[k] * jnp.where(k <= age, full[K - 1 - k : K - 1 - k + T], 0.0)
            for k in range(K)
        )
        c = jax.nn.silu(conv)
        a, b, C = self._selective_terms(c)
        h_all, h_last = resettable_scan(
            a, b, reset, h0.reshape(*h0.shape[:-2], -1), backend=self.backend
        )
        # New window: the last K-1 conv inputs, lag K-2-j behind step T-1 for slot j.
        lags = jnp.arange(K - 2, -1, -1)[:, None]
        new_window = jnp.where(lags <= age[-1][..., None, :], jnp.moveaxis(full[T:], 0, -2), 0.0)
        return (h_last.reshape(h0.shape), new_window), self._readout(h_all, C, c, z)

    def step(self, carry, x: jax.Array, reset: jax.Array):
        """`x[*batch, H]`, `reset[*batch]` -> `(carry, y[*batch, H])`."""
        h, window = carry
        xs, z = self._split_input(x)
        window = jnp.where(reset[..., None, None], 0.0, window)
        full = jnp.concatenate([window, xs[..., None, :]], axis=-2)  # [*b, K, E], oldest first
        conv = self.conv_b + jnp.einsum("...ke,ke->...e", full, self.conv_w[::-1])
        c = jax.nn.silu(conv)
        a, b, C = self._selective_terms(c)
        h_flat = resettable_step(a, b, reset, h.reshape(*h.shape[:-2], -1))
        return (h_flat.reshape(h.shape), full[..., 1:, :]), self._readout(h_flat, C, c, z)
