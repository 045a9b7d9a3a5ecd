"""BraxToGymnax against brax's own EpisodeWrapper: observations, rewards, termination vs
truncation ("truncation" info), action repeat and gymnax auto-reset."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("brax")
from brax import envs as brax_envs  # noqa: E402
from brax.envs.wrappers.training import EpisodeWrapper  # noqa: E402

from envs.meta import BraxToGymnax, make_meta_env  # noqa: E402

EPISODE_LENGTH, ACTION_REPEAT = 16, 2  # brax env steps; 8 agent steps per full episode


@pytest.fixture(scope="module")
def pair():
    adapter = BraxToGymnax(
        "inverted_pendulum",
        backend="spring",
        episode_length=EPISODE_LENGTH,
        action_repeat=ACTION_REPEAT,
    )
    raw = brax_envs.get_environment("inverted_pendulum", backend="spring")
    reference = EpisodeWrapper(raw, EPISODE_LENGTH, ACTION_REPEAT)
    return adapter, jax.jit(reference.reset), jax.jit(reference.step)


def run_until_done(pair, action, seed):
    """Step adapter and reference with one constant action; return the step that ended it."""
    adapter, ref_reset, ref_step = pair
    params = adapter.default_params
    key = jax.random.PRNGKey(seed)
    obs, state = adapter.reset(key, params)
    ref_state = ref_reset(key)
    np.testing.assert_allclose(obs, ref_state.obs, rtol=1e-6, atol=1e-6)
    for t in range(EPISODE_LENGTH):
        key = jax.random.fold_in(key, t)
        obs, state, reward, term, trunc, info = adapter.step(key, state, action, params)
        ref_state = ref_step(ref_state, action)
        ref_trunc = bool(ref_state.info["truncation"])
        np.testing.assert_allclose(reward, ref_state.reward, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(info["final_observation"], ref_state.obs, rtol=1e-5, atol=1e-6)
        assert bool(trunc) == ref_trunc
        assert bool(term) == (bool(ref_state.done) and not ref_trunc)
        if bool(ref_state.done):
            # gymnax auto-reset: a fresh initial state drawn from the step's reset key.
            _, key_reset = jax.random.split(key)
            reset_obs, _ = adapter.reset_env(key_reset, params)
            np.testing.assert_allclose(obs, reset_obs, rtol=1e-6)
            assert int(state.time) == 0
            return t, bool(term), bool(trunc)
        np.testing.assert_allclose(obs, ref_state.obs, rtol=1e-5, atol=1e-6)
        assert int(state.time) == ACTION_REPEAT * (t + 1)
    raise AssertionError("episode did not end within the time limit")


def test_spaces(pair):
    adapter = pair[0]
    assert adapter.observation_space(adapter.default_params).shape == (4,)
    space = adapter.action_space(adapter.default_params)
    assert space.shape == (1,) and float(space.low) == -1.0 and float(space.high) == 1.0
    assert adapter.default_params.max_steps_in_episode == EPISODE_LENGTH


def test_time_limit_is_truncation(pair):
    # Holding still keeps the pendulum up: the episode ends at the limit, 16 / 2 agent steps.
    t, term, trunc = run_until_done(pair, jnp.zeros(1), seed=0)
    assert (t, term, trunc) == (EPISODE_LENGTH // ACTION_REPEAT - 1, False, True)


def test_falling_is_termination(pair):
    # Full push: the pole tips past 0.2 rad well before the limit.
    t, term, trunc = run_until_done(pair, jnp.ones(1), seed=1)
    assert t < EPISODE_LENGTH // ACTION_REPEAT - 1 and term and not trunc


def test_time_limit_is_a_param(pair):
    adapter = pair[0]
    params = adapter.default_params.replace(max_steps_in_episode=4)
    _, state = adapter.reset(jax.random.PRNGKey(0), params)
    truncations = []
    for t in range(4):
        _, state, _, _, trunc, _ = adapter.step(jax.random.PRNGKey(t), state, jnp.zeros(1), params)
        truncations.append(bool(trunc))
    assert truncations == [False, True, False, True]  # every 4 brax steps = 2 agent steps


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown brax env"):
        BraxToGymnax("cartpole")
    with pytest.raises(ValueError, match="backend"):
        BraxToGymnax("hopper", backend="mujoco")
    with pytest.raises(ValueError, match="action_repeat"):
        BraxToGymnax("hopper", action_repeat=0)


def test_brax_meta_trial_runs():
    """A projected brax task inside a trial: shapes, and trial ends only after K episodes."""
    env, params = make_meta_env(
        "meta_brax", base_envs=("brax/inverted_pendulum",), episodes_per_trial=2, episode_length=5
    )
    obs, state = env.reset(jax.random.PRNGKey(0), params)
    assert obs.shape == (33,) and env.action_space(params).shape == (8,)

    def body(state, key):
        obs, state, reward, term, trunc, info = env.step(key, state, jnp.zeros(8), params)
        return state, (term | trunc, info["episode_in_trial_done"], reward)

    _, (done, episode_done, reward) = jax.lax.scan(
        body, state, jax.random.split(jax.random.PRNGKey(1), 12)
    )
    episode_ends = np.flatnonzero(np.asarray(episode_done))
    assert list(np.flatnonzero(np.asarray(done))) == list(episode_ends[1::2])
    assert np.all(np.isfinite(np.asarray(reward)))
