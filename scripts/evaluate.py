#!/usr/bin/env python
"""Greedy and sampled returns of the policies saved in a run directory (PPO or world model).

    python scripts/evaluate.py outputs/2026-12-07/10-00-00 --episodes 100
    python scripts/evaluate.py outputs/2026-12-07/10-00-00 --render 2   # + 2 episodes drawn

Prints mean +- std of the episode return per seed for the greedy (mode) and the sampled policy
and writes them to <run dir>/eval.json. `--render k` writes k greedy episodes of seed 0 as
<run dir>/episodes/episode_<k>.gif (gymnax classic control, MinAtar, ...), .html (brax) or
.txt (a text trace: POPGym and every other env). Meta-RL runs also get the return of episode
1..K of a trial per task split (`agents.ppo.in_context`).
"""

import argparse
import json
from pathlib import Path

import jax
import numpy as np

from agents.evaluation import episode_returns, record_episode, render_episode
from agents.policy import load_policy


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="evaluation PRNG seed")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="episode length bound (default: the env's max_steps_in_episode)")
    parser.add_argument("--render", type=int, default=0, metavar="K",
                        help="draw K greedy episodes of seed 0 into <run dir>/episodes/")
    parser.add_argument("--checkpoint", default="latest",
                        help='"latest", "best" (best.ckpt) or the path of a kept checkpoint')
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be positive, got {args.episodes}")

    # member 0: also the one rendered and traced in trials
    policy = load_policy(args.run_dir, checkpoint=args.checkpoint)
    results: dict = {"run_dir": str(args.run_dir), "kind": policy.kind, "trained": policy.done,
                     "checkpoint": args.checkpoint,
                     "episodes": args.episodes, "seeds": []}
    key = jax.random.PRNGKey(args.seed)
    for seed_index, label in enumerate(policy.config.member_labels()):
        seed_policy = policy if seed_index == 0 else load_policy(
            args.run_dir, seed_index=seed_index, checkpoint=args.checkpoint)
        entry = {"seed_index": seed_index, "member": label}
        for mode in ("greedy", "sampled"):
            returns, finished = episode_returns(seed_policy, key, args.episodes,
                                                greedy=mode == "greedy", max_steps=args.max_steps)
            if not finished.all():
                raise SystemExit(f"error: {int((~finished).sum())} of {args.episodes} episodes "
                                 "did not end within the step bound; pass a larger --max-steps")
            entry[mode] = {"mean": float(np.mean(returns)), "std": float(np.std(returns))}
            print(f"{label} {mode:8s} return {entry[mode]['mean']:+.4f} "
                  f"+- {entry[mode]['std']:.4f} over {args.episodes} episodes")
        results["seeds"].append(entry)
    for k, episode_key in enumerate(jax.random.split(key, args.render) if args.render else []):
        episode = record_episode(policy, episode_key, max_steps=args.max_steps)
        path = render_episode(policy, episode, args.run_dir / "episodes" / f"episode_{k}")
        print(f"wrote {path}")
    if policy.kind == "ppo" and policy.config.env.suite == "meta":
        from agents.common.training import make_trainer
        from agents.ppo.in_context import format_curves, in_context_curves, meta_split_envs

        curves = in_context_curves(make_trainer(policy.config), policy.params,
                                   meta_split_envs(policy.config), key)
        print(format_curves(curves))
        results["in_context_seed_0"] = curves
    (args.run_dir / "eval.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
