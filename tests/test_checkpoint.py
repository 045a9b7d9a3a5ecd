"""Checkpoints: exact round trip of a whole train-state-like pytree, atomic replacement, and
clear errors for missing, truncated, corrupt and incompatible files."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import struct

from agents.common.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)


@struct.dataclass
class State:
    params: dict
    opt_state: tuple
    carry: tuple
    rng: jax.Array
    step: jax.Array


def make_state(seed: int, width: int = 3) -> State:
    key = jax.random.PRNGKey(seed)
    params = {"dense": {"kernel": jax.random.normal(key, (width, 2)), "bias": jnp.zeros(2)}}
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
    opt_state = tx.init(params)
    carry = (jax.random.normal(key, (4, 5)) * (1 + 2j)).astype(jnp.complex64), jnp.ones((4, 5))
    return State(params, opt_state, carry, jax.random.split(key)[0], jnp.int32(7 + seed))


def assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_round_trip_is_exact(tmp_path):
    state = make_state(1)
    path = save_checkpoint(tmp_path / "ck" / "state.ckpt", state, {"update": 3, "note": "x"})
    restored, metadata = load_checkpoint(path, make_state(2))
    assert_trees_equal(restored, state)
    assert metadata == {"update": 3, "note": "x"} == read_metadata(path)
    assert [p.name for p in path.parent.iterdir()] == ["state.ckpt"]  # no temporary left


def test_save_replaces_atomically(tmp_path):
    path = tmp_path / "state.ckpt"
    save_checkpoint(path, make_state(1), {"update": 1})
    save_checkpoint(path, make_state(3), {"update": 2})
    restored, metadata = load_checkpoint(path, make_state(0))
    assert metadata["update"] == 2
    assert_trees_equal(restored, make_state(3))


def test_missing_truncated_and_corrupt_files(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.ckpt", make_state(0))
    path = save_checkpoint(tmp_path / "state.ckpt", make_state(1))
    data = path.read_bytes()

    path.write_bytes(data[:-10])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path, make_state(0))

    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path, make_state(0))

    path.write_bytes(b"not a checkpoint\n" + data)
    with pytest.raises(CheckpointError, match="not an ssm_rl checkpoint"):
        load_checkpoint(path, make_state(0))


def test_incompatible_state_names_the_leaf(tmp_path):
    path = save_checkpoint(tmp_path / "state.ckpt", make_state(1, width=3))
    with pytest.raises(CheckpointError, match=r"params/dense/kernel.*\[3, 2\].*\[5, 2\]"):
        load_checkpoint(path, make_state(1, width=5))
    other = {"something": jnp.zeros(3)}
    with pytest.raises(CheckpointError, match="keys"):
        load_checkpoint(path, other)
