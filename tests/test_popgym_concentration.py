"""Concentration vs popgym 1.0.7: exact replay from matched decks, and the best return is 1."""

import jax.numpy as jnp
import pytest
from popgym.envs import concentration as popgym_concentration
from popgym_oracle import check_expert_return_is_one, replay_one_episode

from envs import make
from envs.popgym.concentration import NONE, EnvState


def state_from_numpy(np_env):
    n = np_env.deck.num_cards
    return EnvState(
        deck=jnp.asarray(np_env.deck.idx, jnp.int32),
        face_up=jnp.zeros((n,), bool),
        pending=jnp.int32(NONE),
        revealed=jnp.full((2,), NONE, jnp.int32),
        time=jnp.int32(0),
    )


def matching_flip(np_env):
    """Complete the open pair if a card is pending, else flip the first face-down card."""
    face_up = set(np_env.deck["face_up_idx"])
    face_down = [p for p in range(np_env.deck.num_cards) if p not in face_up]
    if not np_env.deck["in_play_idx"]:
        return face_down[0]
    first = np_env.deck["in_play_idx"][0]
    return next(p for p in face_down if p != first and np_env.state[p] == np_env.state[first])


@pytest.mark.parametrize(
    ("level", "num_decks", "deck_type"),
    [("Easy", 1, "colors"), ("Medium", 2, "colors"), ("Hard", 1, "ranks")],
)
def test_replay_matches_popgym(level, num_decks, deck_type):
    env, params = make(f"Concentration{level}")
    np_env = getattr(popgym_concentration, f"Concentration{level}")()
    assert (env.num_decks, env.deck_type) == (np_env.deck.num_decks, deck_type)
    assert list(env.observation_space(params).nvec) == list(np_env.observation_space.nvec)
    assert env.action_space(params).n == np_env.action_space.n
    # Half the flips are random (often onto face-up cards), so episodes run to truncation.
    replay_one_episode(
        np_env, env, params, state_from_numpy, matching_flip, length=np_env.episode_length, seed=10
    )


@pytest.mark.parametrize("level", ["Easy", "Hard"])
def test_perfect_memory_terminates_with_return_one(level):
    env, params = make(f"Concentration{level}")
    np_env = getattr(popgym_concentration, f"Concentration{level}")()
    check_expert_return_is_one(
        np_env, env, params, state_from_numpy, matching_flip, num_steps=52, seed=11
    )
