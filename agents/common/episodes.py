"""Statistics of the episodes that ended in a batch of env steps, and their host-side masking.

Inside `jit` a mean over "the episodes that ended" must have a fixed shape, so it is a
done-masked sum divided by the count (0 when none ended); the host turns "none ended" into NaN
(`mask_episode_statistics`), which the logger writes as null.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

EPISODE_KEYS = ("episode/return", "episode/length")


def episode_statistics(
    ended: jax.Array, returns: jax.Array, lengths: jax.Array
) -> dict[str, jax.Array]:
    """Count, mean return and mean length of the episodes that ended, over arrays of any equal
    shape (e.g. `[T, B]`): `ended` marks a step where an episode ended, `returns`/`lengths` are
    that episode's return and length there (ignored elsewhere). Means are 0 when none ended."""
    ended = ended.astype(jnp.float32)
    count = jnp.sum(ended)
    denom = jnp.maximum(count, 1.0)
    return {
        "episode/count": count,
        "episode/return": jnp.sum(ended * returns) / denom,
        "episode/length": jnp.sum(ended * lengths) / denom,
    }


def mask_episode_statistics(row: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`row` (host arrays `[num_seeds]`) with the episode means NaN where no episode ended."""
    no_episode = row["episode/count"] == 0
    return {k: np.where(no_episode, np.nan, v) if k in EPISODE_KEYS else v
            for k, v in row.items()}
