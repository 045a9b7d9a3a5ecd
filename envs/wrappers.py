"""gymnax 1.x environment wrappers for agents: logging, observation encoding, previous action.

Every wrapper keeps the gymnax API, `reset(key, params) -> (obs, state)` and
`step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)` (the
inner env auto-resets), and forwards any other attribute to the wrapped env. Wrappers that
change observations apply the same change to `info["final_observation"]` (the last
observation of an episode that just ended, used to bootstrap truncated episodes).

`make_agent_env(env_id)` composes the stack agents use:
`make -> [FlattenMultiDiscreteAction] -> ObservationEncoding -> [PreviousActionWrapper] ->
LogWrapper`. `VecEnv` (vmap over a batch of envs) goes on top, in the trainer.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces

from envs.registry import make
from envs.spaces import MultiDiscrete


class GymnaxWrapper:
    """Base wrapper: holds `_env` and forwards unknown attributes to it."""

    def __init__(self, env: Any):
        self._env = env

    def __getattr__(self, name: str) -> Any:
        # Reached only when normal lookup fails. `_env` itself missing (e.g. while copy/pickle
        # rebuild an instance before restoring __dict__) must not recurse.
        if name == "_env":
            raise AttributeError(name)
        return getattr(self._env, name)

    def _params(self, params: Any) -> Any:
        return self._env.default_params if params is None else params

    def reset(self, key: jax.Array, params: Any = None) -> tuple[Any, Any]:
        return self._env.reset(key, params)

    def step(self, key: jax.Array, state: Any, action: Any, params: Any = None):
        return self._env.step(key, state, action, params)


def encoded_size(space: spaces.Space) -> int:
    """Length of `encode(space, x)`."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, MultiDiscrete):
        return int(space.nvec.sum())
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Tuple):
        return sum(encoded_size(s) for s in space.spaces)
    if isinstance(space, spaces.Dict):
        return sum(encoded_size(s) for s in space.spaces.values())
    raise TypeError(
        f"cannot encode space {space!r}: expected Discrete, MultiDiscrete, Box, Tuple or Dict"
    )


def encode(space: spaces.Space, x: Any) -> jax.Array:
    """One element of `space` -> float32 vector `[encoded_size(space)]`.

    Discrete: one-hot. MultiDiscrete: one one-hot per component, concatenated. Box: flattened.
    Tuple / Dict: the encodings of their parts, concatenated (Dict in its key order).
    """
    if isinstance(space, spaces.Discrete):
        return jax.nn.one_hot(jnp.reshape(x, ()), space.n, dtype=jnp.float32)
    if isinstance(space, MultiDiscrete):
        # Component i owns slots [offset_i, offset_i + nvec_i); slot j is hot iff
        # x[i] == j - offset_i.
        component = np.repeat(np.arange(space.nvec.size), space.nvec)
        offsets = np.concatenate([[0], np.cumsum(space.nvec)[:-1]])
        local = np.arange(component.size) - offsets[component]
        return (jnp.reshape(x, (-1,))[component] == local).astype(jnp.float32)
    if isinstance(space, spaces.Box):
        return jnp.reshape(x, (-1,)).astype(jnp.float32)
    if isinstance(space, spaces.Tuple):
        return jnp.concatenate([encode(s, xi) for s, xi in zip(space.spaces, x, strict=True)])
    if isinstance(space, spaces.Dict):
        return jnp.concatenate([encode(s, x[k]) for k, s in space.spaces.items()])
    raise TypeError(
        f"cannot encode space {space!r}: expected Discrete, MultiDiscrete, Box, Tuple or Dict"
    )


def encoded_bounds(space: spaces.Space) -> tuple[jax.Array, jax.Array]:
    """Elementwise `(low, high)`, each float32 `[encoded_size(space)]`, of `encode(space, .)`."""
    if isinstance(space, spaces.Discrete | MultiDiscrete):
        size = encoded_size(space)
        return jnp.zeros((size,), jnp.float32), jnp.ones((size,), jnp.float32)
    if isinstance(space, spaces.Box):

        def flat(bound):
            return jnp.broadcast_to(jnp.asarray(bound, jnp.float32), space.shape).reshape(-1)

        return flat(space.low), flat(space.high)
    parts = space.spaces.values() if isinstance(space, spaces.Dict) else space.spaces
    lows, highs = zip(*(encoded_bounds(s) for s in parts), strict=True)
    return jnp.concatenate(lows), jnp.concatenate(highs)


def _with_final_observation(info: dict, transform) -> dict:
    return {**info, "final_observation": transform(info["final_observation"])}


class ObservationEncoding(GymnaxWrapper):
    """Observations -> float32 vectors `[D]` (`encode`); exposes a Box observation space."""

    def __init__(self, env: Any):
        super().__init__(env)
        self._obs_space = env.observation_space(env.default_params)
        self.obs_size = encoded_size(self._obs_space)

    def observation_space(self, params: Any = None) -> spaces.Box:
        low, high = encoded_bounds(self._env.observation_space(self._params(params)))
        return spaces.Box(low, high, (self.obs_size,), jnp.float32)

    def _encode(self, obs: Any) -> jax.Array:
        return encode(self._obs_space, obs)

    @partial(jax.jit, static_argnums=0)
    def reset(self, key: jax.Array, params: Any = None) -> tuple[jax.Array, Any]:
        obs, state = self._env.reset(key, params)
        return self._encode(obs), state

    @partial(jax.jit, static_argnums=0)
    def step(self, key: jax.Array, state: Any, action: Any, params: Any = None):
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        info = _with_final_observation(info, self._encode)
        return self._encode(obs), state, reward, terminated, truncated, info


class PreviousActionWrapper(GymnaxWrapper):
    """Appends `[encode(previous action), previous reward, is_first]` to vector observations.

    Observation `[D]` -> `[D + A + R + 1]` float32 (`A = encoded_size(action_space)`,
    `R = 1` if `include_reward` else 0). At the first observation of every episode (reset, and
    the auto-reset observation returned on the step that ended an episode) the action and
    reward parts are 0 and `is_first = 1`; otherwise they hold the action just taken, the
    reward just received and `is_first = 0` (also in `info["final_observation"]`). Needs a 1-D
    Box observation: apply `ObservationEncoding` first.
    """

    def __init__(self, env: Any, include_reward: bool = True):
        super().__init__(env)
        obs_space = env.observation_space(env.default_params)
        if not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
            raise TypeError(
                f"PreviousActionWrapper needs a 1-D Box observation space, got {obs_space!r}; "
                "wrap the env in ObservationEncoding first"
            )
        self.include_reward = bool(include_reward)
        self._action_space = env.action_space(env.default_params)
        self.action_size = encoded_size(self._action_space)
        self.obs_size = obs_space.shape[0] + self.action_size + int(self.include_reward) + 1

    def observation_space(self, params: Any = None) -> spaces.Box:
        params = self._params(params)
        obs_low, obs_high = encoded_bounds(self._env.observation_space(params))
        act_low, act_high = encoded_bounds(self._env.action_space(params))
        # The first step's zero action must lie in the space even for a Box action.
        act_low, act_high = jnp.minimum(act_low, 0.0), jnp.maximum(act_high, 0.0)
        lows, highs = [obs_low, act_low], [obs_high, act_high]
        if self.include_reward:
            lows.append(jnp.full((1,), -jnp.inf))
            highs.append(jnp.full((1,), jnp.inf))
        low = jnp.concatenate([*lows, jnp.zeros((1,))])
        high = jnp.concatenate([*highs, jnp.ones((1,))])
        return spaces.Box(low, high, (self.obs_size,), jnp.float32)

    def _augment(self, obs: jax.Array, action: jax.Array, reward: jax.Array, first: jax.Array):
        parts = [obs.astype(jnp.float32), action]
        if self.include_reward:
            parts.append(jnp.reshape(reward, (1,)).astype(jnp.float32))
        parts.append(jnp.reshape(first, (1,)).astype(jnp.float32))
        return jnp.concatenate(parts)

    def episode_start_observation(self, obs: jax.Array) -> jax.Array:
        """`obs[..., obs_size]` as this wrapper shows an episode's first observation: the
        action and reward parts zero, `is_first = 1`, the wrapped observation unchanged."""
        inner = self.obs_size - self.action_size - int(self.include_reward) - 1
        tail = jnp.zeros((*obs.shape[:-1], self.obs_size - inner), obs.dtype).at[..., -1].set(1.0)
        return jnp.concatenate([obs[..., :inner], tail], axis=-1)

    @partial(jax.jit, static_argnums=0)
    def reset(self, key: jax.Array, params: Any = None) -> tuple[jax.Array, Any]:
        obs, state = self._env.reset(key, params)
        return self._augment(obs, jnp.zeros((self.action_size,)), 0.0, 1.0), state

    @partial(jax.jit, static_argnums=0)
    def step(self, key: jax.Array, state: Any, action: Any, params: Any = None):
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        done = terminated | truncated
        taken = encode(self._action_space, action)
        continuing = self._augment(obs, taken, reward, 0.0)
        first = self._augment(obs, jnp.zeros_like(taken), 0.0, 1.0)
        info = _with_final_observation(info, lambda o: self._augment(o, taken, reward, 0.0))
        return jnp.where(done, first, continuing), state, reward, terminated, truncated, info


class FlattenMultiDiscreteAction(GymnaxWrapper):
    """A `MultiDiscrete(nvec)` action space exposed as one `Discrete(prod(nvec))` (row-major)."""

    def __init__(self, env: Any):
        super().__init__(env)
        space = env.action_space(env.default_params)
        if not isinstance(space, MultiDiscrete):
            raise TypeError(
                f"FlattenMultiDiscreteAction needs a MultiDiscrete action space, got {space!r}"
            )
        self._multi_space = space

    def action_space(self, params: Any = None) -> spaces.Discrete:
        return spaces.Discrete(self._multi_space.flat_n)

    @partial(jax.jit, static_argnums=0)
    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any = None):
        return self._env.step(key, state, self._multi_space.unflatten(action), params)


@struct.dataclass
class LogEnvState:
    env_state: Any
    episode_return: jax.Array  # float32 return of the running episode so far
    episode_length: jax.Array  # int32 steps of the running episode so far


class LogWrapper(GymnaxWrapper):
    """Tracks episode return and length; adds to `info`:

    - `returned_episode`: bool, an episode ended (terminated or truncated) at this step;
    - `returned_episode_returns`: float32, that episode's return (sum of its rewards);
    - `returned_episode_lengths`: int32, its number of steps.
    The last two are meaningful only where `returned_episode` (elsewhere they hold the running
    episode's values); average them with `returned_episode` as a mask.
    """

    @partial(jax.jit, static_argnums=0)
    def reset(self, key: jax.Array, params: Any = None) -> tuple[Any, LogEnvState]:
        obs, env_state = self._env.reset(key, params)
        state = LogEnvState(env_state, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32))
        return obs, state

    @partial(jax.jit, static_argnums=0)
    def step(self, key: jax.Array, state: LogEnvState, action: Any, params: Any = None):
        obs, env_state, reward, terminated, truncated, info = self._env.step(
            key, state.env_state, action, params
        )
        done = terminated | truncated
        episode_return = state.episode_return + reward.astype(jnp.float32)
        episode_length = state.episode_length + 1
        info = {
            **info,
            "returned_episode": done,
            "returned_episode_returns": episode_return,
            "returned_episode_lengths": episode_length,
        }
        state = LogEnvState(
            env_state,
            jnp.where(done, 0.0, episode_return).astype(jnp.float32),
            jnp.where(done, 0, episode_length).astype(jnp.int32),
        )
        return obs, state, reward, terminated, truncated, info


class VecEnv(GymnaxWrapper):
    """A batch of B envs: `reset(keys[B], params)`, `step(keys[B], state, action[B], params)`.

    Every output gains a leading batch axis; `params` are shared (not batched). Spaces and
    other attributes are the single env's.
    """

    @partial(jax.jit, static_argnums=0)
    def reset(self, keys: jax.Array, params: Any = None) -> tuple[Any, Any]:
        return jax.vmap(self._env.reset, in_axes=(0, None))(keys, params)

    @partial(jax.jit, static_argnums=0)
    def step(self, keys: jax.Array, state: Any, action: Any, params: Any = None):
        return jax.vmap(self._env.step, in_axes=(0, 0, 0, None))(keys, state, action, params)


def make_agent_env(
    env_id: str,
    *,
    previous_action: bool = True,
    flatten_multidiscrete: bool = True,
    **env_options: Any,
) -> tuple[GymnaxWrapper, Any]:
    """`(env, params)` for agents: make -> [FlattenMultiDiscreteAction] -> ObservationEncoding
    -> [PreviousActionWrapper] -> LogWrapper.

    `flatten_multidiscrete` flattens only MultiDiscrete action spaces; `previous_action` adds
    the previous action, previous reward and is-first flag to the observation; `env_options`
    go to the env's factory (`envs.registry.make(env_id, **env_options)`).
    """
    env, params = make(env_id, **env_options)
    return wrap_for_agent(env, params, previous_action=previous_action,
                          flatten_multidiscrete=flatten_multidiscrete), params


def wrap_for_agent(
    env: Any, params: Any, *, previous_action: bool = True, flatten_multidiscrete: bool = True
) -> GymnaxWrapper:
    """Any env with the gymnax 1.x API (`reset(key, params) -> (obs, state)`, `step(key, state,
    action, params) -> (obs, state, reward, terminated, truncated, info)`, `action_space`,
    `observation_space`) wrapped as the agents need it: [FlattenMultiDiscreteAction] ->
    ObservationEncoding -> [PreviousActionWrapper] -> LogWrapper (see `make_agent_env`)."""
    if flatten_multidiscrete and isinstance(env.action_space(params), MultiDiscrete):
        env = FlattenMultiDiscreteAction(env)
    env = ObservationEncoding(env)
    if previous_action:
        env = PreviousActionWrapper(env)
    return LogWrapper(env)
