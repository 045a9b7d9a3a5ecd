"""HigherLower vs popgym 1.0.7: exact replay from matched decks."""

import pytest
from popgym.envs import higher_lower as popgym_higher_lower
from popgym_oracle import deck_state_from_numpy, replay_one_episode

from envs import make


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
