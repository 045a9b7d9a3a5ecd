"""ResidualBlock / MemoryStack against a numpy re-implementation, and make_memory's behaviour."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_rl import MemoryStack, ResidualBlock, available_memories, make_memory
from ssm_rl.layers.rnn import MLP

D, T, BATCH = 6, 4, 2


def np_gelu(x):  # flax's default (tanh approximation)
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_layer_norm(x, p):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-6) * p["scale"] + p["bias"]


def np_dense(x, p):
    return x @ p["kernel"] + p["bias"]


def np_block(x, p, norm, prenorm, activation, residual):
    """The block equations of ssm_rl/blocks.py with the no-memory MLP layer (relu) inside."""
    z = np_layer_norm(x, p["norm_layer"]) if norm == "layer" and prenorm else x
    y = np.maximum(np_dense(z, p["layer"]["dense"]), 0.0)
    if activation != "none":
        g = np_gelu(y)
        if activation == "gelu":
            y = g
        else:
            value = np_dense(g, p["glu_value"]) if activation == "full_glu" else g
            y = value * np_sigmoid(np_dense(g, p["glu_gate"]))
    if residual:
        y = x + y
    if norm == "layer" and not prenorm:
        y = np_layer_norm(y, p["norm_layer"])
    return y


def as_numpy(tree):
    return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


@pytest.mark.parametrize("activation", ["gelu", "glu", "full_glu", "none"])
@pytest.mark.parametrize("norm,prenorm", [("layer", True), ("layer", False), ("none", True)])
@pytest.mark.parametrize("residual", [True, False])
def test_block_matches_numpy(activation, norm, prenorm, residual):
    block = ResidualBlock(layer_cls=MLP, d_model=D, norm=norm, prenorm=prenorm,
                          activation=activation, residual=residual)
    x = jax.random.normal(jax.random.key(1), (T, BATCH, D))
    reset = jnp.zeros((T, BATCH), bool)
    carry = block.initialize_carry((BATCH,))
    params = block.init(jax.random.key(0), carry, x, reset)
    # perturb LayerNorm's scale/bias so they matter
    params = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(2), a.shape), params)
    _, y = block.apply(params, carry, x, reset)
    _, y_step = block.apply(params, carry, x[0], reset[0], method="step")
    expected = np_block(np.asarray(x, np.float64), as_numpy(params["params"]), norm, prenorm,
                        activation, residual)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y_step, expected[0], rtol=1e-5, atol=1e-5)


def test_stack_input_projection_and_carry():
    stack = make_memory("mlp", d_model=D, num_layers=2, input_projection=True, residual=True,
                        norm="layer", activation="gelu")
    x = jax.random.normal(jax.random.key(1), (T, BATCH, 3))
    reset = jnp.zeros((T, BATCH), bool)
    carry = stack.initialize_carry((BATCH,))
    assert isinstance(carry, tuple) and len(carry) == 2
    params = stack.init(jax.random.key(0), carry, x, reset)
    new_carry, y = stack.apply(params, carry, x, reset)
    p = as_numpy(params["params"])
    h = np_dense(np.asarray(x, np.float64), p["encoder"])
    for i in range(2):
        h = np_block(h, p[f"block_{i}"], "layer", True, "gelu", True)
    assert y.shape == (T, BATCH, D) and len(new_carry) == 2
    np.testing.assert_allclose(y, h, rtol=1e-5, atol=1e-5)


def test_dropout_only_when_not_deterministic():
    x = jax.random.normal(jax.random.key(1), (T, BATCH, D))
    reset = jnp.zeros((T, BATCH), bool)
    outputs = {}
    for deterministic in (True, False):
        stack = make_memory("mlp", d_model=D, nonlinearity="tanh", activation="gelu",
                            residual=True, dropout=0.5, deterministic=deterministic)
        carry = stack.initialize_carry((BATCH,))
        params = stack.init(jax.random.key(0), carry, x, reset)
        outputs[deterministic] = [
            stack.apply(params, carry, x, reset, rngs={"dropout": jax.random.key(s)})[1]
            for s in (0, 1)
        ]
    np.testing.assert_array_equal(*outputs[True])
    assert not np.allclose(*outputs[False])
    # a dropped unit leaves only the residual: about half of the entries equal x
    dropped = np.isclose(np.asarray(outputs[False][0]), np.asarray(x), atol=1e-7).mean()
    assert 0.3 < dropped < 0.7


def test_stack_defaults():
    gru = make_memory("gru", d_model=16)
    assert (gru.num_layers, gru.input_projection, gru.residual, gru.norm, gru.activation) == (
        1, False, False, "none", "none")
    s5 = make_memory("s5")
    assert (s5.num_layers, s5.d_model, s5.input_projection, s5.activation) == (
        4, 256, True, "full_glu")
    assert make_memory("gru", num_layers=2).num_layers == 2  # user options beat the defaults
    x = jnp.zeros((T, BATCH, 3))
    params = gru.init(jax.random.key(0), gru.initialize_carry((BATCH,)), x, x[..., 0] > 0)
    assert set(params["params"]) == {"block_0"}
    assert set(params["params"]["block_0"]) == {"layer"}


def test_registry_errors():
    assert {"s5", "gru", "lstm", "mlp"} <= set(available_memories())
    with pytest.raises(ValueError, match="available.*'s5'"):
        make_memory("nope")
    with pytest.raises(ValueError, match="foo.*state_size"):
        make_memory("s5", foo=1)
    with pytest.raises(ValueError, match="discretization"):
        make_memory("s5", discretization="euler")
    with pytest.raises(ValueError, match="activation"):
        make_memory("gru", activation="swish")
    with pytest.raises(ValueError, match="num_layers"):
        make_memory("gru", num_layers=0)
    with pytest.raises(ValueError, match="nonlinearity"):
        make_memory("mlp", nonlinearity="cube")


def test_bad_shapes_raise():
    stack = make_memory("gru", d_model=4)
    x, reset = jnp.zeros((T, BATCH, 3)), jnp.zeros((T, BATCH), bool)
    carry = stack.initialize_carry((BATCH,))
    params = stack.init(jax.random.key(0), carry, x, reset)
    with pytest.raises(ValueError, match="reset"):
        stack.apply(params, carry, x, reset[:, :1])
    with pytest.raises(ValueError, match="carry"):
        stack.apply(params, stack.initialize_carry((BATCH + 1,)), x, reset)
    with pytest.raises(ValueError, match="x must be"):
        stack.apply(params, carry, x[0, 0], reset[0, 0])
    with pytest.raises(ValueError, match="reset"):
        stack.apply(params, carry, x[0], reset, method="step")
    residual = MemoryStack(layer_cls=MLP, d_model=4, num_layers=1, input_projection=False)
    with pytest.raises(ValueError, match="width 3"):
        residual.init(jax.random.key(0), residual.initialize_carry((BATCH,)), x, reset)
