"""HigherLower (popgym 1.0.7): guess whether the next card's rank is higher or lower.

Observation: the rank of the card on show (`Discrete(13)`, ace = 0). Action 0 guesses "higher",
1 "lower"; the next card is then dealt and the guess pays `+1/N` if right, `-1/N` if wrong and 0
on equal ranks (`N = 52 * num_decks`). The episode terminates after `N - 1` steps (deck
empty); counting cards raises the return above chance but pushes keep the best below 1.
Difficulty: 1 / 2 / 3 decks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from envs.popgym.cards import NUM_RANKS, CardParams, DeckState, OneDeckGame, dealt_card, rank
from envs.popgym.factory import env_factory

GUESS_HIGHER = 0


class HigherLower(OneDeckGame):
    """HigherLower with `num_decks` decks (static)."""

    def get_obs(self, state: DeckState, params: CardParams | None = None, key=None) -> jax.Array:
        """Rank (int32 scalar) of the card on show."""
        return rank(dealt_card(state.deck, state.time))

    def step_env(
        self, key: jax.Array, state: DeckState, action: jax.Array, params: CardParams
    ) -> tuple[jax.Array, DeckState, jax.Array, jax.Array, dict]:
        current = self.get_obs(state)
        state = state.replace(time=state.time + 1)
        upcoming = self.get_obs(state)
        scale = 1.0 / self.n
        right = (upcoming > current) == (jnp.asarray(action) == GUESS_HIGHER)
        reward = jnp.where(upcoming == current, 0.0, jnp.where(right, scale, -scale))
        terminated = state.time >= self.n - 1  # popgym: deck had <= 1 card before dealing
        return upcoming, state, reward.astype(jnp.float32), terminated, {}

    def action_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def observation_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_RANKS)


ENV_IDS = {
    "HigherLowerEasy": env_factory(HigherLower, num_decks=1),
    "HigherLowerMedium": env_factory(HigherLower, num_decks=2),
    "HigherLowerHard": env_factory(HigherLower, num_decks=3),
}
