#!/usr/bin/env python
"""Train a world-model agent (S4WM / Drama / RSSM-like) that learns in imagination, with Hydra.

    python scripts/train_wm.py env=popgym model=s5            # S5 world model (S4WM / S5WM)
    python scripts/train_wm.py env=popgym model=mamba         # selective SSM (Drama)
    python scripts/train_wm.py env=popgym model=gru           # GRU (RSSM-like baseline)
    python scripts/train_wm.py env.id=RepeatFirstEasy agent.frequency_tau=20
    python scripts/train_wm.py wm=dreamer                     # DreamerV3-sized networks
    python scripts/train_wm.py resume=outputs/2025-01-01/12-00-00

Outputs go to Hydra's run directory (outputs/<date>/<time>): config.yaml, checkpoint.ckpt,
metrics.jsonl and TensorBoard events under tb/.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from agents.ppo.cli import check_resume_overrides  # noqa: E402
from agents.world_models.config import from_omegaconf, register_configs  # noqa: E402
from agents.world_models.run import run_training  # noqa: E402

register_configs()


@hydra.main(config_path="../configs", config_name="train_wm", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    config = from_omegaconf(cfg)
    if config.resume:
        check_resume_overrides(list(hydra_cfg.overrides.task))
    run_dir = run_training(config, hydra_cfg.runtime.output_dir)
    print(f"run directory: {run_dir}")


if __name__ == "__main__":
    main()
