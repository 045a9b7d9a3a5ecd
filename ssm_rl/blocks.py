"""Residual blocks around a recurrence layer, and the stack that `make_memory` builds.

One block (shapes `[..., d_model]`; every op but the recurrence acts on each step alone):

    prenorm:   z = x + drop(act(layer(norm(x))))
    postnorm:  z = norm(x + drop(act(layer(x))))

with `act` one of
    "gelu":      gelu(y)
    "glu":       g * sigmoid(W g + b),            g = gelu(y)       (half GLU)
    "full_glu":  (W1 g + b1) * sigmoid(W2 g + b2), g = gelu(y)      (S5's full GLU)
    "none":      y
and `residual=False` dropping the `x +`. The stack is an optional input Dense to d_model followed
by `num_layers` blocks; its carry is the tuple of the layers' carries.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.errors import ScopeParamShapeError

from ssm_rl.memory import (
    Carry,
    Memory,
    check_batch_shape,
    check_carry,
    check_sequence_inputs,
    check_step_inputs,
)

ACTIVATIONS: tuple[str, ...] = ("gelu", "glu", "full_glu", "none")
NORMS: tuple[str, ...] = ("layer", "none")


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {allowed}")


class ResidualBlock(Memory):
    """norm -> recurrence -> activation -> dropout -> residual, in sequence or step mode.

    Input `[..., D_in]` (D_in = d_model when `residual`), output `[..., d_model]`.
    """

    layer_cls: type[Memory]
    d_model: int
    layer_options: tuple[tuple[str, Any], ...] = ()
    norm: str = "layer"
    prenorm: bool = True
    activation: str = "full_glu"
    dropout: float = 0.0
    residual: bool = True
    deterministic: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_choice("norm", self.norm, NORMS)
        _check_choice("activation", self.activation, ACTIVATIONS)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def _make_layer(self, **module_kwargs: Any) -> Memory:
        return self.layer_cls(d_model=self.d_model, **dict(self.layer_options), **module_kwargs)

    def setup(self) -> None:
        self.layer = self._make_layer()
        self.norm_layer = nn.LayerNorm() if self.norm == "layer" else None
        if self.activation == "full_glu":
            self.glu_value = nn.Dense(self.d_model)
        if self.activation in ("glu", "full_glu"):
            self.glu_gate = nn.Dense(self.d_model)
        self.drop = nn.Dropout(self.dropout, deterministic=self.deterministic)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Carry:
        return self._make_layer(parent=None).initialize_carry(batch_shape)

    def __call__(self, carry: Carry, x: jax.Array, reset: jax.Array) -> tuple[Carry, jax.Array]:
        return self._apply(self.layer.__call__, carry, x, reset)

    def step(self, carry: Carry, x: jax.Array, reset: jax.Array) -> tuple[Carry, jax.Array]:
        return self._apply(self.layer.step, carry, x, reset)

    def _apply(self, recurrence, carry: Carry, x: jax.Array, reset: jax.Array):
        if self.residual and x.shape[-1] != self.d_model:
            raise ValueError(
                f"x has width {x.shape[-1]} but a residual block needs d_model={self.d_model}; "
                "use input_projection=True or residual=False"
            )
        z = self.norm_layer(x) if self.norm_layer is not None and self.prenorm else x
        carry, y = recurrence(carry, z, reset)
        y = self.drop(self._activate(y))
        if self.residual:
            y = x + y
        if self.norm_layer is not None and not self.prenorm:
            y = self.norm_layer(y)
        return carry, y

    def _activate(self, y: jax.Array) -> jax.Array:
        if self.activation == "none":
            return y
        g = nn.gelu(y)
        if self.activation == "gelu":
            return g
        value = self.glu_value(g) if self.activation == "full_glu" else g
        return value * jax.nn.sigmoid(self.glu_gate(g))


class MemoryStack(Memory):
    """Optional input projection to d_model, then `num_layers` `ResidualBlock`s.

    Sequence mode: `x[T, *batch, D_in]`, `reset[T, *batch]` -> `y[T, *batch, d_model]`.
    Step mode: `x[*batch, D_in]`, `reset[*batch]` -> `y[*batch, d_model]`.
    Carry: tuple of `num_layers` layer carries (see `initialize_carry`).

    Fields: `layer_cls` (a registered recurrence class), `layer_options` (sorted
    `(name, value)` pairs passed to each layer), `d_model`, `num_layers`, `input_projection`
    (Dense D_in -> d_model first), `norm` ("layer" | "none"), `prenorm`, `activation`
    ("gelu" | "glu" | "full_glu" | "none"), `dropout` (rate; active only when
    `deterministic=False`, with a "dropout" rng), `residual`.
    """

    layer_cls: type[Memory]
    layer_options: tuple[tuple[str, Any], ...] = ()
    d_model: int = 256
    num_layers: int = 4
    input_projection: bool = True
    norm: str = "layer"
    prenorm: bool = True
    activation: str = "full_glu"
    dropout: float = 0.0
    residual: bool = True
    deterministic: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("d_model", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        # Building one block (unbound) validates the block and layer options now, not at init.
        self._block(0, parent=None)._make_layer(parent=None)

    def _block(self, i: int, **module_kwargs: Any) -> ResidualBlock:
        return ResidualBlock(
            layer_cls=self.layer_cls,
            d_model=self.d_model,
            layer_options=self.layer_options,
            norm=self.norm,
            prenorm=self.prenorm,
            activation=self.activation,
            dropout=self.dropout,
            residual=self.residual,
            deterministic=self.deterministic,
            **module_kwargs,
        )

    def setup(self) -> None:
        self.encoder = nn.Dense(self.d_model) if self.input_projection else None
        self.blocks = [self._block(i, name=f"block_{i}") for i in range(self.num_layers)]

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> tuple[Carry, ...]:
        """Fresh carry: a tuple of `num_layers` layer carries, each with leading `batch_shape`."""
        batch_shape = check_batch_shape(batch_shape)
        block = self._block(0, parent=None)
        return tuple(block.initialize_carry(batch_shape) for _ in range(self.num_layers))

    def __call__(self, carry, x: jax.Array, reset: jax.Array):
        x, reset = jnp.asarray(x), jnp.asarray(reset)
        check_sequence_inputs(x, reset)
        self._check_carry(carry, x.shape[1:-1])
        return self._run(carry, x, reset, "__call__")

    def step(self, carry, x: jax.Array, reset: jax.Array):
        x, reset = jnp.asarray(x), jnp.asarray(reset)
        check_step_inputs(x, reset)
        self._check_carry(carry, x.shape[:-1])
        return self._run(carry, x, reset, "step")

    def _check_width(self, x: jax.Array) -> None:
        """ValueError unless x's last axis is the width the input projection was built for."""
        kernel = self.variables.get("params", {}).get("encoder", {}).get("kernel")
        if kernel is not None and x.shape[-1] != kernel.shape[0]:
            raise ValueError(f"x has width {x.shape[-1]} in its last axis; the parameters were "
                             f"initialised for width {kernel.shape[0]}")

    def _check_carry(self, carry, batch_shape: tuple[int, ...]) -> None:
        unbound = self.clone(parent=None)
        check_carry(carry, jax.eval_shape(partial(unbound.initialize_carry, batch_shape)))

    def _run(self, carry, x, reset, method: str):
        self._check_width(x)
        width = x.shape[-1]
        if self.encoder is not None:
            x = self.encoder(x)
        new_carry = []
        try:
            for block, layer_carry in zip(self.blocks, carry, strict=True):
                layer_carry, x = getattr(block, method)(layer_carry, x, reset)
                new_carry.append(layer_carry)
        except ScopeParamShapeError as err:  # raw inputs into the first layer: wrong width
            raise ValueError(
                f"x (width {width} in its last axis) does not fit the parameters, which were "
                f"initialised for another input width or another model: {err}"
            ) from None
        return tuple(new_carry), x
