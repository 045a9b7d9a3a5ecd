"""Bernoulli bandit meta-tasks and their classical references against analytic values and an
independent recursion."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agents.common.config import EnvConfig, make_env
from envs.meta.bandit import BANDIT_SPLITS, BernoulliBandit, make_bandit
from envs.meta.bandit_references import bayes_optimal_value, reference_payouts, rollout_keys


def test_episode_draws_probabilities_from_the_prior_and_pays_bernoulli():
    env, params = make_bandit("train", horizon=5)
    probs = jax.vmap(lambda k: env.reset(k, params)[1].payout_probs)(
        jax.random.split(jax.random.PRNGKey(0), 4000))
    probs = np.asarray(probs)
    assert np.all(probs[:, 5:] == 0.0)  # inactive arms never pay
    np.testing.assert_allclose(probs[:, :5].mean(), 0.5, atol=0.01)  # Beta(1, 1) mean
    np.testing.assert_allclose(probs[:, :5].var(), 1 / 12, atol=0.005)
    obs, state = env.reset(jax.random.PRNGKey(1), params)
    total = 0.0
    for t in range(5):
        obs, state, reward, terminated, truncated, _ = env.step(
            jax.random.PRNGKey(10 + t), state, jnp.int32(7), params)
        total += float(reward)
        assert bool(terminated) == (t == 4) and not bool(truncated)
    assert total == 0.0  # arm 7 is inactive


def test_references_match_analytic_values():
    params = BANDIT_SPLITS["train"].replace(horizon=30)
    pay = reference_payouts(params, jax.random.PRNGKey(0), 2000)
    se = {k: v.std() / np.sqrt(v.size) for k, v in pay.items()}
    # Random pulls pay the prior mean 1/2; the oracle pays E[max of 5 uniforms] = 5/6.
    assert abs(pay["random"].mean() - 0.5) < 4 * se["random"]
    assert abs(pay["oracle"].mean() - 5 / 6) < 4 * se["oracle"]
    for name in ("greedy", "ucb1", "thompson", "wsls"):
        assert pay["random"].mean() < pay[name].mean() < pay["oracle"].mean(), name
    assert pay["thompson"].mean() > pay["wsls"].mean()


@functools.cache
def _optimal(counts: tuple, left: int) -> float:
    """Independent Bayes-optimal recursion over explicit per-arm (s, f) counts, prior (1, 1)."""
    if left == 0:
        return 0.0
    best = 0.0
    for arm, (s, f) in enumerate(counts):
        p = (1 + s) / (2 + s + f)
        win = list(counts)
        win[arm] = (s + 1, f)
        lose = list(counts)
        lose[arm] = (s, f + 1)
        value = p * (1 + _optimal(tuple(win), left - 1)) + (1 - p) * _optimal(tuple(lose),
                                                                               left - 1)
        best = max(best, value)
    return best


@pytest.mark.parametrize("horizon", [1, 2, 3, 8])
def test_bayes_optimal_value_matches_an_independent_recursion(horizon):
    assert bayes_optimal_value(horizon) == pytest.approx(_optimal(((0, 0), (0, 0)), horizon))


def test_bayes_optimal_value_bounds_every_policy_on_two_arms():
    params = BANDIT_SPLITS["two_arms"].replace(horizon=20)
    optimum = bayes_optimal_value(20)
    pay = reference_payouts(params, jax.random.PRNGKey(1), 4000)
    for name, payouts in pay.items():
        if name == "oracle":  # knows p: above the Bayes-optimal value
            assert payouts.mean() > optimum / 20
            continue
        assert payouts.mean() < optimum / 20 + 3 * payouts.std() / np.sqrt(payouts.size), name


def test_agent_env_sees_the_references_draws():
    # Through the agent's wrappers (previous action and reward in the observation), the same
    # keys give the same bandit and the same payouts as the raw env the references play.
    env, params = make_env(EnvConfig(suite="meta", id="MetaBandit-train"))
    raw = BernoulliBandit()
    resets, steps = rollout_keys(jax.random.PRNGKey(2), 1, params.horizon)
    obs, state = env.reset(resets[0], params)
    _, raw_state = raw.reset(resets[0], params)
    actions = np.random.default_rng(0).integers(0, 10, params.horizon)
    for t, action in enumerate(actions):
        obs, state, reward, *_ = env.step(steps[t, 0], state, jnp.int32(action), params)
        _, raw_state, raw_reward, *_ = raw.step(steps[t, 0], raw_state, jnp.int32(action), params)
        assert float(reward) == float(raw_reward)
        if t < params.horizon - 1:  # (the last step returns the next episode's first obs)
            assert obs[1 + action] == 1.0 and obs[11] == reward  # previous action and reward


@pytest.mark.parametrize("kwargs, match", [
    ({"split": "held_out"}, "unknown bandit split 'held_out'"),
    ({"num_arms": 11}, r"num_arms=11 must be an int in \[1, 10\]"),
    ({"horizon": 0}, "horizon=0"),
    ({"prior_a": -1.0}, "prior_a=-1.0"),
    ({"arms": 3}, r"unknown bandit option\(s\) \['arms'\]"),
])
def test_bad_bandit_options_fail_with_one_line(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_bandit(**kwargs)
