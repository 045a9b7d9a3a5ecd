"""Autoencode vs popgym 1.0.7: exact replay from matched decks, and the best return is 1.

The observation is popgym's `(mode, suit)` with mode 1 while watching (not inverted).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import autoencode as popgym_autoencode
from popgym_oracle import replay

from envs import make
from envs.popgym.autoencode import EnvState


def state_from_numpy(np_env):
    return EnvState(deck=jnp.asarray(np_env.deck.idx, jnp.int32), time=jnp.int32(0))


def recited_suit(np_env):
    system = np_env.deck["system"]
    return np_env.deck.suits_idx[system[-1]] if np_env.mode == popgym_autoencode.Mode.PLAY else 0


@pytest.mark.parametrize(("level", "num_decks"), [("Easy", 1), ("Medium", 2), ("Hard", 3)])
def test_replay_matches_popgym(level, num_decks):
    env, params = make(f"Autoencode{level}")
    np_env = getattr(popgym_autoencode, f"Autoencode{level}")()
    assert env.num_decks == np_env.deck.num_decks == num_decks
    length = np_env.max_episode_length
    assert params.max_steps_in_episode == length
    returns = replay(
        np_env, env, params, state_from_numpy, recited_suit, num_steps=length + 20, seed=6
    )
    assert len(returns) == 1


def test_expert_return_is_one():
    env, params = make("AutoencodeEasy")
    np_env = popgym_autoencode.AutoencodeEasy()
    returns = replay(
        np_env, env, params, state_from_numpy, recited_suit, num_steps=103, seed=7, p_expert=1.0
    )
    assert returns == [pytest.approx(1.0, abs=1e-5)]


def test_watch_flag_is_one_while_cards_are_shown():
    env, params = make("AutoencodeEasy")
    obs, state = env.reset(jax.random.key(0), params)
    modes = [int(obs[0])]
    for t in range(60):
        obs, state, *_ = env.step(jax.random.key(t), state, 0, params)
        modes.append(int(obs[0]))
    # 51 watch observations (cards 0..50), then the last card arrives flagged PLAY.
    np.testing.assert_array_equal(modes, [1] * 51 + [0] * 10)
