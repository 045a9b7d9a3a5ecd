#!/usr/bin/env python
"""brax throughput behind the gymnax adapter: env steps/s per physics backend.

For each env x backend, `--batch` `BraxToGymnax` envs run `--steps` random-action steps (auto-
reset included) as one jitted function returning the summed rewards and observations (the
observations keep XLA from dropping the physics of envs whose reward is constant). Reported:
compile time (lower + compile, s) and steps/s (batch * steps / best wall time of `--repeats`
runs). With `--meta`, the same for a one-env meta trial (`make_meta_env("meta_brax",
base_envs=(env,))`: projection and trial bookkeeping on top).

    python scripts/bench_brax.py --out bench_brax.json
    python scripts/bench_brax.py --quick --envs inverted_pendulum --backends spring
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp

from benchmarks.timing import host_meta, time_rollout, write_results
from envs.brax_adapter import BRAX_BACKENDS
from envs.meta import BraxToGymnax, make_meta_env

ENVS = ("inverted_pendulum", "reacher", "hopper")


def make_rollout(env, params, batch: int, steps: int):
    """Jitted `key -> (reward sum, observation sum)` of `batch` envs x `steps` random steps."""
    space = env.action_space(params)

    def rollout(key):
        key_reset, key_run = jax.random.split(key)
        _, state = jax.vmap(env.reset, (0, None))(jax.random.split(key_reset, batch), params)

        def step(state, key):
            key_action, key_step = jax.random.split(key)
            actions = jax.vmap(space.sample)(jax.random.split(key_action, batch))
            obs, state, reward, _, _, _ = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(key_step, batch), state, actions, params
            )
            return state, (reward.sum(), obs.sum())

        _, sums = jax.lax.scan(step, state, jax.random.split(key_run, steps))
        return jax.tree.map(jnp.sum, sums)

    return jax.jit(rollout)


def bench(env, params, batch: int, steps: int, repeats: int) -> dict:
    compile_s, best = time_rollout(make_rollout(env, params, batch, steps), repeats)
    return {"compile_s": compile_s, "steps_per_s": batch * steps / best}


def build(kind: str, name: str, backend: str):
    """`(env, params)`: the bare adapter, or a one-body meta trial env on top of it."""
    if kind == "adapter":
        env = BraxToGymnax(name, backend=backend)
        return env, env.default_params
    return make_meta_env("meta_brax", base_envs=(f"brax/{name}",), backend=backend)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--backends", nargs="+", default=list(BRAX_BACKENDS), choices=BRAX_BACKENDS)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100, help="scan length")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--meta", action="store_true", help="also time the projected trial env")
    parser.add_argument("--quick", action="store_true", help="batch 8, 10 steps, 1 repeat")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.steps, args.repeats = 8, 10, 1

    print(f"{'env':26s} {'backend':12s} {'kind':8s} {'compile s':>9s} {'steps/s':>10s}")
    results = []
    for name in args.envs:
        for backend in args.backends:
            for kind in ("adapter", "meta") if args.meta else ("adapter",):
                env, params = build(kind, name, backend)
                row = {
                    "env": name,
                    "backend": backend,
                    "kind": kind,
                    **bench(env, params, args.batch, args.steps, args.repeats),
                }
                results.append(row)
                print(
                    f"{name:26s} {backend:12s} {kind:8s} {row['compile_s']:9.2f} "
                    f"{row['steps_per_s']:10.0f}",
                    flush=True,
                )

    if args.out:
        settings = {"batch": args.batch, "steps": args.steps, "repeats": args.repeats}
        write_results(args.out, {**host_meta(), **settings}, results)


if __name__ == "__main__":
    main()
