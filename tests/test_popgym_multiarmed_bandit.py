"""MultiarmedBandit vs popgym 1.0.7.

popgym draws each payout from its own numpy generator, so hidden draws cannot be matched; the
replay forces payout probabilities of 0 or 1 (outcomes then do not depend on the draw) and
compares every step, and a statistical test checks that an arm with probability p pays out at
rate p (one uniform per step). An oracle pulling the best arm earns the analytic maximum.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import multiarmed_bandit as popgym_bandit
from popgym_expert import expert_episodes

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


def best_arm(key: jax.Array, state: EnvState) -> jax.Array:
    """Oracle: the arm with the highest (hidden) payout probability."""
    return jnp.argmax(state.payout_probs)


def random_arm(key: jax.Array, state: EnvState) -> jax.Array:
    """A uniformly random arm."""
    return jax.random.randint(key, (), 0, state.payout_probs.shape[0])


@pytest.mark.parametrize(("level", "arms"), [("Easy", 10), ("Medium", 20), ("Hard", 30)])
def test_best_arm_earns_max_expected_return(level, arms):
    """Pulling the best arm: mean return over 512 episodes = (K - 1) / (K + 1), within 5 sd.

    A pull of arm a pays +-1/L with E = (2 p_a - 1) / L, so no policy beats always pulling
    p* = max_i p_i in expectation: E[return | p] = 2 p* - 1, and for K uniform p_i,
    E[p*] = K / (K + 1). Its variance is 4 Var(p*) + 4 E[p* (1 - p*)] / L
    = 4 K / ((K + 1) (K + 2)) * (1 / (K + 1) + 1 / L). A uniformly random arm pays at rate
    mean(p): expected return 0, variance at most 4 / (12 K) + 1 / L.
    """
    env, params = make(f"MultiarmedBandit{level}")
    k, length, num_envs = arms, params.max_steps_in_episode, 512
    oracle = expert_episodes(env, params, best_arm, num_envs=num_envs, seed=15)
    chance = expert_episodes(env, params, random_arm, num_envs=num_envs, seed=15)
    for episodes in (oracle, chance):
        assert (episodes.lengths == length).all() and not episodes.terminated.any()
    oracle_sd = np.sqrt(4 * k / ((k + 1) * (k + 2)) * (1 / (k + 1) + 1 / length))
    oracle_mean = oracle.returns.mean()
    assert abs(oracle_mean - (k - 1) / (k + 1)) < 5 * oracle_sd / np.sqrt(num_envs)
    random_sd = np.sqrt(4 / (12 * k) + 1 / length)
    assert abs(chance.returns.mean()) < 5 * random_sd / np.sqrt(num_envs) < oracle_mean
