"""Selective (Mamba-style) layer against a plain per-step numpy loop, resets included."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl.layers.selective import Selective

H, N, T, BATCH = 8, 4, 20, 3


def softplus(v):
    return np.log1p(np.exp(v))


def silu(v):
    return v / (1 + np.exp(-v))


def reference(params, x, reset, carry, d_conv):
    """float64 loop: conv over an explicit history list that a reset empties, then the SSM."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    W_in, W_x = p["in_proj"]["kernel"], p["x_proj"]["kernel"]
    W_dt, b_dt = p["dt_proj"]["kernel"], p["dt_proj"]["bias"]
    A = -np.exp(p["A_log"])  # [E, N]
    E, R = A.shape[0], W_dt.shape[0]
    h0, window0 = (np.asarray(c, np.float64) for c in carry)
    ys = np.zeros((x.shape[0], x.shape[1], H))
    h_out, win_out = np.zeros_like(h0), np.zeros_like(window0)
    for b in range(x.shape[1]):
        h = h0[b].copy()
        history = list(window0[b])  # conv inputs, oldest first; zeros count as inputs
        for t in range(x.shape[0]):
            if reset[t, b]:
                h[:] = 0
                history = [np.zeros(E)] * (d_conv - 1)
            xz = x[t, b] @ W_in
            history.append(xz[:E])
            conv = p["conv_b"].copy()
            for k in range(d_conv):  # conv_w[k] multiplies the input k steps back
                conv += p["conv_w"][k] * history[-1 - k]
            c = silu(conv)
            dbc = c @ W_x
            delta = softplus(dbc[:R] @ W_dt + b_dt)
            Bt, Ct = dbc[R : R + N], dbc[R + N :]
            for e in range(E):
                for n in range(N):
                    h[e, n] = np.exp(delta[e] * A[e, n]) * h[e, n] + delta[e] * Bt[n] * c[e]
            y = h @ Ct + p["D"] * c
            ys[t, b] = (y * silu(xz[E:])) @ p["out_proj"]["kernel"]
        h_out[b] = h
        win_out[b] = np.array(history[len(history) - (d_conv - 1) :]).reshape(d_conv - 1, E)
    return (h_out, win_out), ys


def make(d_conv=4, seed=0, **options):
    layer = Selective(d_model=H, state_size=N, d_conv=d_conv, **options)
    kx, kc1, kc2, kp = jax.random.split(jax.random.key(seed), 4)
    x = jax.random.normal(kx, (T, BATCH, H))
    reset = np.zeros((T, BATCH), bool)
    reset[[0, 5, 6, 15], 0] = True  # includes back-to-back resets
    reset[[2, 19], 1] = True  # element 2 never resets: the carried window is used
    fresh = layer.initialize_carry((BATCH,))
    carry = (
        jax.random.normal(kc1, fresh[0].shape),
        jax.random.normal(kc2, fresh[1].shape),
    )
    params = layer.init(kp, fresh, x, reset)
    return layer, params, x, jnp.asarray(reset), carry


@pytest.mark.parametrize(
    "d_conv, options",
    [
        (4, {}),
        (2, {}),
        (4, {"chunk_size": 8, "backend": "sequential"}),  # 3 chunks, the last one padded
        (4, {"chunk_size": 7, "backend": "associative"}),
    ],
)
def test_sequence_and_step_match_loop(d_conv, options):
    layer, params, x, reset, carry = make(d_conv, **options)
    (h_ref, win_ref), y_ref = reference(params, np.asarray(x), np.asarray(reset), carry, d_conv)
    (h, win), y = jax.jit(layer.apply)(params, carry, x, reset)
    np.testing.assert_allclose(np.asarray(y), y_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h), h_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(win), win_ref, rtol=1e-5, atol=1e-6)
    step = jax.jit(lambda c, x_t, r_t: layer.apply(params, c, x_t, r_t, method="step"))
    c = carry
    for t in range(T):
        c, y_t = step(c, x[t], reset[t])
        np.testing.assert_allclose(np.asarray(y_t), y_ref[t], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c[1]), win_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["sequential", "associative"])
def test_chunked_gradients_match_stepping(backend):
    """Gradients through the chunked, recomputing scan equal those of a per-step loop."""
    layer, params, x, reset, carry = make(chunk_size=6, backend=backend)

    def loss_sequence(params, carry, x):
        (h, window), y = layer.apply(params, carry, x, reset)
        return jnp.sum(jnp.sin(y)) + jnp.sum(h**2)

    def loss_steps(params, carry, x):
        def body(c, inputs):
            return layer.apply(params, c, *inputs, method="step")

        (h, window), y = jax.lax.scan(body, carry, (x, reset))
        return jnp.sum(jnp.sin(y)) + jnp.sum(h**2)

    want = jax.jit(jax.grad(loss_steps, argnums=(0, 1, 2)))(params, carry, x)
    got = jax.jit(jax.grad(loss_sequence, argnums=(0, 1, 2)))(params, carry, x)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_short_chunks_carry_the_conv_window():
    """Chunks shorter than the conv window (1 and 2 steps) reproduce one long run."""
    layer, params, x, reset, carry = make()
    run = jax.jit(layer.apply)
    full_carry, y_full = run(params, carry, x, reset)
    c, ys, t = carry, [], 0
    for length in [1, 2, 1, 1, 2, 3, 1, 9]:
        c, y = run(params, c, x[t : t + length], reset[t : t + length])
        ys.append(y)
        t += length
    np.testing.assert_allclose(np.concatenate(ys), y_full, rtol=1e-4, atol=1e-5)
    for got, want in zip(c, full_carry, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_conv_window_is_cleared_by_reset():
    """Inputs before a reset change nothing after it, even within d_conv steps."""
    layer, params, x, reset, carry = make()
    x2 = x.at[:5, 0].set(100.0)  # element 0 resets at t = 5
    _, y1 = layer.apply(params, carry, x, reset)
    _, y2 = layer.apply(params, carry, x2, reset)
    np.testing.assert_array_equal(np.asarray(y1[5:, 0]), np.asarray(y2[5:, 0]))
    assert not np.allclose(np.asarray(y1[:5, 0]), np.asarray(y2[:5, 0]))


def test_init_values():
    layer, params, *_ = make()
    p = params["params"]
    E = 2 * H
    np.testing.assert_allclose(-np.exp(p["A_log"]), -np.tile(np.arange(1, N + 1), (E, 1)))
    dt = softplus(np.asarray(p["dt_proj"]["bias"], np.float64))
    assert dt.shape == (E,) and np.all(dt >= 1e-3 * 0.999) and np.all(dt <= 1e-1 * 1.001)
    assert p["conv_w"].shape == (4, E) and np.all(np.abs(p["conv_w"]) <= 0.5)
    np.testing.assert_array_equal(p["D"], np.ones(E))
    with pytest.raises(ValueError, match="expand"):
        Selective(d_model=H, expand=0)
    with pytest.raises(ValueError, match="chunk_size"):
        Selective(d_model=H, chunk_size=0)
