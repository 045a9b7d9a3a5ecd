"""Every id in `suite("popgym")`: spaces, determinism and batching under jit/vmap/scan.

Cheap by design (one small jitted rollout per id); the family tests compare rules with popgym.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs

FAMILIES = [
    "RepeatFirst",
    "RepeatPrevious",
    "Autoencode",
    "CountRecall",
    "Concentration",
    "HigherLower",
    "MultiarmedBandit",
    "Battleship",
    "MineSweeper",
    "LabyrinthEscape",
    "LabyrinthExplore",
    "PositionOnlyCartPole",
    "VelocityOnlyCartPole",
    "NoisyPositionOnlyCartPole",
    "PositionOnlyPendulum",
    "NoisyPositionOnlyPendulum",
]
BATCH, STEPS = 4, 32
# Compile time dominates these tests: skip XLA's backend optimisations (behaviour unchanged).
jit_fast_compile = partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})


def test_suite_lists_every_family_and_difficulty():
    expected = sorted(f + level for f in FAMILIES for level in ("Easy", "Medium", "Hard"))
    assert envs.suite("popgym") == expected


def _rollout(env, params, keys):
    """Random-action rollout of `B = len(keys)` envs, every draw derived from the env's own key
    (so equal keys give equal episodes). Returns obs `[T, B, ...]`, rewards and dones `[T, B]`,
    the reset states and whether every observation (reset, step, final) lay in the space."""
    obs_space, act_space = env.observation_space(params), env.action_space(params)
    obs0, state0 = jax.vmap(env.reset, in_axes=(0, None))(keys, params)

    def step(state, key):
        act_key, step_key = jax.random.split(key)
        obs, state, reward, terminated, truncated, info = env.step(
            step_key, state, act_space.sample(act_key), params
        )
        return state, (obs, info["final_observation"], reward, terminated | truncated)

    step_keys = jax.vmap(lambda k: jax.random.split(k, STEPS), out_axes=1)(keys)  # [T, B]
    _, (obs, final_obs, reward, done) = jax.lax.scan(
        lambda state, k: jax.vmap(step)(state, k), state0, step_keys
    )
    contains = jax.vmap(obs_space.contains)
    in_space = (
        contains(obs0).all() & jax.vmap(contains)(obs).all() & jax.vmap(contains)(final_obs).all()
    )
    return obs, reward, done, state0, in_space


# Medium/Hard differ from Easy only in sizes: they run with the slow tests.
ROLLOUT_IDS = [
    env_id if env_id.endswith("Easy") else pytest.param(env_id, marks=pytest.mark.slow)
    for env_id in envs.suite("popgym")
]


@pytest.mark.parametrize("env_id", ROLLOUT_IDS)
def test_rollout_spaces_and_determinism(env_id):
    env, params = envs.make(env_id)
    obs_space = env.observation_space(params)
    base = jax.random.split(jax.random.key(0), BATCH)
    keys = base.at[1].set(base[0])  # envs 0 and 1 share a key
    rollout = jit_fast_compile(lambda k: _rollout(env, params, k))
    obs, reward, done, state0, in_space = rollout(keys)
    assert bool(in_space), f"{env_id}: an observation left {obs_space}"
    assert obs.shape == (STEPS, BATCH, *obs_space.shape)
    assert obs.dtype == jnp.dtype(obs_space.dtype)
    assert reward.dtype == jnp.float32 and done.dtype == jnp.bool_
    assert bool(jnp.all(jnp.isfinite(reward))) and float(jnp.abs(reward).max()) <= 1.0
    for series in (obs, reward, done):
        np.testing.assert_array_equal(np.asarray(series[:, 0]), np.asarray(series[:, 1]))
    first, other = (jax.tree.map(lambda x, i=i: np.asarray(x[i]), state0) for i in (0, 2))
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(other), strict=True)
    ), f"{env_id}: different keys gave the same initial state"


def test_vmap_over_1024_envs():
    env, params = envs.make("ConcentrationMedium")
    obs_space = env.observation_space(params)

    def reset_and_step(keys):
        _, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
        actions = jnp.arange(keys.shape[0], dtype=jnp.int32) % env.action_space(params).n
        return jax.vmap(env.step, in_axes=(0, 0, 0, None))(keys, state, actions, params)

    keys = jax.random.split(jax.random.key(1), 1024)
    obs, state, reward, terminated, truncated, _ = jit_fast_compile(reset_and_step)(keys)
    assert obs.shape == (1024, *obs_space.shape)
    assert reward.shape == terminated.shape == truncated.shape == (1024,)
    assert bool(jax.vmap(obs_space.contains)(obs).all())
