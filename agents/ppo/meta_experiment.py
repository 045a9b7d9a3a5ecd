"""Train recurrent PPO on a meta-RL suite with task options, then measure in-context curves.

The Hydra entry point (`scripts/train_ppo.py env=meta_gymnax`) trains through the chunked
runner with checkpoints; this module trains one seed in memory and returns the per-update trial
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
import jax.numpy as jnp
import numpy as np

from agents.ppo.config import TrainPPOConfig
from agents.ppo.train import RecurrentPPO, make_train


def train_meta(
    config: TrainPPOConfig,
    updates_per_chunk: int = 10,
    progress: Callable[[str], None] | None = None,
) -> tuple[RecurrentPPO, Any, np.ndarray]:
    """Train one seed (`config.seed`) on the meta split `config.env.id` with `config.env.options`.

    Returns `(ppo, params, trial_returns[num_updates])`: the trainer, the final network
    parameters and the mean return of the trials that ended in each update (NaN where none
    did). `progress` receives one line per chunk of `updates_per_chunk` updates.
    """
    ppo = make_train(config)
    state = jax.jit(ppo.init)(jax.random.PRNGKey(config.seed))
    start = time.perf_counter()
    chunk = jax.jit(ppo.run, static_argnums=2).lower(state, jnp.int32(1), updates_per_chunk)
    chunk = chunk.compile()
    if progress:
        progress(f"compiled in {time.perf_counter() - start:.1f} s")
    start, done, returns = time.perf_counter(), 0, []
    while done < ppo.num_updates:
        count = min(updates_per_chunk, ppo.num_updates - done)
        state, metrics = chunk(state, jnp.int32(count))
        metrics = jax.device_get(metrics)
        ended = metrics["episode/count"][:count] > 0
        returns.extend(np.where(ended, metrics["episode/return"][:count], np.nan))
        done += count
        if progress:
            steps = done * config.algo.steps_per_update
            progress(
                f"update {done}/{ppo.num_updates} ({steps} env steps, "
                f"{time.perf_counter() - start:.0f} s): trial return "
                f"{np.nanmean(returns[-count:]):.2f}"
            )
    return ppo, state.params, np.asarray(returns)
