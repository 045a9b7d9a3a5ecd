"""S4D initialisers against their formulas and the LegS matrices; the S4D layer against a loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl.init.s4d import s4d_init, s4d_inv, s4d_legs, s4d_lin
from ssm_rl.layers.s4d import S4D


def legs_matrices(N):
    """LegS A, B and the normal part S = A + p p^T, written out entry by entry."""
    A = np.zeros((N, N))
    for n in range(N):
        for k in range(N):
            if n > k:
                A[n, k] = -np.sqrt(2 * n + 1) * np.sqrt(2 * k + 1)
            elif n == k:
                A[n, k] = -(n + 1)
    B = np.array([np.sqrt(2 * n + 1) for n in range(N)])
    p = np.array([np.sqrt(n + 0.5) for n in range(N)])
    return A, B, A + np.outer(p, p)


def test_lin_and_inv_match_formulas():
    N = 10
    lin, inv = s4d_lin(N), s4d_inv(N)
    assert lin.shape == inv.shape == (5,)
    for n in range(5):
        assert lin[n] == pytest.approx(complex(-0.5, np.pi * n))
        assert inv[n] == pytest.approx(complex(-0.5, N / np.pi * (N / (2 * n + 1) - 1)))
    for name in ("lin", "inv"):
        np.testing.assert_array_equal(s4d_init(name, N)[1], np.ones(5))


def test_legs_spectrum_is_the_normal_part_half():
    N = 12
    Lambda, B_tilde = s4d_legs(N)
    _, B, S = legs_matrices(N)
    eig = np.linalg.eigvals(S)
    upper = np.sort(eig[eig.imag > 0].imag)
    np.testing.assert_allclose(np.sort(Lambda.imag), upper, rtol=1e-9)
    np.testing.assert_allclose(Lambda.real, -0.5, atol=1e-12)
    # B~ = V^H B: moments B^T S^k B = sum over all eigenpairs = 2 Re sum_half λ^k |B~|^2.
    for k in range(3):
        expected = B @ np.linalg.matrix_power(S, k) @ B
        got = 2 * np.real(np.sum(Lambda**k * np.abs(B_tilde) ** 2))
        assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("bad", [("lin", 7), ("inv", 0), ("fourier", 8)])
def test_bad_init_arguments(bad):
    with pytest.raises(ValueError, match="S4D"):
        s4d_init(*bad)
    with pytest.raises(ValueError):
        S4D(d_model=4, eig_init=bad[0], state_size=bad[1])


def reference_s4d(params, x, reset, h0):
    """Plain float64 loop over channels and states: ZOH recurrence and 2 Re(C x) + D u."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    Lambda = -np.exp(p["Lambda_log_neg_re"]) + 1j * p["Lambda_im"]  # [H, n]
    B, C = p["B"][0] + 1j * p["B"][1], p["C"][0] + 1j * p["C"][1]
    T, batch, H = x.shape
    n = Lambda.shape[1]
    h = np.asarray(h0, np.complex128).reshape(batch, H, n).copy()
    y = np.zeros((T, batch, H))
    for t in range(T):
        for b in range(batch):
            if reset[t, b]:
                h[b] = 0
            for c in range(H):
                delta = np.exp(p["log_step"][c])
                for k in range(n):
                    lam_bar = np.exp(delta * Lambda[c, k])
                    b_bar = (lam_bar - 1) / Lambda[c, k] * B[c, k]
                    h[b, c, k] = lam_bar * h[b, c, k] + b_bar * x[t, b, c]
                y[t, b, c] = 2 * np.real(np.sum(C[c] * h[b, c])) + p["D"][c] * x[t, b, c]
    return h.reshape(batch, H * n), y


@pytest.mark.parametrize("eig_init", ["lin", "legs"])
def test_layer_matches_loop(eig_init):
    layer = S4D(d_model=3, state_size=6, eig_init=eig_init)
    T, batch = 9, 2
    kx, kh, kp = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (T, batch, 3))
    reset = np.zeros((T, batch), bool)
    reset[[0, 4], 0] = True
    h0 = jax.random.normal(kh, (batch, 9)) * (1 + 1j)
    params = layer.init(kp, layer.initialize_carry((batch,)), x, reset)
    carry, y = layer.apply(params, h0.astype(jnp.complex64), x, reset)
    h_ref, y_ref = reference_s4d(params, np.asarray(x), reset, np.asarray(h0))
    np.testing.assert_allclose(np.asarray(y), y_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(carry), h_ref, rtol=1e-4, atol=1e-5)
    # Every channel starts from the same spectrum; Re Λ < 0 by construction.
    Lambda, _ = s4d_init(eig_init, 6)
    lam_im = np.asarray(params["params"]["Lambda_im"])
    np.testing.assert_allclose(lam_im, np.tile(Lambda.imag, (3, 1)), rtol=1e-6)
