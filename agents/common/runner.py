"""The pieces of the host loop of a training run (agents.common.training puts them together):
compile a chunk of iterations once, run it until done, log each chunk's rows.

A trainer provides a pure `chunk(state, n) -> (state, metrics)` that runs `n <= max` iterations
(a traced `n`, so one compiled program serves every chunk, the last shorter one included, and
a resumed run executes exactly the same program as an uninterrupted one). The loop calls it,
hands each finished chunk to a callback (logging, checkpointing) and keeps the state a single
pytree with the seed axis leading.

Between chunks the loop checks the chunk's metrics for NaN/inf and stop signals
(agents.common.faults): a non-finite metric raises before the callback (the last good checkpoint
stays); SIGINT/SIGTERM mark the next report `stopping` (the callback checkpoints it) and end the
run with `TrainingInterrupted`. With a mesh (agents.common.distributed) the chunk is compiled
for sharded states; the loop itself is the same on any number of devices and hosts.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from agents.common.distributed import any_process, replicated
from agents.common.faults import StopSignals, TrainingInterrupted, check_finite


@dataclass
class ChunkReport:
    """What the callback receives after each chunk."""

    state: Any  # the state after the chunk (device arrays; still valid in the callback)
    metrics: Any  # host (numpy) metrics, leading axes [num_members, n]
    done: int  # units (e.g. updates) done after this chunk
    count: int  # units run in this chunk
    seconds: float  # wall time of the chunk, compile excluded
    stopping: bool = False  # a stop signal arrived: the last chunk, checkpoint it


def compile_chunk(
    chunk: Callable,
    state: Any,
    donate: bool = True,
    *,
    mesh: Mesh | None = None,
    state_shardings: Any = None,
) -> tuple[Callable, float]:
    """AOT-compile `jit(chunk)` for `state`'s shapes; returns `(compiled, compile seconds)`.

    `chunk(state, n)` takes `n` as an int32 scalar. With `donate`, the state's buffers are
    reused for the output (the input state must not be used after a call). With `mesh`, the
    state enters and leaves with `state_shardings`, metrics come back replicated, and the chunk
    is traced under the mesh (so `distributed.shard_env_axis` constraints apply).
    """
    shardings = {}
    if mesh is not None:
        io = (state_shardings, replicated(mesh))
        shardings = {"in_shardings": io, "out_shardings": io}
    jitted = jax.jit(chunk, donate_argnums=(0,) if donate else (), **shardings)
    start = time.perf_counter()
    with jax.set_mesh(mesh) if mesh is not None else contextlib.nullcontext():
        compiled = jitted.lower(state, np.int32(1)).compile()
    return compiled, time.perf_counter() - start


def run_chunks(
    compiled: Callable,
    state: Any,
    *,
    done: int,
    total: int,
    per_chunk: int,
    callback: Callable[[ChunkReport], None],
    unit: str = "update",
    run_dir: Path | None = None,
) -> Any:
    """Run chunks of at most `per_chunk` units from `done` until `total`; returns the state.

    Raises `NonFiniteError` (before the callback sees the chunk) if a metric is NaN/inf, and
    `TrainingInterrupted` after the callback of the chunk during which SIGINT/SIGTERM arrived.
    """
    with StopSignals() as stop:
        while done < total:
            count = min(per_chunk, total - done)
            start = time.perf_counter()
            state, metrics = compiled(state, np.int32(count))
            metrics = jax.device_get(metrics)  # waits for the chunk to finish
            seconds = time.perf_counter() - start
            metrics = jax.tree.map(lambda m: m[:, :count], metrics)
            check_finite(metrics, first=done + 1, unit=unit)
            done += count
            stopping = any_process(stop.requested) and done < total
            callback(ChunkReport(state, metrics, done, count, seconds, stopping))
            if stopping:
                interrupted = TrainingInterrupted(stop.signum or signal.SIGTERM, done, unit,
                                                  run_dir)
                print(interrupted, file=sys.stderr, flush=True)
                raise interrupted
    return state


def log_chunk(
    logger: Any,
    report: ChunkReport,
    *,
    steps: int,
    num_members: int,
    resumed_at: int,
    compile_seconds: float,
    scalars_of_row: Callable[[dict, int], dict],
) -> tuple[float, float]:
    """Log every row (update/iteration) of a chunk; returns `(mean episode return over the
    chunk's rows and members, NaN if no episode ended; env steps/s over all members)`.

    `steps` is env steps per row; `resumed_at` the row count before this process started (its
    first logged row also carries the compile time).
    """
    sps = report.count * steps * num_members / report.seconds
    first = report.done - report.count
    returns = []
    for i in range(report.count):
        row = first + i + 1
        scalars = scalars_of_row(report.metrics, i)
        returns.append(scalars["episode/return"])
        extra = {"perf/sps": sps} if i == report.count - 1 else {}
        if row == resumed_at + 1:
            extra["perf/compile_seconds"] = compile_seconds
        logger.log(row, {**scalars, **extra}, {"env_steps": row * steps}, tb_step=row * steps)
    returns = np.asarray(returns, np.float64)
    chunk_return = float(np.nanmean(returns)) if np.isfinite(returns).any() else float("nan")
    return chunk_return, sps


def advance_progress(logger: Any, env_steps: int, chunk_return: float, sps: float) -> None:
    """Advance the progress bar by `env_steps`, showing the chunk's mean episode return and
    the env steps/s."""
    shown = f"{chunk_return:.3f}" if np.isfinite(chunk_return) else "-"
    logger.advance(env_steps, {"return": shown, "sps": f"{sps:.0f}"})
