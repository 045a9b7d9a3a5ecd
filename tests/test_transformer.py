"""Transformer baseline: windowed causal attention with episode resets and a KV-cache carry.

The reference is a float64 numpy loop that, for each step t, gathers the keys of steps
max(episode start, t - W + 1) .. t of the whole sequence and applies the block's formula.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from memory_contract import (
    build_small,
    check_chunking,
    check_episodes_independent,
    check_reset_cuts_gradient,
    check_step_matches_sequence,
    make_case,
)

from ssm_rl.layers.transformer import TransformerLayer, sinusoidal_encoding

D, HEADS = 16, 2


def _layer_norm(x, p, eps=1e-6):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * p["scale"] + p["bias"]


def _dense(x, p):
    return x @ np.asarray(p["kernel"], np.float64) + p["bias"]


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _position_table(layer: TransformerLayer, p, positions: np.ndarray) -> np.ndarray:
    if layer.positions == "none":
        return np.zeros((*positions.shape, layer.d_model))
    if layer.positions == "learned":
        table = np.asarray(p["position_embedding"]["embedding"], np.float64)
        return table[np.minimum(positions, layer.max_position - 1)]
    i = np.arange(layer.d_model // 2)
    angle = positions[..., None] / 10000.0 ** (2 * i / layer.d_model)
    return np.concatenate([np.sin(angle), np.cos(angle)], -1)


def reference_block(layer: TransformerLayer, params, x: np.ndarray, reset: np.ndarray):
    """Plain loops over batch and time; `x[T, B, D]`, `reset[T, B]` (step 0 starts an episode)."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
    x = np.asarray(x, np.float64)
    steps, batch, width = x.shape
    head_dim = width // layer.num_heads
    y = np.zeros_like(x)
    for b in range(batch):
        starts = [0]
        for t in range(1, steps):
            starts.append(t if reset[t, b] else starts[-1])
        starts = np.array(starts)
        pos = np.arange(steps) - starts
        h = _layer_norm(x[:, b], p["attention_norm"])
        qk = _dense(h + _position_table(layer, p, pos), p["query_key"])
        q, k = qk[:, :width], qk[:, width:]
        v = _dense(h, p["value"])
        att = np.zeros((steps, width))
        for t in range(steps):
            keys = np.arange(max(starts[t], t - layer.window + 1), t + 1)
            for head in range(layer.num_heads):
                sl = slice(head * head_dim, (head + 1) * head_dim)
                s = k[keys, sl] @ q[t, sl] / np.sqrt(head_dim)
                w = np.exp(s - s.max())
                att[t, sl] = (w / w.sum()) @ v[keys, sl]
        z = x[:, b] + _dense(att, p["attention_out"])
        hidden = _gelu_tanh(_dense(_layer_norm(z, p["mlp_norm"]), p["mlp_hidden"]))
        y[:, b] = z + _dense(hidden, p["mlp_out"])
    return y


def _inputs(steps=23, batch=3, reset_prob=0.15, seed=0):
    kx, kr = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (steps, batch, D))
    reset = jax.random.bernoulli(kr, reset_prob, (steps, batch)).at[0].set(True)
    return x, reset


def _init(layer, x, reset, seed=1):
    carry = layer.initialize_carry(x.shape[1:-1])
    return carry, layer.init(jax.random.key(seed), carry, x, reset)


def _run_chunks(layer, params, carry, x, reset, sizes):
    run, ys, start = jax.jit(layer.apply), [], 0
    for size in sizes:
        carry, y = run(params, carry, x[start : start + size], reset[start : start + size])
        ys.append(y)
        start += size
    return carry, jnp.concatenate(ys)


@pytest.mark.parametrize(
    "positions,window,chunks,query_block",
    [
        ("sinusoidal", 4, (23,), 5),  # window shorter than episodes; last block padded
        ("sinusoidal", 5, (3, 1, 9, 10), 2),  # chunks shorter and longer than the window
        ("learned", 32, (7, 16), None),  # window longer than the sequence; positions > table
        ("none", 6, (11, 12), 4),
    ],
)
def test_matches_numpy_reference_in_chunks(positions, window, chunks, query_block):
    layer = TransformerLayer(
        d_model=D,
        num_heads=HEADS,
        window=window,
        positions=positions,
        max_position=5,
        query_block=query_block,
    )
    x, reset = _inputs()
    carry, params = _init(layer, x, reset)
    _, y = _run_chunks(layer, params, carry, x, reset, chunks)
    np.testing.assert_allclose(y, reference_block(layer, params, x, np.asarray(reset)), atol=2e-5)


def test_contract_with_a_window_shorter_than_the_episodes():
    """The shared checks at window 3 (< episode lengths), where the carried cache matters."""
    case = make_case(build_small("transformer", window=3, positions="learned", query_block=4))
    check_step_matches_sequence(case)
    check_episodes_independent(case)
    check_chunking(case, bounds=(2, 3, 11))
    check_reset_cuts_gradient(case)


def test_gradients_stop_at_resets_and_outside_the_window():
    window = 4
    layer = TransformerLayer(d_model=D, num_heads=HEADS, window=window, query_block=3)
    x, _ = _inputs(steps=12, batch=1)
    reset = jnp.zeros((12, 1), bool).at[0].set(True).at[7].set(True)
    carry, params = _init(layer, x, reset)

    def grad_of_output(t):
        return jax.grad(lambda x: layer.apply(params, carry, x, reset)[1][t].sum())(x)

    g = np.abs(np.asarray(grad_of_output(9)))[:, 0].sum(-1)
    assert np.all(g[:7] == 0.0)  # before the reset at 7: exactly zero
    assert np.all(g[7:10] > 0) and np.all(g[10:] == 0.0)
    g = np.abs(np.asarray(grad_of_output(6)))[:, 0].sum(-1)
    assert np.all(g[: 6 - window + 1] == 0.0)  # outside the window: exactly zero
    assert np.all(g[6 - window + 1 : 7] > 0) and np.all(g[7:] == 0.0)


def test_carry_is_the_window_of_the_current_episode():
    layer = TransformerLayer(d_model=D, num_heads=HEADS, window=4)
    x, _ = _inputs(steps=6, batch=2)
    reset = jnp.zeros((6, 2), bool).at[0].set(True).at[4, 0].set(True)
    carry, params = _init(layer, x, reset)
    carry, _ = layer.apply(params, carry, x, reset)
    # Env 0 reset at step 4: slots hold steps 2, 3 (old episode), 4, 5. Env 1: steps 2..5.
    np.testing.assert_array_equal(carry.valid, [[False, False, True, True], [True] * 4])
    np.testing.assert_array_equal(carry.position, [2, 6])
    assert carry.key.shape == (2, 4, HEADS, D // HEADS)
    fresh = layer.initialize_carry((2,))
    assert not fresh.valid.any() and not fresh.position.any()


def test_sinusoidal_encoding_formula():
    enc = np.asarray(sinusoidal_encoding(jnp.array([0, 3]), 6))
    freq = 1.0 / 10000.0 ** (np.arange(3) / 3)
    expected = np.concatenate([np.sin(3 * freq), np.cos(3 * freq)])
    np.testing.assert_allclose(enc[1], expected, rtol=1e-6)
    np.testing.assert_array_equal(enc[0], [0, 0, 0, 1, 1, 1])
    assert sinusoidal_encoding(jnp.array([2]), 7).shape == (1, 7)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"d_model": 10, "num_heads": 4}, "multiple of num_heads"),
        ({"window": 0}, "window"),
        ({"positions": "rotary"}, "positions"),
        ({"mlp_ratio": 0}, "mlp_ratio"),
        ({"query_block": 0}, "query_block"),
    ],
)
def test_bad_options_raise(options, match):
    layer = TransformerLayer(**{"d_model": D, **options})
    with pytest.raises(ValueError, match=match):
        layer.initialize_carry((2,))


def test_wrong_carry_or_width_raises():
    layer = TransformerLayer(d_model=D, num_heads=HEADS, window=4)
    x, reset = _inputs(steps=3, batch=2)
    carry, params = _init(layer, x, reset)
    with pytest.raises(ValueError, match="carry"):
        layer.apply(params, layer.initialize_carry((3,)), x, reset)
    with pytest.raises(ValueError, match="d_model"):
        layer.apply(params, carry, x[..., :8], reset)
