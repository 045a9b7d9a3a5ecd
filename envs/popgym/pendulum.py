"""POPGym's partially observed Pendulums: PositionOnly and NoisyPositionOnly.

Both wrap gymnasium's `PendulumEnv` (swing-up, g = 10, m = l = 1, dt = 0.05 s, torque clipped
to [-2, 2], angular velocity clipped to [-8, 8] rad/s, semi-implicit Euler) and drop the angular
velocity from the observation:

- `PositionOnlyPendulum`: observation `[cos(theta), sin(theta)]`.
- `NoisyPositionOnlyPendulum`: the same `+ N(0, sigma^2)`, drawn afresh at reset and at every
  step, clipped to [-1, 1].

Reward: gymnasium's `-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)`, which lies in
[-16.2736044, 0], mapped affinely by popgym to [-1, 1] and divided by the episode length:
`r = (cost_reward + 8.1368022) / 8.1368022 / max_steps_in_episode`, so a return lies in [-1, 1].
Never terminates; truncated when `time >= max_steps_in_episode`. Initial state:
theta ~ U(-pi, pi), theta_dot ~ U(-1, 1).

Episode lengths (popgym): PositionOnly Easy/Medium/Hard 200/150/100; Noisy* keeps 200 at every
difficulty, with sigma 0.1/0.2/0.3. Action: Box(-2, 2, (1,)) torque.

Departure: the physics runs in float32 (popgym: float64); trajectories agree to ~1e-3 after
200 steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from envs.popgym.control import ControlEnvironment
from envs.popgym.factory import env_factory

REWARD_LOW = -16.2736044  # popgym's bound on gymnasium's reward: -(pi^2 + 0.1 * 8^2 + 0.001 * 2^2)


@struct.dataclass
class EnvState(environment.EnvState):
    """Pendulum angle (rad, 0 = upright, not wrapped) and angular velocity (rad/s)."""

    theta: jax.Array
    theta_dot: jax.Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    """gymnasium's Pendulum constants, popgym's episode length and observation noise."""

    max_speed: float = 8.0
    max_torque: float = 2.0
    dt: float = 0.05
    g: float = 10.0
    m: float = 1.0
    l: float = 1.0  # noqa: E741
    max_steps_in_episode: int = 200
    noise_sigma: float = 0.0  # std of the observation noise (NoisyPositionOnly only)


def angle_normalize(theta: jax.Array) -> jax.Array:
    """Wrap an angle into [-pi, pi)."""
    return ((theta + jnp.pi) % (2 * jnp.pi)) - jnp.pi


def pendulum_step(
    state: EnvState, torque: jax.Array, params: EnvParams
) -> tuple[EnvState, jax.Array]:
    """gymnasium's Pendulum step: returns the next state and its (negative-cost) reward."""
    u = jnp.clip(torque, -params.max_torque, params.max_torque)
    cost = angle_normalize(state.theta) ** 2 + 0.1 * state.theta_dot**2 + 0.001 * u**2
    # theta_dot' = clip(theta_dot + (3g/(2l) sin(theta) + 3/(m l^2) u) dt);  theta' += theta_dot' dt
    theta_acc = (
        3 * params.g / (2 * params.l) * jnp.sin(state.theta) + 3.0 / (params.m * params.l**2) * u
    )
    theta_dot = state.theta_dot + theta_acc * params.dt
    theta_dot = jnp.clip(theta_dot, -params.max_speed, params.max_speed)
    theta = state.theta + theta_dot * params.dt
    return state.replace(theta=theta, theta_dot=theta_dot, time=state.time + 1), -cost


def popgym_pendulum_reward(reward: jax.Array, max_steps_in_episode: int) -> jax.Array:
    """popgym's map of gymnasium's reward [REWARD_LOW, 0] -> [-1, 1] / max_steps_in_episode."""
    half_range = -REWARD_LOW / 2
    return (reward + half_range) / half_range / max_steps_in_episode


class PositionOnlyPendulum(ControlEnvironment[EnvState, EnvParams]):
    """Pendulum observing `[cos(theta), sin(theta)]` (float32 `[2]`); torque action `[1]`."""

    params_type = EnvParams

    def observation(self, key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
        """`[cos(theta), sin(theta)]` float32 `[2]`."""
        del key, params
        return jnp.stack([jnp.cos(state.theta), jnp.sin(state.theta)]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        key_state, key_obs = jax.random.split(key)
        high = jnp.asarray([jnp.pi, 1.0], jnp.float32)
        theta, theta_dot = jax.random.uniform(key_state, (2,), minval=-high, maxval=high)
        state = EnvState(theta=theta, theta_dot=theta_dot, time=0)
        return self.observation(key_obs, state, params), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        torque = jnp.reshape(jnp.asarray(action, jnp.float32), ())
        state, reward = pendulum_step(state, torque, params)
        reward = popgym_pendulum_reward(reward, params.max_steps_in_episode)
        return self.observation(key, state, params), state, reward, jnp.array(False), {}

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        max_torque = (params or self.default_params).max_torque
        return spaces.Box(-max_torque, max_torque, (1,), jnp.float32)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (2,), jnp.float32)


class NoisyPositionOnlyPendulum(PositionOnlyPendulum):
    """`[cos(theta), sin(theta)] + N(0, noise_sigma^2)` clipped to [-1, 1], fresh noise per call."""

    def __init__(self, max_steps_in_episode: int = 200, noise_sigma: float = 0.1):
        super().__init__(max_steps_in_episode)
        self._set_noise_sigma(noise_sigma)

    def observation(self, key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
        clean = super().observation(key, state, params)
        noise = params.noise_sigma * jax.random.normal(key, (2,), jnp.float32)
        return jnp.clip(clean + noise, -1.0, 1.0)


ENV_IDS: dict[str, Callable[[], tuple[environment.Environment, EnvParams]]] = {
    "PositionOnlyPendulumEasy": env_factory(PositionOnlyPendulum, max_steps_in_episode=200),
    "PositionOnlyPendulumMedium": env_factory(PositionOnlyPendulum, max_steps_in_episode=150),
    "PositionOnlyPendulumHard": env_factory(PositionOnlyPendulum, max_steps_in_episode=100),
    "NoisyPositionOnlyPendulumEasy": env_factory(NoisyPositionOnlyPendulum, noise_sigma=0.1),
    "NoisyPositionOnlyPendulumMedium": env_factory(NoisyPositionOnlyPendulum, noise_sigma=0.2),
    "NoisyPositionOnlyPendulumHard": env_factory(NoisyPositionOnlyPendulum, noise_sigma=0.3),
}
