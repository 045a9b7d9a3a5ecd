#!/usr/bin/env python
"""Train recurrent PPO with Hydra.

    python scripts/train_ppo.py env=popgym                     # S5 on RepeatPreviousEasy
    python scripts/train_ppo.py env.id=CountRecallHard model=gru num_seeds=4
    python scripts/train_ppo.py preset=fast                    # minutes on a CPU
    python scripts/train_ppo.py -m model=s5,gru,mlp            # sweep (multirun/)
    python scripts/train_ppo.py resume=outputs/2025-01-01/12-00-00

Outputs go to Hydra's run directory (outputs/<date>/<time>): config.yaml, checkpoint.ckpt,
metrics.jsonl and TensorBoard events under tb/ (`tensorboard --logdir outputs`).
"""

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from agents.common.cli import train_from_hydra
from agents.ppo.config import TrainPPOConfig, register_configs

register_configs()


@hydra.main(config_path="../configs", config_name="train_ppo", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = train_from_hydra(TrainPPOConfig, cfg, hydra_cfg.runtime.output_dir,
                               hydra_cfg.overrides.task)
    print(f"run directory: {run_dir}")


if __name__ == "__main__":
    main()
