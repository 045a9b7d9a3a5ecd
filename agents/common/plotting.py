"""Learning curves from run directories: mean and spread over seeds, grouped by config keys.

Every member of every run directory (a seed; seeds trained together share a directory,
repeated runs add more; a hyper-parameter sweep's members are seeds at grid points,
agents.common.sweep) contributes one curve `metric` vs `x_key` from metrics.jsonl, with its
member's effective config. Members whose configs agree on `label_keys` (dotted paths into
config.yaml, e.g. "model.name"; by default every key that differs between the runs, so a
paper-config run and a fast one never merge) form one group,
drawn as the mean over its seeds with a band of +-1 standard deviation (min-max with
`band="range"`), on a common grid (linear interpolation inside each curve's own x range).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.common.run_dir import RunDir
from agents.common.sweep import member_configs


@dataclass
class CurveGroup:
    label: str
    x: np.ndarray  # [n] common grid
    y: np.ndarray  # [num_seeds, n], NaN outside a seed's x range


# Config keys that never split runs into groups: seeds are the spread, the rest is bookkeeping.
NOT_GROUPING = ("seed", "num_seeds", "seed_index", "sweep", "resume", "logger", "distributed",
                "deterministic")


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def differing_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    """Dotted keys whose values are not the same in every config (a key one config lacks
    differs), apart from `NOT_GROUPING` and what lies below them; sorted."""
    flats = [_flatten(c) for c in configs]
    keys = sorted(set().union(*flats)) if flats else []
    skip = lambda k: any(k == n or k.startswith(f"{n}.") for n in NOT_GROUPING)  # noqa: E731
    missing = object()
    return [k for k in keys if not skip(k)
            and len({repr(f.get(k, missing)) for f in flats}) > 1]


Curve = tuple[np.ndarray, np.ndarray]


def member_curves(run: RunDir, metric: str, x_key: str) -> list[Curve | None]:
    """One `(x[n], y[n])` per member of a run, in member order (None for a member without a
    value); rows where the metric is missing are skipped."""
    rows = run.read_metrics()
    rows = [r for r in rows if metric in r["metrics"]]
    if not rows:
        return []
    curves: list[Curve | None] = []
    for member in range(len(rows[0]["metrics"][metric])):
        points = [(r[x_key], r["metrics"][metric][member]) for r in rows]
        points = [(x, y) for x, y in points if y is not None]
        curve = None
        if points:
            x, y = map(np.asarray, zip(*points, strict=True))
            curve = (x.astype(np.float64), y.astype(np.float64))
        curves.append(curve)
    return curves


def group_curves(
    run_dirs: Sequence[str | Path],
    metric: str = "episode/return",
    x_key: str = "env_steps",
    label_keys: Sequence[str] | None = None,
    num_points: int = 200,
) -> list[CurveGroup]:
    """Curves of `run_dirs` grouped by the values of `label_keys` in their configs (default:
    every key whose value differs between the runs, `differing_keys`: runs that differ only in
    their seeds form one group). A label reads `key=value ...`, or the env id and memory when
    all runs agree."""
    members = [(config, curve) for path in run_dirs
               for config, curve in zip(member_configs(RunDir(path).read_config()),
                                        member_curves(RunDir(path), metric, x_key),
                                        strict=False)]  # no curves: a run without rows
    if label_keys is None:
        label_keys = differing_keys([config for config, _ in members])
    by_label: dict[str, list[Curve]] = defaultdict(list)
    missing = "-"
    for config, curve in members:
        flat = _flatten(config)
        label = " ".join(f"{k}={flat.get(k, missing)}" for k in label_keys)
        label = label or f"{flat.get('model.name', '')} {flat.get('env.id', '')}".strip()
        if curve is not None:
            by_label[label].append(curve)
    groups = []
    for label, curves in by_label.items():
        if not curves:
            continue
        lo = min(x.min() for x, _ in curves)
        hi = max(x.max() for x, _ in curves)
        grid = np.linspace(lo, hi, num_points)
        y = np.stack([np.interp(grid, x, v, left=np.nan, right=np.nan) for x, v in curves])
        groups.append(CurveGroup(label, grid, y))
    return groups


def plot_groups(
    groups: Sequence[CurveGroup],
    out_path: str | Path,
    *,
    metric: str = "episode/return",
    x_label: str = "env steps",
    band: str = "std",
    title: str | None = None,
) -> Path:
    """Mean +- band per group into a PNG at `out_path`."""
    if band not in ("std", "range"):
        raise ValueError(f"band must be 'std' or 'range', got {band!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for group in groups:
        with warnings.catch_warnings():  # all-NaN grid points (no seed there) stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(group.y, axis=0)
            if band == "std":
                spread = np.nanstd(group.y, axis=0)
                lower, upper = mean - spread, mean + spread
            else:
                lower, upper = np.nanmin(group.y, axis=0), np.nanmax(group.y, axis=0)
        seeds = group.y.shape[0]
        (line,) = ax.plot(group.x, mean, label=f"{group.label} ({seeds} seed{'s' * (seeds > 1)})")
        ax.fill_between(group.x, lower, upper, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(x_label)
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return out_path
