"""The generic host loop of a training run: compile a chunk of updates once, run it until done.

A trainer provides a pure `chunk(state, n) -> (state, metrics)` that runs `n <= max` updates
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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from agents.common.distributed import any_process, replicated
from agents.common.faults import StopSignals, TrainingInterrupted, check_finite


@dataclass
class ChunkReport:
    """What the callback receives after each chunk."""

    state: Any  # the state after the chunk (device arrays; still valid in the callback)
    metrics: Any  # host (numpy) metrics, leading axes [num_seeds, n]
    done: int  # units (e.g. updates) done after this chunk
    count: int  # units run in this chunk
    seconds: float  # wall time of the chunk, compile excluded
    stopping: bool = False  # a stop signal arrived: the last chunk, checkpoint it


def seed_keys(config: Any) -> jax.Array:
    """`[config.num_seeds]` PRNG keys, one per seed of a run (split from `config.seed`)."""
    return jax.random.split(jax.random.PRNGKey(config.seed), config.num_seeds)


def init_seeds(init: Callable[[jax.Array], Any], keys: jax.Array) -> Any:
    """States `init(key)` for `keys[num_seeds]`, stacked on a leading seed axis.

    One jitted `init` per seed, never a vmapped one: under `vmap`, orthogonal initialisers
    become a batched LAPACK QR, which deadlocks XLA:CPU's thread pool in jax 0.10.2 when two
    such QRs run at once.
    """
    init = jax.jit(init)
    states = [init(key) for key in keys]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)


def run_iterations(
    iteration: Callable[[Any], tuple[Any, Any]], state: Any, count: jax.Array, max_count: int
) -> tuple[Any, Any]:
    """`count` (traced, <= `max_count`) calls `state, metrics = iteration(state)` in a
    `fori_loop`; metrics stacked `[max_count, ...]`, rows past `count` zero. A trainer's
    `run(state, n)` is this, so one compiled program serves every chunk length."""
    shapes = jax.eval_shape(iteration, state)[1]
    buffer = jax.tree.map(lambda s: jnp.zeros((max_count, *s.shape), s.dtype), shapes)

    def body(i, carry):
        state, buffer = carry
        state, metrics = iteration(state)
        return state, jax.tree.map(lambda b, m: b.at[i].set(m), buffer, metrics)

    return jax.lax.fori_loop(0, count, body, (state, buffer))


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
                interrupted = TrainingInterrupted(stop.signum or signal.SIGTERM, done, unit)
                print(interrupted, file=sys.stderr, flush=True)
                raise interrupted
    return state


def train_seeds(
    trainer: Any,
    keys: jax.Array,
    total: int,
    per_chunk: int,
    callback: Callable[[ChunkReport], None] | None = None,
) -> tuple[Any, dict[str, np.ndarray]]:
    """Train one seed per key of `keys[num_seeds]` in this process, without a run directory:
    `init_seeds`, one compiled chunk of `per_chunk` units run until `total`.

    `trainer` has `init(key)` and `run(state, n, max_n)` (recurrent PPO, the world-model
    agent). Returns `(final state [num_seeds, ...], metrics {name: [num_seeds, total]})`;
    `callback` sees each chunk's report.
    """
    state = init_seeds(trainer.init, keys)
    chunk = jax.vmap(lambda s, n: trainer.run(s, n, per_chunk), in_axes=(0, None))
    compiled, _ = compile_chunk(chunk, state)
    rows = []

    def collect(report: ChunkReport) -> None:
        rows.append(report.metrics)
        if callback is not None:
            callback(report)

    state = run_chunks(compiled, state, done=0, total=total, per_chunk=per_chunk,
                       callback=collect)
    return state, {k: np.concatenate([r[k] for r in rows], axis=1) for k in rows[0]}


def log_chunk(
    logger: Any,
    report: ChunkReport,
    *,
    steps: int,
    num_seeds: int,
    resumed_at: int,
    compile_seconds: float,
    scalars_of_row: Callable[[dict, int], dict],
) -> tuple[dict, float]:
    """Log every row (update/iteration) of a chunk; returns `(last row's scalars, env steps/s)`.

    `steps` is env steps per row; `resumed_at` the row count before this process started (its
    first logged row also carries the compile time).
    """
    sps = report.count * steps * num_seeds / report.seconds
    first = report.done - report.count
    scalars: dict = {}
    for i in range(report.count):
        row = first + i + 1
        scalars = scalars_of_row(report.metrics, i)
        extra = {"perf/sps": sps} if i == report.count - 1 else {}
        if row == resumed_at + 1:
            extra["perf/compile_seconds"] = compile_seconds
        logger.log(row, {**scalars, **extra}, {"env_steps": row * steps}, tb_step=row * steps)
    return scalars, sps


def advance_progress(logger: Any, env_steps: int, scalars: dict, sps: float) -> None:
    """Advance the progress bar by `env_steps`, showing the mean episode return and SPS."""
    returns = scalars["episode/return"]
    shown = f"{np.nanmean(returns):.3f}" if np.isfinite(returns).any() else "-"
    logger.advance(env_steps, {"return": shown, "sps": f"{sps:.0f}"})
