"""Replay driver comparing a JAX POPGym env step by step with the original numpy popgym env.

After every numpy `reset()` the JAX state is rebuilt from the numpy env's hidden state (deck
order, ...); both envs then take the same actions, and every observation, reward (as float32),
terminated and truncated flag must agree exactly. The JAX env is stepped through its public
`step` (auto-reset), so the episode's last observation is compared through
`info["final_observation"]` and the auto-reset observation must match the returned state.
`replay_one_episode` and `check_expert_return_is_one` are the two checks every card game runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.popgym.cards import DeckState


def replay(
    np_env: Any,
    env: Any,
    params: Any,
    state_from_numpy: Callable[[Any], Any],
    expert_action: Callable[[Any], int],
    *,
    num_steps: int,
    seed: int,
    p_expert: float = 0.5,
) -> list[float]:
    """Drive both envs for `num_steps` steps; return the JAX env's finished episode returns.

    Each action is `expert_action(np_env)` (from the numpy env's hidden state) with probability
    `p_expert`, else uniform over the action space, so rewards of both signs occur.
    """
    rng = np.random.default_rng(seed)
    # Compile time dominates: skip XLA's backend optimisations (behaviour unchanged).
    step = jax.jit(env.step, compiler_options={"xla_backend_optimization_level": 0})
    step_keys = jax.random.split(jax.random.key(seed), num_steps)
    num_actions = int(env.action_space(params).n)
    episode = 0

    def resync() -> tuple[Any, float]:
        nonlocal episode
        np_obs, _ = np_env.reset(seed=seed * 1000 + episode)
        episode += 1
        state = state_from_numpy(np_env)
        np.testing.assert_array_equal(np.asarray(env.get_obs(state, params)), np_obs)
        return state, 0.0

    state, episode_return = resync()
    returns = []
    for t in range(num_steps):
        if rng.random() < p_expert:
            action = int(expert_action(np_env))
        else:
            action = int(rng.integers(num_actions))
        np_obs, np_reward, np_terminated, np_truncated, _ = np_env.step(action)
        obs, state, reward, terminated, truncated, info = step(
            step_keys[t], state, jnp.int32(action), params
        )
        final_obs, reward, terminated, truncated = jax.device_get(
            (info["final_observation"], reward, terminated, truncated)
        )
        where = f"step {t} (episode {episode}), action {action}"
        np.testing.assert_array_equal(final_obs, np_obs, err_msg=where)
        assert float(reward) == np.float32(np_reward), (where, float(reward), np_reward)
        assert bool(terminated) == np_terminated, (where, bool(terminated), np_terminated)
        assert bool(truncated) == np_truncated, (where, bool(truncated), np_truncated)
        episode_return += float(reward)
        if np_terminated or np_truncated:
            np.testing.assert_array_equal(np.asarray(env.get_obs(state, params)), np.asarray(obs))
            returns.append(episode_return)
            state, episode_return = resync()
    return returns


def deck_state_from_numpy(np_env: Any) -> DeckState:
    """Our state of a one-deck game (RepeatFirst ...) after popgym's reset: its deck, time 0."""
    return DeckState(deck=jnp.asarray(np_env.deck.idx, jnp.int32), time=jnp.int32(0))


def replay_one_episode(
    np_env: Any,
    env: Any,
    params: Any,
    state_from_numpy: Callable[[Any], Any],
    expert_action: Callable[[Any], int],
    *,
    length: int,
    seed: int,
) -> None:
    """The episode lengths agree, and replaying `length + 20` steps finishes exactly one episode."""
    assert params.max_steps_in_episode == length
    returns = replay(
        np_env, env, params, state_from_numpy, expert_action, num_steps=length + 20, seed=seed
    )
    assert len(returns) == 1


def check_expert_return_is_one(
    np_env: Any,
    env: Any,
    params: Any,
    state_from_numpy: Callable[[Any], Any],
    expert_action: Callable[[Any], int],
    *,
    num_steps: int,
    seed: int,
) -> None:
    """Always taking `expert_action` for `num_steps` steps finishes one episode with return 1."""
    returns = replay(
        np_env,
        env,
        params,
        state_from_numpy,
        expert_action,
        num_steps=num_steps,
        seed=seed,
        p_expert=1.0,
    )
    assert returns == [pytest.approx(1.0, abs=1e-5)]
