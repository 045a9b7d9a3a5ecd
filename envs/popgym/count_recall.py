"""CountRecall (popgym 1.0.7): how many cards of the queried kind have been dealt so far?

Two decks are shuffled (value deck first, then query deck) and one card of each is dealt per
step. Observation `int32[2] = [value, query]` (`MultiDiscrete([D, D])`, D distinct kinds). The
action at the next step is scored against the count of dealt value cards of the *queried* kind,
counting the value card dealt together with the query (popgym's count includes the current
card): `+-1/(N-1)`. Action space `Discrete(N/D + 1)` (27 / 27 / 17) as popgym's. The episode
terminates after `N - 1` steps (decks empty); returns lie in [-1, 1], the best is 1.
Difficulty: (decks, kind) = (1, colours) / (2, suits) / (4, ranks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces

from envs.popgym.cards import (
    CardParams,
    TerminatingEnvironment,
    card_attribute,
    dealt_card,
    num_cards,
    shuffled_deck,
)
from envs.popgym.factory import env_factory
from envs.spaces import MultiDiscrete


@struct.dataclass
class EnvState:
    value_deck: jax.Array  # int32[N] card ids, dealt from the end
    query_deck: jax.Array  # int32[N] card ids, dealt from the end
    counts: jax.Array  # int32[D] dealt value cards per kind, current card included
    time: jax.Array  # int32 steps taken; cards `time` of both decks are on show


class CountRecall(TerminatingEnvironment):
    """CountRecall with `num_decks` decks counting `deck_type` kinds (both static)."""

    def __init__(self, num_decks: int = 1, deck_type: str = "colors"):
        self.num_decks = num_decks
        self.deck_type = deck_type
        self.n = num_cards(num_decks)
        self.kind, self.num_kinds = card_attribute(deck_type)
        self.max_card_count = self.n // self.num_kinds

    @property
    def default_params(self) -> CardParams:
        return CardParams(max_steps_in_episode=self.n - 1)

    def _dealt(self, state: EnvState) -> tuple[jax.Array, jax.Array]:
        """Kinds of the value and query cards on show."""
        value = self.kind(dealt_card(state.value_deck, state.time))
        query = self.kind(dealt_card(state.query_deck, state.time))
        return value, query

    def get_obs(self, state: EnvState, params: CardParams | None = None, key=None) -> jax.Array:
        """`int32[2] = [value kind, query kind]` of the cards on show."""
        return jnp.stack(self._dealt(state)).astype(jnp.int32)

    def reset_env(self, key: jax.Array, params: CardParams) -> tuple[jax.Array, EnvState]:
        key_value, key_query = jax.random.split(key)
        state = EnvState(
            value_deck=shuffled_deck(key_value, self.n),
            query_deck=shuffled_deck(key_query, self.n),
            counts=jnp.zeros((self.num_kinds,), jnp.int32),
            time=jnp.zeros((), jnp.int32),
        )
        value, _ = self._dealt(state)
        state = state.replace(counts=state.counts.at[value].add(1))
        return self.get_obs(state), state

    def step_env(
        self, key: jax.Array, state: EnvState, action: jax.Array, params: CardParams
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, dict]:
        _, query = self._dealt(state)
        answer = state.counts[query]
        scale = 1.0 / (self.n - 1)
        reward = jnp.where(jnp.asarray(action) == answer, scale, -scale).astype(jnp.float32)
        state = state.replace(time=state.time + 1)
        value, _ = self._dealt(state)
        state = state.replace(counts=state.counts.at[value].add(1))
        terminated = state.time >= self.n - 1  # popgym: the value deck is empty
        return self.get_obs(state), state, reward, terminated, {}

    def action_space(self, params: CardParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.max_card_count + 1)

    def observation_space(self, params: CardParams | None = None) -> MultiDiscrete:
        return MultiDiscrete([self.num_kinds, self.num_kinds])


ENV_IDS = {
    "CountRecallEasy": env_factory(CountRecall, num_decks=1, deck_type="colors"),
    "CountRecallMedium": env_factory(CountRecall, num_decks=2, deck_type="suits"),
    "CountRecallHard": env_factory(CountRecall, num_decks=4, deck_type="ranks"),
}
