#!/usr/bin/env python
"""Train recurrent PPO on a meta-RL task family and plot its in-context learning curves.

    python scripts/meta_in_context.py --base-envs CartPole-v1 --episode-length 100 \\
        --obs-width 4 --num-projections 4 --steps 600000 --out outputs/meta_cartpole

Trains one seed on split "train" of `--benchmark` with the given task options
(`envs.meta.make_meta_env`), then evaluates episode 1..K returns within a trial on the train
and test_projections splits (same options) for the agent, the agent with its memory reset
every episode, and a random policy. Writes `in_context.json`, `in_context.png` and
`train_returns.json` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

from agents.ppo.config import TrainPPOConfig
from agents.ppo.in_context import in_context_curves, meta_split_envs, write_in_context_report
from agents.ppo.meta_experiment import train_meta
from envs.meta import BENCHMARK_IDS, BENCHMARKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", default="meta_gymnax", choices=sorted(BENCHMARKS))
    parser.add_argument("--base-envs", nargs="+", default=None, help="default: the split's")
    parser.add_argument("--episodes-per-trial", type=int, default=3)
    parser.add_argument("--episode-length", type=int, default=None)
    parser.add_argument("--obs-width", type=int, default=None)
    parser.add_argument("--action-width", type=int, default=None)
    parser.add_argument("--num-projections", type=int, default=None, help="finite task pool")
    parser.add_argument("--model", default="gru", help="any ssm_rl memory name")
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--steps", type=int, default=600_000, help="env steps")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--num-steps", type=int, default=128, help="rollout length")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=512, help="evaluation trials per split")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    env_options = {
        "base_envs": args.base_envs,
        "episodes_per_trial": args.episodes_per_trial,
        "episode_length": args.episode_length,
        "obs_width": args.obs_width,
        "action_width": args.action_width,
        "num_projections": args.num_projections,
    }
    config = TrainPPOConfig.from_dict(
        {
            "env": {"suite": "meta", "id": f"{BENCHMARK_IDS[args.benchmark]}-train",
                    "options": env_options},
            "model": {"name": args.model, "d_model": args.d_model, "input_projection": True},
            "network": {"head_hidden": args.d_model},
            "algo": {
                "total_timesteps": args.steps,
                "num_envs": args.num_envs,
                "num_steps": args.num_steps,
                "update_epochs": 4,
                "num_minibatches": 8,
                "learning_rate": args.lr,
                "gamma": args.gamma,
                "gae_lambda": 0.95,
            },
            "seed": args.seed,
        }
    )
    start = time.perf_counter()
    ppo, params, returns = train_meta(config, progress=print)
    train_s = time.perf_counter() - start
    print(f"compile + train: {train_s:.0f} s")

    start = time.perf_counter()
    splits = meta_split_envs(config, ("train", "test_projections"))
    curves = in_context_curves(ppo, params, splits, jax.random.PRNGKey(args.seed + 1), args.trials)
    print(f"evaluation: {time.perf_counter() - start:.0f} s")
    write_in_context_report(curves, args.out, f"{args.model}, {args.steps} env steps",
                            record={"args": vars(args) | {"out": str(args.out)}})
    (args.out / "train_returns.json").write_text(json.dumps(np.asarray(returns).tolist()))


if __name__ == "__main__":
    main()
