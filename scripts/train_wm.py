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

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from agents.common.cli import train_from_hydra
from agents.world_models.config import TrainWMConfig, register_configs

register_configs()


@hydra.main(config_path="../configs", config_name="train_wm", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = train_from_hydra(TrainWMConfig, cfg, hydra_cfg.runtime.output_dir,
                               hydra_cfg.overrides.task)
    print(f"run directory: {run_dir}")


if __name__ == "__main__":
    main()
