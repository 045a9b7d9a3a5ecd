#!/usr/bin/env python
"""In-context learning curves of a trained meta-RL PPO run, per task split.

    python scripts/train_ppo.py env=meta_gymnax preset=fast     # -> outputs/<date>/<time>
    python scripts/eval_meta.py outputs/<date>/<time> --trials 512

For the run's env id `<Benchmark>-<split>` (e.g. MetaGymnax-train) it evaluates the splits train,
test_projections and test_envs: the mean return of episode 1..K within a trial for the
trained agent, the same agent with its memory reset every episode, and a random policy
(`agents.ppo.in_context`). Prints a table and writes `in_context.json` and `in_context.png`
into the run directory (or `--out`). `scripts/evaluate.py` prints the same table for meta runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

import envs.meta  # noqa: F401  (registers the Meta* ids)
from agents.common.run_dir import RunDir
from agents.common.training import load_run_config, make_trainer, restore_state
from agents.ppo.in_context import in_context_curves, meta_split_envs, write_in_context_report
from envs.meta.splits import SPLIT_NAMES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--trials", type=int, default=256, help="trials per split and policy")
    parser.add_argument("--seed-index", type=int, default=0, help="which trained seed")
    parser.add_argument("--splits", nargs="+", default=list(SPLIT_NAMES), choices=SPLIT_NAMES)
    parser.add_argument("--deterministic", action="store_true", help="act with the mode")
    parser.add_argument("--key", type=int, default=1, help="PRNG seed of the trials")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    args = parser.parse_args()

    config = load_run_config(args.run_dir)
    if not 0 <= args.seed_index < config.num_seeds:
        raise ValueError(f"--seed-index must lie in [0, {config.num_seeds}), got {args.seed_index}")
    split_envs = meta_split_envs(config, tuple(args.splits))
    ppo = make_trainer(config)
    state, updates = restore_state(ppo, RunDir(args.run_dir))
    params = jax.tree.map(lambda x: x[args.seed_index], state.params)
    curves = in_context_curves(
        ppo, params, split_envs, jax.random.PRNGKey(args.key), args.trials, args.deterministic
    )

    print(f"{config.env.id}, {updates} updates, seed {args.seed_index}, {args.trials} trials")
    title = f"{config.env.id} ({updates} updates)"
    write_in_context_report(curves, args.out or args.run_dir, title)


if __name__ == "__main__":
    main()
