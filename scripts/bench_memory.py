"""Benchmark memory layers: compile time, forward and forward+backward time after compile.

Each registered recurrence layer is built alone (no residual block) at the same width d_model
with its default options, for every sequence length T, batch size and scan backend (layers with
no scan run once, backend "-"). Inputs `x[T, batch, d_model]` with 1% resets. `fwd_bwd_mb` is
the gradient program's XLA buffer footprint (arguments + outputs + temporaries).

    python scripts/bench_memory.py --quick                       # tiny smoke run
    python scripts/bench_memory.py --layers s5,gru --out bench_results/memory.json
    python scripts/bench_memory.py --layers s5,mamba,mamba2 --params 100000   # equal sizes

Full sweep defaults: T in 128/1024/8192, batch 8/64, d_model 256, both backends.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
from pathlib import Path

import jax
import jax.numpy as jnp

from benchmarks.timing import compiled_footprint, timed_call, timed_compile
from ssm_rl import count_parameters
from ssm_rl.memory import Memory, available_memories, layer_class
from ssm_rl.params import closest_width, memory_parameter_count
from ssm_rl.scan import BACKENDS


def build_layer(name: str, d_model: int, backend: str | None) -> Memory:
    cls = layer_class(name)
    options = {} if backend is None else {"backend": backend}
    return cls(d_model=d_model, **options)


def _median_ms(compiled, args, repeats: int) -> float:
    jax.block_until_ready(compiled(*args))  # warm-up
    return 1e3 * statistics.median(timed_call(compiled, *args) for _ in range(repeats))


def bench_one(name: str, backend: str | None, T: int, batch: int, d_model: int, repeats: int):
    layer = build_layer(name, d_model, backend)
    k_x, k_r, k_p = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(k_x, (T, batch, d_model), jnp.float32)
    reset = jax.random.bernoulli(k_r, 0.01, (T, batch)).at[0].set(True)
    carry = layer.initialize_carry((batch,))
    params = jax.jit(layer.init)(k_p, carry, x[:1], reset[:1])

    def forward(params, carry, x, reset):
        return layer.apply(params, carry, x, reset)

    def loss(params, carry, x, reset):
        _, y = layer.apply(params, carry, x, reset)
        return jnp.mean(y**2)

    forward_backward = jax.grad(loss, argnums=(0, 2))
    args = (params, carry, x, reset)
    fwd, fwd_compile = timed_compile(forward, *args)
    fwd_ms = _median_ms(fwd, args, repeats)
    bwd, bwd_compile = timed_compile(forward_backward, *args)
    bwd_ms = _median_ms(bwd, args, repeats)
    n_params = count_parameters(params)
    return {
        "layer": name,
        "backend": backend or "-",
        "T": T,
        "batch": batch,
        "d_model": d_model,
        "params": n_params,
        "compile_fwd_s": round(fwd_compile, 3),
        "fwd_ms": round(fwd_ms, 3),
        "compile_fwd_bwd_s": round(bwd_compile, 3),
        "fwd_bwd_ms": round(bwd_ms, 3),
        "fwd_bwd_mb": round(compiled_footprint(bwd) / 2**20, 1),
    }


def print_table(rows: list[dict]) -> None:
    columns = ["layer", "backend", "T", "batch", "d_model", "params", "compile_fwd_s", "fwd_ms",
               "compile_fwd_bwd_s", "fwd_bwd_ms", "fwd_bwd_mb"]
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print("  ".join(str(r[c]).rjust(w) for c, w in zip(columns, widths, strict=True)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default=None,
                        help="comma-separated memory names (default: all registered)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 1024, 8192])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--params", type=int, default=None,
                        help="size every layer to about this many parameters instead (its "
                        "d_model the multiple of 8 closest to it)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: T=64, batch 4, d_model 32, 2 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.lengths, args.batches, args.d_model, args.repeats = [64], [4], 32, 2
    known = available_memories()
    args.layers = known if args.layers is None else tuple(args.layers.split(","))
    unknown = sorted(set(args.layers) - set(known))
    if unknown:
        parser.error(f"unknown layers {unknown}; available: {known}")
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    rows = []
    for name in args.layers:
        def size(width: int, name: str = name) -> int:
            return memory_parameter_count(build_layer(name, width, None), width)

        d_model = args.d_model if args.params is None else closest_width(size, args.params)
        has_backend = "backend" in {f.name for f in dataclasses.fields(layer_class(name))}
        for backend in args.backends if has_backend else [None]:
            for T in args.lengths:
                for batch in args.batches:
                    row = bench_one(name, backend, T, batch, d_model, args.repeats)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print_table(rows)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "jax": jax.__version__,
            "platform": jax.default_backend(),
            "device": str(jax.devices()[0]),
            "machine": platform.machine(),
            "python": platform.python_version(),
        }
        args.out.write_text(json.dumps({"meta": meta, "results": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
