"""Replay buffer in JAX: per-env ring buffers, window sampling, Drama's frequency sampling.

Storage convention (one record per environment step, as in Drama / S4WM):
`obs_t` is the observation the agent acted on, `action_t` its action, `reward_t` the reward
that action earned, `is_first_t` whether `obs_t` starts an episode, `is_last_t` whether the
episode ended after the action (terminated or truncated), `is_terminal_t` whether it
terminated (the only case where bootstrapping stops). Final observations are not stored.

Each of `num_envs` streams is contiguous in time, so any window of consecutive records of one
env is a valid training sequence (episode starts inside it are marked by `is_first`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Transitions:
    """Records; leading axes are `[T, *batch]` (time-major) unless stated otherwise."""

    obs: jax.Array  # float32 [..., *obs_shape]
    action: jax.Array  # int32 [...]
    reward: jax.Array  # float32 [...]
    is_first: jax.Array  # bool [...]
    is_last: jax.Array  # bool [...]
    is_terminal: jax.Array  # bool [...]


@struct.dataclass
class Replay:
    """Ring buffers: `data` leaves are `[num_envs, capacity, ...]`; all envs write in lockstep.

    `pos`: next physical write index; `size`: records per env so far (<= capacity);
    `counts[num_envs, capacity]`: how often each record was sampled as a window start.
    """

    data: Transitions
    pos: jax.Array
    size: jax.Array
    counts: jax.Array

    @property
    def capacity(self) -> int:
        return self.counts.shape[1]

    @property
    def num_envs(self) -> int:
        return self.counts.shape[0]


def create_replay(example: Transitions, num_envs: int, capacity: int) -> Replay:
    """Empty buffer shaped after one record `example` (leaves without batch axes)."""
    if num_envs < 1 or capacity < 2:
        raise ValueError(f"need num_envs >= 1 and capacity >= 2, got {num_envs}, {capacity}")
    data = jax.tree.map(
        lambda x: jnp.zeros((num_envs, capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example
    )
    zero = jnp.zeros((), jnp.int32)
    return Replay(data, zero, zero, jnp.zeros((num_envs, capacity), jnp.int32))


def add(replay: Replay, chunk: Transitions) -> Replay:
    """Append a time-major chunk `[T, num_envs, ...]` (T <= capacity) to every env's stream."""
    length = chunk.reward.shape[0]
    if chunk.reward.shape[1:] != (replay.num_envs,):
        raise ValueError(f"chunk must be [T, {replay.num_envs}], got {chunk.reward.shape}")
    if length > replay.capacity:
        raise ValueError(f"chunk of {length} steps exceeds capacity {replay.capacity}")
    index = (replay.pos + jnp.arange(length)) % replay.capacity
    data = jax.tree.map(
        lambda buf, new: buf.at[:, index].set(jnp.swapaxes(new, 0, 1)), replay.data, chunk
    )
    return Replay(
        data=data,
        pos=(replay.pos + length) % replay.capacity,
        size=jnp.minimum(replay.size + length, replay.capacity),
        counts=replay.counts.at[:, index].set(0),
    )


def can_sample(replay: Replay, length: int) -> jax.Array:
    """Whether every env holds at least one window of `length` records."""
    return replay.size >= length


def sample(
    replay: Replay, key: jax.Array, batch: int, length: int, frequency_tau: float | None = None
) -> tuple[Transitions, Replay]:
    """`batch` windows of `length` consecutive records -> `Transitions[length, batch, ...]`.

    Uniform over valid window starts, or with `frequency_tau` Drama's frequency-based
    sampling: `P(start) ∝ exp(-counts[start] / tau)`, favouring records sampled less often
    (new ones). The returned buffer has the sampled starts' counts incremented.
    Call only when `can_sample(replay, length)`.
    """
    starts = replay.size - length + 1  # valid logical starts 0 .. starts-1 (oldest first)
    oldest = (replay.pos - replay.size) % replay.capacity
    env_key, start_key = jax.random.split(key)
    if frequency_tau is None:
        env = jax.random.randint(env_key, (batch,), 0, replay.num_envs)
        logical = jax.random.randint(start_key, (batch,), 0, jnp.maximum(starts, 1))
        physical = (oldest + logical) % replay.capacity
    else:
        if frequency_tau <= 0:
            raise ValueError(f"frequency_tau must be positive, got {frequency_tau}")
        # Logical position of every physical slot; a slot is a valid start if logical < starts.
        logical_of = (jnp.arange(replay.capacity) - oldest) % replay.capacity
        valid = logical_of < starts
        logits = jnp.where(valid[None, :], -replay.counts / frequency_tau, -jnp.inf)
        flat = jax.random.categorical(start_key, logits.reshape(-1), shape=(batch,))
        env, physical = flat // replay.capacity, flat % replay.capacity
    index = (physical[:, None] + jnp.arange(length)[None, :]) % replay.capacity  # [batch, L]
    windows = jax.tree.map(lambda buf: jnp.swapaxes(buf[env[:, None], index], 0, 1), replay.data)
    counts = replay.counts.at[env, physical].add(1)
    return windows, replay.replace(counts=counts)
