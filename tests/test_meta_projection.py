"""ProjectedEnv and task identities: shapes, the projection math against numpy, determinism,
distinct tasks, action bounds, the matrix distribution."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from envs.meta.projection import ProjectedEnv, sample_projection
from envs.meta.tasks import make_base_env, make_task, sample_task, task_distribution

NAMES = ("Pendulum-v1", "CartPole-v1", "Acrobot-v1")


def catalog(names, episode_length=None):
    return [(n, *make_base_env(n, episode_length=episode_length)) for n in names]


@pytest.fixture(scope="module")
def env():
    return ProjectedEnv(catalog(NAMES), obs_width=8, action_width=3)


def task_of(env, name, projection_id, seed=0):
    index = env.names.index(name)
    return make_task(env, index, projection_id, seed, env.default_params.base_params)


def test_shapes(env):
    params = task_of(env, "Pendulum-v1", 7)
    assert env.obs_dim_max == 6 and env.action_dim_max == 3  # Acrobot: 6 obs, 3 actions
    assert params.obs_matrix.shape == (8, 6) and params.action_matrix.shape == (3, 3)
    obs, state = env.reset(jax.random.PRNGKey(0), params)
    assert obs.shape == (8,) and obs.dtype == jnp.float32
    assert env.observation_space(params).shape == (8,)
    space = env.action_space(params)
    assert space.shape == (3,) and float(space.low) == -1.0 and float(space.high) == 1.0
    obs, state, reward, term, trunc, _ = env.step(jax.random.PRNGKey(1), state, jnp.ones(3), params)
    assert obs.shape == (8,) and reward.shape == () and term.dtype == bool and trunc.dtype == bool
    # Matrices live in the base env's own block: Pendulum has 3 obs dims and 1 action dim.
    assert np.all(np.asarray(params.obs_matrix)[:, 3:] == 0)
    assert np.all(np.asarray(params.action_matrix)[1:] == 0)


@pytest.mark.parametrize("name", ["Pendulum-v1", "CartPole-v1"])
def test_matches_numpy_reference(env, name):
    """Drive the plain gymnax env with the action computed in numpy and compare every step."""
    params = task_of(env, name, 3)
    base_env, base_params = gymnax.make(name)
    m_o = np.asarray(params.obs_matrix, np.float64)[:, : base_env.obs_shape[0]]
    m_a = np.asarray(params.action_matrix, np.float64)
    space = base_env.observation_space(base_params)
    low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
    finite = (np.abs(low) < 1e30) & (np.abs(high) < 1e30)
    centre, scale = np.where(finite, (low + high) / 2, 0), np.where(finite, (high - low) / 2, 1)

    def ref_obs(o):
        return m_o @ ((np.asarray(o, np.float64) - centre) / scale)

    def ref_action(a):
        u = m_a @ np.clip(a, -1, 1)
        if name == "CartPole-v1":
            return int(np.argmax(u[:2]))
        return -2.0 + (np.clip(u[:1], -1, 1) + 1) / 2 * 4.0  # Pendulum torque in [-2, 2]

    key = jax.random.PRNGKey(5)
    obs, state = env.reset(key, params)
    base_obs, base_state = base_env.reset_env(key, base_params)
    np.testing.assert_allclose(obs, ref_obs(base_obs), rtol=1e-5, atol=1e-5)
    rng = np.random.default_rng(0)
    for t in range(20):
        action = rng.uniform(-1.5, 1.5, size=3).astype(np.float32)  # some outside the box
        key = jax.random.fold_in(key, t)
        obs, state, reward, term, _, info = env.step(key, state, jnp.asarray(action), params)
        key_step, _ = jax.random.split(key)
        base_obs, base_state, base_reward, base_term, _ = base_env.step_env(
            key_step, base_state, jnp.asarray(ref_action(action)), base_params
        )
        np.testing.assert_allclose(
            info["final_observation"], ref_obs(base_obs), rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(reward, base_reward, rtol=1e-5, atol=1e-5)
        if bool(base_term):
            assert bool(term)
            break
        assert not bool(term)


def test_base_time_limit_is_truncation(env):
    """The base env's time limit comes out as `truncated` (not `terminated`), then auto-reset."""
    params = task_of(env, "Pendulum-v1", 3)
    pendulum_params = params.base_params[0].replace(max_steps_in_episode=5)
    params = params.replace(base_params=(pendulum_params, *params.base_params[1:]))
    _, state = env.reset(jax.random.PRNGKey(0), params)
    flags = []
    for t in range(7):
        _, state, _, term, trunc, _ = env.step(jax.random.PRNGKey(t), state, jnp.ones(3), params)
        flags.append((bool(term), bool(trunc), int(state.time)))
    assert flags[4] == (False, True, 0)  # 5th step: time limit, state already reset
    assert all(f[:2] == (False, False) for i, f in enumerate(flags) if i != 4)
    assert flags[6][2] == 2


def test_task_is_a_function_of_its_key(env):
    a, b = task_of(env, "CartPole-v1", 11), task_of(env, "CartPole-v1", 11)
    np.testing.assert_array_equal(a.obs_matrix, b.obs_matrix)
    np.testing.assert_array_equal(a.action_matrix, b.action_matrix)
    # The same task in another catalog (different padding) has the same matrices.
    other = ProjectedEnv(catalog(("CartPole-v1",)), obs_width=8, action_width=3)
    c = make_task(other, 0, 11, 0, other.default_params.base_params)
    np.testing.assert_array_equal(c.obs_matrix, np.asarray(a.obs_matrix)[:, :4])
    np.testing.assert_array_equal(c.action_matrix, np.asarray(a.action_matrix)[:2])


def test_different_tasks_differ(env):
    base = task_of(env, "CartPole-v1", 11)
    others = [
        task_of(env, "CartPole-v1", 12),  # another projection id
        task_of(env, "CartPole-v1", 11, seed=1),  # another seed
    ]
    for other in others:
        assert not np.allclose(base.obs_matrix, other.obs_matrix)
        assert not np.allclose(base.action_matrix, other.action_matrix)
    acrobot = task_of(env, "Acrobot-v1", 11)  # same id, another base env
    assert int(acrobot.base_index) != int(base.base_index)
    assert not np.allclose(acrobot.obs_matrix[:, :4], base.obs_matrix[:, :4])
    # Observations of two projections of the same state differ.
    key = jax.random.PRNGKey(0)
    assert not np.allclose(env.reset(key, base)[0], env.reset(key, others[0])[0])


def test_actions_land_in_base_bounds(env):
    actions = jax.random.uniform(jax.random.PRNGKey(0), (256, 3), minval=-50.0, maxval=50.0)
    for name, check in [
        ("Pendulum-v1", lambda a: (a.shape == (1,)) & np.all(np.abs(a) <= 2.0)),
        ("CartPole-v1", lambda a: a.shape == () and 0 <= int(a) < 2),
        ("Acrobot-v1", lambda a: a.shape == () and 0 <= int(a) < 3),
    ]:
        index = env.names.index(name)
        params = task_of(env, name, 1)
        mapped = jax.jit(
            jax.vmap(lambda a, i=index, p=params: env.base_action(i, a, p.action_matrix))
        )(actions)
        assert all(check(np.asarray(a)) for a in mapped)
        if name == "Pendulum-v1":  # both torque limits reached by large actions
            assert np.isclose(mapped.min(), -2.0) and np.isclose(mapped.max(), 2.0)
        else:  # every discrete action reachable
            assert len(np.unique(np.asarray(mapped))) == env.action_dims[index]


def test_matrix_distribution():
    """Entries of M_o ~ N(0, 1/d_o), of M_a ~ N(0, 1/D_a): check mean and variance."""
    keys = jax.random.split(jax.random.PRNGKey(0), 2000)
    m_o, m_a = jax.jit(jax.vmap(lambda k: sample_projection(k, 5, 2, 4, 7)))(keys)
    assert m_o.shape == (2000, 4, 5) and m_a.shape == (2000, 2, 7)
    for m, var in [(np.asarray(m_o), 1 / 5), (np.asarray(m_a), 1 / 7)]:
        n = m.size
        assert abs(m.mean()) < 4 * np.sqrt(var / n)
        assert abs(m.var() / var - 1) < 4 * np.sqrt(2 / n)


def test_sample_task_follows_distribution(env):
    dist = task_distribution(env, (100, 104), base_weights=[0.0, 1.0, 3.0])
    tasks = jax.jit(jax.vmap(lambda k: sample_task(env, k, dist)))(
        jax.random.split(jax.random.PRNGKey(0), 4000)
    )
    counts = np.bincount(np.asarray(tasks.base_index), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / 4000 - 0.75) < 0.03
    # Each sampled task equals the task built from its (base env, id): at most 2 x 4 distinct.
    distinct = {tuple(np.asarray(m).round(6).ravel()) for m in tasks.obs_matrix[:200]}
    assert 2 <= len(distinct) <= 8


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(projection_ids=(5, 5)),
        dict(projection_ids=(-1, 3)),
        dict(projection_ids=(0, 3), base_weights=[1.0, -1.0, 1.0]),
        dict(projection_ids=(0, 3), base_weights=[1.0, 1.0]),
    ],
)
def test_bad_distribution_raises(env, kwargs):
    with pytest.raises(ValueError):
        task_distribution(env, **kwargs)


def test_bad_widths_and_names_raise():
    with pytest.raises(ValueError, match="obs_width"):
        ProjectedEnv(catalog(("Pendulum-v1",)), obs_width=0, action_width=2)
    with pytest.raises(ValueError, match="unknown meta base env"):
        make_base_env("Pendulum-v0")
