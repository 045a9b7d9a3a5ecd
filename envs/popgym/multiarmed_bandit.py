"""MultiarmedBandit (popgym 1.0.7): find and exploit the best of K arms within one episode.

At reset each arm gets a payout probability `p_i ~ U[0, 1)` (hidden). Pulling arm `a` draws
one uniform `u` per step and pays out iff `u < p_a`: observation 1 and reward `+1/L`, else
observation 0 and reward `-1/L` (`Discrete(2)`; the reset observation is 0). The episode is
truncated after `L` steps, so returns lie in [-1, 1]. Difficulty: (K, L) = (10, 200) /
(20, 400) / (30, 600). K is static (it sets shapes); L is `EnvParams.max_steps_in_episode`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces
from gymnax.environments.environment import Environment

from envs.popgym.factory import env_factory
from envs.spaces import CountsActions


@struct.dataclass
class EnvState:
    payout_probs: jax.Array  # float32[K] probability that each arm pays out
    time: jax.Array  # int32 steps taken


@struct.dataclass
class EnvParams:
    max_steps_in_episode: int = 200  # L: episode length; rewards are +-1/L


class MultiarmedBandit(CountsActions, Environment):
    """MultiarmedBandit with `num_bandits` arms (static)."""

    def __init__(self, num_bandits: int = 10, episode_length: int = 200):
        if not isinstance(num_bandits, int) or num_bandits < 1:
            raise ValueError(f"num_bandits must be a positive int, got {num_bandits!r}")
        if not isinstance(episode_length, int) or episode_length < 1:
            raise ValueError(f"episode_length must be a positive int, got {episode_length!r}")
        self.num_bandits = num_bandits
        self.episode_length = episode_length

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(max_steps_in_episode=self.episode_length)

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        state = EnvState(
            payout_probs=jax.random.uniform(key, (self.num_bandits,)),
            time=jnp.zeros((), jnp.int32),
        )
        return jnp.zeros((), jnp.int32), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict]:
        paid = jax.random.uniform(key) < state.payout_probs[action]
        scale = 1.0 / params.max_steps_in_episode
        reward = jnp.where(paid, scale, -scale).astype(jnp.float32)
        state = state.replace(time=state.time + 1)
        return paid.astype(jnp.int32), state, reward, jnp.zeros((), bool), {}

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_bandits)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)


ENV_IDS = {
    "MultiarmedBanditEasy": env_factory(MultiarmedBandit, num_bandits=10, episode_length=200),
    "MultiarmedBanditMedium": env_factory(MultiarmedBandit, num_bandits=20, episode_length=400),
    "MultiarmedBanditHard": env_factory(MultiarmedBandit, num_bandits=30, episode_length=600),
}
