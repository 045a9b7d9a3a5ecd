"""RepeatFirst vs popgym 1.0.7: exact replay from matched decks, and the best return is 1."""

import jax.numpy as jnp
import pytest
from popgym.envs import repeat_first as popgym_repeat_first
from popgym_oracle import replay

from envs import make
from envs.popgym.repeat_first import EnvState


def state_from_numpy(np_env):
    return EnvState(deck=jnp.asarray(np_env.deck.idx, jnp.int32), time=jnp.int32(0))


def first_card(np_env):
    return np_env.card


@pytest.mark.parametrize("level", ["Easy", "Medium", "Hard"])
def test_replay_matches_popgym(level):
    env, params = make(f"RepeatFirst{level}")
    np_env = getattr(popgym_repeat_first, f"RepeatFirst{level}")()
    length = np_env.max_episode_length
    assert params.max_steps_in_episode == length
    returns = replay(
        np_env, env, params, state_from_numpy, first_card, num_steps=length + 20, seed=1
    )
    assert len(returns) == 1


def test_expert_return_is_one():
    env, params = make("RepeatFirstEasy")
    np_env = popgym_repeat_first.RepeatFirstEasy()
    returns = replay(
        np_env, env, params, state_from_numpy, first_card, num_steps=51, seed=2, p_expert=1.0
    )
    assert returns == [pytest.approx(1.0, abs=1e-5)]
