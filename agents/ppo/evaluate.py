"""Returns of a trained policy over whole episodes, greedy (mode) or sampled."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from agents.ppo.train import RecurrentPPO


def evaluate_policy(
    ppo: RecurrentPPO,
    params: Any,
    rng: jax.Array,
    num_episodes: int,
    *,
    greedy: bool,
    max_steps: int | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Run `num_episodes` envs side by side until each finishes its first episode.

    Returns `(returns[num_episodes], finished[num_episodes] bool)`; `max_steps` bounds the
    episode length (default: the env's `max_steps_in_episode`). Jittable with `greedy` and
    the sizes static.
    """
    if max_steps is None:
        max_steps = int(ppo.env_params.max_steps_in_episode)
    rng, k_reset = jax.random.split(rng)
    obs, env_state = ppo.env.reset(jax.random.split(k_reset, num_episodes), ppo.env_params)
    carry = ppo.network.initialize_carry((num_episodes,))
    is_first = jnp.ones((num_episodes,), bool)
    zeros = jnp.zeros((num_episodes,), jnp.float32)

    def step(c, key):
        env_state, obs, is_first, carry, finished, returns = c
        k_act, k_env = jax.random.split(key)
        (carry, _, _), out = ppo.act_and_step(params, carry, env_state, obs, is_first, k_act,
                                              k_env, greedy)
        returns = jnp.where(finished, returns, returns + out.reward)
        done = out.done
        return (out.env_state, out.next_obs, done, carry, finished | done, returns), None

    init = (env_state, obs, is_first, carry, zeros.astype(bool), zeros)
    final, _ = jax.lax.scan(step, init, jax.random.split(rng, max_steps))
    return final[5], final[4]
