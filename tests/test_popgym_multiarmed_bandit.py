"""MultiarmedBandit vs popgym 1.0.7.

popgym draws each payout from its own numpy generator, so hidden draws cannot be matched; the
replay forces payout probabilities of 0 or 1 (outcomes then do not depend on the draw) and
compares every step, and a statistical test checks that an arm with probability p pays out at
rate p (one uniform per step).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import multiarmed_bandit as popgym_bandit

from envs import make
from envs.popgym.multiarmed_bandit import EnvState


@pytest.mark.parametrize(
    ("level", "arms", "length"), [("Easy", 10, 200), ("Medium", 20, 400), ("Hard", 30, 600)]
)
def test_replay_with_certain_arms_matches_popgym(level, arms, length):
    env, params = make(f"MultiarmedBandit{level}")
    np_env = getattr(popgym_bandit, f"MultiarmedBandit{level}")()
    assert env.num_bandits == np_env.num_bandits == arms
    assert params.max_steps_in_episode == np_env.max_episode_length == length
    assert env.action_space(params).n == arms and env.observation_space(params).n == 2
    rng = np.random.default_rng(12)
    np_obs, _ = np_env.reset(seed=12)
    np_env.bandits = (rng.random(arms) < 0.5).astype(np.float32)
    state = EnvState(payout_probs=jnp.asarray(np_env.bandits), time=jnp.int32(0))
    assert np_obs == 0
    keys = jax.random.split(jax.random.key(12), length + 1)
    for t in range(length + 1):
        action = int(rng.integers(arms))
        np_obs, np_reward, np_terminated, np_truncated, _ = np_env.step(action)
        obs, state, reward, terminated, truncated, info = jax.device_get(
            env.step(keys[t], state, jnp.int32(action), params)
        )
        assert int(info["final_observation"]) == np_obs, t
        assert reward == np.float32(np_reward), t
        assert (bool(terminated), bool(truncated)) == (np_terminated, np_truncated), t
        if truncated:
            assert t == length - 1 and int(obs) == 0  # auto-reset observation
            break
    else:
        pytest.fail("episode was not truncated")


def test_payout_rate_matches_probability():
    env, params = make("MultiarmedBanditEasy")
    probs = jnp.linspace(0.05, 0.95, 10)
    num_pulls = 4000
    state = EnvState(payout_probs=probs, time=jnp.int32(0))

    arms = jnp.tile(jnp.arange(10), num_pulls)
    keys = jax.random.split(jax.random.key(13), arms.size)
    pull = jax.jit(jax.vmap(env.step_env, in_axes=(0, None, 0, None)))
    paid = pull(keys, state, arms, params)[0].reshape(num_pulls, 10)
    rate = np.asarray(paid).mean(axis=0)
    sigma = np.sqrt(np.asarray(probs) * (1 - np.asarray(probs)) / num_pulls)
    np.testing.assert_array_less(np.abs(rate - np.asarray(probs)), 5 * sigma)


def test_reset_draws_uniform_probabilities():
    env, params = make("MultiarmedBanditHard")
    _, state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(jax.random.key(14), 200), params
    )
    probs = np.asarray(state.payout_probs)
    assert probs.shape == (200, 30) and probs.min() >= 0 and probs.max() < 1
    assert abs(probs.mean() - 0.5) < 0.01  # 6000 U[0,1) draws: sd of the mean ~0.0037
