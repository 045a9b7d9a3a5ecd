"""A training run on the host, the same for every trainer: compile once, train in chunks, log,
checkpoint, resume.

    config = TrainPPOConfig.from_dict(...)            # or TrainWMConfig
    run_dir = run_training(config, "outputs/run")     # config.yaml, checkpoint.ckpt,
                                                      # metrics.jsonl, tb/
    run_training(TrainPPOConfig(resume="outputs/run"))  # continue it

`make_trainer(config)` builds the trainer the config names (`RunConfig.trainer`);
`run_training` drives it: the process is set up once (deterministic XLA flags,
`jax.distributed`), the config validated, the env batch sharded over every device of every
process (agents.common.distributed; one device is the special case), one chunk of
`logger.updates_per_chunk` iterations compiled once and run until `num_iterations`. Only
process 0 writes the run directory. SIGINT/SIGTERM stop the run after the current chunk with a
checkpoint; a NaN/inf metric stops it keeping the last good checkpoint (agents.common.faults).
Resuming reads the stored config and checkpoint and continues to the stored budget; on CPU the
result is bit-identical to a run that was never stopped.

`train_seeds` is the same loop in-process, without a run directory (evaluation scripts, the
meta-RL experiment).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from agents.common.config import RunConfig
from agents.common.distributed import (
    check_divides,
    data_mesh,
    env_shardings,
    is_main_process,
    place,
    setup_process,
    to_host,
)
from agents.common.kept_checkpoints import CheckpointKeeper
from agents.common.run_dir import RunDir, restore_run_state
from agents.common.run_logger import RunLogger
from agents.common.runner import (
    ChunkReport,
    advance_progress,
    compile_chunk,
    log_chunk,
    run_chunks,
)
from agents.common.trainer import Trainer, seed_keys

# The config class of each trainer, keyed by the section only its config has.
CONFIG_CLASSES = {
    "algo": "agents.ppo.config:TrainPPOConfig",
    "world_model": "agents.world_models.config:TrainWMConfig",
}


def _load(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def make_trainer(config: RunConfig, env: Any = None, env_params: Any = None) -> Trainer:
    """The trainer `config.trainer` names, built from `config` (validated there).

    `env, env_params`: any env object with the gymnax 1.x API, to train on an env that is not
    in `envs.registry` (default: the one `config.env` names), wrapped as `config.env` says
    (`agents.common.config.agent_env`); `env_params` default to `env.default_params`.
    """
    return _load(config.trainer)(config, env, env_params)


def config_class(stored: dict[str, Any]) -> type[RunConfig]:
    """The config class of a stored config dict (PPO: `algo` section, world model:
    `world_model`); ValueError otherwise."""
    for section, path in CONFIG_CLASSES.items():
        if section in stored:
            return _load(path)
    raise ValueError(
        f"config.yaml has none of the sections {sorted(CONFIG_CLASSES)} that name a trainer: "
        f"top-level keys {sorted(stored)}"
    )


def load_run_config(run_dir: str | Path) -> RunConfig:
    """The config stored in a run directory, as its trainer's config class."""
    stored = RunDir(run_dir).read_config()
    return config_class(stored).from_dict(stored)


def stored_config(config: RunConfig) -> dict[str, Any]:
    """What config.yaml and every checkpoint of `config`'s run store (no `resume`)."""
    return {**config.to_dict(), "resume": None}


def state_template(trainer: Trainer) -> Any:
    """Zero host arrays shaped like the stacked state `[num_members, ...]` (a restore target;
    nothing is initialised or compiled)."""
    shapes = jax.eval_shape(trainer.init, jax.random.PRNGKey(0))
    return jax.tree.map(lambda s: np.zeros((trainer.config.num_members, *s.shape), s.dtype),
                        shapes)


def restore_state(trainer: Trainer, run: RunDir) -> tuple[Any, int]:
    """`(state [num_members, ...], iterations done)` from the run's checkpoint; CheckpointError
    if it does not fit the trainer or was written by another config."""
    return restore_run_state(run, state_template(trainer), stored_config(trainer.config),
                             trainer.unit)


def check_mesh(trainer: Trainer, mesh: Mesh) -> None:
    """ValueError naming each batch size of `trainer.mesh_divisors()` that does not split over
    the mesh's devices."""
    for name, size in trainer.mesh_divisors().items():
        check_divides(name, size, mesh)


def compile_run(
    trainer: Trainer, state: Any, per_chunk: int, mesh: Mesh, *, donate: bool = True
) -> tuple[Callable, float, Any]:
    """Place `state [num_members, ...]` on `mesh` (env axis split, the rest replicated) and
    AOT-compile the chunk `state, n -> (state, metrics [num_members, per_chunk])` for it.

    Returns `(compiled chunk, compile seconds, placed state)`.
    """
    shardings = env_shardings(state, mesh, trainer.per_env_fields)
    state = place(state, shardings)
    chunk = jax.vmap(lambda s, n: trainer.run(s, n, per_chunk), in_axes=(0, None))
    compiled, seconds = compile_chunk(chunk, state, donate, mesh=mesh, state_shardings=shardings)
    return compiled, seconds, state


def run_training(
    config: RunConfig,
    run_dir: str | Path | None = None,
    *,
    env: Any = None,
    env_params: Any = None,
) -> Path:
    """Train (or resume) and return the run directory.

    Fresh run: `run_dir` must be given; it receives config.yaml, checkpoint.ckpt (and the kept
    ones, agents.common.kept_checkpoints), metrics.jsonl and tb/. Resume: `config.resume` names
    the run directory; every other setting comes from the config stored there. `env,
    env_params` as in `make_trainer` (then a resume needs them again).
    """
    if config.resume:
        run = RunDir(config.resume)
        config = type(config).from_dict(run.read_config())
        if not run.has_checkpoint():
            raise ValueError(f"cannot resume {str(run.path)!r}: it has no checkpoint yet")
    else:
        if run_dir is None:
            raise ValueError("run_training needs a run_dir for a fresh run")
        run = RunDir(run_dir)
        if run.has_checkpoint():
            raise ValueError(
                f"{str(run.path)!r} already holds a checkpoint; continue it with resume={run.path}"
            )
    setup_process(config.distributed, deterministic=config.deterministic)
    trainer = make_trainer(config, env, env_params)  # validates the config
    mesh = data_mesh()
    check_mesh(trainer, mesh)
    stored = stored_config(config)
    verbose = config.logger.progress_bar and is_main_process()

    def say(*parts: Any, **options: Any) -> None:  # what the console shows besides the bar
        if verbose:
            print(*parts, **options)

    steps = trainer.steps_per_iteration
    if run.has_checkpoint():
        state, done = restore_state(trainer, run)
        if is_main_process():
            run.truncate_metrics(done, key=trainer.unit)
        say(f"resuming {run.path.resolve()} at {trainer.unit} {done}", flush=True)
    else:
        state, done = trainer.init_members(seed_keys(config)), 0
        say(f"run directory: {run.path.resolve()} (written from the first chunk on)", flush=True)
    labels = config.member_labels()
    points = len(labels) // config.num_seeds
    grid = f" x {points} hyper-parameter points (one program)" if points > 1 else ""
    say(f"{trainer.num_iterations} {trainer.unit}s x {steps} env steps = "
        f"{trainer.num_iterations * steps:,} env steps per seed, {config.num_seeds} seed(s)"
        f"{grid}")

    per_chunk = config.logger.updates_per_chunk
    keeper = CheckpointKeeper(run, trainer.unit, keep_last=config.logger.keep_last,
                              keep_best=config.logger.keep_best)
    say(f"compiling a chunk of {per_chunk} {trainer.unit}(s) on {mesh.size} "
        f"{jax.default_backend()} device(s) ...", end=" ", flush=True)
    compiled, compile_seconds, state = compile_run(trainer, state, per_chunk, mesh)
    say(f"{compile_seconds:.1f} s", flush=True)

    with RunLogger(
        run,
        labels,
        total=trainer.num_iterations * steps,
        initial=done * steps,
        step_key=trainer.unit,
        unit="env-step",
        tensorboard=config.logger.tensorboard,
        progress_bar=config.logger.progress_bar,
        purge_step=done * steps + 1 if done else None,
        enabled=is_main_process(),
        wandb=_wandb_options(config, run, stored) if config.logger.wandb else None,
    ) as logger:

        def on_chunk(report: ChunkReport) -> None:
            if is_main_process() and report.done - report.count == 0:
                run.write_config(stored)  # the first chunk: the run directory comes to be
            chunk_return, sps = log_chunk(
                logger, report, steps=steps, num_members=len(labels), resumed_at=done,
                compile_seconds=compile_seconds, scalars_of_row=trainer.row_scalars,
            )
            if config.logger.checkpoint or report.stopping:
                host_state = to_host(report.state)  # collective: every process gathers
                if is_main_process():
                    keeper.save(host_state, {trainer.unit: report.done,
                                             "env_steps": report.done * steps,
                                             "config": stored}, chunk_return)
            advance_progress(logger, report.count * steps, chunk_return, sps)

        run_chunks(compiled, state, done=done, total=trainer.num_iterations,
                   per_chunk=per_chunk, callback=on_chunk, unit=trainer.unit,
                   run_dir=run.path.resolve())
    return run.path


def _wandb_options(config: RunConfig, run: RunDir, stored: dict[str, Any]) -> dict[str, Any]:
    """`wandb.init` keywords: one W&B run per run directory, resumed with it."""
    run_id = "-".join(run.path.resolve().parts[-2:]).replace(":", "-")
    return {"project": config.logger.wandb_project, "name": run_id, "id": run_id,
            "resume": "allow", "dir": str(run.path), "config": stored}


def train_seeds(
    trainer: Trainer,
    keys: jax.Array,
    per_chunk: int,
    callback: Callable[[ChunkReport], None] | None = None,
    total: int | None = None,
) -> tuple[Any, dict[str, np.ndarray]]:
    """Train every member (`Trainer.init_members`: each seed, times the config's sweep grid)
    for `keys[num_seeds]` in this process, without a run directory: the loop of `run_training`
    (same compiled chunk, sharded the same way) for `total` iterations (default:
    `trainer.num_iterations`).

    Returns `(final state [num_members, ...], metrics {name: [num_members, total]})`; `callback`
    sees each chunk's report.
    """
    mesh = data_mesh()
    check_mesh(trainer, mesh)
    total = trainer.num_iterations if total is None else total
    compiled, _, state = compile_run(trainer, trainer.init_members(keys), per_chunk, mesh)
    rows = []

    def collect(report: ChunkReport) -> None:
        rows.append(report.metrics)
        if callback is not None:
            callback(report)

    state = run_chunks(compiled, state, done=0, total=total, per_chunk=per_chunk,
                       callback=collect, unit=trainer.unit)
    return state, {k: np.concatenate([r[k] for r in rows], axis=1) for k in rows[0]}
