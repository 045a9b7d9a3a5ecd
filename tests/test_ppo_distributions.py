"""Action distributions (distrax-based) and heads against numpy/scipy formulas, a change of
variables for the tanh-squashed Gaussian, and sampling frequencies."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces
from scipy import stats

from agents.common.action_heads import ActionHead, action_kind, env_action
from agents.common.distributions import (
    Categorical,
    MultiCategorical,
    TanhGaussian,
    diag_gaussian,
)
from envs.spaces import MultiDiscrete


def np_log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_categorical_log_prob_entropy_mode_and_sampling():
    logits = np.array([[0.5, -1.0, 2.0, 0.0], [3.0, 3.0, -2.0, 1.0]], np.float32)
    dist = Categorical(jnp.asarray(logits))
    actions = np.array([2, 1])
    log_p = np_log_softmax(logits.astype(np.float64))
    np.testing.assert_allclose(dist.log_prob(actions), log_p[[0, 1], actions], rtol=1e-5)
    np.testing.assert_allclose(dist.entropy(), -(np.exp(log_p) * log_p).sum(-1), rtol=1e-5)
    np.testing.assert_array_equal(dist.mode(), [2, 0])
    samples = jax.vmap(lambda k: Categorical(jnp.asarray(logits[0])).sample(seed=k))(
        jax.random.split(jax.random.PRNGKey(0), 20000))
    freq = np.bincount(np.asarray(samples), minlength=4) / 20000
    np.testing.assert_allclose(freq, np.exp(log_p[0]), atol=0.015)


def test_multi_categorical_is_a_product_of_independent_components():
    rng = np.random.default_rng(0)
    nvec = (3, 5, 2)
    logits = rng.normal(size=(4, sum(nvec))).astype(np.float32)
    actions = np.stack([rng.integers(0, n, 4) for n in nvec], -1)
    dist = MultiCategorical(jnp.asarray(logits), nvec)
    parts = np.split(logits.astype(np.float64), np.cumsum(nvec)[:-1], axis=-1)
    log_ps = [np_log_softmax(p) for p in parts]
    expected = sum(lp[np.arange(4), actions[:, i]] for i, lp in enumerate(log_ps))
    np.testing.assert_allclose(dist.log_prob(actions), expected, rtol=1e-5)
    entropy = sum(-(np.exp(lp) * lp).sum(-1) for lp in log_ps)
    np.testing.assert_allclose(dist.entropy(), entropy, rtol=1e-5)
    sample = dist.sample(seed=jax.random.PRNGKey(1))
    assert sample.shape == (4, 3) and np.all(np.asarray(sample) < np.array(nvec))


def test_diag_gaussian_matches_scipy():
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(5, 3)).astype(np.float32)
    log_std = rng.normal(size=(5, 3)).astype(np.float32) * 0.3
    action = rng.normal(size=(5, 3)).astype(np.float32)
    dist = diag_gaussian(jnp.asarray(mean), jnp.asarray(log_std))
    expected = stats.norm.logpdf(action, mean, np.exp(log_std)).sum(-1)
    np.testing.assert_allclose(dist.log_prob(action), expected, rtol=1e-5)
    np.testing.assert_allclose(dist.entropy(), stats.norm.entropy(mean, np.exp(log_std)).sum(-1),
                               rtol=1e-5)
    keys = jax.random.split(jax.random.PRNGKey(2), 20000)
    samples = jax.vmap(lambda k: dist.sample(seed=k))(keys)
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(samples.std(0), np.exp(log_std), rtol=0.05)


def test_tanh_gaussian_is_a_change_of_variables_into_the_box():
    rng = np.random.default_rng(3)
    mean = rng.normal(size=(6, 2)).astype(np.float32)
    log_std = (rng.normal(size=(6, 2)) * 0.3).astype(np.float32)
    low, high = np.array([-2.0, 0.0], np.float32), np.array([2.0, 5.0], np.float32)
    dist = TanhGaussian(jnp.asarray(mean), jnp.asarray(log_std), low, high)
    u = rng.normal(size=(6, 2))
    half = (high - low) / 2
    action = (low + half * (np.tanh(u) + 1)).astype(np.float32)
    # p(a) = N(u; mean, std) / |da/du|, da/du = half * (1 - tanh(u)^2), summed over d in logs
    expected = (stats.norm.logpdf(u, mean, np.exp(log_std))
                - np.log(half * (1 - np.tanh(u) ** 2))).sum(-1)
    np.testing.assert_allclose(dist.log_prob(action), expected, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(dist.mode(), low + half * (np.tanh(mean) + 1), rtol=1e-5)
    np.testing.assert_allclose(dist.entropy(), stats.norm.entropy(mean, np.exp(log_std)).sum(-1),
                               rtol=1e-5)  # the pre-squash Gaussian's
    samples = np.asarray(dist.sample(seed=jax.random.PRNGKey(4), sample_shape=20000))
    assert ((samples >= low) & (samples <= high)).all()
    quantile = low + half * (np.tanh(mean[0] + np.exp(log_std[0]) * 0.5) + 1)  # P(u < m+s/2)
    np.testing.assert_allclose((samples[:, 0] < quantile).mean(0), stats.norm.cdf(0.5),
                               atol=0.015)
    assert np.isfinite(dist.log_prob(jnp.broadcast_to(high, (6, 2)))).all()
    assert np.isfinite(dist.log_prob(jnp.broadcast_to(low, (6, 2)))).all()


def test_tanh_head_needs_a_bounded_box_and_samples_inside_it():
    box = spaces.Box(jnp.array([-1.0, 0.0]), jnp.array([1.0, 3.0]), (2,), jnp.float32)
    head = ActionHead.for_space(box, squash="tanh")
    features = jnp.ones((5, 4))
    params = head.init(jax.random.PRNGKey(0), features)
    dist = head.apply(params, features)
    assert isinstance(dist, TanhGaussian)
    action = dist.sample(seed=jax.random.PRNGKey(1))
    assert bool(jax.vmap(box.contains)(action).all())
    np.testing.assert_array_equal(env_action(box, action), action)  # already inside
    with pytest.raises(ValueError, match="needs a bounded Box"):
        ActionHead.for_space(spaces.Box(-jnp.inf, jnp.inf, (2,), jnp.float32), squash="tanh")
    with pytest.raises(ValueError, match=r"action squash 'soft' is not one of \['clip', 'tanh'\]"):
        ActionHead.for_space(box, squash="soft")


@pytest.mark.parametrize(
    "space,kind,out_shape",
    [
        (spaces.Discrete(5), "discrete", ()),
        (MultiDiscrete([3, 4]), "multi_discrete", (2,)),
        (spaces.Box(-1.0, 1.0, (2,), jnp.float32), "continuous", (2,)),
    ],
)
def test_action_head_for_each_space(space, kind, out_shape):
    assert action_kind(space)[0] == kind
    head = ActionHead.for_space(space)
    features = jnp.ones((7, 6))
    params = head.init(jax.random.PRNGKey(0), features)
    dist = head.apply(params, features)
    action = dist.sample(seed=jax.random.PRNGKey(1))
    assert action.shape == (7, *out_shape)
    assert dist.log_prob(action).shape == (7,)
    assert bool(jax.vmap(space.contains)(env_action(space, action)).all())
    if kind == "continuous":  # out-of-bounds samples are clipped into the Box
        assert bool(jax.vmap(space.contains)(env_action(space, action * 100)).all())


def test_unsupported_space_is_rejected():
    with pytest.raises(TypeError, match="unsupported action space"):
        action_kind(spaces.Box(0.0, 1.0, (2, 2), jnp.float32))
