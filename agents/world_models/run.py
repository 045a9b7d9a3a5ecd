"""A world-model agent run on the host: compile once, train in chunks, log, checkpoint, resume.

Same machinery as PPO (`agents.common`: run directory, atomic checkpoints, RunLogger, chunk
runner). Resuming (`config.resume = <run dir>`) reads that directory's config and checkpoint
and continues to the stored `total_timesteps`; on CPU the result equals an uninterrupted run.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import jax
import numpy as np

from agents.common.checkpoint import save_checkpoint
from agents.common.run_dir import RunDir, restore_run_state
from agents.common.run_logger import RunLogger
from agents.common.runner import (
    ChunkReport,
    advance_progress,
    compile_chunk,
    init_seeds,
    log_chunk,
    run_chunks,
    seed_keys,
)
from agents.world_models.agent import DreamerAgent, make_agent
from agents.world_models.config import TrainWMConfig, from_omegaconf, to_dict, validate


def restore_state(agent: DreamerAgent, run_dir: RunDir):
    """`(state [num_seeds, ...], iterations done)` from the run's checkpoint."""
    target = init_seeds(agent.init, seed_keys(agent.config))
    stored = {**to_dict(agent.config), "resume": None}
    return restore_run_state(run_dir, target, stored, "iteration")


def run_training(config: TrainWMConfig, run_dir: str | Path | None = None) -> Path:
    """Train (or resume) and return the run directory (config.yaml, checkpoint.ckpt,
    metrics.jsonl, tb/)."""
    if config.resume:
        run = RunDir(config.resume)
        config = from_omegaconf(run.read_config())
        validate(config)
        if not run.has_checkpoint():
            raise ValueError(f"cannot resume {str(run.path)!r}: it has no checkpoint yet")
    else:
        if run_dir is None:
            raise ValueError("run_training needs a run_dir for a fresh run")
        validate(config)
        run = RunDir(run_dir)
        if run.has_checkpoint():
            raise ValueError(
                f"{str(run.path)!r} already holds a checkpoint; continue it with resume={run.path}"
            )
        run.write_config({**to_dict(config), "resume": None})

    agent = make_agent(config)
    if run.has_checkpoint():
        state, done = restore_state(agent, run)
        run.truncate_metrics(done, key="iteration")
    else:
        state, done = init_seeds(agent.init, seed_keys(config)), 0

    per_chunk = config.logger.updates_per_chunk
    chunk = jax.vmap(partial(agent.run, max_iterations=per_chunk), in_axes=(0, None))
    compiled, compile_seconds = compile_chunk(chunk, state)
    steps = config.agent.steps_per_iteration
    stored_config = {**to_dict(config), "resume": None}

    with RunLogger(
        run,
        config.num_seeds,
        total=agent.num_iterations * steps,
        initial=done * steps,
        step_key="iteration",
        unit="env-step",
        tensorboard=config.logger.tensorboard,
        progress_bar=config.logger.progress_bar,
        purge_step=done * steps + 1 if done else None,
    ) as logger:

        def on_chunk(report: ChunkReport) -> None:
            scalars, sps = log_chunk(
                logger, report, steps=steps, num_seeds=config.num_seeds, resumed_at=done,
                compile_seconds=compile_seconds, scalars_of_row=iteration_scalars,
            )
            if config.logger.checkpoint or report.stopping:
                save_checkpoint(
                    run.checkpoint_path,
                    report.state,
                    {"iteration": report.done, "env_steps": report.done * steps,
                     "config": stored_config},
                )
            advance_progress(logger, report.count * steps, scalars, sps)

        run_chunks(compiled, state, done=done, total=agent.num_iterations, per_chunk=per_chunk,
                   callback=on_chunk, unit="iteration")
    return run.path


def iteration_scalars(metrics: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Row i of the chunk's metrics `{name: [num_seeds, n]}`; NaN where there is no value
    (episode stats when no episode ended, training stats before training starts)."""
    row = {k: np.asarray(v[:, i], np.float64) for k, v in metrics.items()}
    no_episode = row["episode/count"] == 0
    for key in ("episode/return", "episode/length"):
        row[key] = np.where(no_episode, np.nan, row[key])
    not_trained = row["train/ready"] == 0
    for key in row:
        if key.startswith(("wm/", "ac/")):
            row[key] = np.where(not_trained, np.nan, row[key])
    return row
