"""TrialEnv: the trial is the agent's episode, K inner episodes per trial, the task fixed within a
trial and redrawn across trials; checked against plain-loop bookkeeping of the inner env."""

from functools import partial

import jax
import numpy as np
import pytest

from envs import make
from envs.meta import make_meta_env
from envs.wrappers import LogWrapper, PreviousActionWrapper


@partial(jax.jit, static_argnums=(0, 2, 3, 4))
def rollout(env, params, num_steps, seed=0, action_size=3):
    """Random actions: `(first obs, per step (obs, reward, terminated, truncated, info, M_o))`."""
    key_reset, key_run = jax.random.split(jax.random.PRNGKey(seed))
    obs0, state = env.reset(key_reset, params)

    def body(state, key):
        key_action, key_step = jax.random.split(key)
        action = jax.random.uniform(key_action, (action_size,), minval=-1.0, maxval=1.0)
        obs, state, reward, term, trunc, info = env.step(key_step, state, action, params)
        inner = state.env_state if hasattr(state, "env_state") else state
        return state, (obs, reward, term, trunc, info, inner.task.obs_matrix)

    _, out = jax.lax.scan(body, state, jax.random.split(key_run, num_steps))
    return obs0, out


def run(env, params, num_steps, seed=0):
    return jax.tree.map(np.asarray, rollout(env, params, num_steps, seed))


@pytest.fixture(scope="module")
def pendulum():
    """Pendulum never terminates: every episode lasts exactly `episode_length` = 10 steps."""
    return make_meta_env(
        "meta_gymnax", base_envs=("Pendulum-v1",), episodes_per_trial=3, episode_length=10
    )


@pytest.fixture(scope="module")
def pendulum_trials(pendulum):
    env, params = pendulum
    return env, params, run(env, params, 75)


def test_trial_boundaries_fixed_length(pendulum_trials):
    env, params, (obs0, (obs, reward, term, trunc, info, task)) = pendulum_trials
    done = term | trunc
    # The trial (the agent's episode, whose end resets memory) ends every 3 x 10 steps only.
    assert list(np.flatnonzero(done)) == [29, 59]
    assert not trunc.any()
    # Inside the trial: episodes end every 10 steps and are numbered 0, 1, 2.
    assert list(np.flatnonzero(info["episode_in_trial_done"])) == list(range(9, 75, 10))
    np.testing.assert_array_equal(info["episode_in_trial"], (np.arange(75) // 10) % 3)
    # The episode-start flag marks the first obs of every episode, inside a trial and at the
    # start of the next trial; a trial's final observation (for bootstrapping) is the inner
    # episode's last one, flag 0.
    assert obs0[-1] == 1.0 and obs0.shape == (9,)
    assert list(np.flatnonzero(obs[:, -1])) == list(range(9, 75, 10))
    final = info["final_observation"]
    assert final[29, -1] == 0.0 and final[9, -1] == 1.0
    assert obs.shape == (75, 9) and env.observation_space(params).shape == (9,)


def test_task_fixed_within_trial_and_redrawn_across(pendulum_trials):
    *_, (_, (_, _, _, _, _, task)) = pendulum_trials
    for start, stop in [(0, 29), (29, 59), (59, 75)]:  # states after steps start..stop-1
        assert np.all(task[start:stop] == task[start])
    assert not np.allclose(task[28], task[29])  # new task after trial end (step 29)
    assert not np.allclose(task[58], task[59])


def test_episode_returns_match_plain_sums(pendulum_trials):
    *_, (_, (_, reward, _, _, info, _)) = pendulum_trials
    ends = np.flatnonzero(info["episode_in_trial_done"])
    starts = np.concatenate([[0], ends[:-1] + 1])
    for s, e in zip(starts, ends, strict=True):
        np.testing.assert_allclose(
            info["episode_in_trial_return"][e], reward[s : e + 1].sum(), rtol=1e-5
        )


def test_variable_length_episodes_cartpole():
    """CartPole terminates at random times: the trial ends exactly at the K-th episode end, and
    the K-1 terminations before it are not trial ends."""
    env, params = make_meta_env(
        "meta_gymnax", base_envs=("CartPole-v1",), episodes_per_trial=4, episode_length=200
    )
    _, (obs, _, term, trunc, info, _) = run(env, params, 300, seed=3)
    episode_ends = np.flatnonzero(info["episode_in_trial_done"])
    # Plain-loop reference: count inner episode ends, a trial ends at every 4th.
    expected_trial_ends = [t for i, t in enumerate(episode_ends) if i % 4 == 3]
    assert list(np.flatnonzero(term | trunc)) == expected_trial_ends
    assert len(expected_trial_ends) >= 2  # random CartPole episodes last ~20 steps
    assert not trunc.any()
    # Episodes shorter than the limit: base terminations happened inside trials.
    assert np.diff(episode_ends).min() < 200


def test_trial_step_cap_truncates(pendulum):
    env, params = pendulum
    params = params.replace(max_steps_in_episode=25)
    _, (_, _, term, trunc, info, task) = run(env, params, 75)
    assert list(np.flatnonzero(trunc)) == [24, 49, 74] and not term.any()
    assert not np.allclose(task[23], task[24])


def test_previous_reward_carries_across_episodes_but_not_trials(pendulum):
    """With envs.wrappers on top: the agent's is_first (memory reset) is the trial start; the
    previous action and reward carry over the episode boundary inside a trial."""
    env, params = pendulum
    obs0, (obs, reward, term, trunc, info, _) = run(
        LogWrapper(PreviousActionWrapper(env)), params, 75
    )
    # Layout: [projected obs 8, episode_start 1, previous action 3, previous reward 1, is_first 1]
    assert obs.shape == (75, 14)
    is_first, prev_reward, episode_start = obs[:, -1], obs[:, -2], obs[:, 8]
    assert obs0[-1] == 1 and obs0[8] == 1
    assert list(np.flatnonzero(is_first)) == [29, 59]  # after each trial end: the next trial
    assert list(np.flatnonzero(episode_start)) == list(range(9, 75, 10))
    # Step 9 ended episode 0 inside the trial: the next obs still holds that step's reward.
    np.testing.assert_allclose(prev_reward[9], reward[9])
    assert prev_reward[29] == 0.0 and reward[29] != 0.0
    # LogWrapper reports trial returns (sum of the three episodes).
    np.testing.assert_allclose(info["returned_episode_returns"][29], reward[:30].sum(), rtol=1e-5)


def test_registry_ids_build():
    env, params = make("MetaGymnax-test_envs", episodes_per_trial=2)
    obs, _ = env.reset(jax.random.PRNGKey(0), params)
    assert obs.shape == (9,) and env.inner.names == ("Acrobot-v1",)
    assert params.episodes_per_trial == 2
    assert params.max_steps_in_episode == 2 * 200 + 1  # a cap the 2-episode trial never hits
    train_env, _ = make("MetaGymnax-train")
    assert set(train_env.inner.names).isdisjoint(env.inner.names)
    # Held-out projections are disjoint from the training ids.
    _, train_params = make("MetaGymnax-train")
    _, test_params = make("MetaGymnax-test_projections")
    assert int(train_params.task_distribution.projection_high) <= int(
        test_params.task_distribution.projection_low
    )


@pytest.mark.parametrize(
    "kwargs",
    [dict(episodes_per_trial=0), dict(split="validation"), dict(benchmark="meta_atari")],
)
def test_bad_config_raises(kwargs):
    kwargs = {"benchmark": "meta_gymnax", **kwargs}
    with pytest.raises(ValueError):
        make_meta_env(**kwargs)


def test_vmapped_resets_draw_independent_tasks():
    env, params = make_meta_env(
        "meta_gymnax", base_envs=("Pendulum-v1", "CartPole-v1"), episode_length=8
    )
    keys = jax.random.split(jax.random.PRNGKey(0), 16)
    _, states = jax.jit(jax.vmap(env.reset, (0, None)))(keys, params)
    # Different envs in the batch draw different tasks (base env and projection).
    assert len({tuple(np.asarray(m).ravel().round(5)) for m in states.task.obs_matrix}) == 16
    assert set(np.asarray(states.task.base_index)) == {0, 1}


def test_config_env_options_reach_training_and_evaluation_envs():
    """`env.options` of a PPO config build the trainer's env and every evaluation split alike."""
    from agents.ppo.config import TrainPPOConfig
    from agents.ppo.in_context import meta_split_envs
    from agents.ppo.train import RecurrentPPO

    options = {"episodes_per_trial": 2, "obs_width": 5, "base_envs": ["CartPole-v1"]}
    config = TrainPPOConfig.from_dict({
        "env": {"suite": "meta", "id": "MetaGymnax-train", "options": options},
        "model": {"name": "gru", "d_model": 8},
        "algo": {"num_envs": 2, "num_steps": 4, "num_minibatches": 1, "total_timesteps": 8},
    })
    ppo = RecurrentPPO(config)
    assert int(ppo.env_params.episodes_per_trial) == 2
    for split, (env, params) in meta_split_envs(config, ("train", "test_projections")).items():
        assert int(params.episodes_per_trial) == 2, split
        expected = ppo.env.observation_space(ppo.env_params).shape
        assert env.observation_space(params).shape == expected
