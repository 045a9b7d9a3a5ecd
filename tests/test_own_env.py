"""Training on an environment the user writes: a gymnax-API class defined here, passed to
`run_training` as an object (no registry, no wrappers by hand), learns its task; the same
env already wrapped with `LogWrapper` is taken as it is; and gymnax ids train by name."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces
from run_harness import tiny_config

from agents.common.run_dir import RunDir
from agents.common.training import make_trainer, run_training
from agents.ppo.config import TrainPPOConfig
from envs.wrappers import LogWrapper


@struct.dataclass
class EchoState(environment.EnvState):
    bit: jax.Array  # int32 [], the bit shown now
    time: int


@struct.dataclass
class EchoParams(environment.EnvParams):
    max_steps_in_episode: int = 8


class Echo(environment.Environment):
    """Shows a random bit; reward 1 for answering it with the same action. 8 steps: a random
    policy earns 4 per episode, the optimal one 8."""

    @property
    def default_params(self) -> EchoParams:
        return EchoParams()

    def reset_env(self, key, params):
        state = EchoState(bit=jax.random.bernoulli(key).astype(jnp.int32), time=0)
        return self.get_obs(state), state

    def step_env(self, key, state, action, params):
        reward = (action == state.bit).astype(jnp.float32)
        state = EchoState(bit=jax.random.bernoulli(key).astype(jnp.int32), time=state.time + 1)
        return self.get_obs(state), state, reward, jnp.array(False), {}  # the time limit:
        # gymnax's `step` truncates at params.max_steps_in_episode (`is_truncated`)

    def get_obs(self, state, params=None, key=None):
        return jax.nn.one_hot(state.bit, 2)

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def observation_space(self, params):
        return spaces.Box(0.0, 1.0, (2,), jnp.float32)


def final_return(run_dir) -> float:
    rows = RunDir(run_dir).read_metrics()
    returns = [r["metrics"]["episode/return"][0] for r in rows[-5:]]
    return float(np.nanmean([np.nan if v is None else v for v in returns]))


def test_a_user_env_object_trains_and_learns(tmp_path):
    config = TrainPPOConfig.from_dict(tiny_config(
        updates=40, algo={"num_envs": 16, "num_steps": 16, "update_epochs": 4,
                          "num_minibatches": 2, "learning_rate": 3e-3, "total_timesteps": 40 * 256},
        model={"name": "gru", "d_model": 16}, network={"head_hidden": 16},
        logger={"updates_per_chunk": 10}))
    run = run_training(config, tmp_path / "run", env=Echo())  # wrapped automatically
    assert RunDir(run).has_checkpoint()
    assert final_return(run) > 7.0  # random: 4, optimal: 8


def test_an_env_already_wrapped_is_taken_as_it_is():
    env = LogWrapper(Echo())
    config = TrainPPOConfig.from_dict(tiny_config())
    ppo = make_trainer(config, env, env.default_params)
    assert ppo.env._env is env  # VecEnv over the user's LogWrapper, nothing added
    raw = make_trainer(config, Echo())
    assert raw.env.observation_space(raw.env_params).shape == (2 + 2 + 1 + 1,)  # + prev a, r, first


def test_gymnax_ids_train_by_name(tmp_path):
    config = TrainPPOConfig.from_dict(tiny_config(
        updates=2, env={"suite": "gymnax", "id": "Pendulum-v1"}))  # continuous actions
    run = run_training(config, tmp_path / "run")
    assert [r["update"] for r in RunDir(run).read_metrics()] == [1, 2]
