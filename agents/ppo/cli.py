"""Glue between Hydra and `run_training`, shared by `scripts/train_ppo.py` and the CLI tests.

Importing gymnax (through `agents.ppo.run`) starts the JAX backend, and `jax.distributed` and the
deterministic XLA flags must come before that: `train_from_hydra` sets the process up first and
imports the trainer afterwards.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from agents.common.distributed import setup_process
from agents.common.run_dir import RunDir
from agents.ppo.config import from_omegaconf

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def check_resume_overrides(overrides: list[str]) -> None:
    """A resumed run takes every setting from its run directory: reject other overrides."""
    other = [o for o in overrides if not o.lstrip("+~").startswith(("resume=", "hydra."))]
    if other:
        raise ValueError(
            f"resume=<run dir> continues that run with its stored config; remove the other "
            f"overrides {other}"
        )


def train_from_hydra(cfg: DictConfig, run_dir: str | Path, overrides: list[str] = ()) -> Path:
    """Validate the composed config and train (or resume) into `run_dir`."""
    config = from_omegaconf(cfg)
    if config.resume:
        check_resume_overrides(list(overrides))
    stored = from_omegaconf(RunDir(config.resume).read_config()) if config.resume else config
    setup_process(stored.distributed, deterministic=stored.deterministic)
    from agents.ppo.run import run_training

    return run_training(config, run_dir)
