"""Autoencode vs popgym 1.0.7: exact replay from matched decks, and the best return is 1.

The observation is popgym's `(mode, suit)` with mode 1 while watching (not inverted).
"""

import jax
import numpy as np
import pytest
from popgym.envs import autoencode as popgym_autoencode
from popgym_oracle import check_expert_return_is_one, deck_state_from_numpy, replay_one_episode

from envs import make


def recited_suit(np_env):
    system = np_env.deck["system"]
    return np_env.deck.suits_idx[system[-1]] if np_env.mode == popgym_autoencode.Mode.PLAY else 0


@pytest.mark.parametrize(("level", "num_decks"), [("Easy", 1), ("Medium", 2), ("Hard", 3)])
def test_replay_matches_popgym(level, num_decks):
    env, params = make(f"Autoencode{level}")
    np_env = getattr(popgym_autoencode, f"Autoencode{level}")()
    assert env.num_decks == np_env.deck.num_decks == num_decks
    replay_one_episode(
        np_env,
        env,
        params,
        deck_state_from_numpy,
        recited_suit,
        length=np_env.max_episode_length,
        seed=6,
    )


def test_expert_return_is_one():
    env, params = make("AutoencodeEasy")
    np_env = popgym_autoencode.AutoencodeEasy()
    check_expert_return_is_one(
        np_env, env, params, deck_state_from_numpy, recited_suit, num_steps=103, seed=7
    )


def test_watch_flag_is_one_while_cards_are_shown():
    env, params = make("AutoencodeEasy")
    obs, state = env.reset(jax.random.key(0), params)
    modes = [int(obs[0])]
    for t in range(60):
        obs, state, *_ = env.step(jax.random.key(t), state, 0, params)
        modes.append(int(obs[0]))
    # 51 watch observations (cards 0..50), then the last card arrives flagged PLAY.
    np.testing.assert_array_equal(modes, [1] * 51 + [0] * 10)
