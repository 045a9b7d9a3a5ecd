#!/usr/bin/env python
"""PPO throughput per memory model: env steps/s (compile excluded) and compile time.

    python scripts/bench_ppo.py                               # paper + fast, T = 128 1024 4096
    python scripts/bench_ppo.py --memories s5 gru --presets paper --lengths 128
    python scripts/bench_ppo.py --quick                       # tiny sizes: checks the script

For each (preset, memory, rollout length T) the script builds the training run exactly as
`train_ppo.py` would (same code path: `make_trainer`, `compile_run`), AOT-compiles one chunk,
then times `--updates` updates in one call. "paper" is the AlgoConfig defaults with the
model's paper size; "fast" adds configs/preset/fast.yaml. Results go to a table on stdout
and to JSON (`--out`).
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from hydra import compose, initialize_config_dir

from agents.common.cli import CONFIG_DIR
from agents.common.distributed import data_mesh
from agents.common.trainer import seed_keys
from agents.common.training import compile_run, make_trainer
from agents.ppo.config import TrainPPOConfig, register_configs
from ssm_rl import count_parameters
from ssm_rl.memory import available_memories

QUICK_OVERRIDES = ["model.d_model=16", "network.head_hidden=16", "algo.num_envs=8",
                   "algo.num_minibatches=2", "algo.update_epochs=1"]


def bench_one(overrides: list[str], updates: int) -> dict:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train_ppo", overrides=overrides)
    config = TrainPPOConfig.from_dict(cfg)
    ppo = make_trainer(config)
    state = ppo.init_seeds(seed_keys(config))
    compiled, compile_seconds, state = compile_run(ppo, state, updates, data_mesh())
    start, cpu_start = time.perf_counter(), time.process_time()
    state, metrics = compiled(state, jnp.int32(updates))
    jax.block_until_ready(metrics)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    steps = updates * config.algo.steps_per_update * config.num_seeds
    return {
        "memory": config.memory_name,
        "env": config.env.id,
        "num_steps": config.algo.num_steps,
        "num_envs": config.algo.num_envs,
        "epochs": config.algo.update_epochs,
        "minibatches": config.algo.num_minibatches,
        "parameters": count_parameters(jax.tree.map(lambda x: x[0], state.params)),
        "updates": updates,
        "env_steps": steps,
        "compile_s": round(compile_seconds, 2),
        "run_s": round(seconds, 3),
        "steps_per_s": round(steps / seconds, 1),
        # CPU time of all threads: on a shared machine, steps per CPU-second x cores bounds
        # what a quiet machine would give.
        "cpu_s": round(cpu_seconds, 3),
        "steps_per_cpu_s": round(steps / cpu_seconds, 1),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", nargs="+", default=None,
                        help="memory names (default: every registered one)")
    parser.add_argument("--presets", nargs="+", default=["paper", "fast"],
                        choices=["paper", "fast"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[128, 1024, 4096])
    parser.add_argument("--env", default="RepeatPreviousEasy")
    parser.add_argument("--updates", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, T=16: smoke test")
    parser.add_argument("--out", type=Path, default=Path("bench_results/ppo.json"))
    args = parser.parse_args(argv)
    register_configs()
    memories = args.memories or available_memories()
    lengths = [16] if args.quick else args.lengths
    results = []
    header = (f"{'preset':6s} {'memory':8s} {'T':>5s} {'params':>9s} {'compile s':>9s} "
              f"{'steps/s':>9s} {'steps/cpu-s':>11s}")
    print(header)
    for preset in args.presets:
        for memory in memories:
            for length in lengths:
                overrides = [f"model={memory}", f"env.id={args.env}", "logger=quiet",
                             f"algo.num_steps={length}"]
                if preset == "fast":
                    overrides.append("preset=fast")
                if args.quick:
                    overrides += QUICK_OVERRIDES
                overrides.append("algo.total_timesteps=1000000000")
                row = {"preset": preset, **bench_one(overrides, args.updates)}
                results.append(row)
                print(f"{preset:6s} {memory:8s} {length:5d} {row['parameters']:9d} "
                      f"{row['compile_s']:9.1f} {row['steps_per_s']:9.0f} "
                      f"{row['steps_per_cpu_s']:11.0f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"jax": jax.__version__, "backend": jax.default_backend(),
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "load_average": os.getloadavg()}
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"wrote {args.out} (load average at the end: {meta['load_average']})")
    return results


if __name__ == "__main__":
    main()
