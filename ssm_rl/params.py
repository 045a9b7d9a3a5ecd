"""Parameter counting and sizing for any pytree of arrays or shape structs (the one count every
benchmark, evaluation and table in the project reports)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp


def count_parameters(tree: Any) -> int:
    """Number of scalar entries in `tree` (arrays or `jax.ShapeDtypeStruct`s, e.g. from
    `jax.eval_shape`). A complex entry counts once."""
    return int(sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree)))


def memory_parameter_count(memory: Any, input_size: int) -> int:
    """Parameters of a memory (`make_memory(...)`) fed `input_size` features per step: shapes
    only (`jax.eval_shape`), nothing is computed or allocated."""
    carry = memory.initialize_carry((1,))
    x = jax.ShapeDtypeStruct((2, 1, input_size), jnp.float32)
    reset = jax.ShapeDtypeStruct((2, 1), jnp.bool_)
    return count_parameters(jax.eval_shape(memory.init, jax.random.key(0), carry, x, reset))


def closest_width(
    count: Callable[[int], int], target: int, step: int = 8, max_width: int = 4096
) -> int:
    """The width (a multiple of `step`, at most `max_width`) whose `count(width)` is closest to
    `target`; `count` must not decrease with the width (bisection, then the two neighbours)."""
    lo, hi = 1, max_width // step
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid * step) < target:
            lo = mid + 1
        else:
            hi = mid
    candidates = [w * step for w in (lo - 1, lo) if w >= 1]  # smaller width wins a tie
    return min(candidates, key=lambda w: abs(count(w) - target))
