"""The Memory interface shared by every recurrence, and the registry behind `make_memory`.

A memory is a Flax Linen module with three calls (shapes are time-major):

    carry = m.initialize_carry(batch_shape)              # no parameters needed
    carry, y = m.apply(params, carry, x, reset)          # x[T, *batch, D], reset[T, *batch] bool
    carry, y_t = m.apply(params, carry, x_t, reset_t, method="step")   # x_t[*batch, D]

`reset[t]` is True where step t is the first step of an episode: the state is cleared before
input t is consumed. Stepping through a sequence reproduces the sequence mode.

`make_memory(name, **options)` builds a `MemoryStack` (ssm_rl/blocks.py) of `num_layers`
residual blocks around the recurrence registered under `name`; options that are not stack
options are passed to the recurrence layer and checked against its fields before anything
is compiled.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Carry = Any


class Memory(nn.Module):
    """Interface: a sequence model with a carried state and in-sequence resets.

    Subclasses implement `initialize_carry`, `__call__` (sequence mode) and `step`.
    `initialize_carry` must only read dataclass fields (it runs on an unbound module).
    """

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Carry:
        """Fresh state for `batch_shape` (the `*batch` of the inputs)."""
        raise NotImplementedError

    def __call__(self, carry: Carry, x: jax.Array, reset: jax.Array) -> tuple[Carry, jax.Array]:
        """Sequence mode: x[T, *batch, D], reset[T, *batch] -> (carry, y[T, *batch, D_out])."""
        raise NotImplementedError

    def step(self, carry: Carry, x: jax.Array, reset: jax.Array) -> tuple[Carry, jax.Array]:
        """Single-step mode: `x[*batch, D]`, `reset[*batch]` -> `(carry, y[*batch, D_out])`."""
        raise NotImplementedError


def check_input_dtypes(x: jax.Array, reset: jax.Array) -> None:
    """TypeError unless `x` is floating point and `reset` is bool."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"x must be a floating-point array, got dtype {x.dtype}; encode observations as "
            "floats first (e.g. x.astype(jnp.float32))"
        )
    if reset.dtype != jnp.bool_:
        raise TypeError(
            f"reset must be a bool array (True where a step starts an episode), got dtype "
            f"{reset.dtype}; use reset.astype(bool)"
        )


def check_batch_shape(batch_shape: Any) -> tuple[int, ...]:
    """`batch_shape` as a tuple of non-negative ints; TypeError/ValueError naming it otherwise."""
    if not isinstance(batch_shape, tuple | list) or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) for n in batch_shape
    ):
        raise TypeError(f"batch_shape must be a tuple of ints, e.g. (8,), got {batch_shape!r}")
    if any(n < 0 for n in batch_shape):
        raise ValueError(f"batch_shape must not hold negative sizes, got {tuple(batch_shape)}")
    return tuple(int(n) for n in batch_shape)


def check_sequence_inputs(x: jax.Array, reset: jax.Array) -> None:
    """ValueError unless `x` is `[T, *batch, D]` and `reset` is `[T, *batch]`; TypeError
    unless `x` is floating point and `reset` bool."""
    check_input_dtypes(x, reset)
    if x.ndim < 2:
        raise ValueError(f"x must be [T, *batch, D] with ndim >= 2, got shape {x.shape}")
    if reset.shape != x.shape[:-1]:
        raise ValueError(
            f"reset must have shape [T, *batch] = {x.shape[:-1]} to match x {x.shape}, "
            f"got {reset.shape}"
        )


def check_step_inputs(x: jax.Array, reset: jax.Array) -> None:
    """ValueError unless `x` is `[*batch, D]` and `reset` is `[*batch]`; TypeError unless `x`
    is floating point and `reset` bool."""
    check_input_dtypes(x, reset)
    if x.ndim < 1:
        raise ValueError(f"x must be [*batch, D] with ndim >= 1, got shape {x.shape}")
    if reset.shape != x.shape[:-1]:
        raise ValueError(
            f"reset must have shape [*batch] = {x.shape[:-1]} to match x {x.shape}, "
            f"got {reset.shape}"
        )


def check_carry(carry: Carry, expected: Carry) -> None:
    """ValueError unless `carry` has the structure and leaf shapes of `expected`."""
    got = [tuple(leaf.shape) for leaf in jax.tree.leaves(carry)]
    want = [tuple(leaf.shape) for leaf in jax.tree.leaves(expected)]
    if jax.tree.structure(carry) != jax.tree.structure(expected) or got != want:
        raise ValueError(
            f"carry does not match initialize_carry for this batch shape: expected "
            f"{jax.tree.structure(expected)} with leaf shapes {want}, got "
            f"{jax.tree.structure(carry)} with leaf shapes {got}"
        )


_LAYERS: dict[str, type[Memory]] = {}


def register_layer(name: str) -> Callable[[type[Memory]], type[Memory]]:
    """Class decorator: make a recurrence layer available to `make_memory(name)`."""

    def decorate(cls: type[Memory]) -> type[Memory]:
        if name in _LAYERS and _LAYERS[name] is not cls:
            raise ValueError(f"memory name {name!r} is already registered to {_LAYERS[name]}")
        _LAYERS[name] = cls
        return cls

    return decorate


def available_memories() -> tuple[str, ...]:
    """Registered memory names, sorted."""
    _import_builtin_layers()
    return tuple(sorted(_LAYERS))


def layer_class(name: str) -> type[Memory]:
    """The recurrence layer class registered under `name` (ValueError if unknown)."""
    _import_builtin_layers()
    if name not in _LAYERS:
        close = difflib.get_close_matches(str(name), _LAYERS, n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ValueError(f"unknown memory {name!r}{hint}; available: {available_memories()}")
    return _LAYERS[name]


def _module_fields(cls: type[nn.Module]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.name not in ("parent", "name")}


def make_memory(name: str, **options: Any) -> Memory:
    """Build the memory stack for `name` ("s5", "gru", ...) with `options`.

    Stack options (see `MemoryStack`) and layer options (fields of the layer class) may be
    mixed; an option that is neither raises ValueError listing the valid ones.
    """
    from ssm_rl.blocks import MemoryStack

    cls = layer_class(name)
    stack_fields = _module_fields(MemoryStack) - {"layer_cls", "layer_options"}
    layer_fields = _module_fields(cls)
    unknown = sorted(set(options) - stack_fields - layer_fields)
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for memory {name!r}; stack options: "
            f"{sorted(stack_fields)}; {cls.__name__} options: {sorted(layer_fields)}"
        )
    stack_options = {k: v for k, v in options.items() if k in stack_fields}
    layer_options = {k: v for k, v in options.items() if k not in stack_fields}
    defaults = getattr(cls, "stack_defaults", {})
    return MemoryStack(
        layer_cls=cls,
        layer_options=tuple(sorted(layer_options.items())),
        **{**defaults, **stack_options},
    )


def _import_builtin_layers() -> None:
    """Import the layer modules so their `@register_layer` decorators run."""
    import ssm_rl.layers  # noqa: F401
