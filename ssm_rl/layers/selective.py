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

from ssm_rl.init.mamba import dt_bias, symmetric_uniform
from ssm_rl.layers.causal_conv import causal_conv, causal_conv_step
from ssm_rl.memory import Memory, register_layer
from ssm_rl.scan import BACKENDS, resettable_scan


def check_mixer_options(layer: Memory) -> None:
    """ValueError naming the option unless a Mamba-style mixer's shared fields are valid."""
    for name in ("d_model", "state_size", "expand", "d_conv", "chunk_size"):
        value = getattr(layer, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0 < layer.dt_min <= layer.dt_max:
        raise ValueError(f"need 0 < dt_min <= dt_max, got {layer.dt_min}, {layer.dt_max}")
    if layer.backend is not None and layer.backend not in BACKENDS:
        raise ValueError(f"backend={layer.backend!r} is not None or one of {BACKENDS}")


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
    chunk_size: int = 16
    backend: str | None = None

    stack_defaults = {"activation": "none"}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_mixer_options(self)
        if self.dt_rank is not None and (not isinstance(self.dt_rank, int) or self.dt_rank < 1):
            raise ValueError(f"dt_rank must be None or a positive integer, got {self.dt_rank!r}")

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
        conv_init = symmetric_uniform(1.0 / np.sqrt(self.d_conv))
        self.conv_w = self.param("conv_w", conv_init, (self.d_conv, E))
        self.conv_b = self.param("conv_b", conv_init, (E,))
        self.x_proj = nn.Dense(R + 2 * N, use_bias=False)

        self.dt_proj = nn.Dense(
            E,
            kernel_init=symmetric_uniform(1.0 / np.sqrt(R)),
            bias_init=dt_bias(self.dt_min, self.dt_max, self.dt_init_floor),
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

    def _selective_inputs(self, c: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """`c[..., E]` -> `(Δ [..., E], B [..., N], C [..., N])`."""
        R, N = self.rank, self.state_size
        dbc = self.x_proj(c)
        delta = jax.nn.softplus(self.dt_proj(dbc[..., :R]))
        return delta, dbc[..., R : R + N], dbc[..., R + N :]

    def _output(self, y_ssm: jax.Array, c: jax.Array, z: jax.Array) -> jax.Array:
        """`y[..., H] = W_out((h C + D c) ⊙ silu(z))` from `y_ssm = h C` `[..., E]`."""
        return self.out_proj((y_ssm + self.D * c) * jax.nn.silu(z))

    def __call__(self, carry, x: jax.Array, reset: jax.Array):
        """`x[T, *batch, H]`, `reset[T, *batch]` -> `(carry, y[T, *batch, H])`."""
        h0, window = carry
        xs, z = self._split_input(x)
        conv, new_window = causal_conv(window, xs, reset, self.conv_w, self.conv_b)
        c = jax.nn.silu(conv)
        delta, B, C = self._selective_inputs(c)
        A = -jnp.exp(self.A_log)
        y_ssm, h_last = selective_scan(
            delta, c, B, C, A, reset, h0, chunk_size=self.chunk_size, backend=self.backend
        )
        return (h_last, new_window), self._output(y_ssm, c, z)

    def step(self, carry, x: jax.Array, reset: jax.Array):
        """`x[*batch, H]`, `reset[*batch]` -> `(carry, y[*batch, H])`."""
        h, window = carry
        xs, z = self._split_input(x)
        conv, window = causal_conv_step(window, xs, reset, self.conv_w, self.conv_b)
        c = jax.nn.silu(conv)
        delta, B, C = self._selective_inputs(c)
        a, b = _transition(-jnp.exp(self.A_log), delta, c, B)
        h = jnp.where(reset[..., None, None], 0.0, h) * a + b
        return (h, window), self._output(jnp.einsum("...en,...n->...e", h, C), c, z)


def _transition(
    A: jax.Array, delta: jax.Array, c: jax.Array, B: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`(a, b)` of `h_t = a_t ⊙ h_{t-1} + b_t`: `a = exp(Δ A)`, `b = (Δ ⊙ c) B^T`, `[..., E, N]`."""
    return jnp.exp(delta[..., None] * A), (delta * c)[..., None] * B[..., None, :]


def selective_scan(
    delta: jax.Array,
    c: jax.Array,
    B: jax.Array,
    C: jax.Array,
    A: jax.Array,
    reset: jax.Array,
    h0: jax.Array,
    *,
    chunk_size: int,
    backend: str | None = None,
) -> tuple[jax.Array, jax.Array]:
    """`y_t = h_t C_t` of the selective recurrence, chunked so the `[E, N]` states of every step
    are never stored at once.

    Shapes: `delta, c[T, *batch, E]`, `B, C[T, *batch, N]`, `A[E, N]`, `reset[T, *batch]`,
    `h0[*batch, E, N]` -> `(y[T, *batch, E], h_last[*batch, E, N])`.

    The sequence is cut into chunks of `chunk_size` steps (the last one padded with Δ = 0,
    which leaves the state unchanged: a = 1, b = 0). Each chunk builds its `(a, b)`, runs
    `resettable_scan` on `backend` and reads out; `jax.checkpoint` makes the backward pass
    recompute a chunk's states instead of keeping them, so memory is
    O(T E + (T / chunk + chunk) E N) instead of O(T E N).
    """
    T = delta.shape[0]
    L = min(chunk_size, T)
    pad = -T % L

    def chunked(v: jax.Array) -> jax.Array:
        v = jnp.pad(v, [(0, pad)] + [(0, 0)] * (v.ndim - 1))
        return v.reshape(v.shape[0] // L, L, *v.shape[1:])

    @jax.checkpoint
    def chunk(h, inputs):
        delta_c, c_c, B_c, C_c, reset_c = inputs
        a, b = _transition(A, delta_c, c_c, B_c)
        flat = (L, *h.shape[:-2], -1)
        h_all, h_last = resettable_scan(
            a.reshape(flat), b.reshape(flat), reset_c, h.reshape(flat[1:]), backend=backend
        )
        y = jnp.einsum("...en,...n->...e", h_all.reshape(a.shape), C_c)
        return h_last.reshape(h.shape), y

    h_last, y = jax.lax.scan(chunk, h0, tuple(map(chunked, (delta, c, B, C, reset))))
    return y.reshape(-1, *y.shape[2:])[:T], h_last
