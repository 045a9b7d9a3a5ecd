#!/usr/bin/env python
"""Scaling studies of the memory models (the S5 RL paper's speed claims, reproduced).

    python scripts/bench_scaling.py                       # --study length on CPU, full sweep
    python scripts/bench_scaling.py --quick               # tiny sizes: checks the script (minutes)
    python scripts/bench_scaling.py --device gpu          # the same on an accelerator
    python scripts/bench_scaling.py --study devices --quick          # 1, 2 CPU devices, tiny
    python scripts/bench_scaling.py --study devices --device gpu --scaling weak

`--study length` (the default, `benchmarks.length_scaling`): S5, LRU, Mamba-style, GRU, LSTM and
the causal Transformer at a matched parameter count, T = 2^7 .. 2^16 at batch 8 and 64:
forward and forward+backward time, compile time and XLA's peak memory, log-log slopes and the
length where S5 overtakes the Transformer. `--study devices` (`benchmarks.device_scaling`):
env-steps/s of data-parallel recurrent PPO against the device count, strong or weak scaling.
Results: `<out>/scaling_<study>_<device>.json` and `.png`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

from benchmarks import device_scaling, length_scaling
from ssm_rl.scan import BACKENDS, default_backend


def length_study(args: argparse.Namespace) -> dict[str, Any]:
    limits = length_scaling.Limits(args.time_limit, int(args.memory_limit_gb * 2**30),
                                   args.repeats)
    return length_scaling.run_length_study(
        args.models, tuple(args.backends), args.params, args.batches,
        [2**k for k in range(args.min_log2, args.max_log2 + 1)], limits, args.fit_min_length,
        partial_path=args.out / f"scaling_length_{args.device}.partial.json")


def devices_study(args: argparse.Namespace) -> dict[str, Any]:
    workload = device_scaling.PPOWorkload(args.ppo_model, args.ppo_d_model, args.ppo_envs,
                                          args.ppo_steps, args.ppo_minibatches, args.ppo_updates)
    counts = sorted(set(args.device_counts or device_scaling.default_device_counts(args.device)))
    return device_scaling.run_devices_study(workload, counts, args.scaling, args.device,
                                            args.repeats)


STUDIES: dict[str, tuple[Callable, Callable, Callable]] = {
    "length": (length_study, length_scaling.print_length_report,
               length_scaling.plot_length_study),
    "devices": (devices_study, device_scaling.print_devices_report,
                device_scaling.plot_devices_study),
}


QUICK_DEFAULTS: dict[str, Any] = {
    "params": 5_000, "batches": [2], "min_log2": 4, "max_log2": 5, "fit_min_length": 1,
    "time_limit": 10.0, "repeats": 2,
    "device_counts": [1, 2], "ppo_model": "gru", "ppo_d_model": 8, "ppo_envs": 8, "ppo_steps": 16,
    "ppo_updates": 2,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--study", choices=sorted(STUDIES), default="length")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--quick", action="store_true",
                   help="check the script: ~5k parameters, T = 16, 32, batch 2, one backend\n"
                        "(options given explicitly still apply)")
    p.add_argument("--models", type=lambda s: s.split(","),
                   default=list(length_scaling.MODEL_SPECS))
    p.add_argument("--backends", type=lambda s: s.split(","), default=None,
                   help="scan backends for the SSMs (default: both; --quick: the platform's)")
    p.add_argument("--params", type=int, default=100_000, help="target parameter count")
    p.add_argument("--batches", type=int, nargs="+", default=[8, 64])
    p.add_argument("--min-log2", type=int, default=7)
    p.add_argument("--max-log2", type=int, default=16)
    p.add_argument("--fit-min-length", type=int, default=1024)
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per configuration")
    p.add_argument("--memory-limit-gb", type=float, default=None,
                   help="skip configurations above this (default 75%% of RAM / 90%% of GPU)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("bench_results/scaling"))
    devices = p.add_argument_group("--study devices (data-parallel PPO, one process per count)")
    devices.add_argument("--device-counts", type=int, nargs="+", default=None,
                         help="device counts (default: powers of 2 up to the cores / GPUs)")
    devices.add_argument("--scaling", choices=("strong", "weak"), default="strong",
                         help="strong: --ppo-envs in all; weak: --ppo-envs per device")
    devices.add_argument("--ppo-model", default="s5")
    devices.add_argument("--ppo-d-model", type=int, default=64)
    devices.add_argument("--ppo-envs", type=int, default=64)
    devices.add_argument("--ppo-steps", type=int, default=128, help="rollout length T")
    devices.add_argument("--ppo-minibatches", type=int, default=2)
    devices.add_argument("--ppo-updates", type=int, default=5, help="updates per timed chunk")
    if "--quick" in (sys.argv[1:] if argv is None else argv):
        p.set_defaults(**QUICK_DEFAULTS)
    args = p.parse_args(argv)
    if args.backends is None:
        args.backends = [default_backend(args.device)] if args.quick else list(BACKENDS)
    bad = [b for b in args.backends if b not in BACKENDS]
    if bad:
        p.error(f"unknown backend(s) {bad}; expected {BACKENDS}")
    if args.min_log2 > args.max_log2:
        p.error(f"--min-log2 {args.min_log2} > --max-log2 {args.max_log2}")
    try:
        length_scaling.check_models(args.models)
    except ValueError as err:
        p.error(str(err))
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    jax.config.update("jax_platforms", "cuda" if args.device == "gpu" else "cpu")
    jax.config.update("jax_enable_compilation_cache", False)  # compile times must be real
    if args.memory_limit_gb is None:
        args.memory_limit_gb = length_scaling.default_memory_limit_gb(args.device)
    run, report, plot = STUDIES[args.study]
    result = {
        "study": args.study,
        "device": str(jax.devices()[0].device_kind),
        "platform": jax.default_backend(),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine()},
        "jax": jax.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        **run(args),
    }
    report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"scaling_{args.study}_{args.device}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    plot(result, stem.with_suffix(".png"))
    print(f"\nwrote {stem}.json and {stem}.png")
    return result


if __name__ == "__main__":
    main()
