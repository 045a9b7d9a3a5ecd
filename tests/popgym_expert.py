"""Scripted-optimal policies played through a JAX POPGym env's public `reset` / `step` (jit).

`expert_episodes` runs `policy(key, state) -> action` in a batch of envs from their own `reset`
for `max_steps_in_episode` steps. The policy reads the env's hidden state: what a perfect memory
of the past observations knows (or the full state, for the families partially observed by
design). Each env's first episode is returned for the family test to compare its return with
the maximum that the family's reward rules allow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

Policy = Callable[[jax.Array, Any], jax.Array]


class Episodes(NamedTuple):
    """Each env's first episode: its reset state, per-step rewards `[B, T]` (float32, zero after
    the episode), return (float64 sum), length and whether it ended by termination."""

    first_state: Any
    rewards: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    terminated: np.ndarray


# Compile time dominates: skip XLA's backend optimisations (behaviour unchanged).
@functools.partial(
    jax.jit,
    static_argnames=("env", "policy", "num_steps"),
    compiler_options={"xla_backend_optimization_level": 0},
)
def _rollout(env: Any, params: Any, policy: Policy, keys: jax.Array, num_steps: int):
    """`reset` every env with its key, then `num_steps` policy steps: rewards and flags `[T, B]`."""
    _, state0 = jax.vmap(env.reset, in_axes=(0, None))(keys, params)

    def step(state, step_keys):
        act_keys, env_keys = step_keys
        actions = jax.vmap(policy)(act_keys, state)
        _, state, reward, terminated, truncated, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            env_keys, state, actions, params
        )
        return state, (reward, terminated, truncated)

    # Keys drawn up front: every random op in the scan body costs compile time on XLA:CPU.
    step_keys = jax.vmap(lambda k: jax.random.split(k, (2, num_steps)), out_axes=2)(keys)
    _, (rewards, terminated, truncated) = jax.lax.scan(step, state0, (step_keys[0], step_keys[1]))
    return state0, rewards, terminated, truncated


def expert_episodes(
    env: Any, params: Any, policy: Policy, *, num_envs: int, seed: int = 0
) -> Episodes:
    """First episode of `num_envs` envs playing `policy`; every one must end within
    `params.max_steps_in_episode` steps (truncation guarantees it)."""
    keys = jax.random.split(jax.random.key(seed), num_envs)
    state0, rewards, terminated, truncated = jax.device_get(
        _rollout(env, params, policy, keys, int(params.max_steps_in_episode))
    )
    done = terminated | truncated
    assert done.any(axis=0).all(), "an episode outlasted max_steps_in_episode"
    last = done.argmax(axis=0)  # [B]
    envs = np.arange(num_envs)
    rewards = np.where(np.arange(len(done))[:, None] <= last, rewards, 0).T
    return Episodes(
        first_state=state0,
        rewards=rewards,
        returns=rewards.astype(np.float64).sum(axis=1),
        lengths=last + 1,
        terminated=terminated[last, envs],
    )
