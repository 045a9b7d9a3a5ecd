#!/usr/bin/env python
"""Seed-by-seed teacher-forced reward memory of one world-model backbone on MemoryChain.

    python scripts/probe_wm_seeds.py --backbone mamba --seeds 0 1 2 3 4
    python scripts/probe_wm_seeds.py --backbone mamba --norm none --seeds 2 3 4

For each seed: the offline world-model training of `scripts/eval_wm.py` (data, sizing to
`--target-params`, 2000 Adam steps) on MemoryChain-`--memory-length` with the backbone's stack
options overridden as given, then the first and last training loss and the reward-sign
accuracy `--memory-length - 1` steps after the cue, teacher-forced and imagined. Writes JSON
(`--out`). A run stuck at chance shows a last loss near 1.41 (the reward term not learnt).
"""

import argparse
import json
from pathlib import Path

import jax

import benchmarks.world_model_study as study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--backbone", default="mamba")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--memory-length", type=int, default=16)
    parser.add_argument("--num-layers", type=int, default=None)
    parser.add_argument("--norm", choices=["layer", "none"], default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--out", type=Path, default=Path("outputs/probe_wm_seeds.json"))
    args = parser.parse_args()

    options = dict(study.BACKBONE_OPTIONS.get(args.backbone, {}))
    options.update({k: v for k, v in (("num_layers", args.num_layers), ("norm", args.norm))
                    if v is not None})
    study.BACKBONE_OPTIONS[args.backbone] = options
    settings = study.StudySettings(backbones=[args.backbone], memory_lengths=[args.memory_length],
                                   repeat_first="")
    if args.learning_rate is not None:
        settings.learning_rate = args.learning_rate
    horizon = str(args.memory_length - 1)
    rows = []
    for seed in args.seeds:
        result = study.prediction_study(settings, jax.random.PRNGKey(seed))
        r = result[f"MemoryChain-{args.memory_length}"][args.backbone]
        rows.append({"seed": seed, "d_model": r["d_model"], "loss_first": r["loss_first"],
                     "loss_last": r["loss_last"],
                     **{f"{mode}_accuracy": r["summary"][mode][horizon]["reward_balanced_accuracy"]
                        for mode in ("teacher_forced", "imagined")}})
    print(f"{args.backbone} {options} lr={settings.learning_rate} MemoryChain-{args.memory_length}")
    for row in rows:
        print(f"  seed {row['seed']}: loss {row['loss_first']:.2f} -> {row['loss_last']:.3f}, "
              f"teacher-forced {row['teacher_forced_accuracy']:.2f}, "
              f"imagined {row['imagined_accuracy']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"backbone": args.backbone, "options": options,
                                    "learning_rate": settings.learning_rate, "rows": rows},
                                   indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
