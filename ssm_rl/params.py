"""Parameter counting for any pytree of arrays or shape structs (the one count every
benchmark, evaluation and table in the project reports)."""

from __future__ import annotations

import math
from typing import Any

import jax


def count_parameters(tree: Any) -> int:
    """Number of scalar entries in `tree` (arrays or `jax.ShapeDtypeStruct`s, e.g. from
    `jax.eval_shape`). A complex entry counts once."""
    return int(sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree)))
