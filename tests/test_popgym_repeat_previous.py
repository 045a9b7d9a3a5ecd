"""RepeatPrevious vs popgym 1.0.7: exact replay from matched decks, and the best return is 1.

popgym's target is the card k-1 steps before the one on show; a port asking for the card k
steps back diverges from the replay at the first rewarded step.
"""

import pytest
from popgym.envs import repeat_previous as popgym_repeat_previous
from popgym_oracle import check_expert_return_is_one, deck_state_from_numpy, replay_one_episode

from envs import make
from envs.popgym.repeat_previous import RepeatPrevious


def target_suit(np_env):
    hand = np_env.deck["player"]
    return np_env.deck.suits_idx[hand[-np_env.k]] if len(hand) >= np_env.k else 0


@pytest.mark.parametrize(
    ("level", "num_decks", "k"), [("Easy", 1, 4), ("Medium", 2, 32), ("Hard", 3, 64)]
)
def test_replay_matches_popgym(level, num_decks, k):
    env, params = make(f"RepeatPrevious{level}")
    np_env = getattr(popgym_repeat_previous, f"RepeatPrevious{level}")()
    assert (env.num_decks, env.k) == (np_env.deck.num_decks, np_env.k) == (num_decks, k)
    replay_one_episode(
        np_env,
        env,
        params,
        deck_state_from_numpy,
        target_suit,
        length=np_env.max_episode_length,
        seed=3,
    )


def test_expert_return_is_one():
    env, params = make("RepeatPreviousEasy")
    np_env = popgym_repeat_previous.RepeatPreviousEasy()
    check_expert_return_is_one(
        np_env, env, params, deck_state_from_numpy, target_suit, num_steps=51, seed=4
    )


def test_rejects_bad_lag():
    with pytest.raises(ValueError, match="k must be"):
        RepeatPrevious(num_decks=1, k=52)
