"""The POPGym benchmark grid: env ids x memories, every cell a vmapped group of seeds.

One cell = one `(env id, memory)` pair trained with PPO for `total_steps` env steps per seed,
all seeds in one compiled program (`agents.common.training.train_seeds`). A cell writes one
JSON file, `<out>/cells/<env id>__<memory>.json`, written atomically once the cell has finished:

    {"env_id", "memory", "overrides", "num_seeds", "total_steps",
     "curve": {"env_steps": [U], "return_per_seed": [seeds][U]},   # mean return per update
     "mmer_per_seed": [seeds], "mmer": mean, "mmer_std": std over seeds,
     "final_return_per_seed": [seeds], "final_return": mean,      # last fifth of the updates
     "greedy_return_per_seed": [seeds],   # after training, the policy's mode, EVAL_EPISODES
     "parameters", "compile_s", "run_s", "wall_s", "env_steps_per_s", "host": {...}}

MMER is POPGym's metric: the maximum over training updates of the mean episode return of the
update (every POPGym return lies in [-1, 1]; the paper's normalised MMER is 0.5 MMER + 0.5).
The grid is resumable: a cell whose file exists is skipped, so a killed grid continues with the
first unfinished cell. `shard=(i, n)` makes this process take every n-th cell from the i-th,
so n processes (one per device, e.g. `CUDA_VISIBLE_DEVICES=i`) share one grid without overlap.

`aggregate(out)` reads every cell file and returns the markdown table (MMER mean ± std per
env and memory, the best memory of each row in bold); `plot_grid` draws the per-env bar chart
with the seeds' spread and the learning curves.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

from benchmarks.curves import returns_curve
from benchmarks.timing import host_meta

DEFAULT_PRESET = "fast"
EVAL_EPISODES = 128  # greedy episodes per seed after training (first episode of each env)


@dataclass(frozen=True)
class Cell:
    """One grid cell: `env_id` x `memory`, `num_seeds` seeds of `total_steps` env steps each,
    trained with `train_ppo` and the Hydra `overrides` (preset and anything else)."""

    env_id: str
    memory: str
    num_seeds: int
    total_steps: int
    overrides: tuple[str, ...] = field(default=(f"preset={DEFAULT_PRESET}",))

    @property
    def name(self) -> str:
        return f"{self.env_id}__{self.memory}"

    def hydra_overrides(self) -> list[str]:
        return [*self.overrides, f"env.id={self.env_id}", f"model={self.memory}",
                f"num_seeds={self.num_seeds}", f"algo.total_timesteps={self.total_steps}",
                "logger=quiet"]


def grid(env_ids: Sequence[str], memories: Sequence[str], num_seeds: int, total_steps: int,
         overrides: Sequence[str] = (f"preset={DEFAULT_PRESET}",)) -> list[Cell]:
    """Every `(env id, memory)` cell, env-major (all memories of an env finish together)."""
    return [Cell(e, m, num_seeds, total_steps, tuple(overrides))
            for e in env_ids for m in memories]


def check_cells(cells: Sequence[Cell]) -> None:
    """Build every cell's config before anything trains: a bad env id, memory or override
    fails here with the config's own one-line message."""
    for cell in cells:
        _config(cell)


def _config(cell: Cell) -> Any:
    from agents.common.cli import compose_run_config
    from agents.ppo.config import TrainPPOConfig, register_configs

    config = compose_run_config(TrainPPOConfig, "train_ppo", register_configs,
                                cell.hydra_overrides())
    config.validate()
    return config


def mmer(returns: np.ndarray) -> np.ndarray:
    """POPGym's max mean episode return per seed: max over updates of `returns[seeds, U]`
    (NaN where no episode ended in an update; NaN if none ended at all)."""
    returns = np.asarray(returns, np.float64)
    finite = np.isfinite(returns).any(axis=1)
    best = np.max(np.where(np.isfinite(returns), returns, -np.inf), axis=1)
    return np.where(finite, best, np.nan)


def greedy_returns(trainer: Any, params: Any, episodes: int = EVAL_EPISODES) -> list[float]:
    """Mean return of `episodes` greedy episodes (the policy's mode) per member of the
    stacked `params [members, ...]`."""
    from agents.common.config import agent_env
    from agents.evaluation import episode_returns
    from agents.policy import trainer_policy

    env, env_params = agent_env(trainer.config.env)
    means = []
    for member in range(jax.tree.leaves(params)[0].shape[0]):
        policy = trainer_policy(trainer, jax.tree.map(lambda x: x[member], params), env=env,
                                env_params=env_params, seed_index=member)
        returns, _ = episode_returns(policy, jax.random.key(member), episodes, greedy=True)
        means.append(float(np.mean(returns)))
    return means


def run_cell(cell: Cell) -> dict[str, Any]:
    """Train the cell's seeds in one program; its result record (see the module docstring)."""
    from agents.common.trainer import seed_keys
    from agents.common.training import make_trainer, train_seeds
    from ssm_rl.params import count_parameters

    config = _config(cell)
    trainer = make_trainer(config)
    updates = trainer.num_iterations
    chunk_seconds = []  # run time of each chunk, compile excluded
    start = time.perf_counter()
    state, metrics = train_seeds(trainer, seed_keys(config), per_chunk=updates,
                                 callback=lambda report: chunk_seconds.append(report.seconds))
    wall = time.perf_counter() - start
    run_s = float(sum(chunk_seconds))
    curve = returns_curve(metrics, trainer.steps_per_iteration)
    per_seed = mmer(np.asarray(curve["return_per_seed"], np.float64))
    return {
        "env_id": cell.env_id, "memory": cell.memory, "overrides": list(cell.overrides),
        "num_seeds": cell.num_seeds, "total_steps": cell.total_steps, "updates": updates,
        "curve": {"env_steps": curve["env_steps"], "return_per_seed": curve["return_per_seed"]},
        "mmer_per_seed": per_seed.tolist(), "mmer": float(np.nanmean(per_seed)),
        "mmer_std": float(np.nanstd(per_seed)),
        "final_return_per_seed": curve["final_return_per_seed"],
        "final_return": curve["final_return"],
        "greedy_return_per_seed": greedy_returns(trainer, state.params),
        "parameters": count_parameters(jax.tree.map(lambda x: x[0], state.params)),
        "compile_s": wall - run_s, "run_s": run_s, "wall_s": wall,
        "env_steps_per_s": cell.num_seeds * updates * trainer.steps_per_iteration / run_s,
        "host": host_meta(),
    }


def cell_path(out: Path, cell: Cell) -> Path:
    return Path(out) / "cells" / f"{cell.name}.json"


def run_grid(cells: Sequence[Cell], out: Path, shard: tuple[int, int] = (0, 1),
             run: Callable[[Cell], dict[str, Any]] = run_cell,
             log: Callable[[str], None] = print) -> list[Path]:
    """Run this shard's unfinished cells in order; returns the paths written now.

    A finished cell's file is never rewritten. A cell file is written to a temporary name and
    renamed, so an interrupted cell leaves nothing and reruns from its start.
    """
    index, count = shard
    if not (isinstance(index, int) and isinstance(count, int) and 0 <= index < count):
        raise ValueError(f"shard={shard!r} must be (i, n) with 0 <= i < n")
    mine = list(cells)[index::count]
    todo = [c for c in mine if not cell_path(out, c).exists()]
    log(f"{len(mine) - len(todo)} of {len(mine)} cells of this shard already done; "
        f"{len(todo)} to run")
    written = []
    for k, cell in enumerate(todo, 1):
        record = run(cell)
        path = cell_path(out, cell)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(tmp, path)
        written.append(path)
        log(f"[{k}/{len(todo)}] {cell.name}: MMER {record['mmer']:+.3f} ± "
            f"{record['mmer_std']:.3f}, final {record['final_return']:+.3f}, "
            f"{record['wall_s']:.0f} s ({record['env_steps_per_s']:.0f} env steps/s)")
    return written


def load_cells(out: Path) -> list[dict[str, Any]]:
    """Every finished cell record under `out/cells`, sorted by file name."""
    return [json.loads(p.read_text()) for p in sorted((Path(out) / "cells").glob("*.json"))]


def _table_axes(records: Sequence[dict]) -> tuple[list[str], list[str], dict]:
    """`(env ids, memories, {(env id, memory): record})`, axes in order of first appearance."""
    envs = list(dict.fromkeys(r["env_id"] for r in records))
    memories = list(dict.fromkeys(r["memory"] for r in records))
    return envs, memories, {(r["env_id"], r["memory"]): r for r in records}


def aggregate(records: Sequence[dict], metric: str = "mmer") -> str:
    """Markdown table: one row per env, one column per memory, `metric` mean ± std over seeds
    (bold: the row's best mean), then a row of each memory's mean over the envs it ran."""
    envs, memories, by_key = _table_axes(records)
    lines = [f"| env | {' | '.join(memories)} |", f"|---|{'---|' * len(memories)}"]
    for env in envs:
        cells = [by_key.get((env, m)) for m in memories]
        values = [np.mean(c[f"{metric}_per_seed"]) if c else np.nan for c in cells]
        best = np.nanmax(values) if np.isfinite(values).any() else np.nan
        shown = []
        for c, v in zip(cells, values, strict=True):
            if c is None:
                shown.append("—")
                continue
            text = f"{v:+.2f} ± {np.std(c[f'{metric}_per_seed']):.2f}"
            shown.append(f"**{text}**" if v == best else text)
        lines.append(f"| {env} | {' | '.join(shown)} |")
    means = [np.mean([np.mean(by_key[(e, m)][f"{metric}_per_seed"]) for e in envs
                      if (e, m) in by_key]) for m in memories]
    lines.append(f"| mean | {' | '.join(f'{v:+.3f}' for v in means)} |")
    return "\n".join(lines)


def plot_grid(records: Sequence[dict], out: Path) -> tuple[Path, Path]:
    """`(bars.png, curves.png)` under `out`: MMER per env and memory with every seed as a dot,
    and each cell's mean learning curve with the seeds' range shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs, memories, by_key = _table_axes(records)
    width = 0.8 / len(memories)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(envs)), 4.0))
    for j, memory in enumerate(memories):
        x = np.arange(len(envs)) + (j - (len(memories) - 1) / 2) * width
        for i, env in enumerate(envs):
            rec = by_key.get((env, memory))
            if rec is None:
                continue
            seeds = np.asarray(rec["mmer_per_seed"], float)
            ax.bar(x[i], np.mean(seeds), width, color=f"C{j}",
                   label=memory if i == 0 else None)
            ax.plot(np.full(seeds.shape, x[i]), seeds, "k.", markersize=3)
    ax.set_xticks(np.arange(len(envs)), envs, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("MMER (max mean episode return)")
    ax.set_ylim(-1.0, 1.0)
    ax.axhline(0.0, color="k", linewidth=0.5)
    ax.legend(fontsize=7, ncols=len(memories))
    fig.tight_layout()
    bars = Path(out) / "bars.png"
    fig.savefig(bars, dpi=120)
    plt.close(fig)

    cols = min(4, len(envs))
    rows = -(-len(envs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, env in zip(axes.flat, envs, strict=False):
        for j, memory in enumerate(memories):
            rec = by_key.get((env, memory))
            if rec is None:
                continue
            steps = np.asarray(rec["curve"]["env_steps"], float)
            runs = np.asarray(rec["curve"]["return_per_seed"], float)
            with np.errstate(all="ignore"):
                ax.plot(steps, np.nanmean(runs, 0), color=f"C{j}", linewidth=1, label=memory)
                ax.fill_between(steps, np.nanmin(runs, 0), np.nanmax(runs, 0), color=f"C{j}",
                                alpha=0.2, linewidth=0)
        ax.set_title(env, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(envs):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.supxlabel("env steps per seed", fontsize=8)
    fig.supylabel("mean episode return", fontsize=8)
    fig.tight_layout()
    curves = Path(out) / "curves.png"
    fig.savefig(curves, dpi=110)
    plt.close(fig)
    return bars, curves
