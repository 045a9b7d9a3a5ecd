"""Statistics of learning curves, for reports that compare agents over training.

A curve is `{"env_steps": [iterations], "return_per_seed": [seeds][iterations] (NaN where no
episode ended), "final_return", "final_return_per_seed"}`, built by `returns_curve` from the
`[seeds, iterations]` metrics `agents.common.training.train_seeds` returns.
"""

from __future__ import annotations

import numpy as np


def returns_curve(metrics: dict, steps_per_iteration: int) -> dict:
    """The curve of `metrics["episode/return"]` and `["episode/count"]` `[seeds, iterations]`;
    the final return is the mean over the last fifth of the iterations."""
    count = np.asarray(metrics["episode/count"])
    returns = np.where(count > 0, np.asarray(metrics["episode/return"]), np.nan)
    steps = (np.arange(returns.shape[1]) + 1) * steps_per_iteration
    tail = returns[:, -max(1, returns.shape[1] // 5):]
    return {"env_steps": steps.tolist(), "return_per_seed": returns.tolist(),
            "final_return": float(np.nanmean(tail)),
            "final_return_per_seed": np.nanmean(tail, axis=1).tolist()}


def segment_means(curve: dict, bins: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """`(env steps at each segment's end [bins], mean episode return [seeds, bins])` over
    `bins` equal segments of training (NaN where no episode ended in a segment)."""
    returns = np.asarray(curve["return_per_seed"], float)
    steps = np.asarray(curve["env_steps"])
    edges = np.linspace(0, returns.shape[1], bins + 1).astype(int)
    means = np.full((returns.shape[0], bins), np.nan)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        segment = returns[:, lo:hi]
        seen = np.isfinite(segment).any(axis=1)
        means[seen, i] = np.nanmean(segment[seen], axis=1)
    return steps[np.maximum(edges[1:] - 1, 0)], means


def steps_to_reach(curve: dict, threshold: float, bins: int = 25) -> list[int | None]:
    """Per seed: the env steps at the end of the first of `bins` equal segments of training
    whose mean episode return is >= `threshold` (None if none is)."""
    steps, means = segment_means(curve, bins)
    return [int(steps[np.argmax(row >= threshold)]) if (row >= threshold).any() else None
            for row in means]
