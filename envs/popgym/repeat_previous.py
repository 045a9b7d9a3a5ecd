"""RepeatPrevious (popgym 1.0.7): name the suit of the card dealt k-1 steps before this one.

The agent sees one card's suit per step (`Discrete(4)`). popgym pays for the card `k` places
back in the hand *before* dealing the next card, i.e. the card shown `k - 1` steps before the
card currently on show (k=4: at the step after seeing cards c0..c3, the target is c0). Steps
with fewer than k cards in hand pay 0; the others pay `+-1/(N-k)`, `N = 52 * num_decks`. The
episode terminates after `N - 1` steps (deck empty); returns lie in [-1, 1], the best is 1.
Difficulty: (decks, k) = (1, 4) / (2, 32) / (3, 64).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from envs.popgym.cards import NUM_SUITS, CardParams, DeckState, OneDeckGame, dealt_card, suit
from envs.popgym.factory import env_factory


class RepeatPrevious(OneDeckGame):
    """RepeatPrevious with `num_decks` decks and lag `k` (both static)."""

    def __init__(self, num_decks: int = 1, k: int = 4):
        super().__init__(num_decks)
        if not isinstance(k, int) or not 1 <= k < self.n:
            raise ValueError(f"k must be an int in [1, {self.n}) for {num_decks} decks, got {k!r}")
        self.k = k

    def get_obs(self, state: DeckState, params: CardParams | None = None, key=None) -> jax.Array:
        """Suit (int32 scalar) of the card on show."""
        return suit(dealt_card(state.deck, state.time))

    def step_env(
        self, key: jax.Array, state: DeckState, action: jax.Array, params: CardParams
    ) -> tuple[jax.Array, DeckState, jax.Array, jax.Array, dict]:
        # Hand = cards 0..t (t = state.time); popgym's target hand[-k] is card t + 1 - k.
        scale = 1.0 / (self.n - self.k)
        hand_size = state.time + 1
        target = suit(dealt_card(state.deck, jnp.maximum(hand_size - self.k, 0)))
        signed = jnp.where(jnp.asarray(action) == target, scale, -scale)
        reward = jnp.where(hand_size >= self.k, signed, 0.0).astype(jnp.float32)
        state = state.replace(time=state.time + 1)
        terminated = state.time >= self.n - 1  # popgym: deck had one card left before dealing
        return self.get_obs(state), state, reward, terminated, {}

    def action_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_SUITS)

    def observation_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_SUITS)


ENV_IDS = {
    "RepeatPreviousEasy": env_factory(RepeatPrevious, num_decks=1, k=4),
    "RepeatPreviousMedium": env_factory(RepeatPrevious, num_decks=2, k=32),
    "RepeatPreviousHard": env_factory(RepeatPrevious, num_decks=3, k=64),
}
