#!/usr/bin/env python
"""A learning-rate x entropy-coefficient grid in one vmapped program vs one run per point.

    python scripts/bench_sweep.py --out docs/results/sweep_cpu.json   # + sweep_cpu.png

Grid: `--learning-rates` x `--ent-coefs` x `--seeds` with `preset=fast` (S5) on `--env`,
`--updates` updates per member. Legs and what they mean: benchmarks.hyperparameter_sweep.
Prints compile, run and total seconds per leg, the speed-up over the sequential sweep, the
members' final returns (mean of the last 5 updates), and the largest difference between the
legs' returns; writes JSON and a plot of every member's curve.
"""

import argparse
from pathlib import Path

import numpy as np

from agents.common.plotting import CurveGroup, plot_groups
from agents.common.sweep import member_labels
from benchmarks.hyperparameter_sweep import run_legs
from benchmarks.timing import host_meta, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--learning-rates", nargs="+", type=float,
                        default=[3e-3, 1e-3, 3e-4, 1e-4])
    parser.add_argument("--ent-coefs", nargs="+", type=float, default=[0.0, 0.01])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--env", default="RepeatPreviousEasy")
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("docs/results/sweep_cpu.json"))
    args = parser.parse_args()

    sweep = {"learning_rate": args.learning_rates, "ent_coef": args.ent_coefs}
    base = ["preset=fast", f"env.id={args.env}", f"num_seeds={args.seeds}",
            f"algo.total_timesteps={args.updates * 64 * 128}"]
    legs = run_legs(base, sweep, args.updates)
    labels = member_labels({"num_seeds": args.seeds, "sweep": sweep})
    sequential = next(leg for leg in legs if leg.name == "sequential")
    vmapped = legs[0]
    final = lambda leg: np.nanmean(leg.returns[:, -5:], axis=1)  # noqa: E731
    gap = max(float(np.nanmax(np.abs(final(leg) - final(vmapped)))) for leg in legs)

    print(f"{len(labels)} members x {args.updates} updates x 8192 env steps ({args.env}, "
          "preset=fast)")
    print(f"{'leg':24s} {'compile s':>10s} {'run s':>8s} {'total s':>8s} {'speed-up':>9s}")
    for leg in legs:
        print(f"{leg.name:24s} {leg.compile_s:10.1f} {leg.run_s:8.1f} {leg.total_s:8.1f} "
              f"{sequential.total_s / leg.total_s:8.2f}x")
    for label, value in zip(labels, final(vmapped), strict=True):
        print(f"  {label:40s} final return {value:+.3f}")
    print(f"largest difference of a member's final return between legs: {gap:.2e}")

    results = [{"leg": leg.name, "compile_s": leg.compile_s, "run_s": leg.run_s,
                "total_s": leg.total_s, "speedup_vs_sequential": sequential.total_s / leg.total_s,
                "final_return": dict(zip(labels, map(float, final(leg)), strict=True))}
               for leg in legs]
    meta = {**host_meta(), "sweep": sweep, "seeds": args.seeds, "env": args.env,
            "updates": args.updates, "env_steps_per_update": 8192, "preset": "fast",
            "max_return_difference_between_legs": gap}
    write_results(args.out, meta, results)
    x = 8192 * np.arange(1, args.updates + 1, dtype=np.float64)
    groups = [CurveGroup(label, x, vmapped.returns[m][None]) for m, label in enumerate(labels)]
    png = plot_groups(groups, args.out.with_suffix(".png"),
                      title=f"one vmapped sweep, {args.env}, preset=fast")
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
