"""Categorical latents (DreamerV3): unimix, straight-through samples, KL balancing, free bits.

A latent is `groups` independent categoricals of `classes` each (e.g. 32 x 32), given as
logits `[..., groups, classes]`; a sample is a one-hot of the same shape, flattened by the
model to `[..., groups * classes]`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def unimix_logits(logits: jax.Array, unimix: float = 0.01) -> jax.Array:
    """Log of `(1 - unimix) softmax(logits) + unimix / classes` (so every p >= unimix/classes)."""
    if not 0.0 <= unimix < 1.0:
        raise ValueError(f"unimix must be in [0, 1), got {unimix}")
    probs = jax.nn.softmax(logits, axis=-1)
    probs = (1.0 - unimix) * probs + unimix / logits.shape[-1]
    return jnp.log(probs)


def sample_straight_through(key: jax.Array, logits: jax.Array) -> jax.Array:
    """One-hot sample `[..., groups, classes]` whose gradient is that of the probabilities.

    Forward value: the one-hot; backward: `d onehot := d softmax(logits)` (straight-through).
    """
    index = jax.random.categorical(key, logits, axis=-1)
    onehot = jax.nn.one_hot(index, logits.shape[-1], dtype=logits.dtype)
    probs = jax.nn.softmax(logits, axis=-1)
    return onehot + probs - jax.lax.stop_gradient(probs)


def mode_onehot(logits: jax.Array) -> jax.Array:
    """One-hot of the most likely class, `[..., groups, classes]` (no gradient)."""
    return jax.nn.one_hot(jnp.argmax(logits, -1), logits.shape[-1], dtype=logits.dtype)


def categorical_kl(logits_p: jax.Array, logits_q: jax.Array) -> jax.Array:
    """`KL(p || q)` summed over groups: logits `[..., groups, classes]` -> `[...]` (nats)."""
    log_p = jax.nn.log_softmax(logits_p, axis=-1)
    log_q = jax.nn.log_softmax(logits_q, axis=-1)
    return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=(-2, -1))


def free_bits(kl: jax.Array, nats: float) -> jax.Array:
    """`max(kl, nats)`: constant (zero gradient) while the KL is below `nats`."""
    return jnp.maximum(kl, nats)


def kl_balance_loss(
    post_logits: jax.Array,
    prior_logits: jax.Array,
    dyn_scale: float = 0.5,
    rep_scale: float = 0.1,
    free_nats: float = 1.0,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """DreamerV3 KL balancing with free bits, per step `[...]`.

    `dyn = max(free, KL(sg(q) || p))` trains the prior toward the posterior,
    `rep = max(free, KL(q || sg(p)))` the posterior toward the prior;
    loss = `dyn_scale dyn + rep_scale rep`.
    """
    sg = jax.lax.stop_gradient
    dyn = free_bits(categorical_kl(sg(post_logits), prior_logits), free_nats)
    rep = free_bits(categorical_kl(post_logits, sg(prior_logits)), free_nats)
    kl = categorical_kl(sg(post_logits), sg(prior_logits))
    return dyn_scale * dyn + rep_scale * rep, {"kl": kl, "dyn": dyn, "rep": rep}
