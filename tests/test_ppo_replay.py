"""Replay equals acting: the update's sequence-mode pass over stored whole-env sequences,
started from the carry stored at the rollout start, reproduces the rollout's log-probs and
values (so the first PPO ratio is 1), with episodes ending (terminated and truncated) inside
the rollout; and truncated steps bootstrap from the value of the final observation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ppo_envs import make_cue_env

from agents.ppo.config import AlgoConfig, NetworkConfig, TrainPPOConfig
from agents.ppo.network import ActorCritic
from agents.ppo.train import RecurrentPPO

T, B = 12, 6


def small_ppo(kind: str, memory: str, squash: str = "clip", shared_memory: bool = True):
    model = {"name": memory, "d_model": 16}
    if memory == "s5":
        model.update(num_layers=2, state_size=8)
    config = TrainPPOConfig(
        model=model,
        network=NetworkConfig(head_hidden=16, action_squash=squash,
                              shared_memory=shared_memory),
        algo=AlgoConfig(num_envs=B, num_steps=T, num_minibatches=2, update_epochs=1,
                        total_timesteps=B * T),
    )
    # Delays up to 6 with a 4-step limit: some episodes terminate, some are truncated.
    env, params = make_cue_env(kind, max_delay=6, max_steps_in_episode=4)
    return RecurrentPPO(config, env, params)


@pytest.mark.parametrize(
    "kind,memory,squash,shared",
    [("discrete", "s5", "clip", True), ("multi_discrete", "gru", "clip", True),
     ("continuous", "s5", "clip", True), ("continuous", "gru", "tanh", True),
     ("discrete", "gru", "clip", False)],
)
def test_replay_reproduces_rollout(kind, memory, squash, shared):
    ppo = small_ppo(kind, memory, squash, shared)
    state = ppo.init(jax.random.PRNGKey(0))
    rollout = jax.jit(ppo.rollout)
    state, _, _ = rollout(state)  # start the checked rollout mid-episode with a used carry
    carry0 = state.carry
    state, traj, _ = rollout(state)
    terminated = np.asarray(traj.terminated)
    truncated = np.asarray(traj.done & ~traj.terminated)
    assert terminated.any() and truncated.any() and np.asarray(traj.is_first[1:]).any()
    assert any(jnp.abs(leaf).max() > 0 for leaf in jax.tree.leaves(carry0))

    log_prob, value, _ = jax.jit(ppo.replay)(state.params, carry0, traj)
    np.testing.assert_allclose(log_prob, traj.log_prob, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(value, traj.value, rtol=1e-5, atol=1e-5)

    # The first minibatch's PPO ratio is 1: no KL, nothing clipped.
    half = jax.tree.map(lambda x: x[:, : B // 2], traj)
    carry_half = jax.tree.map(lambda x: x[: B // 2], carry0)
    _, metrics = jax.jit(ppo.loss)(state.params, carry_half, half, half.reward, half.value,
                                  state.hparams)
    assert abs(float(metrics["loss/approx_kl"])) < 1e-6
    assert float(metrics["loss/clip_fraction"]) == 0.0


def test_separate_critic_memory_is_the_critics_alone():
    """`network.shared_memory=false`: the policy reads only the actor's memory and the value
    only the critic's: perturbing one memory's parameters moves only its own head's output."""
    ppo = small_ppo("discrete", "gru", shared_memory=False)
    state = ppo.init(jax.random.PRNGKey(0))
    _, traj, _ = jax.jit(ppo.rollout)(state)
    replay = jax.jit(ppo.replay)
    log_prob, value, _ = replay(state.params, state.carry, traj)

    def perturbed(name):
        params = jax.tree_util.tree_map_with_path(
            lambda path, x: x + 0.5 if name in jax.tree_util.keystr(path) else x, state.params)
        return replay(params, state.carry, traj)[:2]

    lp_critic, v_critic = perturbed("critic_memory")
    np.testing.assert_array_equal(lp_critic, log_prob)
    assert float(jnp.abs(v_critic - value).max()) > 1e-3
    lp_actor, v_actor = perturbed("'memory'")
    np.testing.assert_array_equal(v_actor, value)
    assert float(jnp.abs(lp_actor - log_prob).max()) > 1e-3


def test_truncation_bootstraps_from_final_observation():
    """final_value[t, b] = V(final observation | memory after step t, no reset). CueRecall's
    final observation of a truncated episode is all zeros except the query flag, which is set
    when the query was due at exactly the truncation step: the stored value must be one of the
    two (which differ)."""
    ppo = small_ppo("discrete", "gru")
    state = ppo.init(jax.random.PRNGKey(1))
    carry0 = state.carry
    _, traj, _ = jax.jit(ppo.rollout)(state)
    truncated = np.asarray(traj.done & ~traj.terminated)
    assert truncated.sum() >= 2
    network, params = ppo.network, state.params

    @jax.jit
    def memory_after(obs, is_first, carry):
        run_memory = lambda module, c, o, f: module.memory(c, o, f)
        return network.apply(params, carry, obs, is_first, method=run_memory)[0]

    final_obs = jnp.zeros((2, traj.obs.shape[-1])).at[1, -1].set(1.0)  # no flag / query flag
    for t, b in zip(*np.nonzero(truncated), strict=True):
        carry_b = jax.tree.map(lambda x, b=b: x[b : b + 1], carry0)
        carry_t = memory_after(traj.obs[: t + 1, b : b + 1], traj.is_first[: t + 1, b : b + 1],
                               carry_b)
        candidates = np.asarray(network.apply(
            params, jax.tree.map(lambda x: jnp.repeat(x, 2, axis=0), carry_t), final_obs,
            jnp.zeros((2,), bool), method=ActorCritic.value_step))
        assert abs(candidates[0] - candidates[1]) > 1e-3
        assert np.min(np.abs(candidates - float(traj.final_value[t, b]))) < 1e-5
    assert np.all(np.asarray(traj.final_value)[~truncated] == 0.0)


def test_update_runs_and_counts_episodes():
    ppo = small_ppo("discrete", "s5")
    state = ppo.init(jax.random.PRNGKey(2))
    state, metrics = jax.jit(ppo.iteration)(state)
    assert int(state.update_step) == 1
    assert float(metrics["episode/count"]) > 0
    assert 0.0 <= float(metrics["episode/return"]) <= 1.0
    for name in ("loss/total", "loss/entropy", "loss/value"):
        assert np.isfinite(float(metrics[name]))
