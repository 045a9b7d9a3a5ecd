#!/usr/bin/env python
"""Greedy and sampled returns of the policy saved in a PPO run directory.

    python scripts/evaluate.py outputs/2025-01-01/12-00-00 --episodes 100

Prints mean +- std of the episode return per seed for the greedy (mode) and the sampled policy
and writes them to <run dir>/eval.json.
"""

import argparse
import json
from pathlib import Path

import jax
import numpy as np

from agents.common.run_dir import RunDir
from agents.common.training import load_run_config, make_trainer, restore_state
from agents.ppo.evaluate import evaluate_policy
from agents.ppo.in_context import format_curves, in_context_curves, meta_split_envs


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="evaluation PRNG seed")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="episode length bound (default: the env's max_steps_in_episode)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be positive, got {args.episodes}")

    run = RunDir(args.run_dir)
    config = load_run_config(run.path)
    ppo = make_trainer(config)
    state, updates = restore_state(ppo, run)
    results: dict = {"run_dir": str(run.path), "update": updates, "episodes": args.episodes,
                     "seeds": []}
    for seed_index in range(config.num_seeds):
        params = jax.tree.map(lambda x, i=seed_index: x[i], state.params)
        entry = {"seed_index": seed_index}
        for mode in ("greedy", "sampled"):
            fn = jax.jit(lambda p, k, g=(mode == "greedy"): evaluate_policy(
                ppo, p, k, args.episodes, greedy=g, max_steps=args.max_steps))
            returns, finished = jax.device_get(fn(params, jax.random.PRNGKey(args.seed)))
            if not finished.all():
                raise RuntimeError(
                    f"{int((~finished).sum())} of {args.episodes} episodes did not end within "
                    "the step bound; pass a larger --max-steps"
                )
            entry[mode] = {"mean": float(np.mean(returns)), "std": float(np.std(returns))}
            print(f"seed {seed_index} {mode:8s} return {entry[mode]['mean']:+.4f} "
                  f"+- {entry[mode]['std']:.4f} over {args.episodes} episodes")
        results["seeds"].append(entry)
    if config.env.suite == "meta":  # return of episode 1..K in a trial, per task split
        params, key = jax.tree.map(lambda x: x[0], state.params), jax.random.PRNGKey(args.seed)
        curves = in_context_curves(ppo, params, meta_split_envs(config), key)
        print(format_curves(curves))
        results["in_context_seed_0"] = curves
    (run.path / "eval.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
