"""Timing and results-file helpers shared by every benchmark.

Compile time is that of `jax.jit(fn).lower(*args).compile()`; a call's time is measured until
`jax.block_until_ready` returns on its outputs, so asynchronous dispatch is not mistaken for speed.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax


def timed_compile(fn: Callable, *args: Any) -> tuple[Any, float]:
    """`(compiled fn for these args, compile seconds)`; `fn` may already be jitted."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - start


def timed_call(compiled: Callable, *args: Any) -> float:
    """Seconds one call `compiled(*args)` takes, waiting for its outputs."""
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    return time.perf_counter() - start


def time_rollout(rollout: Callable, repeats: int) -> tuple[float, float]:
    """`(compile s, best run s)` of a `key -> outputs` rollout.

    One warm-up call with key 0, then `repeats` timed calls with keys 1..repeats.
    """
    key = jax.random.key(0)
    compiled, compile_s = timed_compile(rollout, key)
    jax.block_until_ready(compiled(key))  # warm-up
    best = min(timed_call(compiled, jax.random.key(i + 1)) for i in range(repeats))
    return compile_s, best


def compiled_footprint(compiled: Any) -> int:
    """Bytes XLA's buffer assignment gives a compiled function: argument + output + temp -
    alias. It counts every buffer the executable allocates (inputs included) and decides an
    out-of-memory; it excludes the Python process and allocator slack."""
    stats = compiled.memory_analysis()
    return int(
        stats.argument_size_in_bytes
        + stats.output_size_in_bytes
        + stats.temp_size_in_bytes
        - stats.alias_size_in_bytes
    )


def host_meta() -> dict:
    """jax version, devices and platform, for the `meta` of a results file."""
    return {
        "jax": jax.__version__,
        "devices": [str(d) for d in jax.devices()],
        "platform": platform.platform(),
    }


def write_results(path: Path, meta: dict, results: list[dict]) -> None:
    """Write `{"meta": meta, "results": results}` as JSON to `path` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"wrote {path}")
