"""Concentration (popgym 1.0.7): flip face-down cards two at a time to find matching pairs.

N cards lie face down (`N = 52 * num_decks`); an action flips the card at position
`a in [0, N)`. Observation `int32[N]`: the kind of each face-up card and of the cards flipped
this turn, `D` (the face-down marker) elsewhere (`MultiDiscrete([D + 1] * N)`). A turn is two
flips: a matching pair of two different positions pays `1/(N/2)` and stays face up, any other
pair pays `-2/L`; flipping an already face-up card ends the turn at once and pays `-1/L` per
card in play. `L = ceil(2N - N/(2N - 1))` is the episode length: the episode is truncated after
L steps, or terminates when every card is face up. The best return is 1.
Difficulty: (decks, kind) = (1, colours) / (2, colours) / (1, ranks).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces
from gymnax.environments.environment import Environment

from envs.popgym.cards import CardParams, card_attribute, num_cards, shuffled_deck
from envs.popgym.factory import env_factory
from envs.spaces import CountsActions, MultiDiscrete

NONE = -1  # "no card" in the position fields below


@struct.dataclass
class EnvState:
    deck: jax.Array  # int32[N] card id lying at each position
    face_up: jax.Array  # bool[N] positions of matched pairs
    pending: jax.Array  # int32 position of this turn's first flip, NONE between turns
    revealed: jax.Array  # int32[2] positions flipped in the last step's turn (NONE-padded)
    time: jax.Array  # int32 steps taken


class Concentration(CountsActions, Environment):
    """Concentration with `num_decks` decks matching `deck_type` kinds (both static)."""

    def __init__(self, num_decks: int = 1, deck_type: str = "ranks"):
        if deck_type not in ("colors", "ranks"):  # 13 cards per suit: suits cannot all pair
            raise ValueError(f"deck_type must be 'colors' or 'ranks', got {deck_type!r}")
        self.num_decks = num_decks
        self.deck_type = deck_type
        self.n = num_cards(num_decks)
        self.kind, self.face_down = card_attribute(deck_type)
        self.episode_length = math.ceil(2 * self.n - self.n / (2 * self.n - 1))
        self.success_reward = 1.0 / (self.n // 2)
        self.failure_reward = -1.0 / self.episode_length

    @property
    def default_params(self) -> CardParams:
        return CardParams(max_steps_in_episode=self.episode_length)

    def get_obs(self, state: EnvState, params: CardParams | None = None, key=None) -> jax.Array:
        """`int32[N]`: card kind where face up or flipped in the last step, else `D`."""
        position = jnp.arange(self.n)
        visible = state.face_up | jnp.any(position[:, None] == state.revealed[None, :], axis=1)
        return jnp.where(visible, self.kind(state.deck), self.face_down).astype(jnp.int32)

    def reset_env(self, key: jax.Array, params: CardParams) -> tuple[jax.Array, EnvState]:
        state = EnvState(
            deck=shuffled_deck(key, self.n),
            face_up=jnp.zeros((self.n,), bool),
            pending=jnp.asarray(NONE, jnp.int32),
            revealed=jnp.full((2,), NONE, jnp.int32),
            time=jnp.zeros((), jnp.int32),
        )
        return self.get_obs(state), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: CardParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict]:
        flip = jnp.asarray(action, jnp.int32)
        first = state.pending
        second_flip = first != NONE
        # popgym checks every card in play against the face-up set; the pending first card is
        # never face up (it would have ended its turn), so only the new flip can be.
        already_up = state.face_up[flip]
        kinds = self.kind(state.deck)
        pair_found = second_flip & ~already_up & (kinds[first] == kinds[flip]) & (first != flip)
        cards_in_play = jnp.where(second_flip, 2, 1)
        pair_reward = jnp.where(pair_found, self.success_reward, 2 * self.failure_reward)
        turn_reward = jnp.where(second_flip, pair_reward, 0.0)
        reward = jnp.where(already_up, self.failure_reward * cards_in_play, turn_reward)
        reward = reward.astype(jnp.float32)
        face_up = jnp.where(
            pair_found, state.face_up.at[first].set(True).at[flip].set(True), state.face_up
        )
        state = EnvState(
            deck=state.deck,
            face_up=face_up,
            pending=jnp.where(second_flip | already_up, NONE, flip).astype(jnp.int32),
            revealed=jnp.where(second_flip, jnp.stack([first, flip]), jnp.stack([flip, NONE])),
            time=state.time + 1,
        )
        terminated = pair_found & jnp.all(face_up)
        return self.get_obs(state), state, reward, terminated, {}

    def action_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.n)

    def observation_space(self, params: CardParams | None = None) -> MultiDiscrete:
        return MultiDiscrete([self.face_down + 1] * self.n)


ENV_IDS = {
    "ConcentrationEasy": env_factory(Concentration, num_decks=1, deck_type="colors"),
    "ConcentrationMedium": env_factory(Concentration, num_decks=2, deck_type="colors"),
    "ConcentrationHard": env_factory(Concentration, num_decks=1, deck_type="ranks"),
}
