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

from agents.common.cli import hydra_main
from agents.world_models.config import TrainWMConfig, register_configs

if __name__ == "__main__":
    hydra_main(TrainWMConfig, "train_wm", register_configs)
