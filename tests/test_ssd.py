"""Mamba-2 (SSD) layer against a plain per-step numpy loop, resets included; the chunked
matmul form against stepping, gradients included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl.layers.ssd import SSD

H, N, P, T, BATCH, K = 8, 4, 4, 21, 3, 4


def softplus(v):
    return np.log1p(np.exp(v))


def silu(v):
    return v / (1 + np.exp(-v))


def reference(params, u, reset, carry):
    """float64 loop: conv over an explicit history that a reset empties, then the recurrence
    S <- exp(Δ A) S + Δ x B^T per head, y = S C + D x, gated RMSNorm, output projection."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    A = -np.exp(p["A_log"])  # [nh]
    nh = A.shape[0]
    E = nh * P
    S0, window0 = (np.asarray(c, np.float64) for c in carry)
    ys = np.zeros((u.shape[0], u.shape[1], H))
    S_out = np.zeros_like(S0)
    for b in range(u.shape[1]):
        S = S0[b].copy()
        history = list(window0[b])
        for t in range(u.shape[0]):
            if reset[t, b]:
                S[:] = 0
                history = [np.zeros(E + 2 * N)] * (K - 1)
            proj = u[t, b] @ p["in_proj"]["kernel"]
            z, xbc, dt = proj[:E], proj[E : 2 * E + 2 * N], proj[2 * E + 2 * N :]
            history.append(xbc)
            conv = p["conv_b"] + sum(p["conv_w"][k] * history[-1 - k] for k in range(K))
            conv = silu(conv)
            x, Bt, Ct = conv[:E].reshape(nh, P), conv[E : E + N], conv[E + N :]
            delta = softplus(dt + p["dt_bias"])
            for h in range(nh):
                S[h] = np.exp(delta[h] * A[h]) * S[h] + delta[h] * np.outer(x[h], Bt)
            y = (S @ Ct + p["D"][:, None] * x).reshape(E) * silu(z)
            y = y / np.sqrt(np.mean(y**2) + 1e-5) * p["norm"]["scale"]
            ys[t, b] = y @ p["out_proj"]["kernel"]
        S_out[b] = S
    return S_out, ys


def make(seed=0, **options):
    layer = SSD(d_model=H, state_size=N, head_dim=P, d_conv=K, **options)
    kx, kc1, kc2, kp = jax.random.split(jax.random.key(seed), 4)
    u = jax.random.normal(kx, (T, BATCH, H))
    reset = np.zeros((T, BATCH), bool)
    reset[[0, 5, 6, 15], 0] = True  # back-to-back resets
    reset[[2, 20], 1] = True  # element 2 never resets: the carried state and window are used
    fresh = layer.initialize_carry((BATCH,))
    carry = (0.5 * jax.random.normal(kc1, fresh[0].shape), jax.random.normal(kc2, fresh[1].shape))
    params = layer.init(kp, fresh, u, reset)
    return layer, params, u, jnp.asarray(reset), carry


@pytest.mark.parametrize(
    "options",
    [
        {},  # one chunk
        {"chunk_size": 8, "backend": "sequential"},  # 3 chunks, the last one padded
        {"chunk_size": 4, "backend": "associative"},
        {"chunk_size": 1},
    ],
)
def test_sequence_and_step_match_loop(options):
    layer, params, u, reset, carry = make(**options)
    S_ref, y_ref = reference(params, np.asarray(u), np.asarray(reset), carry)
    (S, _), y = jax.jit(layer.apply)(params, carry, u, reset)
    np.testing.assert_allclose(np.asarray(y), y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(S), S_ref, rtol=1e-4, atol=1e-5)
    step = jax.jit(lambda c, u_t, r_t: layer.apply(params, c, u_t, r_t, method="step"))
    c = carry
    for t in range(T):
        c, y_t = step(c, u[t], reset[t])
        np.testing.assert_allclose(np.asarray(y_t), y_ref[t], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(c[0]), S_ref, rtol=1e-4, atol=1e-5)


def test_gradients_match_stepping():
    layer, params, u, reset, carry = make(chunk_size=8)

    def loss_sequence(params, carry, u):
        (S, _), y = layer.apply(params, carry, u, reset)
        return jnp.sum(jnp.sin(y)) + jnp.sum(S**2)

    def loss_steps(params, carry, u):
        def body(c, inputs):
            return layer.apply(params, c, *inputs, method="step")

        (S, _), y = jax.lax.scan(body, carry, (u, reset))
        return jnp.sum(jnp.sin(y)) + jnp.sum(S**2)

    want = jax.jit(jax.grad(loss_steps, argnums=(0, 1, 2)))(params, carry, u)
    got = jax.jit(jax.grad(loss_sequence, argnums=(0, 1, 2)))(params, carry, u)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def test_split_sequence_reproduces_one_run():
    """Sequence chunks of odd lengths (shorter than the conv window too) carry state and window."""
    layer, params, u, reset, carry = make(chunk_size=4)
    run = jax.jit(layer.apply)
    full_carry, y_full = run(params, carry, u, reset)
    c, ys, t = carry, [], 0
    for length in [1, 2, 5, 3, 10]:
        c, y = run(params, c, u[t : t + length], reset[t : t + length])
        ys.append(y)
        t += length
    np.testing.assert_allclose(np.concatenate(ys), y_full, rtol=1e-4, atol=1e-4)
    for got, want in zip(c, full_carry, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_reset_cuts_the_past():
    """Inputs before a reset change nothing after it, even within the conv window."""
    layer, params, u, reset, carry = make(chunk_size=4)
    u2 = u.at[:5, 0].set(100.0)  # element 0 resets at t = 5
    _, y1 = layer.apply(params, carry, u, reset)
    _, y2 = layer.apply(params, carry, u2, reset)
    np.testing.assert_array_equal(np.asarray(y1[5:, 0]), np.asarray(y2[5:, 0]))
    assert not np.allclose(np.asarray(y1[:5, 0]), np.asarray(y2[:5, 0]))


def test_init_values_and_bad_options():
    layer, params, *_ = make()
    p = params["params"]
    nh = 2 * H // P
    A = np.exp(np.asarray(p["A_log"]))
    assert A.shape == (nh,) and np.all((A >= 1) & (A <= 16))
    dt = softplus(np.asarray(p["dt_bias"], np.float64))
    assert np.all(dt >= 1e-3 * 0.999) and np.all(dt <= 1e-1 * 1.001)
    np.testing.assert_array_equal(p["D"], np.ones(nh))
    with pytest.raises(ValueError, match="head_dim"):
        SSD(d_model=H, head_dim=5)
    with pytest.raises(ValueError, match="chunk_size"):
        SSD(d_model=H, chunk_size=0)
