#!/usr/bin/env python
"""Train recurrent PPO with Hydra.

    python scripts/train_ppo.py env=popgym                     # S5 on RepeatPreviousEasy
    python scripts/train_ppo.py env.id=CountRecallHard model=gru num_seeds=4
    python scripts/train_ppo.py preset=paper                   # the S5 paper's configuration
    python scripts/train_ppo.py -m model=s5,gru,mlp            # sweep (multirun/)
    python scripts/train_ppo.py resume=outputs/2025-01-01/12-00-00

Without `preset=`, the preset follows the machine: `fast` (minutes on a laptop CPU) without a
GPU/TPU, `paper` with one (`agents.common.cli`). Outputs go to Hydra's run directory
(outputs/<date>/<time>): config.yaml, checkpoint.ckpt, metrics.jsonl and TensorBoard events
under tb/.
"""

from agents.common.cli import hydra_main
from agents.ppo.config import TrainPPOConfig, register_configs

if __name__ == "__main__":
    hydra_main(TrainPPOConfig, "train_ppo", register_configs, choose_preset=True)
