"""One acting step of a batch of environments: the policy picks actions, the envs step.

Every place that acts in an environment batch — the PPO rollout, policy evaluation, in-context
evaluation, the world-model agent's data collection — calls `act_and_step` inside its own
`lax.scan`, so the key splitting, the env-action mapping and the done convention
(`done = terminated | truncated`; the next step's reset flag is this step's `done`) are written
once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from flax import struct


@struct.dataclass
class EnvStep:
    """What one step of B envs returned (leading axis B on every array)."""

    action: Any  # [B, ...] the policy's action (before `to_env_action`)
    next_obs: jax.Array  # [B, ...] observation to act on next (after auto-reset)
    env_state: Any
    reward: jax.Array  # [B]
    terminated: jax.Array  # [B] bool: the task ended the episode (no bootstrap)
    truncated: jax.Array  # [B] bool: the time limit cut it
    info: dict[str, Any]

    @property
    def done(self) -> jax.Array:
        """[B] bool: an episode ended here; the next observation starts a new one."""
        return self.terminated | self.truncated


def act_and_step(
    env: Any,
    env_params: Any,
    env_state: Any,
    obs: jax.Array,
    is_first: jax.Array,
    policy_key: Any,
    env_key: jax.Array,
    policy: Callable[[jax.Array, jax.Array, Any], tuple[Any, Any]],
    to_env_action: Callable[[Any], Any] = lambda action: action,
) -> tuple[Any, EnvStep]:
    """`policy(obs[B], is_first[B], policy_key) -> (action[B, ...], aux)` picks the actions,
    then the vmapped `env` (an `envs.wrappers.VecEnv`) steps with `to_env_action(action)`, one
    key per env split from `env_key`. Returns `(aux, EnvStep)`; `aux` is whatever the policy
    returns beside its action (its new memory carry, log-probs, values)."""
    action, aux = policy(obs, is_first, policy_key)
    keys = jax.random.split(env_key, obs.shape[0])
    next_obs, env_state, reward, terminated, truncated, info = env.step(
        keys, env_state, to_env_action(action), env_params
    )
    return aux, EnvStep(action, next_obs, env_state, reward, terminated, truncated, info)
