"""Multi-episode trials of one sampled task: `TrialEnv`.

A trial draws a task (the inner env's params) at its start and plays `episodes_per_trial`
(K) episodes of it. Between those episodes the inner env auto-resets (new initial state, same
task); a new task is drawn only when the trial ends. To an agent the **trial is the episode**:

    terminated = K-th episode just ended            (the trial's natural end: no bootstrap)
    truncated  = time >= max_steps_in_episode       (step cap on the trial: bootstrap)

so a trainer that resets memory on "the previous step was done" resets it only at trial
starts. An episode ending *inside* a trial (base-env termination or time limit) is neither:
the trial goes on, the agent sees it in the observation flag, and the value target bootstraps
across it (the trial is one long episode, as in RL^2 and the S5 paper: falling over costs the
rest of that episode's reward, not the rest of the trial's).

Observation `[D + 1]` = `[inner obs, episode_start]`, `episode_start = 1` on the first
observation of every episode in the trial (the trial's first one included). The previous
action and reward come from `envs.wrappers.PreviousActionWrapper` on top, which zeroes them at
trial starts only, so they carry across episode boundaries inside a trial.

`info` (per step, for in-context evaluation): `episode_in_trial` (int32, 0-based index of the
episode the step belongs to), `episode_in_trial_done` (bool, that episode ended at this step),
`episode_in_trial_return` (float32, its return so far including this step: the episode's
return where `episode_in_trial_done`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class TrialParams(environment.EnvParams):
    task_distribution: Any = None  # what `sample_task` draws from
    episodes_per_trial: int = 3  # K >= 1
    max_steps_in_episode: int = 2**30  # step cap on the whole trial


@struct.dataclass
class TrialState(environment.EnvState):
    inner_state: Any
    task: Any  # inner env params of this trial's task
    episode: jax.Array  # int32 [], index of the running episode within the trial
    episode_return: jax.Array  # float32 [], return of the running episode so far
    time: jax.Array  # int32 [], steps since the trial began


class TrialEnv(environment.Environment):
    """Trials of K episodes of one task each (module docstring).

    Args:
      env: inner gymnax env with a 1-D Box observation; its params are the task.
      sample_task: `(key, task_distribution) -> inner params`, jittable.
      default_task_distribution: `TrialParams.task_distribution` of `default_params`.
      episodes_per_trial: `K` of `default_params`.
      max_steps_in_trial: the step cap of `default_params` (`max_steps_in_episode`); pass a
        bound a K-episode trial never reaches (`make_meta_env` uses K x the longest base
        episode + 1) so that trials end by their K-th episode and evaluation loops know how
        long a trial can last; smaller values make fixed-step trials.
    """

    def __init__(
        self,
        env: Any,
        sample_task: Callable[[jax.Array, Any], Any],
        default_task_distribution: Any,
        episodes_per_trial: int = 3,
        max_steps_in_trial: int = 2**30,
    ):
        super().__init__()
        if not isinstance(episodes_per_trial, int) or episodes_per_trial < 1:
            raise ValueError(
                f"episodes_per_trial must be a positive int, got {episodes_per_trial!r}"
            )
        obs_space = env.observation_space(env.default_params)
        if not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
            raise TypeError(f"TrialEnv needs a 1-D Box inner observation space, got {obs_space!r}")
        self._env = env
        self._sample_task = sample_task
        self._default_distribution = default_task_distribution
        self._episodes_per_trial = episodes_per_trial
        self._max_steps_in_trial = max_steps_in_trial
        self.obs_size = obs_space.shape[0] + 1

    @property
    def inner(self) -> Any:
        """The wrapped env (whose params are tasks)."""
        return self._env

    @property
    def name(self) -> str:
        return f"Trial({self._env.name})"

    @property
    def default_params(self) -> TrialParams:
        return TrialParams(
            task_distribution=self._default_distribution,
            episodes_per_trial=self._episodes_per_trial,
            max_steps_in_episode=self._max_steps_in_trial,
        )

    @staticmethod
    def _observe(inner_obs: jax.Array, episode_start: jax.Array) -> jax.Array:
        flag = jnp.reshape(episode_start, (1,)).astype(jnp.float32)
        return jnp.concatenate([inner_obs.astype(jnp.float32), flag])

    def step_env(
        self, key: jax.Array, state: TrialState, action: Any, params: TrialParams
    ) -> tuple[jax.Array, TrialState, jax.Array, jax.Array, dict]:
        obs, inner_state, reward, terminated, truncated, inner_info = self._env.step(
            key, state.inner_state, action, state.task
        )
        episode_done = terminated | truncated
        episode_return = state.episode_return + reward.astype(jnp.float32)
        episode = state.episode + episode_done.astype(jnp.int32)
        trial_over = episode >= params.episodes_per_trial
        # At the trial's end the inner env has already begun an episode that will never be
        # played; the trial's final observation is the inner episode's final one.
        obs = jnp.where(
            trial_over,
            self._observe(inner_info["final_observation"], False),
            self._observe(obs, episode_done),
        )
        info = {
            "episode_in_trial": state.episode,
            "episode_in_trial_done": episode_done,
            "episode_in_trial_return": episode_return,
        }
        new_state = TrialState(
            inner_state=inner_state,
            task=state.task,
            episode=episode,
            episode_return=jnp.where(episode_done, 0.0, episode_return),
            time=state.time + 1,
        )
        return obs, new_state, reward, trial_over, info

    def reset_env(self, key: jax.Array, params: TrialParams) -> tuple[jax.Array, TrialState]:
        key_task, key_reset = jax.random.split(key)
        task = self._sample_task(key_task, params.task_distribution)
        obs, inner_state = self._env.reset(key_reset, task)
        state = TrialState(
            inner_state=inner_state,
            task=task,
            episode=jnp.zeros((), jnp.int32),
            episode_return=jnp.zeros((), jnp.float32),
            time=jnp.zeros((), jnp.int32),
        )
        return self._observe(obs, True), state

    def is_terminated(self, state: TrialState, params: TrialParams) -> jax.Array:
        return state.episode >= params.episodes_per_trial

    def observation_space(self, params: TrialParams | None = None) -> spaces.Box:
        inner = self._env.observation_space(self._env.default_params)
        low = jnp.concatenate([jnp.broadcast_to(inner.low, inner.shape), jnp.zeros((1,))])
        high = jnp.concatenate([jnp.broadcast_to(inner.high, inner.shape), jnp.ones((1,))])
        return spaces.Box(low, high, (self.obs_size,), jnp.float32)

    def action_space(self, params: TrialParams | None = None) -> Any:
        return self._env.action_space(self._env.default_params)

    @property
    def num_actions(self) -> int:
        return self._env.num_actions
