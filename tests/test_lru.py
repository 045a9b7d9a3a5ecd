"""LRU: ring init, γ normalisation (Monte Carlo vs analytic) and the layer against a loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl.init.lru import gamma_log_init, lru_lambda, nu_log_init, theta_log_init
from ssm_rl.layers.lru import LRU


def test_ring_init_ranges_and_area_uniformity():
    P, r_min, r_max, max_phase = 20000, 0.4, 0.95, np.pi / 3
    k1, k2 = jax.random.split(jax.random.key(0))
    nu_log = nu_log_init(k1, P, r_min, r_max)
    theta_log = theta_log_init(k2, P, max_phase)
    lam = np.asarray(lru_lambda(nu_log, theta_log), np.complex128)
    mag, phase = np.abs(lam), np.exp(np.asarray(theta_log, np.float64))
    assert mag.min() >= r_min - 1e-6 and mag.max() <= r_max + 1e-6
    assert phase.min() >= 0 and phase.max() <= max_phase * (1 + 1e-6)
    np.testing.assert_allclose(np.angle(lam) % (2 * np.pi), phase, atol=1e-5)
    # Uniform by area: |λ|^2 ~ U[r_min^2, r_max^2]; compare quartiles (std error ~0.004).
    u = (mag**2 - r_min**2) / (r_max**2 - r_min**2)
    np.testing.assert_allclose(np.quantile(u, [0.25, 0.5, 0.75]), [0.25, 0.5, 0.75], atol=0.02)
    gamma = np.exp(np.asarray(gamma_log_init(nu_log), np.float64))
    np.testing.assert_allclose(gamma, np.sqrt(1 - mag**2), rtol=1e-4)


@pytest.mark.parametrize("bad", [{"r_min": 0.9, "r_max": 0.5}, {"r_max": 1.0}, {"max_phase": 0.0}])
def test_bad_ring_arguments(bad):
    with pytest.raises(ValueError):
        LRU(d_model=4, **bad)


def test_white_noise_state_variance_is_normalised():
    """At init, E|h_T|^2 (Monte Carlo) matches γ^2 sum_h |B_ph|^2 (1 - |λ|^2T)/(1 - |λ|^2)."""
    H, P, T, batch = 16, 32, 3000, 256
    layer = LRU(d_model=H, state_size=P)  # default ring 0.9 .. 0.999
    kx, kp = jax.random.split(jax.random.key(1))
    x = jax.random.normal(kx, (T, batch, H))
    reset = jnp.zeros((T, batch), bool).at[0].set(True)
    params = layer.init(kp, layer.initialize_carry((batch,)), x[:2], reset[:2])
    h_last, _ = jax.jit(layer.apply)(params, layer.initialize_carry((batch,)), x, reset)
    mc = np.mean(np.abs(np.asarray(h_last, np.complex128)) ** 2, axis=0)  # [P]

    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    mag_sq = np.exp(-2 * np.exp(p["nu_log"]))
    input_var = np.sum(p["B"][:, 0] ** 2 + p["B"][:, 1] ** 2, axis=0)  # E|Bu|^2 per state
    gamma_sq = np.exp(2 * p["gamma_log"])
    analytic = gamma_sq * input_var * (1 - mag_sq**T) / (1 - mag_sq)
    np.testing.assert_allclose(mc, analytic, rtol=0.35)  # per state: 256 samples
    assert np.mean(mc) == pytest.approx(np.mean(analytic), rel=0.05)
    # The γ normalisation: the stationary variance is E|Bu|^2, ~1 with B ~ N(0, 1/(2H)).
    assert np.mean(analytic) == pytest.approx(1.0, abs=0.2)
    assert np.mean(mc) == pytest.approx(1.0, abs=0.2)


def test_layer_matches_loop():
    H, P, T, batch = 3, 5, 10, 2
    layer = LRU(d_model=H, state_size=P, r_min=0.5, r_max=0.95)
    kx, kh, kp = jax.random.split(jax.random.key(2), 3)
    x = jax.random.normal(kx, (T, batch, H))
    reset = np.zeros((T, batch), bool)
    reset[[0, 3, 4], 1] = True
    h0 = (jax.random.normal(kh, (batch, P)) * (1 - 1j)).astype(jnp.complex64)
    params = layer.init(kp, layer.initialize_carry((batch,)), x, reset)
    carry, y = layer.apply(params, h0, x, reset)

    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    lam = np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))
    gamma = np.exp(p["gamma_log"])
    B = (p["B"][:, 0] + 1j * p["B"][:, 1]).T  # [P, H]
    C = (p["C"][0] + 1j * p["C"][1]).T  # [H, P]
    h = np.asarray(h0, np.complex128).copy()
    for t in range(T):
        for b in range(batch):
            if reset[t, b]:
                h[b] = 0
            h[b] = lam * h[b] + gamma * (B @ np.asarray(x[t, b], np.float64))
            expected = np.real(C @ h[b]) + p["D"] * np.asarray(x[t, b])
            np.testing.assert_allclose(np.asarray(y[t, b]), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(carry), h, rtol=1e-4, atol=1e-5)
