"""A brax environment behind the gymnax 1.x API: `BraxToGymnax`.

brax envs are objects with `reset(rng) -> State` and `step(State, action) -> State` (State holds
`pipeline_state, obs, reward, done, metrics, info`); actions live in [-1, 1]^A (each env scales
them to its actuator range) and `done` is the body's own termination (hopper fell, pendulum
tipped). brax adds time limits with its `EpisodeWrapper`: after each agent step (`action_repeat`
physics steps, rewards summed) `steps += action_repeat`, `done |= steps >= episode_length`, and
`info["truncation"] = steps >= episode_length and not done_raw`. This adapter applies the same
rule to the raw env (tests check it step for step against `EpisodeWrapper`), so

    terminated = done_raw                                      (no bootstrap)
    truncated  = time >= max_steps_in_episode and not done_raw (bootstrap: brax's "truncation")

with `time` counted in brax env steps as `EpisodeWrapper` counts them and the limit an
`EnvParams` field. gymnax's `Environment.step` then auto-resets on `terminated | truncated` and
puts the last observation in `info["final_observation"]`. brax's own `AutoResetWrapper` is not
used: gymnax draws a fresh initial state from the step key, where brax replays the first one.

`brax` is imported when an adapter is built, so importing this module needs no brax.
Backends: "generalized" (brax's default), "positional", "spring", "mjx".
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

BRAX_BACKENDS = ("generalized", "positional", "spring", "mjx")


@struct.dataclass
class BraxEnvState(environment.EnvState):
    brax_state: Any  # brax.envs.State of the raw (unwrapped) env
    time: jax.Array  # int32 [], brax env steps since reset (action_repeat per agent step)


class BraxToGymnax(environment.Environment):
    """The brax env `env_name` as a gymnax `Environment` (see module docstring).

    Args:
      env_name: a name `brax.envs.get_environment` knows ("hopper", "ant", ...).
      backend: physics pipeline, one of `BRAX_BACKENDS`.
      episode_length: default `max_steps_in_episode`, in brax env steps (brax default 1000).
      action_repeat: physics steps per agent step (static).
      **env_kwargs: forwarded to the brax env's constructor.
    """

    def __init__(
        self,
        env_name: str,
        backend: str = "spring",
        episode_length: int = 1000,
        action_repeat: int = 1,
        **env_kwargs: Any,
    ):
        super().__init__()
        from brax import envs as brax_envs

        known = sorted(brax_envs._envs)
        if env_name not in known:
            raise ValueError(f"unknown brax env {env_name!r}; known: {known}")
        if backend not in BRAX_BACKENDS:
            raise ValueError(f"unknown brax backend {backend!r}; choose one of {BRAX_BACKENDS}")
        for arg_name, value in (
            ("episode_length", episode_length),
            ("action_repeat", action_repeat),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{arg_name} must be a positive int, got {value!r}")
        self.env_name, self.backend = env_name, backend
        self.episode_length, self.action_repeat = episode_length, action_repeat
        self._brax = brax_envs.get_environment(env_name, backend=backend, **env_kwargs)
        reset_shape = jax.eval_shape(self._brax.reset, jax.random.PRNGKey(0))
        self.obs_size = int(reset_shape.obs.shape[-1])
        self.action_size = int(self._brax.action_size)

    @property
    def name(self) -> str:
        return f"brax-{self.env_name}-{self.backend}"

    @property
    def default_params(self) -> environment.EnvParams:
        return environment.EnvParams(max_steps_in_episode=self.episode_length)

    def step_env(
        self,
        key: jax.Array,
        state: BraxEnvState,
        action: jax.Array,
        params: environment.EnvParams,
    ) -> tuple[jax.Array, BraxEnvState, jax.Array, jax.Array, dict]:
        """`action_repeat` brax steps with `action [A]`; reward summed; terminated = brax done."""
        del key  # brax dynamics are deterministic given the state

        def physics_step(brax_state, _):
            next_state = self._brax.step(brax_state, action)
            return next_state, next_state.reward

        brax_state, rewards = jax.lax.scan(
            physics_step, state.brax_state, None, length=self.action_repeat
        )
        brax_state = brax_state.replace(reward=jnp.sum(rewards, axis=0))
        new_state = BraxEnvState(brax_state=brax_state, time=state.time + self.action_repeat)
        terminated = brax_state.done > 0
        return brax_state.obs, new_state, brax_state.reward, terminated, {}

    def reset_env(
        self, key: jax.Array, params: environment.EnvParams
    ) -> tuple[jax.Array, BraxEnvState]:
        brax_state = self._brax.reset(key)
        return brax_state.obs, BraxEnvState(brax_state=brax_state, time=jnp.zeros((), jnp.int32))

    def is_terminated(self, state: BraxEnvState, params: environment.EnvParams) -> jax.Array:
        return state.brax_state.done > 0

    def is_truncated(self, state: BraxEnvState, params: environment.EnvParams) -> jax.Array:
        """brax's `info["truncation"]`: time limit reached and the body did not terminate."""
        return (state.time >= params.max_steps_in_episode) & ~self.is_terminated(state, params)

    def observation_space(self, params: environment.EnvParams | None = None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (self.obs_size,), jnp.float32)

    def action_space(self, params: environment.EnvParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (self.action_size,), jnp.float32)

    @property
    def num_actions(self) -> int:
        return self.action_size
