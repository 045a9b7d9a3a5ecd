"""Playing a loaded policy: `episode_returns` against a host loop that steps each env on its
own and sums rewards until its first done; `record_episode` against the same loop; the
renderings (text trace for POPGym, GIF for CartPole); `scripts/evaluate.py` on a PPO and on a
world-model run."""

from __future__ import annotations

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from run_harness import REPO, tiny_config, tiny_wm_config

from agents.common.training import config_class, run_training
from agents.evaluation import episode_returns, record_episode, render_episode
from agents.policy import load_policy


def _train(config: dict, run_dir):
    return run_training(config_class(config).from_dict(config), run_dir)


@pytest.fixture(scope="module")
def popgym_run(tmp_path_factory):
    return _train(tiny_config(updates=2), tmp_path_factory.mktemp("ppo") / "run")


def host_returns(policy, key, batch, greedy, max_steps):
    """Per env: the sum of rewards until its first done, stepping the unbatched env in Python
    (same key splitting as `agents.evaluation`: reset keys, then per step act / env keys)."""
    act = policy.greedy if greedy else policy.act
    key, k_reset = jax.random.split(key)
    reset_keys = jax.random.split(k_reset, batch)
    pairs = [policy.env.reset(k, policy.env_params) for k in reset_keys]
    obs = jnp.stack([o for o, _ in pairs])
    states = [s for _, s in pairs]
    carry, first = policy.initial_carry(batch), jnp.ones((batch,), bool)
    returns, open_ = np.zeros(batch), np.ones(batch, bool)
    rewards_of_0 = []
    for step_key in jax.random.split(key, max_steps):
        k_act, k_env = jax.random.split(step_key)
        carry, action = act(carry, obs, first, k_act)
        env_keys = jax.random.split(k_env, batch)
        next_obs, dones = [], []
        for b in range(batch):
            o, states[b], r, term, trunc, _ = policy.env.step(env_keys[b], states[b], action[b],
                                                              policy.env_params)
            if open_[b]:
                returns[b] += float(r)
            if b == 0 and open_[0]:
                rewards_of_0.append(float(r))
            next_obs.append(o)
            dones.append(bool(term | trunc))
        open_ &= ~np.array(dones)
        obs, first = jnp.stack(next_obs), jnp.array(dones)
    return returns, ~open_, rewards_of_0


@pytest.mark.parametrize("greedy", [True, False])
def test_episode_returns_match_a_host_loop(popgym_run, greedy):
    policy = load_policy(popgym_run)
    key = jax.random.PRNGKey(7)
    returns, finished = episode_returns(policy, key, 3, greedy=greedy, max_steps=60)
    expected, expected_finished, _ = host_returns(policy, key, 3, greedy, 60)
    np.testing.assert_array_equal(finished, expected_finished)
    assert finished.all()  # RepeatPreviousEasy: 51-step episodes
    np.testing.assert_allclose(returns, expected, rtol=1e-5, atol=1e-5)


def test_recorded_episode_and_its_text_trace(popgym_run, tmp_path):
    policy = load_policy(popgym_run)
    key = jax.random.PRNGKey(3)
    episode = record_episode(policy, key, max_steps=60)
    _, _, rewards = host_returns(policy, key, 1, True, 60)
    n = int(policy.env_params.max_steps_in_episode)  # RepeatPrevious: a fixed length
    assert int(episode.length) == len(rewards) == n
    np.testing.assert_allclose(episode.reward[:n], rewards, atol=1e-6)
    path = render_episode(policy, episode, tmp_path / "episode")
    lines = path.read_text().splitlines()
    assert path.suffix == ".txt" and len(lines) == 2 + n
    assert lines[0].startswith(f"RepeatPrevious: {n} steps, return")


def test_cartpole_renders_a_gif(tmp_path):
    run = _train(tiny_config(updates=1, env={"suite": "gymnax", "id": "CartPole-v1"}),
                 tmp_path / "run")
    policy = load_policy(run)
    episode = record_episode(policy, jax.random.PRNGKey(0), max_steps=40)
    path = render_episode(policy, episode, tmp_path / "episode")
    assert path.suffix == ".gif" and path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def _evaluate_script():
    spec = importlib.util.spec_from_file_location("evaluate", REPO / "scripts" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluate_script_reads_ppo_and_world_model_runs(popgym_run, tmp_path):
    results = _evaluate_script().main([str(popgym_run), "--episodes", "2", "--render", "1"])
    assert results["kind"] == "ppo" and (popgym_run / "episodes" / "episode_0.txt").is_file()
    wm_run = _train(tiny_wm_config(iterations=2), tmp_path / "wm")
    results = _evaluate_script().main([str(wm_run), "--episodes", "2"])
    assert results["kind"] == "world_model"
    assert all(abs(s[m]["mean"]) <= 1.0 for s in results["seeds"] for m in ("greedy", "sampled"))
