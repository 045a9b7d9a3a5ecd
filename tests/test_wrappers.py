"""envs.wrappers against plain-loop references on short episodes."""

import copy
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from gymnax.environments import spaces
from gymnax.environments.environment import Environment

import envs
from envs.spaces import MultiDiscrete
from envs.wrappers import (
    FlattenMultiDiscreteAction,
    LogWrapper,
    ObservationEncoding,
    PreviousActionWrapper,
    VecEnv,
    make_agent_env,
)


@struct.dataclass
class EchoState:
    last: jax.Array
    time: jax.Array


@struct.dataclass
class EchoParams:
    max_steps_in_episode: int = 3


class EchoEnv(Environment):
    """Observation = the MultiDiscrete([3, 4]) action just taken; reward = its first component;
    truncated every 3 steps."""

    @property
    def default_params(self):
        return EchoParams()

    def reset_env(self, key, params):
        state = EchoState(last=jnp.zeros((2,), jnp.int32), time=jnp.int32(0))
        return state.last, state

    def step_env(self, key, state, action, params):
        state = EchoState(last=jnp.asarray(action, jnp.int32), time=state.time + 1)
        return state.last, state, action[0].astype(jnp.float32), jnp.bool_(False), {}

    def action_space(self, params=None):
        return MultiDiscrete([3, 4])

    def observation_space(self, params=None):
        return MultiDiscrete([3, 4])


def rollout(env, params, actions, seed=0):
    """Step `env` with `actions[T]` under jit + scan from a reset; returns the reset obs and the
    per-step outputs (obs, reward, terminated, truncated, info), each with a leading T axis."""
    keys = jax.random.split(jax.random.key(seed), len(actions) + 1)

    # Compile time dominates: skip XLA's backend optimisations (behaviour unchanged).
    @partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})
    def run(keys, actions):
        obs0, state = env.reset(keys[0], params)

        def step(state, inputs):
            key, action = inputs
            obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)
            return state, (obs, reward, terminated, truncated, info)

        return obs0, jax.lax.scan(step, state, (keys[1:], actions))[1]

    return jax.device_get(run(keys, jnp.asarray(actions)))


def test_wrapper_forwards_attributes_and_survives_deepcopy():
    env, params = make_agent_env("RepeatPreviousEasy")
    assert env.k == 4 and env.num_decks == 1  # reaches the innermost env through 3 wrappers
    clone = copy.deepcopy(env)
    assert clone.k == 4 and clone is not env
    key = jax.random.key(3)
    np.testing.assert_array_equal(env.reset(key, params)[0], clone.reset(key, params)[0])
    with pytest.raises(AttributeError):
        _ = env.no_such_attribute


def test_log_wrapper_matches_hand_computed_episodes():
    base, params = envs.make("RepeatFirstEasy")  # 51-step episodes
    actions = np.random.default_rng(0).integers(0, 4, size=120)
    _, (_, rewards, terminated, truncated, info) = rollout(LogWrapper(base), params, actions)
    done = terminated | truncated
    np.testing.assert_array_equal(info["returned_episode"], done)
    ends = np.flatnonzero(done)
    np.testing.assert_array_equal(ends, [50, 101])
    start = 0
    for end in ends:
        assert info["returned_episode_lengths"][end] == end - start + 1
        np.testing.assert_allclose(
            info["returned_episode_returns"][end], rewards[start : end + 1].sum(), rtol=1e-6
        )
        start = end + 1


def test_log_wrapper_counts_truncated_episodes():
    env = LogWrapper(EchoEnv())
    actions = np.array([[2, 0], [1, 3], [0, 1], [2, 2], [1, 1], [0, 0], [2, 3]])
    _, (_, _, _, truncated, info) = rollout(env, env.default_params, actions)
    np.testing.assert_array_equal(truncated, [0, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(info["returned_episode"], truncated)
    np.testing.assert_array_equal(info["returned_episode_returns"][[2, 5]], [3.0, 3.0])
    np.testing.assert_array_equal(info["returned_episode_lengths"][[2, 5]], [3, 3])


def test_observation_encoding_one_hot_and_final_observation():
    base, params = envs.make("AutoencodeEasy")  # obs [mode in 2, suit in 4]
    env = ObservationEncoding(base)
    actions = np.zeros(110, np.int32)
    raw0, (raw, *_, raw_info) = rollout(base, params, actions)
    obs0, (obs, _, terminated, truncated, info) = rollout(env, params, actions)

    def reference(x):  # [..., 2] -> [..., 6]
        return np.concatenate([np.eye(2)[x[..., 0]], np.eye(4)[x[..., 1]]], axis=-1)

    np.testing.assert_array_equal(obs0, reference(raw0))
    np.testing.assert_array_equal(obs, reference(raw))
    np.testing.assert_array_equal(
        info["final_observation"], reference(raw_info["final_observation"])
    )
    assert obs.dtype == np.float32 and (terminated | truncated).any()
    space = env.observation_space(params)
    assert space.shape == (6,) and bool(jax.vmap(space.contains)(jnp.asarray(obs)).all())


def test_observation_encoding_discrete_and_box():
    env, params = envs.make("HigherLowerEasy")
    obs, _ = ObservationEncoding(env).reset(jax.random.key(0), params)
    raw, _ = env.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(obs, np.eye(13)[int(raw)])
    env, params = envs.make("PositionOnlyPendulumEasy")
    obs, _ = ObservationEncoding(env).reset(jax.random.key(0), params)
    raw, _ = env.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(obs, np.asarray(raw, np.float32).reshape(-1))


def test_previous_action_and_is_first_across_auto_reset():
    base, params = envs.make("RepeatFirstEasy")
    env = PreviousActionWrapper(ObservationEncoding(base))
    actions = np.random.default_rng(1).integers(0, 4, size=60)
    raw0, (raw, rewards, terminated, truncated, raw_info) = rollout(base, params, actions)
    obs0, (obs, *_, info) = rollout(env, params, actions)
    done = terminated | truncated
    assert obs.shape == (60, 4 + 4 + 1 + 1) and done[50] and done.sum() == 1
    np.testing.assert_array_equal(obs0, np.concatenate([np.eye(4)[raw0], np.zeros(5), [1.0]]))
    for t in range(60):
        continuing = [np.eye(4)[actions[t]], [rewards[t]], [0.0]]
        if done[t]:  # the auto-reset observation starts a new episode
            expected = np.concatenate([np.eye(4)[raw[t]], np.zeros(5), [1.0]])
        else:
            expected = np.concatenate([np.eye(4)[raw[t]], *continuing])
        np.testing.assert_allclose(obs[t], expected, err_msg=f"step {t}")
        final = np.concatenate([np.eye(4)[raw_info["final_observation"][t]], *continuing])
        np.testing.assert_allclose(info["final_observation"][t], final, err_msg=f"step {t}")
    space = env.observation_space(params)
    assert bool(jax.vmap(space.contains)(jnp.asarray(obs)).all())


def test_previous_action_options_and_requirements():
    base, params = envs.make("RepeatFirstEasy")
    env = PreviousActionWrapper(ObservationEncoding(base), include_reward=False)
    assert env.observation_space(params).shape == (4 + 4 + 1,)
    assert env.reset(jax.random.key(0), params)[0].shape == (9,)
    with pytest.raises(TypeError, match="ObservationEncoding"):
        PreviousActionWrapper(base)


def test_previous_multidiscrete_action_is_one_hot_per_component():
    env = PreviousActionWrapper(ObservationEncoding(EchoEnv()))
    _, (obs, *_) = rollout(env, env.default_params, np.array([[2, 1], [0, 3]]))
    # [echo obs one-hot (3+4), previous action one-hot (3+4), reward, is_first]
    np.testing.assert_array_equal(obs[1], [1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0])


def test_flatten_multidiscrete_action():
    env = FlattenMultiDiscreteAction(EchoEnv())
    assert env.action_space().n == 12
    _, (*_, info) = rollout(env, env.default_params, np.array([0, 5, 11]))
    # row-major, last component fastest
    np.testing.assert_array_equal(info["final_observation"], [[0, 0], [1, 1], [2, 3]])
    with pytest.raises(TypeError, match="MultiDiscrete"):
        FlattenMultiDiscreteAction(envs.make("RepeatFirstEasy")[0])


def test_vec_env_matches_single_envs():
    base, params = envs.make("HigherLowerEasy")
    env = VecEnv(base)
    keys = jax.random.split(jax.random.key(5), 3)
    obs, state = env.reset(keys, params)
    actions = jnp.array([0, 1, 2])
    step_keys = jax.random.split(jax.random.key(6), 3)
    batched = env.step(step_keys, state, actions, params)
    for i in range(3):
        single_obs, single_state = base.reset(keys[i], params)
        np.testing.assert_array_equal(obs[i], single_obs)
        single = base.step(step_keys[i], single_state, actions[i], params)
        jax.tree.map(lambda b, s, i=i: np.testing.assert_array_equal(b[i], s), batched, single)


def test_make_agent_env_composition():
    env, params = make_agent_env("RepeatFirstEasy")
    assert isinstance(env, LogWrapper)
    assert isinstance(env._env, PreviousActionWrapper)
    assert isinstance(env._env._env, ObservationEncoding)
    obs, state = env.reset(jax.random.key(0), params)
    assert obs.shape == env.observation_space(params).shape == (10,)
    env, params = make_agent_env("RepeatFirstEasy", previous_action=False)
    assert env.observation_space(params).shape == (4,)
    env, params = make_agent_env("BattleshipEasy")
    assert isinstance(env.action_space(params), spaces.Discrete)
    assert isinstance(env._env._env._env, FlattenMultiDiscreteAction)
    env, params = make_agent_env("BattleshipEasy", flatten_multidiscrete=False)
    assert isinstance(env.action_space(params), MultiDiscrete)


def test_multidiscrete_envs_pass_through_gymnax_gym_wrapper():
    """gymnax's GymnaxToGymWrapper converts our MultiDiscrete (an integer Box to gymnax) and
    steps with an action the converted space samples."""
    import gymnasium
    from gymnax.wrappers.gym import GymnaxToGymWrapper

    from envs import registry

    env, params = registry.make("BattleshipEasy")  # MultiDiscrete([8, 8]) actions
    gym_env = GymnaxToGymWrapper(env, params, seed=0)
    space = gym_env.action_space
    assert isinstance(space, gymnasium.spaces.Box) and space.shape == (2,)
    assert (space.low == 0).all() and (space.high == 7).all() and space.dtype == np.int32
    gym_env.reset(seed=0)
    obs, reward, terminated, truncated, _ = gym_env.step(space.sample())
    assert gym_env.observation_space.contains(np.asarray(obs))
