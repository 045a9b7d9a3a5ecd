"""Short causal depthwise convolution with in-sequence resets (the conv of Mamba blocks).

    out_t = bias + sum_{k<K} weight[k] ⊙ x_{t-k}        (weight: [K, C], lag order)

where x_{t-k} := 0 when it lies before the episode that step t belongs to, so a reset at t
clears the window before input t is consumed, in sequence and step mode alike. The carried
`window[*batch, K-1, C]` holds the last K-1 inputs, oldest first, zero before the episode start.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def causal_conv(
    window: jax.Array, x: jax.Array, reset: jax.Array, weight: jax.Array, bias: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Sequence mode: `x[T, *batch, C]`, `reset[T, *batch]` -> `(out[T, *batch, C], window)`."""
    T, K = x.shape[0], weight.shape[0]
    # Conv inputs, time-major: the carried window (steps -K+1 .. -1), then this chunk.
    full = jnp.concatenate([jnp.moveaxis(window, -2, 0), x], axis=0)  # [T+K-1, *b, C]
    # age_t: steps since the last reset at or before t in this chunk (large if none), so
    # x_{t-k} belongs to the current episode iff k <= age_t.
    steps = jnp.arange(T).reshape(T, *([1] * (reset.ndim - 1)))
    last_reset = jax.lax.cummax(jnp.where(reset, steps, -1), axis=0)
    age = jnp.where(last_reset >= 0, steps - last_reset, T + K)[..., None]
    out = bias + sum(
        weight[k] * jnp.where(k <= age, full[K - 1 - k : K - 1 - k + T], 0.0) for k in range(K)
    )
    # New window: the last K-1 conv inputs, lag K-2-j behind step T-1 for slot j.
    lags = jnp.arange(K - 2, -1, -1)[:, None]
    new_window = jnp.where(lags <= age[-1][..., None, :], jnp.moveaxis(full[T:], 0, -2), 0.0)
    return out, new_window


def causal_conv_step(
    window: jax.Array, x: jax.Array, reset: jax.Array, weight: jax.Array, bias: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Step mode: `x[*batch, C]`, `reset[*batch]` -> `(out[*batch, C], window)`."""
    window = jnp.where(reset[..., None, None], 0.0, window)
    full = jnp.concatenate([window, x[..., None, :]], axis=-2)  # [*b, K, C], oldest first
    out = bias + jnp.einsum("...kc,kc->...c", full, weight[::-1])
    return out, full[..., 1:, :]
