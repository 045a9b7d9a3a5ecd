"""RepeatFirst vs popgym 1.0.7: exact replay from matched decks, and the best return is 1."""

import pytest
from popgym.envs import repeat_first as popgym_repeat_first
from popgym_oracle import check_expert_return_is_one, deck_state_from_numpy, replay_one_episode

from envs import make


def first_card(np_env):
    return np_env.card


@pytest.mark.parametrize("level", ["Easy", "Medium", "Hard"])
def test_replay_matches_popgym(level):
    env, params = make(f"RepeatFirst{level}")
    np_env = getattr(popgym_repeat_first, f"RepeatFirst{level}")()
    replay_one_episode(
        np_env,
        env,
        params,
        deck_state_from_numpy,
        first_card,
        length=np_env.max_episode_length,
        seed=1,
    )


def test_expert_return_is_one():
    env, params = make("RepeatFirstEasy")
    np_env = popgym_repeat_first.RepeatFirstEasy()
    check_expert_return_is_one(
        np_env, env, params, deck_state_from_numpy, first_card, num_steps=51, seed=2
    )
