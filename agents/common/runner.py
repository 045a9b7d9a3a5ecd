"""The generic host loop of a training run: compile a chunk of updates once, run it until done.

A trainer provides a pure `chunk(state, n) -> (state, metrics)` that runs `n <= max` updates
(a traced `n`, so one compiled program serves every chunk, the last shorter one included, and
a resumed run executes exactly the same program as an uninterrupted one). The loop calls it,
hands each finished chunk to a callback (logging, checkpointing) and keeps the state a single
pytree with the seed axis leading.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp


@dataclass
class ChunkReport:
    """What the callback receives after each chunk."""

    state: Any  # the state after the chunk (device arrays; still valid in the callback)
    metrics: Any  # host (numpy) metrics, leading axes [num_seeds, n]
    done: int  # units (e.g. updates) done after this chunk
    count: int  # units run in this chunk
    seconds: float  # wall time of the chunk, compile excluded


def compile_chunk(chunk: Callable, state: Any, donate: bool = True) -> tuple[Callable, float]:
    """AOT-compile `jit(chunk)` for `state`'s shapes; returns `(compiled, compile seconds)`.

    `chunk(state, n)` takes `n` as an int32 scalar. With `donate`, the state's buffers are
    reused for the output (the input state must not be used after a call).
    """
    jitted = jax.jit(chunk, donate_argnums=(0,) if donate else ())
    start = time.perf_counter()
    compiled = jitted.lower(state, jnp.int32(1)).compile()
    return compiled, time.perf_counter() - start


def run_chunks(
    compiled: Callable,
    state: Any,
    *,
    done: int,
    total: int,
    per_chunk: int,
    callback: Callable[[ChunkReport], None],
) -> Any:
    """Run chunks of at most `per_chunk` units from `done` until `total`; returns the state."""
    while done < total:
        count = min(per_chunk, total - done)
        start = time.perf_counter()
        state, metrics = compiled(state, jnp.int32(count))
        metrics = jax.device_get(metrics)  # waits for the chunk to finish
        seconds = time.perf_counter() - start
        metrics = jax.tree.map(lambda m: m[:, :count], metrics)
        done += count
        callback(ChunkReport(state, metrics, done, count, seconds))
    return state
