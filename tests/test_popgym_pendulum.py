"""PositionOnly / NoisyPositionOnly Pendulum vs popgym 1.0.7 (gymnasium physics).

The replay copies popgym's initial state after each reset and compares observations and rewards
(float32 vs float64: within 1e-3 after 200 steps) and the done flags. The noisy env is replayed
with sigma = 0 on both sides; its noise is tested by its statistics. A swing-up controller
reading the full state reaches a near-optimal return in all six envs.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from popgym.envs import noisy_position_only_pendulum as popgym_noisy
from popgym.envs import position_only_pendulum as popgym_position
from popgym_expert import expert_episodes
from popgym_replay import (
    LEVELS,
    check_lengths_and_noise,
    jax_env,
    popgym_classes,
    replay,
    rollout_checks,
)

from envs.popgym.pendulum import ENV_IDS, REWARD_LOW, EnvState, angle_normalize

POPGYM_CLASSES = popgym_classes(
    {"PositionOnlyPendulum": popgym_position, "NoisyPositionOnlyPendulum": popgym_noisy}
)


def state_from(theta, theta_dot):
    return EnvState(theta=jnp.float32(theta), theta_dot=jnp.float32(theta_dot), time=0)


def sync_from(np_env, env, params, seed_offset, initial_state=None):
    """Reset popgym (optionally forcing its state) and copy its state into ours."""

    def sync(episode):
        np_obs, _ = np_env.reset(seed=seed_offset + episode)
        if initial_state is not None:
            np_env.state = np.asarray(initial_state, np.float64)
            np_obs = np_env._get_obs()[:-1]
        state = state_from(*np_env.state)
        return state, env.observation(jax.random.key(0), state, params), np_obs

    return sync


def test_ids_match_popgym_lengths_noise_and_spaces():
    for env, params, np_env in check_lengths_and_noise(ENV_IDS, POPGYM_CLASSES):
        obs_space, action_space = env.observation_space(params), env.action_space(params)
        assert (obs_space.low, obs_space.high, obs_space.shape) == (-1.0, 1.0, (2,))
        assert (action_space.low, action_space.high) == (-2.0, 2.0)
        assert action_space.shape == np_env.action_space.shape
    lengths = [ENV_IDS[f"PositionOnlyPendulum{lv}"]()[1].max_steps_in_episode for lv in LEVELS]
    assert lengths == [200, 150, 100]
    assert ENV_IDS["NoisyPositionOnlyPendulumHard"]()[1].max_steps_in_episode == 200


@pytest.mark.parametrize(
    ("env_id", "np_env_fn"),
    [
        ("PositionOnlyPendulumMedium", popgym_position.PositionOnlyPendulumMedium),
        # Noise off on both sides: the noise-free part must match.
        (
            "NoisyPositionOnlyPendulumEasy",
            lambda: popgym_noisy.NoisyPositionOnlyPendulum(noise_sigma=0),
        ),
    ],
)
def test_replay_matches_popgym(env_id, np_env_fn):
    """Random torques in [-2.5, 2.5] (clipped to 2) for two full episodes."""
    env, params = jax_env(env_id)
    params = params.replace(noise_sigma=0.0)
    np_env = np_env_fn()
    length = params.max_steps_in_episode

    def choose_action(rng):
        return rng.uniform(-2.5, 2.5, size=1).astype(np.float32)

    episodes = replay(
        np_env,
        env,
        params,
        sync_from(np_env, env, params, 20),
        choose_action,
        num_steps=2 * length,
        seed=5,
        atol=1e-3,
    )
    assert [(n, terminated) for _, n, terminated in episodes] == [(length, False)] * 2


def test_upright_at_rest_earns_max_return():
    """Upright, still and unforced: zero cost, reward 1/max_steps each step, return exactly 1."""
    env, params = jax_env("PositionOnlyPendulumMedium")
    np_env = popgym_position.PositionOnlyPendulumMedium()
    sync = sync_from(np_env, env, params, 0, initial_state=(0.0, 0.0))
    zero = np.zeros(1, np.float32)
    episodes = replay(np_env, env, params, sync, lambda rng: zero, num_steps=150, seed=0, atol=1e-6)
    assert episodes == [(pytest.approx(1.0, abs=1e-5), 150, False)]


def swing_up(key: jax.Array, state: EnvState) -> jax.Array:
    """Full-state swing-up: energy pumping at full torque, PD hold within 0.6 rad of upright.

    theta'' = 15 sin(theta) + 3 u, so E = theta_dot^2 / 2 + 15 (cos(theta) - 1) (0 upright at
    rest) obeys E' = 3 u theta_dot: pumping pushes E up to 0, the hold makes upright stable.
    """
    angle = angle_normalize(state.theta)
    energy = 0.5 * state.theta_dot**2 + 15 * (jnp.cos(state.theta) - 1)
    pump = -100 * energy * state.theta_dot
    hold = -(10 * angle + 2 * state.theta_dot)
    return jnp.clip(jnp.where(jnp.abs(angle) < 0.6, hold, pump), -2, 2)[None]


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_swing_up_earns_near_optimal_return(env_id):
    """From 256 of our resets: balanced at the end, mean gymnasium return >= -150.

    The per-step maximum, 1/max_steps, needs zero cost (upright, still, no torque); the last
    10 steps of every episode come within 1e-3 cost of it. Swinging up from below costs what no
    policy avoids and the optimum has no closed form. In gymnasium's units,
    G = sum of -cost = (return - 1) * 8.1368 * max_steps, trained agents average about -140 to
    -150 over 200 steps from these starts, and a dynamic-programming policy (401 x 321 grid,
    41 torques; run once, offline) averages -131 from these 256: -150 is within 15% of that.
    Costs are >= 0, so G >= -150 binds the 100- and 150-step episodes too. Noise does not
    change the physics.
    """
    env, params = jax_env(env_id)
    length = params.max_steps_in_episode
    episodes = expert_episodes(env, params, swing_up, num_envs=256)
    assert (episodes.lengths == length).all() and not episodes.terminated.any()
    cost = (1 - episodes.rewards * length) * (-REWARD_LOW / 2)  # gymnasium's cost per step
    assert cost[:, -10:].max() < 1e-3
    gymnasium_returns = (episodes.returns - 1) * (-REWARD_LOW / 2) * length
    assert gymnasium_returns.mean() >= -150


def test_worst_state_costs_minus_one_per_episode():
    """Hanging down at full speed with full torque: reward -1/max_steps (popgym's floor)."""
    env, params = jax_env("PositionOnlyPendulumMedium")
    state = state_from(np.pi, 8.0)
    _, _, reward, _, _ = env.step_env(jax.random.key(0), state, jnp.array([2.0]), params)
    assert float(reward) == pytest.approx(-1 / 150, abs=1e-7)


def test_noise_is_fresh_gaussian_each_step():
    """obs - [cos, sin] ~ N(0, sigma^2) i.i.d. over envs, steps and both components.

    Only entries at least 4 sigma inside the [-1, 1] clip are used; since cos^2 + sin^2 = 1,
    a small sigma leaves entries where both components are inside.
    """
    sigma = 0.05
    env, params = jax_env("NoisyPositionOnlyPendulumEasy")
    noise, clean = map(
        np.asarray, _noise_samples(env, params.replace(noise_sigma=sigma), jax.random.key(6))
    )
    unclipped = np.abs(clean) < 1 - 4 * sigma  # [T, B, 2]
    flat = noise[unclipped]
    assert flat.size > 3000
    assert abs(flat.mean()) < 5 * sigma / np.sqrt(flat.size)
    assert flat.std() == pytest.approx(sigma, rel=0.05)
    both = unclipped.all(axis=-1)
    assert abs(np.corrcoef(noise[both].T)[0, 1]) < 0.06
    lagged = unclipped[1:] & unclipped[:-1]
    lag1 = np.corrcoef(noise[1:][lagged], noise[:-1][lagged])[0, 1]
    assert abs(lag1) < 0.06  # drawn afresh at every step


@functools.partial(jax.jit, static_argnames="env")
def _noise_samples(env, params, key):
    """Noise and clean observation at reset and 15 steps of 256 envs: two `[16, 256, 2]`.

    Gravity off and zero torque, so each pendulum drifts slowly and many stay off the clip.
    """
    params = params.replace(g=0.0)
    key_reset, key_steps = jax.random.split(key)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key_reset, 256), params)

    def clean(state):
        return jnp.stack([jnp.cos(state.theta), jnp.sin(state.theta)], axis=-1)

    def step(state, key):
        # step_env: no auto-reset, so the state after the step is the one observed.
        obs, state, *_ = jax.vmap(env.step_env, in_axes=(0, 0, None, None))(
            jax.random.split(key, 256), state, jnp.zeros(1), params
        )
        return state, (obs - clean(state), clean(state))

    _, (noise, cleans) = jax.lax.scan(step, state, jax.random.split(key_steps, 15))
    first = obs - clean(state)
    return jnp.concatenate([first[None], noise]), jnp.concatenate([clean(state)[None], cleans])


def test_noisy_observation_is_clipped_to_unit_box():
    env, params = jax_env("NoisyPositionOnlyPendulumEasy")
    observe = jax.jit(jax.vmap(env.observation, in_axes=(0, None, None)))
    obs = np.asarray(observe(jax.random.split(jax.random.key(7), 64), state_from(0.0, 0.0), params))
    assert (np.abs(obs) <= 1).all()
    assert (obs[:, 0] == 1).any()  # cos(0) = 1 plus positive noise is clipped to 1


def test_rollout_jit_vmap_1024_and_returns_in_range():
    env, params = jax_env("NoisyPositionOnlyPendulumHard")
    returns = rollout_checks(env, params, num_envs=1024, num_steps=205)
    assert len(returns) == 1024  # one 200-step episode each
