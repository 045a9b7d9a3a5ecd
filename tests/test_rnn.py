"""GRU / LSTM / MLP layers against numpy loops (resets and a non-zero initial carry included)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl import make_memory

H, D_IN, T, BATCH = 5, 3, 9, 3


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def setup(name):
    memory = make_memory(name, d_model=H)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, BATCH, D_IN)).astype(np.float32)
    reset = rng.random((T, BATCH)) < 0.3
    carry = jax.tree.map(
        lambda c: jnp.asarray(rng.normal(size=c.shape), c.dtype),
        memory.initialize_carry((BATCH,)),
    )
    params = memory.init(jax.random.key(0), carry, x, reset)
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"]["block_0"]["layer"])
    new_carry, y = memory.apply(params, carry, x, reset)
    return x.astype(np.float64), reset, jax.tree.map(np.asarray, carry[0]), p, new_carry[0], y


def test_gru_matches_numpy():
    x, reset, h, p, carry, y = setup("gru")
    W_i, b_i, W_h, b_hn = p["input"]["kernel"], p["input"]["bias"], p["recurrent_kernel"], (
        p["recurrent_bias_n"])
    ys = []
    for t in range(T):
        h = np.where(reset[t][:, None], 0.0, h)
        gx, gh = x[t] @ W_i + b_i, h @ W_h
        r = sigmoid(gx[:, :H] + gh[:, :H])
        z = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
        n = np.tanh(gx[:, 2 * H :] + r * (gh[:, 2 * H :] + b_hn))
        h = (1 - z) * n + z * h
        ys.append(h)
    np.testing.assert_allclose(y, np.stack(ys), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(carry, h, rtol=1e-5, atol=1e-6)


def test_lstm_matches_numpy():
    x, reset, (c, h), p, carry, y = setup("lstm")
    ys = []
    for t in range(T):
        c, h = (np.where(reset[t][:, None], 0.0, v) for v in (c, h))
        g = x[t] @ p["input"]["kernel"] + p["input"]["bias"] + h @ p["recurrent_kernel"]
        i, f, u, o = np.split(g, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(u)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    np.testing.assert_allclose(y, np.stack(ys), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(carry[0], c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(carry[1], h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
def test_mlp_has_no_memory(nonlinearity):
    memory = make_memory("mlp", d_model=H, nonlinearity=nonlinearity)
    x = jax.random.normal(jax.random.key(1), (T, BATCH, D_IN))
    carry = memory.initialize_carry((BATCH,))
    assert jax.tree.leaves(carry)[0].shape == (BATCH, 0)
    params = memory.init(jax.random.key(0), carry, x, jnp.zeros((T, BATCH), bool))
    _, y = memory.apply(params, carry, x, jnp.zeros((T, BATCH), bool))
    dense = params["params"]["block_0"]["layer"]["dense"]
    pre = np.asarray(x) @ np.asarray(dense["kernel"]) + np.asarray(dense["bias"])
    expected = np.maximum(pre, 0) if nonlinearity == "relu" else np.tanh(pre)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
