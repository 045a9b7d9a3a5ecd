#!/usr/bin/env python
"""What holds recurrent PPO back on the in-context bandit (`env=meta_bandit`): one row per change.

    python scripts/bandit_ablation.py commands                 # every row's training command
    python scripts/bandit_ablation.py train <row> <model>      # train it (again: resume it)
    python scripts/bandit_ablation.py eval --out docs/results/bandit_ablation

Every row trains `python scripts/train_ppo.py env=meta_bandit preset=fast num_seeds=2
logger.progress_bar=false model=<model> <the row's overrides>` into
outputs/bandit_ablation/<row>_<model>. `train` replaces itself with that command, or with
`resume=<dir>` where the directory holds a checkpoint, so a run cut by SIGTERM (`timeout -s
TERM 470 ...`) continues where it stopped. `eval` scores every trained run's latest checkpoint
on `--trials` fresh MetaBandit-train bandits, the draws `scripts/eval_bandit.py` uses (key 0;
kept in the run directory while its checkpoint stays the same), each grid point of a `sweep.*`
row apart, all seeds pooled, beside Thompson sampling, greedy-posterior and win-stay-lose-shift
on the same bandits; it also reads the training curve (mean episode payout per tenth of the
run, from metrics.jsonl) to tell a run that still improves from one that has converged. Writes
`ablation.json` and `ablation.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import jax
import numpy as np

import envs.meta  # noqa: F401  (registers the MetaBandit ids)
from agents.common.config import make_env
from agents.common.sweep import grid_points
from agents.ppo.bandit_eval import agent_payouts, load_bandit_run
from agents.ppo.config import TrainPPOConfig
from agents.ppo.train import RecurrentPPO
from envs.meta.bandit import BANDIT_SPLITS
from envs.meta.bandit_references import reference_payouts, summary

MODELS = ("s5", "gru")
BASE = ("env=meta_bandit", "preset=fast", "num_seeds=2", "logger.progress_bar=false")
BUDGET = "algo.total_timesteps=3000000"
BUDGET_10M = "algo.total_timesteps=10000000"
ALIGNED = "algo.num_steps=100"  # one rollout = one 100-pull episode, envs all in phase
# row -> (what it changes, overrides after BASE); each row adds one change to a row above it
ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "base": ("preset=fast as committed (T = 128 steps per rollout)", (BUDGET,)),
    "T100": ("rollout = one episode: no cut inside the BPTT window", (BUDGET, ALIGNED)),
    "T100_gamma1": ("+ gamma 1 (payout per pull is undiscounted)",
                    (BUDGET, ALIGNED, "algo.gamma=1.0")),
    "T100_ent": ("+ entropy bonus", (BUDGET, ALIGNED, "sweep.ent_coef=[0.003,0.01]")),
    "T100_lr": ("+ other learning rates", (BUDGET, ALIGNED, "sweep.learning_rate=[3e-4,3e-3]")),
    "T100_anneal": ("+ learning rate decayed linearly to 0",
                    (BUDGET, ALIGNED, "algo.anneal_lr=true")),
    "T100_10M": ("budget 10M env steps per seed", (BUDGET_10M, ALIGNED)),
    "T100_10M_anneal": ("budget 10M, learning rate decayed linearly to 0",
                        (BUDGET_10M, ALIGNED, "algo.anneal_lr=true")),
}
REFERENCES = ("thompson", "greedy", "wsls")
RUNS = Path("outputs/bandit_ablation")


def run_dir(row: str, model: str) -> Path:
    return RUNS / f"{row}_{model}"


def train_command(row: str, model: str) -> list[str]:
    return ["python", "scripts/train_ppo.py", *BASE, f"model={model}", *ROWS[row][1],
            f"hydra.run.dir={run_dir(row, model)}"]


def training_curve(run: Path, members: slice, tenths: int = 10) -> list[float]:
    """Mean episode payout per pull of `members` in each tenth of the run's updates."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    returns = np.array([r["metrics"]["episode/return"] for r in rows])[:, members]
    lengths = np.array([r["metrics"]["episode/length"] for r in rows])[:, members]
    return [float(r.sum() / n.sum()) for r, n in
            zip(np.array_split(returns, tenths), np.array_split(lengths, tenths), strict=True)]


def run_payouts(run: Path, trials: int, key: int) -> tuple[TrainPPOConfig, RecurrentPPO, int,
                                                             np.ndarray]:
    """`(config, trainer, updates done, payouts [members, trials])` of a run's latest
    checkpoint on the MetaBandit-train draws of `key`. The payouts are kept in the run
    directory (bandit_ablation_eval.json) and reused while the checkpoint stays the same."""
    config, ppo, net_params, updates = load_bandit_run(run)
    cache = run / "bandit_ablation_eval.json"
    stamp = {"updates": updates, "trials": trials, "key": key}
    if cache.exists() and (cached := json.loads(cache.read_text()))["stamp"] == stamp:
        return config, ppo, updates, np.asarray(cached["payouts"])
    env, env_params = make_env(config.env)
    payouts = agent_payouts(ppo, net_params, env, env_params, jax.random.PRNGKey(key), trials)
    cache.write_text(json.dumps({"stamp": stamp, "payouts": payouts.tolist()}))
    return config, ppo, updates, payouts


def evaluate(trials: int, key: int, rows: list[str]) -> dict:
    references = summary(reference_payouts(BANDIT_SPLITS["train"], jax.random.PRNGKey(key),
                                           trials, REFERENCES))
    table = []
    for row in rows:
        change, overrides = ROWS[row]
        for model in MODELS:
            run = run_dir(row, model)
            if not (run / "checkpoint.ckpt").exists():
                continue
            config, ppo, updates, payouts = run_payouts(run, trials, key)
            seeds = config.num_seeds
            for p, point in enumerate(grid_points(config.to_dict())):
                members = slice(p * seeds, (p + 1) * seeds)
                label = ",".join(f"{k}={v:g}" for k, v in point.items())
                table.append({
                    "row": row, "change": change, "model": model, "point": label,
                    "overrides": list(overrides),
                    "command": shlex.join(train_command(row, model)),
                    "env_steps_per_seed": updates * ppo.steps_per_iteration,
                    "finished": updates == ppo.num_iterations, "seeds": seeds,
                    "payout": summary({"agent": payouts[members].reshape(-1)})["agent"],
                    "payout_per_seed": [float(x) for x in payouts[members].mean(1)],
                    "training_curve": training_curve(run, members),
                })
    return {"trials": trials, "key": key, "split": "train", "references": references,
            "rows": table}


def markdown(result: dict) -> str:
    refs = result["references"]
    lines = [f"Payout per pull on {result['trials']} fresh MetaBandit-train bandits (95% CI), "
             "references on the same bandits: "
             + ", ".join(f"{n} {refs[n]['mean']:.3f} ± {refs[n]['ci95']:.3f}" for n in refs)
             + ". Training curve: payout per pull in the first, middle and last tenth of the "
             "run.", "",
             "| row | model | change | overrides | env steps / seed | seeds | payout (95% CI) "
             "| per seed | training curve |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        curve = r["training_curve"]
        overrides = " ".join(o for o in r["overrides"] if not o.startswith("sweep."))
        overrides = " ".join(filter(None, [overrides, r["point"]]))
        steps = f"{r['env_steps_per_seed'] / 1e6:.2f}M" + ("" if r["finished"] else " (cut)")
        lines.append(
            f"| {r['row']} | {r['model']} | {r['change']} | `{overrides}` | {steps} | "
            f"{r['seeds']} | {r['payout']['mean']:.3f} ± {r['payout']['ci95']:.3f} | "
            f"{' / '.join(f'{x:.3f}' for x in r['payout_per_seed'])} | "
            f"{curve[0]:.3f} → {curve[len(curve) // 2]:.3f} → {curve[-1]:.3f} |")
    lines += ["", "Commands (`python scripts/bandit_ablation.py train <row> <model>` runs one):",
              ""]
    lines += sorted({f"    {r['command']}" for r in result["rows"]})
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("commands", help="print every row's training command")
    train = sub.add_parser("train", help="train (or resume) one row")
    train.add_argument("row", choices=list(ROWS))
    train.add_argument("model", choices=MODELS)
    ev = sub.add_parser("eval", help="score the trained rows")
    ev.add_argument("--trials", type=int, default=1024)
    ev.add_argument("--key", type=int, default=0, help="PRNG seed of the bandits")
    ev.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    ev.add_argument("--out", type=Path, default=Path("outputs/bandit_ablation_eval"))
    args = parser.parse_args()

    if args.what == "commands":
        for row in ROWS:
            for model in MODELS:
                print(shlex.join(train_command(row, model)))
    elif args.what == "train":
        run = run_dir(args.row, args.model)
        command = (["python", "scripts/train_ppo.py", f"resume={run}"]
                   if (run / "checkpoint.ckpt").exists() else train_command(args.row, args.model))
        print(shlex.join(command), flush=True)
        os.execvp(sys.executable, [sys.executable, *command[1:]])  # signals reach the trainer
    else:
        result = evaluate(args.trials, args.key, args.rows)
        table = markdown(result)
        print(table)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ablation.json").write_text(json.dumps(result, indent=2))
        (args.out / "ablation.md").write_text(table)
        print(f"wrote {args.out / 'ablation.json'} and {args.out / 'ablation.md'}")


if __name__ == "__main__":
    main()
