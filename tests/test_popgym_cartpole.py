"""PositionOnly / VelocityOnly / NoisyPositionOnly CartPole vs popgym 1.0.7 (gymnasium physics).

The replay copies popgym's initial physics state into ours after each reset and compares every
observation and reward (float32 vs popgym's float64 physics) and the done flags. The noisy env
is replayed with sigma = 0 on both sides; its noise is tested by its statistics. A balancing
controller reading the full state earns the maximum return in all nine envs.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import noisy_position_only_cartpole as popgym_noisy
from popgym.envs import position_only_cartpole as popgym_position
from popgym.envs import velocity_only_cartpole as popgym_velocity
from popgym_expert import expert_episodes
from popgym_replay import check_lengths_and_noise, jax_env, popgym_classes, replay, rollout_checks

from envs.popgym.cartpole import ENV_IDS, EnvState

POPGYM_CLASSES = popgym_classes(
    {
        "PositionOnlyCartPole": popgym_position,
        "VelocityOnlyCartPole": popgym_velocity,
        "NoisyPositionOnlyCartPole": popgym_noisy,
    }
)


BALANCING_GAINS = (0.05, 0.3, 10.0, 2.0)  # on (x, x_dot, theta, theta_dot): > 0 pushes right


def balancing_action(np_env):
    """A linear state-feedback controller that keeps the pole up for 600+ steps."""
    return int(np.dot(BALANCING_GAINS, np_env.state) > 0)


def state_from_numpy(np_env):
    x, x_dot, theta, theta_dot = np.asarray(np_env.state, np.float32)
    return EnvState(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot, time=0)


def sync_from(np_env, env, params, seed_offset):
    def sync(episode):
        np_obs, _ = np_env.reset(seed=seed_offset + episode)
        state = state_from_numpy(np_env)
        return state, env.observe_reset(jax.random.key(0), state, params), np_obs

    return sync


def test_ids_match_popgym_lengths_noise_and_spaces():
    for env, params, np_env in check_lengths_and_noise(ENV_IDS, POPGYM_CLASSES):
        space = env.observation_space(params)
        np.testing.assert_array_equal(np.asarray(space.high), np_env.observation_space.high)
        np.testing.assert_array_equal(np.asarray(space.low), np_env.observation_space.low)
        assert env.action_space(params).n == np_env.action_space.n
    # popgym quirk kept: the noisy family keeps 200 steps at every difficulty.
    assert ENV_IDS["NoisyPositionOnlyCartPoleHard"]()[1].max_steps_in_episode == 200


REPLAY_CASES = [
    ("PositionOnlyCartPoleEasy", popgym_position.PositionOnlyCartPoleEasy),
    ("VelocityOnlyCartPoleMedium", popgym_velocity.VelocityOnlyCartPoleMedium),
    # Noise off on both sides: the noise-free part must match.
    (
        "NoisyPositionOnlyCartPoleHard",
        lambda: popgym_noisy.NoisyPositionOnlyCartPole(noise_sigma=0),
    ),
]


@pytest.mark.parametrize(("env_id", "np_env_fn"), REPLAY_CASES)
def test_replay_matches_popgym(env_id, np_env_fn):
    """Random actions (episodes of ~20 steps): float32 stays within 1e-5 of float64 physics."""
    env, params = jax_env(env_id)
    params = params.replace(noise_sigma=0.0)
    np_env = np_env_fn()
    sync = sync_from(np_env, env, params, 0)
    episodes = replay(
        np_env,
        env,
        params,
        sync,
        lambda rng: int(rng.integers(2)),
        num_steps=300,
        seed=3,
        atol=1e-5,
    )
    assert len(episodes) >= 5
    for ret, length, _ in episodes:  # every step pays 1/max_steps, the failing one included
        assert ret == pytest.approx(length / params.max_steps_in_episode, abs=1e-5)


def resync_from(np_env):
    """Copy popgym's physics state into ours (time kept): the pole's instability doubles float32
    round-off every ~9 steps, so long episodes are compared one step at a time."""

    def resync(state):
        x, x_dot, theta, theta_dot = np.asarray(np_env.state, np.float32)
        return state.replace(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot)

    return resync


@pytest.mark.parametrize(("env_id", "np_env_fn"), REPLAY_CASES)
def test_long_episodes_match_popgym_step_by_step(env_id, np_env_fn):
    """Balancing and late failures: time-limit truncations and terminations, per-step resync."""
    env, params = jax_env(env_id)
    params = params.replace(noise_sigma=0.0)
    np_env = np_env_fn()

    sabotage = {"on": True}

    def choose_action(rng):
        # Every other episode balances to the time limit; the others push right from step 100.
        if np_env.num_steps == 0:
            sabotage["on"] = not sabotage["on"]
        return 1 if sabotage["on"] and np_env.num_steps >= 100 else balancing_action(np_env)

    episodes = replay(
        np_env,
        env,
        params,
        sync_from(np_env, env, params, 50),
        choose_action,
        num_steps=1300,
        seed=4,
        atol=1e-6,
        resync_each_step=resync_from(np_env),
    )
    assert {terminated for _, _, terminated in episodes} == {True, False}
    for ret, length, _ in episodes:
        assert ret == pytest.approx(length / params.max_steps_in_episode, abs=1e-5)


def test_balancing_earns_max_return():
    env, params = jax_env("PositionOnlyCartPoleEasy")
    params = params.replace(max_steps_in_episode=600)  # Hard's length, same compiled step
    np_env = popgym_position.PositionOnlyCartPoleHard()
    episodes = replay(
        np_env,
        env,
        params,
        sync_from(np_env, env, params, 9),
        lambda rng: balancing_action(np_env),
        num_steps=600,
        seed=9,
        atol=1e-6,
        resync_each_step=resync_from(np_env),
    )
    assert episodes == [(pytest.approx(1.0, abs=1e-5), 600, False)]


def balance(key: jax.Array, state: EnvState) -> jax.Array:
    """`balancing_action` on our full state (whatever the env observes)."""
    full_state = jnp.stack([state.x, state.x_dot, state.theta, state.theta_dot])
    return (jnp.dot(jnp.asarray(BALANCING_GAINS), full_state) > 0).astype(jnp.int32)


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_full_state_controller_earns_max_return(env_id):
    """From 128 of our resets, balancing to the time limit returns the maximum, exactly 1.

    Every step pays 1/max_steps (the failing one too), so a return is steps survived / max_steps,
    at most 1: reached by lasting max_steps steps, here without ever failing (truncated only).
    The observation model (positions, velocities, noise) does not change the physics.
    """
    env, params = jax_env(env_id)
    episodes = expert_episodes(env, params, balance, num_envs=128)
    np.testing.assert_allclose(episodes.returns, 1.0, rtol=0, atol=1e-5)
    assert (episodes.lengths == params.max_steps_in_episode).all()
    assert not episodes.terminated.any()


def test_velocity_only_reset_shows_positions():
    """popgym quirk: VelocityOnly's reset returns [x, theta]; its steps return velocities."""
    env, params = jax_env("VelocityOnlyCartPoleMedium")
    obs, state = env.reset(jax.random.key(4), params)
    np.testing.assert_array_equal(obs, [state.x, state.theta])
    obs, state, *_ = env.step(jax.random.key(5), state, 1, params)
    np.testing.assert_array_equal(obs, [state.x_dot, state.theta_dot])
    np_env = popgym_velocity.VelocityOnlyCartPoleMedium()
    np_obs, _ = np_env.reset(seed=0)
    np.testing.assert_array_equal(np_obs, np.asarray(np_env.state, np.float32)[[0, 2]])


@pytest.mark.parametrize("sigma", [0.05, 0.1])  # the box (|theta| <= 0.419) clips larger ones
def test_noise_is_fresh_gaussian_each_step(sigma):
    """obs - [x, theta] ~ N(0, sigma^2) i.i.d. over envs, steps and both components."""
    env, params = jax_env("NoisyPositionOnlyCartPoleEasy")
    params = params.replace(noise_sigma=sigma)
    noise = np.asarray(_noise_samples(env, params, jax.random.key(6)))  # [T, B, 2]
    flat = noise.reshape(-1, 2)
    n = flat.shape[0]
    assert np.abs(flat.mean(axis=0)).max() < 5 * sigma / np.sqrt(n)
    np.testing.assert_allclose(flat.std(axis=0), sigma, rtol=0.05)
    assert abs(np.corrcoef(flat.T)[0, 1]) < 0.05
    lag1 = np.corrcoef(noise[1:].reshape(-1), noise[:-1].reshape(-1))[0, 1]
    assert abs(lag1) < 0.05  # drawn afresh at every step


@functools.partial(jax.jit, static_argnames="env")
def _noise_samples(env, params, key):
    """Observation noise at reset and 15 steps of 256 envs: `[16, 256, 2]`.

    Actions alternate right/left so the pole stays far inside the clipping box.
    """
    key_reset, key_steps = jax.random.split(key)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key_reset, 256), params)
    first = obs - jnp.stack([state.x, state.theta], axis=-1)

    def step(state, inputs):
        key, action = inputs
        # step_env: no auto-reset, so the state after the step is the one observed.
        obs, state, *_ = jax.vmap(env.step_env, in_axes=(0, 0, None, None))(
            jax.random.split(key, 256), state, action, params
        )
        return state, obs - jnp.stack([state.x, state.theta], axis=-1)

    inputs = (jax.random.split(key_steps, 15), jnp.arange(15) % 2)
    _, rest = jax.lax.scan(step, state, inputs)
    return jnp.concatenate([first[None], rest])


def test_noisy_observation_is_clipped_to_box():
    env, params = jax_env("NoisyPositionOnlyCartPoleEasy")
    state = EnvState(x=jnp.float32(4.79), x_dot=0.0, theta=jnp.float32(-0.4), theta_dot=0.0, time=0)
    high = np.asarray(env.observation_space(params).high)
    observe = jax.jit(jax.vmap(env.observe_step, in_axes=(0, None, None)))
    obs = np.asarray(
        observe(jax.random.split(jax.random.key(7), 64), state, params.replace(noise_sigma=1.0))
    )
    assert (np.abs(obs) <= high).all()
    assert (obs[:, 0] == high[0]).any() and (obs[:, 1] == -high[1]).any()  # clipping happened


def test_rollout_jit_vmap_1024_and_returns_in_range():
    env, params = jax_env("NoisyPositionOnlyCartPoleMedium")
    returns = rollout_checks(env, params, num_envs=1024, num_steps=100)
    assert len(returns) >= 1024
    assert (returns > 0).all()  # CartPole pays 1/max_steps on every step
