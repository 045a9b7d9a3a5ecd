"""RepeatFirst (popgym 1.0.7): at every step, name the suit of the episode's first card.

The agent sees one card's suit per step (`Discrete(4)`, the first observation is the first
card) and is paid `+1/(N-1)` for naming the first card's suit, `-1/(N-1)` otherwise, where
`N = 52 * num_decks`. The episode terminates after `N - 1` steps, when the deck is empty, so
returns lie in [-1, 1] and the best is exactly 1. Difficulty: 1 / 8 / 16 decks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.popgym.cards import (
    NUM_SUITS,
    TerminatingEnvironment,
    dealt_card,
    num_cards,
    shuffled_deck,
    suit,
)
from envs.popgym.factory import env_factory


@struct.dataclass
class EnvState:
    deck: jax.Array  # int32[N] shuffled card ids, dealt from the end
    time: jax.Array  # int32, steps taken; card `time` (0-based) is the one on show


@struct.dataclass
class EnvParams:
    max_steps_in_episode: int  # = N - 1, the episode length (ends by termination)


class RepeatFirst(TerminatingEnvironment):
    """RepeatFirst with `num_decks` decks (static: it sets the deck array's size)."""

    def __init__(self, num_decks: int = 1):
        self.num_decks = num_decks
        self.n = num_cards(num_decks)

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(max_steps_in_episode=self.n - 1)

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> jax.Array:
        """Suit (int32 scalar) of the card on show."""
        return suit(dealt_card(state.deck, state.time))

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        state = EnvState(deck=shuffled_deck(key, self.n), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict]:
        scale = 1.0 / (self.n - 1)
        correct = jnp.asarray(action) == suit(dealt_card(state.deck, 0))
        reward = jnp.where(correct, scale, -scale).astype(jnp.float32)
        state = state.replace(time=state.time + 1)
        terminated = state.time >= self.n - 1  # popgym: deck had one card left before dealing
        return self.get_obs(state), state, reward, terminated, {}

    def action_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_SUITS)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_SUITS)


ENV_IDS = {
    "RepeatFirstEasy": env_factory(RepeatFirst, num_decks=1),
    "RepeatFirstMedium": env_factory(RepeatFirst, num_decks=8),
    "RepeatFirstHard": env_factory(RepeatFirst, num_decks=16),
}
