"""Baselines: GRU, LSTM (hidden size d_model) and an MLP with no memory.

The input projections of every step are one matmul over `[T, *batch, D_in]` done before the
scan; only the recurrent matmul `h @ W_h` runs inside it. A reset zeroes the carry before the
step consumes its input. By default (`stack_defaults`) `make_memory("gru"|"lstm"|"mlp")` is a
single plain layer on the raw input: no input Dense, norm, activation or residual (the POPGym /
S5-paper baseline).

GRU (Flax/PyTorch form):  r = σ(x W_ir + b_r + h W_hr), z = σ(x W_iz + b_z + h W_hz),
                          n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn)), h' = (1-z) ⊙ n + z ⊙ h
LSTM:                     [i, f, g, o] = x W_i + b + h W_h,
                          c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c')
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ssm_rl.memory import Memory, register_layer

_PLAIN_LAYER: dict[str, Any] = {
    "num_layers": 1,
    "input_projection": False,
    "norm": "none",
    "activation": "none",
    "residual": False,
}


def _stacked_orthogonal(num_gates: int):
    """Initialiser for `[H, num_gates * H]`: an orthogonal H x H block per gate."""

    def init(key, shape, dtype=jnp.float32):
        H = shape[0]
        keys = jax.random.split(key, num_gates)
        orth = nn.initializers.orthogonal()
        return jnp.concatenate([orth(k, (H, H), dtype) for k in keys], axis=1)

    return init


def _reset(carry, reset: jax.Array):
    """Zero every carry leaf `[*batch, ...]` where `reset[*batch]`."""
    return jax.tree.map(
        lambda c: jnp.where(reset.reshape(reset.shape + (1,) * (c.ndim - reset.ndim)), 0, c),
        carry,
    )


class _GatedRNN(Memory):
    """Shared sequence/step driver: subclasses define `num_gates`, `_cell` and the carry."""

    d_model: int
    num_gates: ClassVar[int]
    stack_defaults: ClassVar[dict[str, Any]] = _PLAIN_LAYER

    def setup(self) -> None:
        H = self.d_model
        self.input_dense = nn.Dense(self.num_gates * H, name="input")
        self.w_h = self.param(
            "recurrent_kernel", _stacked_orthogonal(self.num_gates), (H, self.num_gates * H)
        )

    def __call__(self, carry, x: jax.Array, reset: jax.Array):
        """`x[T, *batch, D_in]`, `reset[T, *batch]` -> `(carry, y[T, *batch, d_model])`."""

        def body(carry, inputs):
            gx_t, reset_t = inputs
            carry = self._cell(_reset(carry, reset_t), gx_t)
            return carry, self._output(carry)

        return jax.lax.scan(body, carry, (self.input_dense(x), jnp.asarray(reset, bool)))

    def step(self, carry, x: jax.Array, reset: jax.Array):
        """`x[*batch, D_in]`, `reset[*batch]` -> `(carry, y[*batch, d_model])`."""
        carry = self._cell(_reset(carry, jnp.asarray(reset, bool)), self.input_dense(x))
        return carry, self._output(carry)


@register_layer("gru")
class GRU(_GatedRNN):
    """GRU with hidden size d_model; carry `h[*batch, d_model]` float32."""

    num_gates: ClassVar[int] = 3

    def setup(self) -> None:
        super().setup()
        self.b_hn = self.param("recurrent_bias_n", nn.initializers.zeros, (self.d_model,))

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, self.d_model), jnp.float32)

    def _cell(self, h: jax.Array, gx: jax.Array) -> jax.Array:
        gh = h @ self.w_h
        x_r, x_z, x_n = jnp.split(gx, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(gh, 3, axis=-1)
        r = jax.nn.sigmoid(x_r + h_r)
        z = jax.nn.sigmoid(x_z + h_z)
        n = jnp.tanh(x_n + r * (h_n + self.b_hn))
        return (1.0 - z) * n + z * h

    def _output(self, h: jax.Array) -> jax.Array:
        return h


@register_layer("lstm")
class LSTM(_GatedRNN):
    """LSTM with hidden size d_model; carry `(c, h)`, each `[*batch, d_model]` float32."""

    num_gates: ClassVar[int] = 4

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
        zeros = jnp.zeros((*batch_shape, self.d_model), jnp.float32)
        return zeros, zeros

    def _cell(self, carry, gx: jax.Array):
        c, h = carry
        i, f, g, o = jnp.split(gx + h @ self.w_h, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        return c, jax.nn.sigmoid(o) * jnp.tanh(c)

    def _output(self, carry) -> jax.Array:
        return carry[1]


NONLINEARITIES = {"relu": jax.nn.relu, "gelu": jax.nn.gelu, "tanh": jnp.tanh, "silu": jax.nn.silu}


@register_layer("mlp")
class MLP(Memory):
    """No memory: `y_t = nonlinearity(x_t W + b)` per step; carry `[*batch, 0]` (empty)."""

    d_model: int
    nonlinearity: str = "relu"
    stack_defaults: ClassVar[dict[str, Any]] = _PLAIN_LAYER

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"nonlinearity={self.nonlinearity!r} is not one of {tuple(NONLINEARITIES)}"
            )

    def setup(self) -> None:
        self.dense = nn.Dense(self.d_model)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, 0), jnp.float32)

    def __call__(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        """`x[T, *batch, D_in]` -> `(carry, y[T, *batch, d_model])`; reset is irrelevant."""
        return carry, NONLINEARITIES[self.nonlinearity](self.dense(x))

    def step(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        return self(carry, x, reset)
