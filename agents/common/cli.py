"""Glue between Hydra and `run_training`, shared by the training scripts and the CLI tests.

    python scripts/train_ppo.py env.id=CountRecallHard model=gru   # -> train_from_hydra
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from agents.common.config import RunConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def check_resume_overrides(overrides: list[str]) -> None:
    """A resumed run takes every setting from its run directory: reject other overrides."""
    other = [o for o in overrides if not o.lstrip("+~").startswith(("resume=", "hydra."))]
    if other:
        raise ValueError(
            f"resume=<run dir> continues that run with its stored config; remove the other "
            f"overrides {other}"
        )


def train_from_hydra(
    config_class: type[RunConfig], cfg: DictConfig, run_dir: str | Path, overrides: list[str] = ()
) -> Path:
    """Build `config_class` from the composed config and train (or resume) into `run_dir`."""
    from agents.common.training import run_training

    config = config_class.from_dict(cfg)
    if config.resume:
        check_resume_overrides(list(overrides))
    return run_training(config, run_dir)
