"""CountRecall vs popgym 1.0.7: exact replay from matched decks, and the best return is 1.

popgym counts the current card and answers in `Discrete(N/D + 1)`; both are checked here.
"""

import jax.numpy as jnp
import pytest
from popgym.envs import count_recall as popgym_count_recall
from popgym_oracle import check_expert_return_is_one, replay_one_episode

from envs import make
from envs.popgym.count_recall import EnvState


def state_from_numpy(np_env):
    return EnvState(
        value_deck=jnp.asarray(np_env.value_deck.idx, jnp.int32),
        query_deck=jnp.asarray(np_env.query_deck.idx, jnp.int32),
        counts=jnp.asarray(np_env.counts, jnp.int32),
        time=jnp.int32(0),
    )


def true_count(np_env):
    return np_env.counts[np_env.query]


@pytest.mark.parametrize(
    ("level", "num_decks", "deck_type"),
    [("Easy", 1, "colors"), ("Medium", 2, "suits"), ("Hard", 4, "ranks")],
)
def test_replay_matches_popgym(level, num_decks, deck_type):
    env, params = make(f"CountRecall{level}")
    np_env = getattr(popgym_count_recall, f"CountRecall{level}")()
    assert (env.num_decks, env.deck_type) == (np_env.value_deck.num_decks, deck_type)
    assert env.action_space(params).n == np_env.action_space.n
    assert list(env.observation_space(params).nvec) == list(np_env.observation_space.nvec)
    replay_one_episode(
        np_env, env, params, state_from_numpy, true_count, length=np_env.max_episode_length, seed=8
    )


def test_expert_return_is_one():
    env, params = make("CountRecallEasy")
    np_env = popgym_count_recall.CountRecallEasy()
    check_expert_return_is_one(
        np_env, env, params, state_from_numpy, true_count, num_steps=51, seed=9
    )
