"""Environment throughput: env steps/s of POPGym ids under jit(vmap) + lax.scan.

Each id runs `--batch` envs for `--steps` steps with uniformly random actions (auto-reset
included), as one jitted function. Reported: compile time (lower + compile, s) and steps/s
(batch * steps / best wall time of `--repeats` runs after compiling).

    python scripts/bench_envs.py --out bench_envs.json             # every popgym id
    python scripts/bench_envs.py --quick --ids RepeatFirstEasy     # tiny smoke check
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

import envs
from benchmarks.timing import host_meta, time_rollout, write_results


def make_rollout(env, params, batch: int, steps: int):
    """Jitted `key -> checksum` running `batch` envs for `steps` random-action steps.

    The checksum sums rewards and observations so XLA cannot drop any part of the step.
    """
    act_space = env.action_space(params)

    def rollout(key):
        reset_key, run_key = jax.random.split(key)
        _, state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(reset_key, batch), params
        )

        def step(state, key):
            act_key, step_key = jax.random.split(key)
            actions = jax.vmap(act_space.sample)(jax.random.split(act_key, batch))
            obs, state, reward, _, _, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(step_key, batch), state, actions, params
            )
            return state, reward.sum() + obs.sum()

        _, rewards = jax.lax.scan(step, state, jax.random.split(run_key, steps))
        return rewards.sum()

    return jax.jit(rollout)


def bench(env_id: str, batch: int, steps: int, repeats: int) -> dict:
    env, params = envs.make(env_id)
    compile_s, best = time_rollout(make_rollout(env, params, batch, steps), repeats)
    return {
        "env_id": env_id,
        "batch": batch,
        "steps": steps,
        "compile_s": compile_s,
        "run_s": best,
        "steps_per_s": batch * steps / best,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", nargs="+", help="env ids (default: suite('popgym'))")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=1000, help="scan length")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="batch 16, 20 steps, 1 repeat")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.steps, args.repeats = 16, 20, 1
    ids = args.ids or envs.suite("popgym")

    print(f"{'env id':34s} {'compile s':>9s} {'steps/s':>12s}")
    results = []
    for env_id in ids:
        row = bench(env_id, args.batch, args.steps, args.repeats)
        results.append(row)
        print(f"{env_id:34s} {row['compile_s']:9.2f} {row['steps_per_s']:12.3e}", flush=True)

    if args.out:
        settings = {"batch": args.batch, "steps": args.steps, "repeats": args.repeats}
        meta = {**host_meta(), "backend": jax.default_backend(), **settings}
        write_results(args.out, meta, results)


if __name__ == "__main__":
    main()
