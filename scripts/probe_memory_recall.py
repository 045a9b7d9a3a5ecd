#!/usr/bin/env python
"""Supervised recall accuracy of memories over seeds (`benchmarks.memory_recall`).

    python scripts/probe_memory_recall.py --memories mamba s5 --seeds 0 1 2 3 --cases T64

Prints one line per memory, case and seed (accuracy on fresh sequences after `--steps` Adam
updates) and writes JSON to --out.
"""

import argparse
import json
from pathlib import Path

from benchmarks.memory_recall import CASES, SSM_MEMORIES, train_recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--memories", nargs="+", default=list(SSM_MEMORIES))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("outputs/probe_memory_recall.json"))
    args = parser.parse_args()
    rows = []
    for name in args.memories:
        for case in args.cases:
            length, episode = CASES[case]
            for seed in args.seeds:
                accuracy = train_recall(name, length, episode, steps=args.steps, seed=seed)
                rows.append({"memory": name, "case": case, "seed": seed, "accuracy": accuracy})
                print(f"{name} {case} seed {seed}: {accuracy:.3f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"steps": args.steps, "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
