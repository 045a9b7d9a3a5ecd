"""Replay buffer: windows are contiguous slices of each env's stream, ring overwrite, counts,
and Drama's frequency-based sampling favours records sampled less often."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agents.world_models import replay as replay_lib
from agents.world_models.replay import Transitions, can_sample, create_replay

N, CAP = 3, 10
add = jax.jit(replay_lib.add)
sample = jax.jit(replay_lib.sample, static_argnums=(2, 3, 4))


def chunk(start: int, length: int) -> Transitions:
    """Records whose obs encode (env, global step) so windows can be checked exactly."""
    t = np.arange(start, start + length)[:, None] + np.zeros((1, N), int)
    env = np.zeros((length, 1), int) + np.arange(N)[None]
    return Transitions(
        obs=jnp.asarray(np.stack([env, t], -1), jnp.float32),
        action=jnp.asarray(t % 4, jnp.int32),
        reward=jnp.asarray(t, jnp.float32),
        is_first=jnp.asarray(t % 5 == 0),
        is_last=jnp.asarray(t % 5 == 4),
        is_terminal=jnp.asarray(t % 10 == 4),
    )


def filled(total: int, step: int = 4):
    replay = create_replay(jax.tree.map(lambda x: x[0, 0], chunk(0, 1)), N, CAP)
    for start in range(0, total, step):
        replay = add(replay, chunk(start, min(step, total - start)))
    return replay


def test_windows_are_contiguous_recent_slices():
    total, length = 23, 4  # ring wrapped twice: records 13..22 remain
    replay = filled(total)
    assert int(replay.size) == CAP and bool(can_sample(replay, length))
    windows, replay2 = sample(replay, jax.random.PRNGKey(0), 64, length)
    obs = np.asarray(windows.obs)  # [L, B, 2]
    for b in range(64):
        env, t = obs[:, b, 0], obs[:, b, 1]
        assert np.all(env == env[0])
        np.testing.assert_array_equal(t, np.arange(t[0], t[0] + length))
        assert total - CAP <= t[0] <= total - length
        np.testing.assert_array_equal(windows.reward[:, b], t)
        np.testing.assert_array_equal(windows.is_first[:, b], t % 5 == 0)
        np.testing.assert_array_equal(windows.is_terminal[:, b], t % 10 == 4)
    assert int(replay2.counts.sum()) == 64 and int(replay.counts.sum()) == 0


def test_not_full_buffer_samples_only_written_records():
    replay = filled(6)
    windows, _ = sample(replay, jax.random.PRNGKey(1), 32, 3)
    starts = np.asarray(windows.obs[0, :, 1])
    assert starts.min() >= 0 and starts.max() <= 3
    windows, _ = sample(replay, jax.random.PRNGKey(1), 32, 3, frequency_tau=1.0)
    starts = np.asarray(windows.obs[0, :, 1])
    assert starts.min() >= 0 and starts.max() <= 3


def test_frequency_sampling_prefers_rarely_sampled_records():
    replay = filled(CAP)
    counts = np.zeros((N, CAP), np.int32)
    counts[:, :5] = 50  # the 5 oldest starts of every env were sampled a lot
    replay = replay.replace(counts=jnp.asarray(counts))
    windows, updated = sample(replay, jax.random.PRNGKey(2), 200, 2, frequency_tau=5.0)
    starts = np.asarray(windows.obs[0, :, 1])
    assert np.all(starts >= 5)  # exp(-10) relative weight: effectively never drawn
    assert set(starts.tolist()) == {5, 6, 7, 8}  # every fresh valid start is used
    assert int(updated.counts.sum()) == counts.sum() + 200
    uniform, _ = sample(replay, jax.random.PRNGKey(2), 200, 2)
    assert np.asarray(uniform.obs[0, :, 1]).min() < 5


def test_overwritten_records_forget_their_counts():
    replay = filled(CAP)
    replay = replay.replace(counts=jnp.ones((N, CAP), jnp.int32))
    replay = add(replay, chunk(CAP, 3))
    counts = np.asarray(replay.counts)
    assert counts.sum() == N * (CAP - 3)
    np.testing.assert_array_equal(counts[:, :3], 0)


def test_bad_chunks_raise():
    replay = filled(4)
    with pytest.raises(ValueError, match="chunk must be"):
        replay_lib.add(replay, jax.tree.map(lambda x: x[:, :2], chunk(0, 2)))
    with pytest.raises(ValueError, match="capacity"):
        replay_lib.add(replay, chunk(0, CAP + 1))
    with pytest.raises(ValueError, match="frequency_tau"):
        replay_lib.sample(replay, jax.random.PRNGKey(0), 2, 2, frequency_tau=0.0)
