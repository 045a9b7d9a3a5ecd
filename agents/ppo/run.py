"""A PPO run on the host: compile once, train in chunks, log, checkpoint, resume.

`run_training(config, run_dir)` is what `scripts/train_ppo.py` calls after Hydra composed the
config; tests call it directly. Resuming (`config.resume = <run dir>`) reads that directory's
stored config and checkpoint and continues to the stored `total_timesteps`; on CPU the result
is bit-identical to a run that was never stopped.

The environment batch is sharded over every device of every process (agents.common.distributed;
one device is the special case); only process 0 writes the run directory. SIGINT/SIGTERM stop
the run after the current chunk with a checkpoint, a NaN/inf metric stops it keeping the last
good checkpoint (agents.common.faults).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import jax
import numpy as np

from agents.common.checkpoint import save_checkpoint
from agents.common.distributed import (
    check_divides,
    data_mesh,
    env_shardings,
    is_main_process,
    place,
    setup_process,
    to_host,
)
from agents.common.run_dir import RunDir, restore_run_state
from agents.common.run_logger import RunLogger
from agents.common.runner import (
    ChunkReport,
    advance_progress,
    compile_chunk,
    log_chunk,
    run_chunks,
)
from agents.ppo.config import TrainPPOConfig, from_omegaconf, to_dict, validate
from agents.ppo.train import PER_ENV_FIELDS, RecurrentPPO, make_train, seed_keys


def load_run_config(run_dir: str | Path) -> TrainPPOConfig:
    """The config stored in a run directory."""
    return from_omegaconf(RunDir(run_dir).read_config())


def restore_state(ppo: RecurrentPPO, run_dir: RunDir):
    """`(state [num_seeds, ...], updates done)` from the run's checkpoint."""
    target = ppo.init_seeds(seed_keys(ppo.config))
    return restore_run_state(run_dir, target, {**to_dict(ppo.config), "resume": None}, "update")


def run_training(config: TrainPPOConfig, run_dir: str | Path | None = None) -> Path:
    """Train (or resume) and return the run directory.

    Fresh run: `run_dir` must be given; it receives config.yaml, checkpoint.ckpt,
    metrics.jsonl and tb/. Resume: `config.resume` names the run directory; every other
    setting comes from the config stored there.
    """
    if config.resume:
        run = RunDir(config.resume)
        config = load_run_config(run.path)
        setup_process(config.distributed, deterministic=config.deterministic)
        validate(config)
        if not run.has_checkpoint():
            raise ValueError(f"cannot resume {str(run.path)!r}: it has no checkpoint yet")
    else:
        if run_dir is None:
            raise ValueError("run_training needs a run_dir for a fresh run")
        setup_process(config.distributed, deterministic=config.deterministic)
        validate(config)
        run = RunDir(run_dir)
        if run.has_checkpoint():
            raise ValueError(
                f"{str(run.path)!r} already holds a checkpoint; continue it with resume={run.path}"
            )
        if is_main_process():
            run.write_config({**to_dict(config), "resume": None})

    algo = config.algo
    mesh = data_mesh()
    check_divides("algo.num_envs", algo.num_envs, mesh)
    check_divides("environments per minibatch (algo.num_envs / algo.num_minibatches)",
                  algo.num_envs // algo.num_minibatches, mesh)
    ppo = make_train(config)
    if config.resume or run.has_checkpoint():
        state, done = restore_state(ppo, run)
        if is_main_process():
            run.truncate_metrics(done)
    else:
        state, done = ppo.init_seeds(seed_keys(config)), 0
    shardings = env_shardings(state, mesh, PER_ENV_FIELDS)
    state = place(state, shardings)

    per_chunk = config.logger.updates_per_chunk
    chunk = jax.vmap(partial(ppo.run, max_updates=per_chunk), in_axes=(0, None))
    compiled, compile_seconds = compile_chunk(chunk, state, mesh=mesh, state_shardings=shardings)
    steps = algo.steps_per_update
    stored_config = {**to_dict(config), "resume": None}

    with RunLogger(
        run,
        config.num_seeds,
        total=ppo.num_updates * steps,
        initial=done * steps,
        unit="env-step",
        tensorboard=config.logger.tensorboard,
        progress_bar=config.logger.progress_bar,
        purge_step=done * steps + 1 if done else None,
        enabled=is_main_process(),
    ) as logger:

        def on_chunk(report: ChunkReport) -> None:
            scalars, sps = log_chunk(
                logger, report, steps=steps, num_seeds=config.num_seeds, resumed_at=done,
                compile_seconds=compile_seconds, scalars_of_row=_update_scalars,
            )
            if config.logger.checkpoint or report.stopping:
                host_state = to_host(report.state)  # collective: every process gathers
                if is_main_process():
                    save_checkpoint(
                        run.checkpoint_path,
                        host_state,
                        {"update": report.done, "env_steps": report.done * steps,
                         "config": stored_config},
                    )
            advance_progress(logger, report.count * steps, scalars, sps)

        run_chunks(compiled, state, done=done, total=ppo.num_updates, per_chunk=per_chunk,
                   callback=on_chunk)
    return run.path


def _update_scalars(metrics: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Row i of the chunk's metrics `{name: [num_seeds, n]}`; episode stats NaN where no
    episode ended."""
    row = {k: np.asarray(v[:, i], np.float64) for k, v in metrics.items()}
    no_episode = row["episode/count"] == 0
    for key in ("episode/return", "episode/length"):
        row[key] = np.where(no_episode, np.nan, row[key])
    return row


