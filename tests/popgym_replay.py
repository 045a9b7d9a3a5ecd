"""Checks shared by the board, maze and physics POPGym ports (Battleship ... Pendulum).

`replay` drives the original numpy env and the JAX env with the same actions from matched hidden
state and compares every observation, reward and done flag (exactly, or within a tolerance for
float physics). Unlike `popgym_oracle.replay` it takes any action space and the JAX state can be
built by the test (`sync`) in either direction. `rollout_checks` runs a `jit(vmap)` random
rollout: determinism and every finished episode return in [-1, 1]. `jax_env`, `make_pair` and
`popgym_classes` build the env pairs the tests compare; `check_lengths_and_noise` checks the
control families' ids against popgym's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs import make

LEVELS = ("Easy", "Medium", "Hard")


@functools.cache
def jax_env(env_id: str) -> tuple[Any, Any]:
    """`(env, params)`, built once per id for the whole session so `env.step` compiles once."""
    return make(env_id)


def make_pair(np_module: ModuleType, env_id: str) -> tuple[Any, Any, Any]:
    """`(env, params, np_env)`: our cached env and a fresh popgym env of class `env_id`."""
    return *jax_env(env_id), getattr(np_module, env_id)()


def popgym_classes(modules: dict[str, ModuleType]) -> dict[str, type]:
    """`{family + level: popgym class}` for every `family: popgym module` and level."""
    return {
        f"{family}{level}": getattr(module, f"{family}{level}")
        for family, module in modules.items()
        for level in LEVELS
    }


def check_lengths_and_noise(
    env_ids: dict[str, Callable[[], tuple[Any, Any]]], popgym_classes: dict[str, type]
) -> list[tuple[Any, Any, Any]]:
    """Our ids are popgym's, and each pair agrees on episode length and observation-noise sigma.

    Returns `(env, params, np_env)` for every id, for the family's own space checks.
    """
    assert set(env_ids) == set(popgym_classes)
    pairs = []
    for env_id, np_cls in popgym_classes.items():
        env, params = env_ids[env_id]()
        np_env = np_cls()
        assert params.max_steps_in_episode == np_env.max_episode_length, env_id
        sigma = np_env.noise_sigma[0] if hasattr(np_env, "noise_sigma") else 0.0
        assert params.noise_sigma == pytest.approx(sigma), env_id
        pairs.append((env, params, np_env))
    return pairs


def replay(
    np_env: Any,
    env: Any,
    params: Any,
    sync: Callable[[int], tuple[Any, Any]],
    choose_action: Callable[[np.random.Generator], Any],
    *,
    num_steps: int,
    seed: int,
    atol: float = 0.0,
    resync_each_step: Callable[[Any], Any] | None = None,
) -> list[tuple[float, int, bool]]:
    """Step both envs `num_steps` times; return `(return, length, terminated)` per episode.

    `sync(episode)` resets `np_env`, builds the matching JAX state and returns
    `(state, jax_reset_obs, np_reset_obs)`; it runs at the start and after every episode end.
    `choose_action(rng)` gives the numpy action, which is passed to both envs.
    `atol = 0` demands bit-equal observations and float32 rewards. `resync_each_step(state)`,
    if given, re-copies the numpy env's hidden state into ours before every step: chaotic
    float32 physics then stays comparable over long episodes, one step at a time.
    """
    rng = np.random.default_rng(seed)
    keys = jax.random.split(jax.random.key(seed), num_steps)
    episode, episode_return, length = 0, 0.0, 0
    state, obs, np_obs = sync(episode)
    np.testing.assert_allclose(np.asarray(obs), np_obs, atol=atol, rtol=0, err_msg="reset obs")
    episodes = []
    for t in range(num_steps):
        action = choose_action(rng)
        if resync_each_step is not None:
            state = resync_each_step(state)
        np_obs, np_reward, np_terminated, np_truncated, _ = np_env.step(action)
        _, state, reward, terminated, truncated, info = env.step(
            keys[t], state, jnp.asarray(action), params
        )
        final_obs, reward, terminated, truncated = jax.device_get(
            (info["final_observation"], reward, terminated, truncated)
        )
        where = f"step {t} (episode {episode}, t={length}), action {action}"
        np.testing.assert_allclose(final_obs, np_obs, atol=atol, rtol=0, err_msg=where)
        if atol == 0.0:
            assert reward == np.float32(np_reward), (where, reward, np_reward)
        else:
            assert abs(float(reward) - np_reward) <= atol, (where, reward, np_reward)
        assert (bool(terminated), bool(truncated)) == (np_terminated, np_truncated), where
        episode_return += float(reward)
        length += 1
        if np_terminated or np_truncated:
            episodes.append((episode_return, length, bool(np_terminated)))
            episode, episode_return, length = episode + 1, 0.0, 0
            state, obs, np_obs = sync(episode)
            np.testing.assert_allclose(np.asarray(obs), np_obs, atol=atol, rtol=0, err_msg=where)
    return episodes


@functools.partial(jax.jit, static_argnames=("env", "num_envs", "num_steps"))
def _random_rollout(env: Any, params: Any, key: jax.Array, num_envs: int, num_steps: int):
    """`num_envs` envs under vmap, `num_steps` random actions: obs0, rewards/dones `[T, B]`."""
    key_reset, key_run = jax.random.split(key)
    obs0, state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(key_reset, num_envs), params
    )

    def step(state, keys):
        keys_act, keys_step = keys
        actions = jax.vmap(env.action_space(params).sample)(keys_act)
        _, state, reward, terminated, truncated, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            keys_step, state, actions, params
        )
        return state, (reward, terminated | truncated)

    # Keys drawn up front: every random op in the scan body costs compile time on XLA:CPU.
    keys = jax.random.split(key_run, (2, num_steps, num_envs))
    _, (rewards, dones) = jax.lax.scan(step, state, (keys[0], keys[1]))
    return obs0, rewards, dones


def rollout_checks(
    env: Any,
    params: Any,
    *,
    num_envs: int,
    num_steps: int,
    seed: int = 0,
    lowest_return: float = -1.0,
) -> np.ndarray:
    """jit(vmap) random rollout: deterministic, finite, episode returns in [low, 1].

    `lowest_return` is -1 for every family but Battleship (popgym's bound is below -1 there).
    Returns the finished episodes' returns (1-D).
    """
    key = jax.random.key(seed)
    obs0, rewards, dones = jax.device_get(_random_rollout(env, params, key, num_envs, num_steps))
    again = jax.device_get(_random_rollout(env, params, key, num_envs, num_steps))
    for a, b in zip((obs0, rewards, dones), again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(rewards).all()
    returns = []
    for b in range(num_envs):
        ends = np.flatnonzero(dones[:, b])
        starts = np.concatenate([[0], ends + 1])[: len(ends)]
        returns += [
            rewards[s : e + 1, b].astype(np.float64).sum()
            for s, e in zip(starts, ends, strict=True)
        ]
    returns = np.asarray(returns)
    outside = (returns < lowest_return - 1e-5) | (returns > 1.0 + 1e-5)
    assert not outside.any(), returns[outside]
    return returns
