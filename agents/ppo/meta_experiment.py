"""Train recurrent PPO on a meta-RL benchmark with task options, then measure in-context curves.

The Hydra entry point (`scripts/train_ppo.py env=meta_gymnax`) trains through
`run_training` with checkpoints; this module trains one seed in memory (`train_seeds`, the
same loop) and returns the per-update trial
returns, for experiments and tests. Task options (base envs, episode length, widths, a finite
projection pool, ...: `envs.meta.make_meta_env`) come from `config.env.options`:

    ppo, params, returns = train_meta(config)
    curves = in_context_curves(ppo, params, meta_split_envs(config), key)

`scripts/meta_in_context.py` is its command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from agents.common.runner import ChunkReport
from agents.common.training import train_seeds
from agents.ppo.config import TrainPPOConfig
from agents.ppo.train import RecurrentPPO


def train_meta(
    config: TrainPPOConfig,
    updates_per_chunk: int = 10,
    progress: Callable[[str], None] | None = None,
) -> tuple[RecurrentPPO, Any, np.ndarray]:
    """Train one seed (`config.seed`) on the meta split `config.env.id` with `config.env.options`.

    Returns `(ppo, params, trial_returns[num_iterations])`: the trainer, the final network
    parameters and the mean return of the trials that ended in each update (NaN where none
    did). `progress` receives one line per chunk of `updates_per_chunk` updates.
    """
    ppo = RecurrentPPO(config)
    start = time.perf_counter()

    def show(report: ChunkReport) -> None:
        if progress:
            ended = report.metrics["episode/count"][0] > 0
            chunk_returns = np.where(ended, report.metrics["episode/return"][0], np.nan)
            progress(
                f"update {report.done}/{ppo.num_iterations} "
                f"({report.done * config.algo.steps_per_update} env steps, "
                f"{time.perf_counter() - start:.0f} s): trial return "
                f"{np.nanmean(chunk_returns):.2f}"
            )

    keys = jax.random.PRNGKey(config.seed)[None]
    state, metrics = train_seeds(ppo, keys, updates_per_chunk, show)
    ended = metrics["episode/count"][0] > 0
    returns = np.where(ended, metrics["episode/return"][0], np.nan)
    params = jax.tree.map(lambda leaf: leaf[0], state.params)
    return ppo, params, returns
