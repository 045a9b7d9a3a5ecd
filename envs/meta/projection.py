"""Control tasks seen through random linear maps of observations and actions (`ProjectedEnv`).

A *task* is a base environment plus two matrices. With the base observation `o` `[d_o]` and the
agent's action `a'` `[D_a]`:

    x  = (o - c) / s                 normalised base observation; c, s = centre and half-range
                                     of the base observation space where both bounds are finite,
                                     0 and 1 where they are not (brax, CartPole velocities)
    o' = M_o x                       agent observation `[D_o]`
    u  = M_a clip(a', -1, 1)         `[d_a]`
    continuous base, Box[low, high]^{d_a}:  a = low + (clip(u, -1, 1) + 1) / 2 * (high - low)
    discrete base, Discrete(n) (u holds n logits):  a = argmax_i u_i

so every task shares one observation width `D_o` and one action width `D_a`, and every action
lands inside the base env's bounds. Distribution (`sample_projection`): entries of `M_o` are
i.i.d. N(0, 1/d_o) and entries of `M_a` i.i.d. N(0, 1/D_a), so a coordinate of `o'` has variance
|x|^2 / d_o (the mean square of the normalised coordinates) and a coordinate of `u` has variance
|a'|^2 / D_a (at most 1 on the action box). Widths below the base dimensions are allowed; the map
then loses information (rank min(d, D)).

Several base envs share one `ProjectedEnv` (the *catalog*): their matrices are stored padded to
the catalog's largest dimensions (`M_o` `[D_o, d_o_max]`, `M_a` `[d_a_max, D_a]`, zeros outside
the base env's own block, base observations zero-padded), so tasks on different base envs are
params of one shape and can be sampled and vmapped under jit. The active base env is chosen by
`ProjectedParams.base_index` through `lax.switch`; under `vmap` every branch runs, so a step
costs the sum of the catalog envs' steps. The state holds one state slot per catalog env; only
the active slot is meaningful (the others hold zeros and are never read).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces


def sample_projection(
    key: jax.Array, obs_dim: int, action_dim: int, obs_width: int, action_width: int
) -> tuple[jax.Array, jax.Array]:
    """Draw `(M_o [obs_width, obs_dim], M_a [action_dim, action_width])`, float32.

    `M_o` entries ~ N(0, 1/obs_dim), `M_a` entries ~ N(0, 1/action_width), independent.
    `action_dim` is the base env's number of action dimensions (continuous) or actions
    (discrete, one logit each).
    """
    key_obs, key_action = jax.random.split(key)
    obs_matrix = jax.random.normal(key_obs, (obs_width, obs_dim)) / np.sqrt(obs_dim)
    action_matrix = jax.random.normal(key_action, (action_dim, action_width)) / np.sqrt(
        action_width
    )
    return obs_matrix, action_matrix


@struct.dataclass
class ProjectedParams:
    """One task: which catalog env, its matrices (padded) and every catalog env's params."""

    base_index: jax.Array  # int32 [], index into the catalog
    obs_matrix: jax.Array  # float32 [D_o, d_o_max], M_o in columns [:d_o] of the base env
    action_matrix: jax.Array  # float32 [d_a_max, D_a], M_a in rows [:d_a] of the base env
    base_params: tuple  # params of each catalog env, in catalog order


@struct.dataclass
class ProjectedState:
    base_states: tuple  # one state per catalog env; only `base_index`'s slot is live
    truncated: jax.Array  # bool [], the base env's time limit ended the last step
    time: jax.Array  # int32 [], steps since the base episode began


def _bounded(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Elementwise: both bounds finite (|.| < 1e30: gymnax writes float32 max for none)."""
    return (np.abs(low) < 1e30) & (np.abs(high) < 1e30) & (high > low)


class ProjectedEnv(environment.Environment):
    """A catalog of base envs seen through per-task random projections (module docstring).

    Args:
      base_envs: `(name, env, params)` per catalog entry; `env` is a gymnax `Environment` with
        a flat Box observation and a Box or Discrete action space; `params` fixes the spaces.
      obs_width: `D_o`, the agent's observation size.
      action_width: `D_a`, the agent's action size; actions live in [-1, 1]^{D_a}.
    """

    def __init__(
        self, base_envs: Sequence[tuple[str, Any, Any]], obs_width: int, action_width: int
    ):
        super().__init__()
        if len(base_envs) == 0:
            raise ValueError("ProjectedEnv needs at least one base env, got an empty catalog")
        for width_name, width in (("obs_width", obs_width), ("action_width", action_width)):
            if not isinstance(width, int | np.integer) or width < 1:
                raise ValueError(f"{width_name} must be a positive int, got {width!r}")
        self.names = tuple(name for name, _, _ in base_envs)
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"base env names must be unique, got {self.names}")
        self.envs = tuple(env for _, env, _ in base_envs)
        self._default_base_params = tuple(params for _, _, params in base_envs)
        self.obs_width, self.action_width = int(obs_width), int(action_width)

        self.obs_dims, self.action_dims, self.discrete = [], [], []
        self._obs_centre, self._obs_scale, self._action_low, self._action_high = [], [], [], []
        for name, env, params in base_envs:
            obs_space = env.observation_space(params)
            if not isinstance(obs_space, spaces.Box):
                raise TypeError(
                    f"base env {name!r}: observation space must be a Box, got {obs_space!r}"
                )
            shape = tuple(obs_space.shape)
            low = np.broadcast_to(np.asarray(obs_space.low, np.float64), shape).reshape(-1)
            high = np.broadcast_to(np.asarray(obs_space.high, np.float64), shape).reshape(-1)
            bounded = _bounded(low, high)
            low, high = np.where(bounded, low, -1.0), np.where(bounded, high, 1.0)
            self._obs_centre.append(((high + low) / 2).astype(np.float32))
            self._obs_scale.append(((high - low) / 2).astype(np.float32))
            self.obs_dims.append(int(np.prod(shape)))

            action_space = env.action_space(params)
            if isinstance(action_space, spaces.Discrete):
                self.discrete.append(True)
                self.action_dims.append(int(action_space.n))
                self._action_low.append(None)
                self._action_high.append(None)
            elif isinstance(action_space, spaces.Box):
                a_shape = tuple(action_space.shape)
                a_low = np.broadcast_to(np.asarray(action_space.low, np.float32), a_shape)
                a_high = np.broadcast_to(np.asarray(action_space.high, np.float32), a_shape)
                if not np.all(np.isfinite(a_low) & np.isfinite(a_high)):
                    raise ValueError(f"base env {name!r}: continuous actions need finite bounds")
                self.discrete.append(False)
                self.action_dims.append(int(np.prod(a_shape)))
                self._action_low.append(a_low)
                self._action_high.append(a_high)
            else:
                raise TypeError(
                    f"base env {name!r}: action space must be Box or Discrete, got {action_space!r}"
                )
        self.obs_dim_max, self.action_dim_max = max(self.obs_dims), max(self.action_dims)
        # Zero states for the inactive slots (never read, only carried).
        key = jax.random.PRNGKey(0)
        self._zero_states = tuple(
            jax.tree.map(
                lambda s: jnp.zeros(s.shape, s.dtype),
                jax.eval_shape(env.reset_env, key, params)[1],
            )
            for env, params in zip(self.envs, self._default_base_params, strict=True)
        )

    @property
    def name(self) -> str:
        return f"Projected({', '.join(self.names)})"

    @property
    def default_params(self) -> ProjectedParams:
        """Task 0 of catalog entry 0 with identity-like maps (eye blocks); use `tasks.make_task`."""
        return ProjectedParams(
            base_index=jnp.zeros((), jnp.int32),
            obs_matrix=jnp.eye(self.obs_width, self.obs_dim_max, dtype=jnp.float32),
            action_matrix=jnp.eye(self.action_dim_max, self.action_width, dtype=jnp.float32),
            base_params=self._default_base_params,
        )

    def pad_matrices(
        self, index: int, obs_matrix: jax.Array, action_matrix: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """Catalog entry `index`'s `M_o [D_o, d_o]`, `M_a [d_a, D_a]` -> padded catalog shapes."""
        obs_pad = self.obs_dim_max - self.obs_dims[index]
        action_pad = self.action_dim_max - self.action_dims[index]
        return (
            jnp.pad(obs_matrix, ((0, 0), (0, obs_pad))),
            jnp.pad(action_matrix, ((0, action_pad), (0, 0))),
        )

    def _project_obs(self, index: int, obs: jax.Array, obs_matrix: jax.Array) -> jax.Array:
        x = (jnp.reshape(obs, (-1,)).astype(jnp.float32) - self._obs_centre[index]) / (
            self._obs_scale[index]
        )
        x = jnp.pad(x, (0, self.obs_dim_max - self.obs_dims[index]))
        return obs_matrix @ x

    def base_action(self, index: int, action: jax.Array, action_matrix: jax.Array) -> jax.Array:
        """Agent action `[D_a]` -> catalog entry `index`'s action (module docstring map)."""
        u = action_matrix @ jnp.clip(jnp.reshape(action, (-1,)).astype(jnp.float32), -1.0, 1.0)
        u = u[: self.action_dims[index]]
        if self.discrete[index]:
            return jnp.argmax(u).astype(jnp.int32)
        low, high = self._action_low[index], self._action_high[index]
        unit = (jnp.clip(u, -1.0, 1.0) + 1.0) / 2.0
        return jnp.reshape(low.reshape(-1) + unit * (high - low).reshape(-1), low.shape)

    def _slot_update(self, index: int, new_state: Any) -> tuple:
        return tuple(new_state if i == index else zero for i, zero in enumerate(self._zero_states))

    def step_env(
        self, key: jax.Array, state: ProjectedState, action: jax.Array, params: ProjectedParams
    ) -> tuple[jax.Array, ProjectedState, jax.Array, jax.Array, dict]:
        """One base-env step of the task's catalog entry; obs `[D_o]`, reward float32 []."""

        def branch(index: int):
            def run(base_states: tuple):
                env, base_params = self.envs[index], params.base_params[index]
                base_action = self.base_action(index, action, params.action_matrix)
                obs, new_state, reward, terminated, _ = env.step_env(
                    key, base_states[index], base_action, base_params
                )
                truncated = env.is_truncated(new_state, base_params)
                obs = self._project_obs(index, obs, params.obs_matrix)
                states = tuple(new_state if i == index else s for i, s in enumerate(base_states))
                return (
                    obs,
                    states,
                    jnp.asarray(reward, jnp.float32).reshape(()),
                    jnp.asarray(terminated, bool).reshape(()),
                    jnp.asarray(truncated, bool).reshape(()),
                )

            return run

        branches = [branch(i) for i in range(len(self.envs))]
        obs, base_states, reward, terminated, truncated = jax.lax.switch(
            params.base_index, branches, state.base_states
        )
        new_state = ProjectedState(base_states, truncated, state.time + 1)
        return obs, new_state, reward, terminated, {}

    def reset_env(
        self, key: jax.Array, params: ProjectedParams
    ) -> tuple[jax.Array, ProjectedState]:
        def branch(index: int):
            def run(key: jax.Array):
                env, base_params = self.envs[index], params.base_params[index]
                obs, base_state = env.reset_env(key, base_params)
                return (
                    self._project_obs(index, obs, params.obs_matrix),
                    self._slot_update(index, base_state),
                )

            return run

        branches = [branch(i) for i in range(len(self.envs))]
        obs, base_states = jax.lax.switch(params.base_index, branches, key)
        state = ProjectedState(base_states, jnp.zeros((), bool), jnp.zeros((), jnp.int32))
        return obs, state

    def is_truncated(self, state: ProjectedState, params: ProjectedParams) -> jax.Array:
        """The base env's own time limit (recorded by the last step)."""
        return state.truncated

    def observation_space(self, params: ProjectedParams | None = None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (self.obs_width,), jnp.float32)

    def action_space(self, params: ProjectedParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (self.action_width,), jnp.float32)

    @property
    def num_actions(self) -> int:
        return self.action_width
