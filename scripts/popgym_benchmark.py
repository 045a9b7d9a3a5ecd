#!/usr/bin/env python
"""The POPGym benchmark: PPO on env ids x memories x seeds, resumable, one JSON per cell.

    python scripts/popgym_benchmark.py --out docs/results/popgym_cpu \
        --memories s5 gru lru mamba2 mlp --seeds 3 --steps 1000000

Default envs: every POPGym family at Easy (`--difficulty Medium` or `--envs ...` for others).
Finished cells (`<out>/cells/*.json`) are skipped, so rerunning the same command after a kill
continues the grid; `--shard i/n` runs every n-th cell (one process per device). After the
cells, writes `<out>/table.md` (MMER mean ± std over seeds), `<out>/summary.json`,
`<out>/bars.png` and `<out>/curves.png` from every cell file present; `--aggregate-only` just
rewrites those. What a cell records and how MMER is computed: benchmarks.popgym_grid.
"""

import argparse
import json
from pathlib import Path

from benchmarks.popgym_grid import (
    DEFAULT_PRESET,
    aggregate,
    check_cells,
    grid,
    load_cells,
    plot_grid,
    run_grid,
)
from benchmarks.timing import host_meta


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text!r} must be i/n, e.g. 0/2") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard {text!r} needs 0 <= i < n")
    return index, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--out", type=Path, default=Path("docs/results/popgym_cpu"))
    parser.add_argument("--envs", nargs="+", help="env ids (default: every family at "
                        "--difficulty)")
    parser.add_argument("--difficulty", default="Easy", choices=["Easy", "Medium", "Hard"])
    parser.add_argument("--memories", nargs="+", default=["s5", "gru", "lru", "mamba2", "mlp"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per seed")
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--override", nargs="*", default=[],
                        help="extra train_ppo overrides for every cell, e.g. algo.ent_coef=0.01")
    parser.add_argument("--shard", type=parse_shard, default=(0, 1))
    parser.add_argument("--aggregate-only", action="store_true")
    args = parser.parse_args()

    if not args.aggregate_only:
        from envs.popgym import POPGYM_IDS

        env_ids = args.envs or [i for i in POPGYM_IDS if i.endswith(args.difficulty)]
        cells = grid(env_ids, args.memories, args.seeds, args.steps,
                     [f"preset={args.preset}", *args.override])
        check_cells(cells)
        run_grid(cells, args.out, args.shard)

    records = load_cells(args.out)
    if not records:
        parser.error(f"no finished cells under {args.out}/cells")
    table = aggregate(records)
    (args.out / "table.md").write_text(table + "\n")
    summary = [{k: r[k] for k in ("env_id", "memory", "num_seeds", "total_steps", "mmer",
                                   "mmer_std", "mmer_per_seed", "final_return", "parameters",
                                   "wall_s", "env_steps_per_s")} for r in records]
    meta = {**host_meta(), "total_wall_s": sum(r["wall_s"] for r in records)}
    (args.out / "summary.json").write_text(json.dumps({"meta": meta, "cells": summary},
                                                      indent=1) + "\n")
    bars, curves = plot_grid(records, args.out)
    print(table)
    print(f"wrote {args.out}/table.md, summary.json, {bars.name}, {curves.name} "
          f"({len(records)} cells, {meta['total_wall_s'] / 3600:.2f} h of training)")


if __name__ == "__main__":
    main()
