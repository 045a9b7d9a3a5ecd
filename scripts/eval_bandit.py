#!/usr/bin/env python
"""Bandit meta-RL against the classical references, on every bandit split.

    python scripts/train_ppo.py env=meta_bandit preset=fast model=s5   # -> outputs/<date>/<time>
    python scripts/eval_bandit.py outputs/<date>/<time> [more runs] --out docs/results/bandit

For each split of `envs.meta.bandit.BANDIT_SPLITS` (train, test_arms, test_horizon, test_prior,
two_arms): the payout fraction of random, oracle, greedy-posterior, UCB1, Thompson sampling and
win-stay-lose-shift on `--trials` fresh bandits, the Bayes-optimal value for two arms, and each
given run's agent (all its seeds, labelled by its memory) on the same bandits. With no run it
reports the references alone. Prints a table; writes `bandit.json` and `bandit.md` to --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax

import envs.meta  # noqa: F401  (registers the MetaBandit ids)
from agents.common.config import make_env
from agents.ppo.bandit_eval import agent_payouts, bandit_report, load_bandit_run
from envs.meta.bandit import BANDIT_SPLITS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run directories of env=meta_bandit")
    parser.add_argument("--trials", type=int, default=2048, help="bandits per split")
    parser.add_argument("--splits", nargs="+", default=list(BANDIT_SPLITS),
                        choices=list(BANDIT_SPLITS))
    parser.add_argument("--key", type=int, default=0, help="PRNG seed of the bandits")
    parser.add_argument("--out", type=Path, default=Path("outputs/eval_bandit"))
    args = parser.parse_args()

    runs = []
    for run in args.runs:
        try:
            config, ppo, params, updates = load_bandit_run(run)
        except ValueError as error:
            parser.error(str(error))
        runs.append((f"{config.memory_name} ({updates} updates, {config.num_seeds} seeds)",
                     config, ppo, params))

    key = jax.random.PRNGKey(args.key)
    results = {}
    for split in args.splits:
        agents = {}
        for label, config, ppo, params in runs:
            env, env_params = make_env(config.env, f"MetaBandit-{split}")
            agents[label] = agent_payouts(ppo, params, env, env_params, key,
                                          args.trials).reshape(-1)
        results[split] = bandit_report(BANDIT_SPLITS[split], key, args.trials, agents)

    lines = ["| split | policy | payout per pull (95% CI) |", "|---|---|---|"]
    for split, report in results.items():
        for name, stats in report["payout"].items():
            lines.append(f"| {split} | {name} | {stats['mean']:.3f} ± {stats['ci95']:.3f} |")
        if "bayes_optimal" in report:
            lines.append(f"| {split} | Bayes-optimal (exact) | {report['bayes_optimal']:.3f} |")
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bandit.json").write_text(json.dumps(
        {"runs": [str(r) for r in args.runs], "trials": args.trials, "key": args.key,
         "splits": results}, indent=2))
    (args.out / "bandit.md").write_text(table + "\n")
    print(f"wrote {args.out / 'bandit.json'} and {args.out / 'bandit.md'}")


if __name__ == "__main__":
    main()
