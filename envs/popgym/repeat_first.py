"""RepeatFirst (popgym 1.0.7): at every step, name the suit of the episode's first card.

The agent sees one card's suit per step (`Discrete(4)`, the first observation is the first
card) and is paid `+1/(N-1)` for naming the first card's suit, `-1/(N-1)` otherwise, where
`N = 52 * num_decks`. The episode terminates after `N - 1` steps, when the deck is empty, so
returns lie in [-1, 1] and the best is exactly 1. Difficulty: 1 / 8 / 16 decks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from envs.popgym.cards import NUM_SUITS, CardParams, DeckState, OneDeckGame, dealt_card, suit
from envs.popgym.factory import env_factory


class RepeatFirst(OneDeckGame):
    """RepeatFirst with `num_decks` decks (static: it sets the deck array's size)."""

    def get_obs(self, state: DeckState, params: CardParams | None = None, key=None) -> jax.Array:
        """Suit (int32 scalar) of the card on show."""
        return suit(dealt_card(state.deck, state.time))

    def step_env(
        self, key: jax.Array, state: DeckState, action: jax.Array, params: CardParams
    ) -> tuple[jax.Array, DeckState, jax.Array, jax.Array, dict]:
        scale = 1.0 / (self.n - 1)
        correct = jnp.asarray(action) == suit(dealt_card(state.deck, 0))
        reward = jnp.where(correct, scale, -scale).astype(jnp.float32)
        state = state.replace(time=state.time + 1)
        terminated = state.time >= self.n - 1  # popgym: deck had one card left before dealing
        return self.get_obs(state), state, reward, terminated, {}

    def action_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_SUITS)

    def observation_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_SUITS)


ENV_IDS = {
    "RepeatFirstEasy": env_factory(RepeatFirst, num_decks=1),
    "RepeatFirstMedium": env_factory(RepeatFirst, num_decks=8),
    "RepeatFirstHard": env_factory(RepeatFirst, num_decks=16),
}
