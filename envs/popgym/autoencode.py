"""Autoencode (popgym 1.0.7): watch N cards, then recite their suits in reverse order.

Observation `int32[2] = [mode, suit]` (popgym's `Tuple(Discrete(2), Discrete(4))` concatenated,
space `MultiDiscrete([2, 4])`), exactly as the original: `mode = 1` (WATCH) while cards are
shown, `0` (PLAY) from the observation carrying the last card onwards; while the agent recites,
the suit slot shows 0 (popgym shows the suit of card id 0). Each of the `N - 1` watch steps pays
0 whatever the action; each of the N play steps pays `+-1/N` for naming the next card of the
reversed sequence (the first is the last card shown). The episode terminates after `2N - 1`
steps; returns lie in [-1, 1], the best is 1. Difficulty: 1 / 2 / 3 decks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from envs.popgym.cards import NUM_SUITS, CardParams, DeckState, OneDeckGame, dealt_card, suit
from envs.popgym.factory import env_factory
from envs.spaces import MultiDiscrete

WATCH, PLAY = 1, 0  # popgym's Mode values as they appear in the observation


class Autoencode(OneDeckGame):
    """Autoencode with `num_decks` decks (static)."""

    @property
    def episode_length(self) -> int:
        return 2 * self.n - 1  # N - 1 watch steps, then N play steps

    def get_obs(self, state: DeckState, params: CardParams | None = None, key=None) -> jax.Array:
        """`int32[2] = [mode, suit]`: card `time` is on show while `time <= N - 1`."""
        last_watch = self.n - 1
        mode = jnp.where(state.time < last_watch, WATCH, PLAY)
        shown = suit(dealt_card(state.deck, jnp.minimum(state.time, last_watch)))
        card_suit = jnp.where(state.time <= last_watch, shown, 0)
        return jnp.stack([mode, card_suit]).astype(jnp.int32)

    def step_env(
        self, key: jax.Array, state: DeckState, action: jax.Array, params: CardParams
    ) -> tuple[jax.Array, DeckState, jax.Array, jax.Array, dict]:
        # Play step j = time - (N - 1) pops card N-1-j off the dealt pile.
        play_step = state.time - (self.n - 1)
        playing = play_step >= 0
        target = suit(dealt_card(state.deck, jnp.clip(self.n - 1 - play_step, 0, self.n - 1)))
        scale = 1.0 / self.n
        signed = jnp.where(jnp.asarray(action) == target, scale, -scale)
        reward = jnp.where(playing, signed, 0.0).astype(jnp.float32)
        terminated = play_step >= self.n - 1
        state = state.replace(time=state.time + 1)
        return self.get_obs(state), state, reward, terminated, {}

    def action_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(NUM_SUITS)

    def observation_space(self, params: CardParams | None = None) -> MultiDiscrete:
        return MultiDiscrete([2, NUM_SUITS])


ENV_IDS = {
    "AutoencodeEasy": env_factory(Autoencode, num_decks=1),
    "AutoencodeMedium": env_factory(Autoencode, num_decks=2),
    "AutoencodeHard": env_factory(Autoencode, num_decks=3),
}
