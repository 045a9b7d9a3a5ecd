"""A small CPU meta-RL run: recurrent PPO on projected CartPole trials learns, and its return
rises from the first to the last episode of a trial."""

import jax
import numpy as np
import pytest

from agents.ppo.config import TrainPPOConfig
from agents.ppo.in_context import meta_split_envs, trial_episode_returns
from agents.ppo.meta_experiment import train_meta

# A pool of 4 projections of CartPole (square 4x4 observation maps, so the first observation
# does not reveal the task), 3 episodes of at most 100 steps per trial.
ENV_OPTIONS = dict(
    base_envs=["CartPole-v1"],
    episode_length=100,
    episodes_per_trial=3,
    obs_width=4,
    num_projections=4,
)


@pytest.mark.slow
def test_within_trial_return_rises():
    config = TrainPPOConfig.from_dict(
        {
            "env": {"suite": "meta", "id": "MetaGymnax-train", "options": ENV_OPTIONS},
            "model": {"name": "gru", "d_model": 64, "input_projection": True},
            "network": {"head_hidden": 64},
            "algo": {
                "total_timesteps": 600_000,
                "num_envs": 64,
                "num_steps": 128,
                "update_epochs": 4,
                "num_minibatches": 8,
                "learning_rate": 1e-3,
                "gae_lambda": 0.95,
            },
            "seed": 1,
        }
    )
    ppo, params, train_returns = train_meta(config)
    env, env_params = meta_split_envs(config, ("train",))["train"]
    returns = trial_episode_returns(ppo, params, env, env_params, jax.random.PRNGKey(7), 512)
    agent, random = np.asarray(returns["agent"]), np.asarray(returns["random"])
    assert np.isfinite(agent).all() and agent.shape == (512, 3)

    # It learned: trial returns grew during training and beat a random policy in every episode.
    assert np.nanmean(train_returns[-5:]) > np.nanmean(train_returns[:5]) + 30
    assert np.all(agent.mean(0) > random.mean(0) + 10)
    # The in-trial curve rises: last episode vs first, paired over the same trials.
    rise = agent[:, -1] - agent[:, 0]
    assert rise.mean() > 4 * rise.std() / np.sqrt(rise.size)
    # ...and it is the memory across episodes that carries it: the same agent reset to the
    # trial-start input at every episode start rises less (paired over the same trials).
    control = np.asarray(returns["agent_episode_reset"])
    gap = rise - (control[:, -1] - control[:, 0])
    assert gap.mean() > 4 * gap.std() / np.sqrt(gap.size)
