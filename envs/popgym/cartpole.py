"""POPGym's partially observed CartPoles: PositionOnly, VelocityOnly and NoisyPositionOnly.

All three wrap gymnasium's `CartPoleEnv` (Barto, Sutton & Anderson cart-pole, explicit Euler,
tau = 0.02 s) and differ only in what they show:

- `PositionOnlyCartPole`: observation `[x, theta]` (cart position m, pole angle rad).
- `VelocityOnlyCartPole`: observation `[x_dot, theta_dot]` after each step, but `reset()` returns
  the positions `[x, theta]` (a popgym 1.0.7 quirk, kept on purpose).
- `NoisyPositionOnlyCartPole`: `[x, theta] + N(0, sigma^2)` drawn afresh at reset and at every
  step, clipped to the observation box `[-4.8, 4.8] x [-0.419, 0.419]`.

Reward: gymnasium pays 1 on every step *including* the failing one, and popgym maps any nonzero
reward to `1 / max_episode_length`, so every step earns `1 / max_steps_in_episode` and an episode
return is `steps survived / max_steps_in_episode`, in (0, 1]. (popgym's -1 branch is only reached
by stepping past termination, which auto-reset never does.) Termination: `|x| > 2.4` or
`|theta| > 12 deg` after the Euler step; truncation: `time >= max_steps_in_episode`; both may be
true on the same step, as in popgym. Initial state: each of the 4 components ~ U(-0.05, 0.05).

Episode lengths (popgym): PositionOnly/VelocityOnly Easy/Medium/Hard 200/400/600; Noisy*
keeps 200 at every difficulty, with sigma 0.1/0.2/0.3.

Departure: the physics runs in float32 (popgym: float64), so trajectories agree to ~1e-6 while
the pole is up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from envs.popgym.control import ControlEnvironment
from envs.popgym.factory import env_factory

THETA_THRESHOLD = 12 * 2 * math.pi / 360  # rad, gymnasium's failure angle
X_THRESHOLD = 2.4  # m, gymnasium's failure position
# popgym's PositionOnly observation box (twice the failure thresholds), also the noise clip range.
POSITION_BOX_HIGH = (X_THRESHOLD * 2, THETA_THRESHOLD * 2)


@struct.dataclass
class EnvState(environment.EnvState):
    """Cart-pole state: position (m), velocity (m/s), angle (rad), angular velocity (rad/s)."""

    x: jax.Array
    x_dot: jax.Array
    theta: jax.Array
    theta_dot: jax.Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    """gymnasium's CartPole constants, popgym's episode length and observation noise."""

    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length (m)
    force_mag: float = 10.0
    tau: float = 0.02  # seconds per step
    x_threshold: float = X_THRESHOLD
    theta_threshold: float = THETA_THRESHOLD
    max_steps_in_episode: int = 200
    noise_sigma: float = 0.0  # std of the observation noise (NoisyPositionOnly only)


def cartpole_step(state: EnvState, action: jax.Array, params: EnvParams) -> EnvState:
    """One explicit-Euler step of gymnasium's cart-pole; action 1 pushes right, 0 left."""
    force = jnp.where(action == 1, params.force_mag, -params.force_mag)
    cos, sin = jnp.cos(state.theta), jnp.sin(state.theta)
    total_mass = params.masspole + params.masscart
    polemass_length = params.masspole * params.length
    temp = (force + polemass_length * state.theta_dot**2 * sin) / total_mass
    theta_acc = (params.gravity * sin - cos * temp) / (
        params.length * (4.0 / 3.0 - params.masspole * cos**2 / total_mass)
    )
    x_acc = temp - polemass_length * theta_acc * cos / total_mass
    return state.replace(
        x=state.x + params.tau * state.x_dot,
        x_dot=state.x_dot + params.tau * x_acc,
        theta=state.theta + params.tau * state.theta_dot,
        theta_dot=state.theta_dot + params.tau * theta_acc,
        time=state.time + 1,
    )


def cartpole_failed(state: EnvState, params: EnvParams) -> jax.Array:
    """gymnasium's termination: cart off the track or pole past the failure angle."""
    return (jnp.abs(state.x) > params.x_threshold) | (jnp.abs(state.theta) > params.theta_threshold)


class PositionOnlyCartPole(ControlEnvironment[EnvState, EnvParams]):
    """CartPole observing `[x, theta]` (float32 `[2]`); Discrete(2) action (0 left, 1 right)."""

    params_type = EnvParams

    def observe_reset(self, key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
        """Observation returned by `reset`: `[2]` float32."""
        return self.observe_step(key, state, params)

    def observe_step(self, key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
        """Observation returned by `step`: `[2]` float32."""
        del key, params
        return jnp.stack([state.x, state.theta]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        key_state, key_obs = jax.random.split(key)
        x, x_dot, theta, theta_dot = jax.random.uniform(key_state, (4,), minval=-0.05, maxval=0.05)
        state = EnvState(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot, time=0)
        return self.observe_reset(key_obs, state, params), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict[str, Any]]:
        state = cartpole_step(state, action, params)
        reward = jnp.float32(1.0) / params.max_steps_in_episode
        obs = self.observe_step(key, state, params)
        return obs, state, reward, cartpole_failed(state, params), {}

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        high = jnp.asarray(POSITION_BOX_HIGH, jnp.float32)
        return spaces.Box(-high, high, (2,), jnp.float32)


class VelocityOnlyCartPole(PositionOnlyCartPole):
    """CartPole observing `[x_dot, theta_dot]` after steps and `[x, theta]` at reset (popgym)."""

    def observe_reset(self, key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
        return PositionOnlyCartPole.observe_step(self, key, state, params)

    def observe_step(self, key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
        del key, params
        return jnp.stack([state.x_dot, state.theta_dot]).astype(jnp.float32)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (2,), jnp.float32)


class NoisyPositionOnlyCartPole(PositionOnlyCartPole):
    """`[x, theta] + N(0, noise_sigma^2)`, clipped to the observation box, fresh noise per call."""

    def __init__(self, max_steps_in_episode: int = 200, noise_sigma: float = 0.1):
        super().__init__(max_steps_in_episode)
        self._set_noise_sigma(noise_sigma)

    def observe_step(self, key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
        clean = super().observe_step(key, state, params)
        noise = params.noise_sigma * jax.random.normal(key, (2,), jnp.float32)
        high = jnp.asarray(POSITION_BOX_HIGH, jnp.float32)
        return jnp.clip(clean + noise, -high, high)


ENV_IDS: dict[str, Callable[[], tuple[environment.Environment, EnvParams]]] = {
    "PositionOnlyCartPoleEasy": env_factory(PositionOnlyCartPole, max_steps_in_episode=200),
    "PositionOnlyCartPoleMedium": env_factory(PositionOnlyCartPole, max_steps_in_episode=400),
    "PositionOnlyCartPoleHard": env_factory(PositionOnlyCartPole, max_steps_in_episode=600),
    "VelocityOnlyCartPoleEasy": env_factory(VelocityOnlyCartPole, max_steps_in_episode=200),
    "VelocityOnlyCartPoleMedium": env_factory(VelocityOnlyCartPole, max_steps_in_episode=400),
    "VelocityOnlyCartPoleHard": env_factory(VelocityOnlyCartPole, max_steps_in_episode=600),
    "NoisyPositionOnlyCartPoleEasy": env_factory(NoisyPositionOnlyCartPole, noise_sigma=0.1),
    "NoisyPositionOnlyCartPoleMedium": env_factory(NoisyPositionOnlyCartPole, noise_sigma=0.2),
    "NoisyPositionOnlyCartPoleHard": env_factory(NoisyPositionOnlyCartPole, noise_sigma=0.3),
}
