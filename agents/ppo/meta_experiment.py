"""Train recurrent PPO on a meta-RL suite with task options, then measure in-context curves.

The Hydra entry point (`scripts/train_ppo.py env=meta_gymnax`) trains on a registered split
with its default options; this module takes any `envs.meta.make_meta_env` options (base envs,
episode length, widths, a finite projection pool, ...) for experiments and tests:

    ppo, params, returns = train_meta("meta_gymnax", env_options, config)
    curves = in_context_curves(ppo, params, {"train": meta_agent_env(...)}, key)

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
from envs.meta import make_meta_env
from envs.wrappers import LogWrapper, ObservationEncoding, PreviousActionWrapper


def meta_agent_env(
    suite: str, split: str, previous_action: bool = True, **env_options: Any
) -> tuple[Any, Any]:
    """`(env, params)` of a meta split wrapped for agents, as `envs.wrappers.make_agent_env`
    wraps a registered id: ObservationEncoding -> [PreviousActionWrapper] -> LogWrapper."""
    env, params = make_meta_env(suite, split, **env_options)
    env = ObservationEncoding(env)
    if previous_action:
        env = PreviousActionWrapper(env)
    return LogWrapper(env), params


def train_meta(
    suite: str,
    env_options: dict[str, Any],
    config: TrainPPOConfig,
    updates_per_chunk: int = 10,
    progress: Callable[[str], None] | None = None,
) -> tuple[RecurrentPPO, Any, np.ndarray]:
    """Train one seed (`config.seed`) on split "train" of `suite` with `env_options`.

    Returns `(ppo, params, trial_returns[num_updates])`: the trainer, the final network
    parameters and the mean return of the trials that ended in each update (NaN where none
    did). `progress` receives one line per chunk of `updates_per_chunk` updates.
    """
    env, env_params = meta_agent_env(
        suite, "train", previous_action=config.env.previous_action, **env_options
    )
    ppo = make_train(config, env, env_params)
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
