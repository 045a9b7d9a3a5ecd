"""Playing-card decks as popgym 1.0.7's `Deck` lays them out, for the card-game families.

A deck of `num_decks` standard decks holds `N = 52 * num_decks` cards with ids `0..N-1`; card
`c` has suit `c % 4`, rank `(c // 4) % 13` and colour `c % 2` (popgym tiles suits fastest, ranks
repeated per suit, colours alternating). Shuffling permutes the ids into `deck[N]`, and dealing
takes cards from the *end* of that array: the i-th card dealt (0-based) is `deck[N - 1 - i]`.
Keeping popgym's array (rather than the dealt order) lets oracle tests copy `Deck.idx` as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments.environment import Environment

from envs.spaces import CountsActions

CARDS_PER_DECK = 52
NUM_SUITS = 4
NUM_RANKS = 13
NUM_COLORS = 2


def suit(card: jax.Array) -> jax.Array:
    """Suit index in [0, 4) of card ids (any shape)."""
    return card % NUM_SUITS


def rank(card: jax.Array) -> jax.Array:
    """Rank index in [0, 13) of card ids (ace = 0, king = 12)."""
    return (card // NUM_SUITS) % NUM_RANKS


def color(card: jax.Array) -> jax.Array:
    """Colour index in [0, 2) of card ids."""
    return card % NUM_COLORS


# popgym's `deck_type` names -> (card attribute, number of distinct values)
CARD_ATTRIBUTES: dict[str, tuple[Callable[[jax.Array], jax.Array], int]] = {
    "suits": (suit, NUM_SUITS),
    "ranks": (rank, NUM_RANKS),
    "colors": (color, NUM_COLORS),
}


def card_attribute(deck_type: str) -> tuple[Callable[[jax.Array], jax.Array], int]:
    """`(attribute_fn, num_values)` for popgym's deck_type ("suits", "ranks" or "colors")."""
    if deck_type not in CARD_ATTRIBUTES:
        raise ValueError(f"deck_type must be one of {sorted(CARD_ATTRIBUTES)}, got {deck_type!r}")
    return CARD_ATTRIBUTES[deck_type]


def num_cards(num_decks: int) -> int:
    """Number of cards in `num_decks` standard decks; rejects non-positive counts."""
    if not isinstance(num_decks, int) or num_decks < 1:
        raise ValueError(f"num_decks must be a positive int, got {num_decks!r}")
    return CARDS_PER_DECK * num_decks


def shuffled_deck(key: jax.Array, n: int) -> jax.Array:
    """A uniformly random permutation `deck[n]` (int32) of the card ids."""
    return jax.random.permutation(key, n).astype(jnp.int32)


def dealt_card(deck: jax.Array, i: jax.Array) -> jax.Array:
    """The i-th card dealt (0-based) from `deck[N]`: popgym deals from the end of the array."""
    return deck[deck.shape[0] - 1 - i]


class TerminatingEnvironment(CountsActions, Environment):
    """Base for families whose episodes end only by termination (the deck runs out).

    popgym reports `truncated=False` on every step of these games, so `is_truncated` is always
    False; `CardParams.max_steps_in_episode` records the (fixed) episode length for reference.
    """

    def is_truncated(self, state: Any, params: Any) -> jax.Array:
        return jnp.zeros((), dtype=bool)


@struct.dataclass
class CardParams:
    """Params of the card games: only the (fixed) episode length, in steps."""

    max_steps_in_episode: int


@struct.dataclass
class DeckState:
    """State of the one-deck games (RepeatFirst, RepeatPrevious, HigherLower, Autoencode)."""

    deck: jax.Array  # int32[N] shuffled card ids, dealt from the end
    time: jax.Array  # int32, steps taken; card `time` (0-based) is the one on show


class OneDeckGame(TerminatingEnvironment):
    """Base for the games that shuffle `num_decks` decks into one `DeckState.deck` at reset.

    Subclasses define `get_obs(state)`, `step_env` and the spaces; `episode_length` is `N - 1`
    (one card dealt per step until the deck is empty) unless a subclass overrides it.
    """

    def __init__(self, num_decks: int = 1):
        self.num_decks = num_decks
        self.n = num_cards(num_decks)

    @property
    def episode_length(self) -> int:
        return self.n - 1

    @property
    def default_params(self) -> CardParams:
        return CardParams(max_steps_in_episode=self.episode_length)

    def reset_env(self, key: jax.Array, params: CardParams) -> tuple[jax.Array, DeckState]:
        state = DeckState(deck=shuffled_deck(key, self.n), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state), state
