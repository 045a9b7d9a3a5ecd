"""HigherLower vs popgym 1.0.7: exact replay from matched decks; a clairvoyant player's return."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import higher_lower as popgym_higher_lower
from popgym_expert import expert_episodes
from popgym_oracle import deck_state_from_numpy, replay_one_episode

from envs import make
from envs.popgym.cards import DeckState, dealt_card, rank
from envs.popgym.higher_lower import GUESS_HIGHER


def clairvoyant_guess(np_env):
    """0 ("higher") iff the next card to be dealt outranks the one on show."""
    deck = np_env.deck
    upcoming = deck.ranks_idx[deck.idx[len(deck) - 1]]
    return 0 if upcoming > deck.ranks_idx[deck["player"][-1]] else 1


@pytest.mark.parametrize(("level", "num_decks"), [("Easy", 1), ("Medium", 2), ("Hard", 3)])
def test_replay_matches_popgym(level, num_decks):
    env, params = make(f"HigherLower{level}")
    np_env = getattr(popgym_higher_lower, f"HigherLower{level}")()
    assert env.num_decks == np_env.num_decks == num_decks
    replay_one_episode(
        np_env,
        env,
        params,
        deck_state_from_numpy,
        clairvoyant_guess,
        length=np_env.deck_size - 1,
        seed=5,
    )


def guess_from_deck(key: jax.Array, state: DeckState) -> jax.Array:
    """With the deck order known: "higher" iff the next card outranks the one on show."""
    current = rank(dealt_card(state.deck, state.time))
    upcoming = rank(dealt_card(state.deck, state.time + 1))
    return jnp.where(upcoming > current, GUESS_HIGHER, 1 - GUESS_HIGHER)


@pytest.mark.parametrize(("level", "num_decks"), [("Easy", 1), ("Medium", 2), ("Hard", 3)])
def test_clairvoyant_earns_max_return(level, num_decks):
    """Knowing the deck, every guess is right: the return is the maximum (unequal pairs) / N.

    Of the N - 1 guesses, a right one pays 1/N, a wrong one -1/N and equal ranks (a push) 0
    whatever the guess, so the deck's maximum counts the consecutive cards of unequal rank. Two
    consecutive cards share a rank with probability (4 d - 1) / (N - 1), so over decks the
    maximum averages (N - 4 d) / N = 12/13 at every level (sd of the 256-deck mean ~0.002).
    """
    env, params = make(f"HigherLower{level}")
    n = 52 * num_decks
    episodes = expert_episodes(env, params, guess_from_deck, num_envs=256)
    ranks = rank(episodes.first_state.deck[:, ::-1])  # in the order dealt
    best = (ranks[:, 1:] != ranks[:, :-1]).sum(axis=1) / n
    np.testing.assert_allclose(episodes.returns, best, rtol=0, atol=1e-5)
    assert (episodes.lengths == n - 1).all() and episodes.terminated.all()
    assert best.mean() == pytest.approx(12 / 13, abs=0.01)
