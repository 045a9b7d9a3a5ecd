"""`load_policy(run_dir)` against the trainer that wrote the run.

Reference: the trainer rebuilt from the run's config with its whole state restored from the
checkpoint. For the same key, the loaded policy must pick the trainer's own action — PPO over a
70-step stream of episodes (memory carried, resets where episodes end), the world-model agent for
one acting step from the saved acting state — and `greedy` the distribution's mode.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from run_harness import tiny_config, tiny_wm_config

from agents.common.action_heads import env_action
from agents.common.checkpoint import CheckpointError
from agents.common.run_dir import RunDir
from agents.common.training import (
    config_class,
    load_run_config,
    make_trainer,
    restore_state,
    run_training,
)
from agents.policy import load_policy


def _train(config: dict, run_dir):
    return run_training(config_class(config).from_dict(config), run_dir)


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    config = tiny_config(updates=2, num_seeds=2)
    return _train(config, tmp_path_factory.mktemp("ppo") / "run")


def test_ppo_policy_acts_like_the_trainer(ppo_run):
    policy = load_policy(ppo_run, seed_index=1)
    assert policy.kind == "ppo" and policy.done == 2
    ppo = make_trainer(load_run_config(ppo_run))
    state, _ = restore_state(ppo, RunDir(ppo_run))
    params = jax.tree.map(lambda x: x[1], state.params)

    batch = 3
    obs, env_state = ppo.env.reset(jax.random.split(jax.random.PRNGKey(0), batch),
                                   ppo.env_params)
    carry_ref = carry = policy.initial_carry(batch)
    reset = jnp.ones((batch,), bool)
    resets = 0
    act = jax.jit(ppo.act, static_argnums=5)
    step = jax.jit(ppo.env.step)
    for t in range(70):
        k_act, k_env = jax.random.split(jax.random.PRNGKey(100 + t))
        _, greedy = policy.greedy(carry, obs, reset, k_act)
        _, ref_greedy, _, _ = act(params, carry_ref, obs, reset, k_act, True)
        np.testing.assert_array_equal(greedy, env_action(ppo.action_space, ref_greedy))
        carry, action = policy.act(carry, obs, reset, k_act)
        carry_ref, ref, _, _ = act(params, carry_ref, obs, reset, k_act, False)
        np.testing.assert_array_equal(action, env_action(ppo.action_space, ref))
        obs, env_state, _, terminated, truncated, _ = step(
            jax.random.split(k_env, batch), env_state, action, ppo.env_params)
        reset = terminated | truncated
        resets += int(reset.sum())
    assert resets > 0  # the stream crossed episode boundaries


def test_ppo_policy_refuses_bad_requests(ppo_run, tmp_path):
    with pytest.raises(ValueError, match=r"seed_index=2 is out of range: the run trained 2"):
        load_policy(ppo_run, seed_index=2)
    RunDir(tmp_path).write_config(RunDir(ppo_run).read_config())
    with pytest.raises(ValueError, match="has no checkpoint yet"):
        load_policy(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "checkpoint.ckpt").write_bytes((RunDir(ppo_run).checkpoint_path).read_bytes())
    stored = RunDir(ppo_run).read_config()
    RunDir(other).write_config({**stored, "seed": 5})
    with pytest.raises(CheckpointError, match="different config"):
        load_policy(other)


def test_world_model_policy_acts_like_the_agent(tmp_path):
    run = _train(tiny_wm_config(iterations=4), tmp_path / "wm")
    policy = load_policy(run)
    assert policy.kind == "world_model" and policy.done == 4
    agent = make_trainer(load_run_config(run))
    states, _ = restore_state(agent, RunDir(run))
    state = jax.tree.map(lambda x: x[0], states)
    for seed in range(3):
        key = jax.random.PRNGKey(seed)
        _, record, _ = agent.act(state, key)
        _, action = policy.act(state.wm_state, state.obs, state.is_first, key)
        np.testing.assert_array_equal(action, record.action)
    # the carry the policy returns is the agent's next acting state
    after, _, _ = agent.act(state, key)
    carry, _ = policy.act(state.wm_state, state.obs, state.is_first, key)
    for a, b in zip(jax.tree.leaves(carry), jax.tree.leaves(after.wm_state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
