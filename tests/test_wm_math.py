"""DreamerV3 numerics: symlog, two-hot, λ-returns, return scale, latents, KL balancing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agents.common.dreamer_math import (
    ReturnScale,
    TwoHot,
    lambda_returns,
    symexp,
    symlog,
    twohot,
)
from agents.world_models.latents import (
    categorical_kl,
    kl_balance_loss,
    sample_straight_through,
    unimix_logits,
)


def test_symlog_symexp_round_trip_and_values():
    x = jnp.array([-1e6, -20.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 20.0, 1e6])
    np.testing.assert_allclose(symexp(symlog(x)), x, rtol=1e-5)
    np.testing.assert_allclose(symlog(jnp.e - 1.0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(symlog(-(jnp.e - 1.0)), -1.0, rtol=1e-6)


def test_twohot_weights_interpolate_linearly():
    bins = jnp.array([-2.0, -0.5, 0.0, 1.0, 4.0])
    y = jnp.array([-2.0, -1.0, 0.25, 1.0, 3.0, 4.0, 9.0, -7.0])
    w = np.asarray(twohot(y, bins))
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    # Reference: weights on the bracketing bins by distance; clipped outside.
    for yi, wi in zip(np.asarray(y), w, strict=True):
        yc = np.clip(yi, -2.0, 4.0)
        ref = np.zeros(5)
        k = np.searchsorted(np.asarray(bins), yc, side="right") - 1
        k = min(max(k, 0), 3)
        lo, hi = float(bins[k]), float(bins[k + 1])
        ref[k], ref[k + 1] = (hi - yc) / (hi - lo), (yc - lo) / (hi - lo)
        np.testing.assert_allclose(wi, ref, atol=1e-6)
    assert np.all((w > 0).sum(-1) <= 2)


def test_twohot_head_round_trip():
    head = TwoHot.create()
    y = jnp.array([-300.0, -1.0, -0.0371, 0.0, 0.02, 1.0, 5.5, 1234.5])
    target = twohot(symlog(y), head.bins)
    logits = jnp.log(jnp.maximum(target, 1e-30))
    np.testing.assert_allclose(head.mean(logits), y, rtol=2e-5, atol=1e-6)
    # At the two-hot distribution itself the loss equals the target's entropy.
    entropy = -jnp.sum(jnp.where(target > 0, target * jnp.log(target), 0.0), -1)
    np.testing.assert_allclose(head.loss(logits, y), entropy, atol=1e-5)
    with pytest.raises(ValueError, match="num_bins"):
        TwoHot.create(num_bins=1)


def test_twohot_unit_scales_targets_and_means():
    # In units u the head is DreamerV3's head applied to y / u: same loss, mean times u.
    unit = 1 / 104
    scaled, plain = TwoHot.create(unit=unit), TwoHot.create()
    y = jnp.array([-1 / 104, 0.0, 1 / 104, 0.5])
    logits = jax.random.normal(jax.random.PRNGKey(0), (4, 255))
    np.testing.assert_allclose(scaled.loss(logits, y), plain.loss(logits, y / unit), rtol=1e-6)
    np.testing.assert_allclose(scaled.mean(logits), unit * plain.mean(logits), rtol=1e-6)
    # +-1/104 is +-1 unit: the two-hot target of +1/104 puts no weight on the zero bin.
    target = twohot(symlog(y / unit), scaled.bins)
    assert float(target[2, 127]) == 0.0 and float(twohot(symlog(y), plain.bins)[2, 127]) > 0.9
    with pytest.raises(ValueError, match="unit"):
        TwoHot.create(unit=0.0)


def test_lambda_returns_match_loop():
    rng = np.random.default_rng(0)
    horizon, batch, gamma, lam = 7, 3, 0.9, 0.8
    r = rng.normal(size=(horizon, batch)).astype(np.float32)
    c = rng.uniform(size=(horizon, batch)).astype(np.float32)
    v = rng.normal(size=(horizon + 1, batch)).astype(np.float32)
    ref = np.zeros((horizon, batch))
    nxt = v[-1]
    for t in reversed(range(horizon)):
        nxt = r[t] + gamma * c[t] * ((1 - lam) * v[t + 1] + lam * nxt)
        ref[t] = nxt
    np.testing.assert_allclose(lambda_returns(r, c, v, gamma, lam), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="H \\+ 1"):
        lambda_returns(r, c, v[:-1], gamma, lam)


def test_return_scale_tracks_percentiles():
    returns = jnp.arange(101.0)
    scale = ReturnScale.create().update(returns, decay=0.0)
    np.testing.assert_allclose([scale.low, scale.high], [5.0, 95.0], rtol=1e-6)
    np.testing.assert_allclose(scale.scale, 90.0, rtol=1e-6)
    small = ReturnScale.create().update(returns * 1e-3, decay=0.0)
    assert float(small.scale) == 1.0  # max(1, range): small returns are not amplified


def test_unimix_floors_probabilities():
    logits = jnp.array([[100.0, -100.0, -100.0, -100.0], [0.0, 0.0, 0.0, -1e9]])
    probs = jnp.exp(unimix_logits(logits, 0.01))
    assert float(probs.min()) >= 0.01 / 4 * (1 - 1e-5)
    ref = 0.99 * jax.nn.softmax(logits) + 0.01 / 4
    np.testing.assert_allclose(probs, ref, rtol=1e-5)
    with pytest.raises(ValueError, match="unimix"):
        unimix_logits(logits, 1.0)


def test_straight_through_sample_is_onehot_with_probability_gradient():
    logits = jax.random.normal(jax.random.PRNGKey(0), (5, 3, 4))
    key = jax.random.PRNGKey(1)
    sample = sample_straight_through(key, logits)
    # Forward value: a one-hot (up to the float rounding of `onehot + p - p`).
    onehot = jax.nn.one_hot(jnp.argmax(sample, -1), 4)
    np.testing.assert_allclose(sample, onehot, atol=1e-6)
    weights = jax.random.normal(jax.random.PRNGKey(2), sample.shape)
    grad = jax.grad(lambda lg: jnp.sum(weights * sample_straight_through(key, lg)))(logits)
    grad_probs = jax.grad(lambda lg: jnp.sum(weights * jax.nn.softmax(lg, -1)))(logits)
    np.testing.assert_allclose(grad, grad_probs, rtol=1e-5, atol=1e-7)


def test_free_bits_gradient_zero_below_threshold():
    base = jax.random.normal(jax.random.PRNGKey(0), (2, 8))
    post = base
    near = base + 0.05 * jax.random.normal(jax.random.PRNGKey(1), base.shape)
    far = base + 3.0 * jax.random.normal(jax.random.PRNGKey(2), base.shape)
    assert float(categorical_kl(post, near)) < 1.0 < float(categorical_kl(post, far))

    def loss(post_logits, prior_logits):
        return kl_balance_loss(post_logits, prior_logits, 0.5, 0.1, 1.0)[0]

    g_post, g_prior = jax.grad(loss, argnums=(0, 1))(post, near)
    assert np.all(np.asarray(g_post) == 0.0) and np.all(np.asarray(g_prior) == 0.0)
    np.testing.assert_allclose(loss(post, near), 0.6)  # 0.5 * 1 + 0.1 * 1 nats
    g_post, g_prior = jax.grad(loss, argnums=(0, 1))(post, far)
    # Above the threshold: dyn trains the prior (weight 0.5), rep the posterior (0.1).
    g_prior_ref = jax.grad(lambda q: 0.5 * categorical_kl(post, q))(far)
    g_post_ref = jax.grad(lambda p: 0.1 * categorical_kl(p, far))(post)
    np.testing.assert_allclose(g_prior, g_prior_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_post, g_post_ref, rtol=1e-5, atol=1e-7)


def test_categorical_kl_matches_numpy():
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    q = np.array([[0.6, 0.4], [0.1, 0.9]])
    ref = np.sum(p * np.log(p / q))
    np.testing.assert_allclose(categorical_kl(jnp.log(p), jnp.log(q)), ref, rtol=1e-6)
