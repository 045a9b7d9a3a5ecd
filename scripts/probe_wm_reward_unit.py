#!/usr/bin/env python
"""Small rewards in a world model: two-hot targets in reward units vs DreamerV3's unit 1.

    python scripts/probe_wm_reward_unit.py --steps 1500 --seeds 0 1 2

RepeatFirstEasy pays +-1/51 per step. For each seed and for unit = 1/51 (the task's reward
magnitude) and unit = 1, trains the small GRU world model of
`benchmarks.world_model_study.small_reward_probe` and prints the teacher-forced and imagined
reward-sign accuracy (chance 0.5). Writes JSON to --out.
"""

import argparse
import json
from pathlib import Path

from benchmarks.world_model_study import small_reward_probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--backbone", default="gru")
    parser.add_argument("--out", type=Path, default=Path("outputs/probe_wm_reward_unit.json"))
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        for unit in (None, 1.0):
            r = small_reward_probe(unit, args.steps, args.backbone, seed)
            rows.append({"seed": seed, "unit": r["unit"],
                         **{m: r[m]["reward_balanced_accuracy"]
                            for m in ("teacher_forced", "imagined")}})
            print(f"seed {seed} unit {r['unit']:.4f}: teacher-forced "
                  f"{rows[-1]['teacher_forced']:.3f}, imagined {rows[-1]['imagined']:.3f}",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"steps": args.steps, "backbone": args.backbone,
                                    "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
