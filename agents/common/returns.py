"""Generalised advantage estimation over time-major rollouts with terminations and truncations."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    done: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Advantages and value targets, all arrays `[T, *batch]`.

    Args:
      rewards: r_t, received on step t.
      values: V(s_t) of the observation acted on at step t.
      next_values: V(s_{t+1}) of the observation reached by step t: the next step's value when
        the episode goes on, the value of `info["final_observation"]` when it was truncated
        (ignored where terminated).
      terminated: the episode ended in a terminal state at step t (no bootstrap).
      done: terminated or truncated at step t (the advantage recursion stops there).
      gamma, lam: discount and GAE lambda.

    Returns:
      `(advantages, targets)` with
      `delta_t = r_t + gamma (1 - terminated_t) next_values_t - values_t`,
      `A_t = delta_t + gamma lam (1 - done_t) A_{t+1}` (A_T = 0), `targets = A + values`.
    """
    chex.assert_equal_shape([rewards, values, next_values, terminated, done])
    chex.assert_type([terminated, done], bool)
    not_terminal = 1.0 - terminated.astype(values.dtype)
    not_done = 1.0 - done.astype(values.dtype)
    deltas = rewards + gamma * not_terminal * next_values - values

    def backward(carry, inputs):
        delta_t, not_done_t = inputs
        advantage = delta_t + gamma * lam * not_done_t * carry
        return advantage, advantage

    _, advantages = jax.lax.scan(
        backward, jnp.zeros_like(values[0]), (deltas, not_done), reverse=True
    )
    return advantages, advantages + values


def next_values(
    values: jax.Array, last_value: jax.Array, final_values: jax.Array, done: jax.Array
) -> jax.Array:
    """V(s_{t+1}) per step `[T, *batch]`: the following step's value, the value after the last
    step (`last_value[*batch]`) at t = T-1, and `final_values` (of the episode's final
    observation) where the episode ended at step t."""
    chex.assert_equal_shape([values, final_values, done])
    chex.assert_shape(last_value, values.shape[1:])
    following = jnp.concatenate([values[1:], last_value[None]], axis=0)
    return jnp.where(done, final_values, following)
