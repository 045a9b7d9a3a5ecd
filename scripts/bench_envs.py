"""Environment throughput: env steps/s of POPGym ids under jit(vmap) + lax.scan.

Each id runs `--batch` envs for `--steps` steps with uniformly random actions (auto-reset
included), as one jitted function. Reported: compile time (lower + compile, s) and steps/s
(batch * steps / best wall time of `--repeats` runs after compiling).

    python scripts/bench_envs.py --out bench_envs.json             # every popgym id
    python scripts/bench_envs.py --quick --ids RepeatFirstEasy     # tiny smoke check
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import envs  # noqa: E402


def make_rollout(env, params, batch: int, steps: int):
    """Jitted `key -> total reward` running `batch` envs for `steps` random-action steps."""
    act_space = env.action_space(params)

    def rollout(key):
        reset_key, run_key = jax.random.split(key)
        _, state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(reset_key, batch), params
        )

        def step(state, key):
            act_key, step_key = jax.random.split(key)
            actions = jax.vmap(act_space.sample)(jax.random.split(act_key, batch))
            _, state, reward, _, _, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(step_key, batch), state, actions, params
            )
            return state, reward.sum()

        _, rewards = jax.lax.scan(step, state, jax.random.split(run_key, steps))
        return rewards.sum()

    return jax.jit(rollout)


def bench(env_id: str, batch: int, steps: int, repeats: int) -> dict:
    env, params = envs.make(env_id)
    rollout = make_rollout(env, params, batch, steps)
    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = rollout.lower(key).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(key))  # warm-up
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.key(i + 1)))
        times.append(time.perf_counter() - start)
    best = min(times)
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
        meta = {
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
            "platform": platform.platform(),
            "batch": args.batch,
            "steps": args.steps,
            "repeats": args.repeats,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
