"""HigherLower vs popgym 1.0.7: exact replay from matched decks."""

import jax.numpy as jnp
import pytest
from popgym.envs import higher_lower as popgym_higher_lower
from popgym_oracle import replay

from envs import make
from envs.popgym.higher_lower import EnvState


def state_from_numpy(np_env):
    return EnvState(deck=jnp.asarray(np_env.deck.idx, jnp.int32), time=jnp.int32(0))


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
    length = np_env.deck_size - 1
    assert params.max_steps_in_episode == length
    returns = replay(
        np_env, env, params, state_from_numpy, clairvoyant_guess, num_steps=length + 20, seed=5
    )
    assert len(returns) == 1
