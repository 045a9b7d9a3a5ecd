"""GAE against a plain Python loop and against Monte-Carlo returns, with terminations and
truncations inside the rollout."""

import jax
import numpy as np
import pytest

from agents.common.returns import gae, next_values


def python_gae(rewards, values, last_value, final_values, terminated, truncated, gamma, lam):
    """Per env, walk backwards through time with explicit branches (no masks)."""
    T, B = rewards.shape
    adv = np.zeros((T, B))
    for b in range(B):
        following_adv = 0.0
        for t in reversed(range(T)):
            if terminated[t, b]:
                bootstrap, following_adv = 0.0, 0.0
            elif truncated[t, b]:
                bootstrap, following_adv = final_values[t, b], 0.0
            else:
                bootstrap = values[t + 1, b] if t + 1 < T else last_value[b]
            delta = rewards[t, b] + gamma * bootstrap - values[t, b]
            adv[t, b] = delta + gamma * lam * following_adv
            following_adv = adv[t, b]
    return adv


def random_rollout(rng, T=23, B=5):
    rewards = rng.normal(size=(T, B)).astype(np.float32)
    values = rng.normal(size=(T, B)).astype(np.float32)
    last_value = rng.normal(size=B).astype(np.float32)
    final_values = rng.normal(size=(T, B)).astype(np.float32)
    end = rng.random((T, B))
    terminated = end < 0.1
    truncated = (end >= 0.1) & (end < 0.2)
    return rewards, values, last_value, final_values, terminated, truncated


@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (0.97, 0.0)])
def test_gae_matches_python_loop(gamma, lam):
    rng = np.random.default_rng(0)
    rewards, values, last_value, final_values, terminated, truncated = random_rollout(rng)
    assert terminated.any() and truncated.any()
    done = terminated | truncated
    nv = next_values(values, last_value, np.where(truncated, final_values, 0.0), done)
    adv, targets = jax.jit(gae, static_argnums=(5, 6))(
        rewards, values, nv, terminated, done, gamma, lam
    )
    expected = python_gae(rewards, values, last_value, final_values, terminated, truncated,
                          gamma, lam)
    np.testing.assert_allclose(adv, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(targets, expected + values, rtol=1e-5, atol=1e-5)


def test_lambda_one_targets_are_discounted_returns():
    """lam = 1: targets = discounted reward sum to the episode end (terminated: no bootstrap;
    truncated: plus gamma^k V(final observation)), independently of the values in between."""
    rng = np.random.default_rng(1)
    gamma = 0.9
    rewards, values, last_value, final_values, terminated, truncated = random_rollout(rng, 17, 3)
    done = terminated | truncated
    nv = next_values(values, last_value, np.where(truncated, final_values, 0.0), done)
    _, targets = gae(rewards, values, nv, terminated, done, gamma, 1.0)
    T, B = rewards.shape
    for b in range(B):
        for t in range(T):
            ret, discount, k = 0.0, 1.0, t
            while True:
                ret += discount * rewards[k, b]
                discount *= gamma
                if terminated[k, b]:
                    break
                if truncated[k, b]:
                    ret += discount * final_values[k, b]
                    break
                if k == T - 1:
                    ret += discount * last_value[b]
                    break
                k += 1
            np.testing.assert_allclose(targets[t, b], ret, rtol=1e-5, atol=1e-5)


def test_next_values_alignment():
    values = np.arange(12, dtype=np.float32).reshape(4, 3)
    last = np.array([100.0, 101.0, 102.0], np.float32)
    final = np.full((4, 3), -1.0, np.float32)
    done = np.zeros((4, 3), bool)
    done[1, 2] = True
    nv = np.asarray(next_values(values, last, final, done))
    np.testing.assert_array_equal(nv[:3, :2], values[1:, :2])
    np.testing.assert_array_equal(nv[3], last)
    assert nv[1, 2] == -1.0 and nv[0, 2] == values[1, 2]
