"""Tiny memory tasks for the PPO tests (gymnax 1.x API), one per action type.

CueRecall: step 0 shows a cue, the following steps show nothing, and at a random step
`delay` (1..max_delay) a query flag asks for the cue; the answer is scored and the episode
terminates. An agent without memory cannot beat chance; one with memory scores 1.

- discrete:       cue c in {0..K-1} (one-hot), action Discrete(K), reward 1[a == c].
- multi_discrete: two cues (two one-hots), action MultiDiscrete([K, K]), reward mean of hits.
- continuous:     cue c ~ U[-1, 1] (a scalar), action Box(-2, 2, (1,)), reward 1 - |a - c|.

Observation: float32 `[cue part, query flag]`. `max_steps_in_episode` truncates episodes
whose query would come later (their final observation is all zeros).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from envs.spaces import MultiDiscrete
from envs.wrappers import LogWrapper, ObservationEncoding

KINDS = ("discrete", "multi_discrete", "continuous")


@struct.dataclass
class CueState:
    cue: jax.Array  # int32[2] (discrete kinds) or float32[1] (continuous)
    delay: jax.Array  # int32, step index of the query
    time: jax.Array  # int32


@struct.dataclass
class CueParams:
    max_steps_in_episode: int = 100


class CueRecall(environment.Environment):
    def __init__(self, kind: str = "discrete", num_cues: int = 4, max_delay: int = 6):
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} not in {KINDS}")
        self.kind, self.num_cues, self.max_delay = kind, num_cues, max_delay

    @property
    def default_params(self) -> CueParams:
        return CueParams()

    def _cue_size(self) -> int:
        return {"discrete": self.num_cues, "multi_discrete": 2 * self.num_cues,
                "continuous": 1}[self.kind]

    def get_obs(self, state: CueState, params=None, key=None) -> jax.Array:
        if self.kind == "continuous":
            cue = state.cue.astype(jnp.float32)
        else:
            hot = jax.nn.one_hot(state.cue, self.num_cues, dtype=jnp.float32)
            cue = hot[0] if self.kind == "discrete" else hot.reshape(-1)
        shown = jnp.where(state.time == 0, cue, jnp.zeros_like(cue))
        query = (state.time == state.delay).astype(jnp.float32)[None]
        return jnp.concatenate([shown, query])

    def reset_env(self, key, params):
        k_cue, k_delay = jax.random.split(key)
        if self.kind == "continuous":
            cue = jax.random.uniform(k_cue, (1,), jnp.float32, -1.0, 1.0)
        else:
            cue = jax.random.randint(k_cue, (2,), 0, self.num_cues, jnp.int32)
        delay = jax.random.randint(k_delay, (), 1, self.max_delay + 1, jnp.int32)
        state = CueState(cue, delay, jnp.zeros((), jnp.int32))
        return self.get_obs(state), state

    def step_env(self, key, state: CueState, action, params):
        asked = state.time == state.delay
        if self.kind == "discrete":
            score = (action == state.cue[0]).astype(jnp.float32)
        elif self.kind == "multi_discrete":
            score = jnp.mean((action == state.cue).astype(jnp.float32))
        else:
            score = 1.0 - jnp.abs(jnp.reshape(action, ()) - state.cue[0])
        reward = jnp.where(asked, score, 0.0)
        state = state.replace(time=state.time + 1)
        return self.get_obs(state), state, reward, asked, {}

    def action_space(self, params=None):
        if self.kind == "discrete":
            return spaces.Discrete(self.num_cues)
        if self.kind == "multi_discrete":
            return MultiDiscrete([self.num_cues, self.num_cues])
        return spaces.Box(-2.0, 2.0, (1,), jnp.float32)

    def observation_space(self, params=None):
        return spaces.Box(0.0, 1.0, (self._cue_size() + 1,), jnp.float32)


def make_cue_env(kind: str = "discrete", num_cues: int = 4, max_delay: int = 6,
                 max_steps_in_episode: int = 100):
    """`(env, params)` wrapped as agents need it (ObservationEncoding -> LogWrapper)."""
    env = CueRecall(kind, num_cues, max_delay)
    return LogWrapper(ObservationEncoding(env)), CueParams(max_steps_in_episode)
