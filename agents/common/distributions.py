"""Action distributions as pytrees: categorical, multi-categorical and diagonal Gaussian.

Each distribution holds its parameters with arbitrary leading batch axes `[*batch]` and offers
`sample(key)`, `log_prob(action)`, `entropy()` and `mode()`, all returning `[*batch]` (plus the
event axis for actions). They are `flax.struct` dataclasses, so they pass through `jit`,
`vmap` and `lax.scan` like any pytree.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct

LOG_2PI = math.log(2.0 * math.pi)


@struct.dataclass
class Categorical:
    """One categorical over `n` classes; `logits[*batch, n]` (unnormalised), actions int32."""

    logits: jax.Array

    def _log_softmax(self) -> jax.Array:
        return jax.nn.log_softmax(self.logits, axis=-1)

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.categorical(key, self.logits, axis=-1).astype(jnp.int32)

    def log_prob(self, action: jax.Array) -> jax.Array:
        log_p = self._log_softmax()
        return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def entropy(self) -> jax.Array:
        log_p = self._log_softmax()
        return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)

    def mode(self) -> jax.Array:
        return jnp.argmax(self.logits, axis=-1).astype(jnp.int32)


@struct.dataclass
class MultiCategorical:
    """Independent categoricals over `nvec = (n_0, ..., n_{k-1})`; actions int32 `[*batch, k]`.

    `logits[*batch, sum(nvec)]` holds the components' logits side by side; the log-probability
    and entropy of the joint are the sums over components.
    """

    logits: jax.Array
    nvec: tuple[int, ...] = struct.field(pytree_node=False)

    def _components(self) -> list[Categorical]:
        bounds = [0]
        for n in self.nvec:
            bounds.append(bounds[-1] + n)
        return [Categorical(self.logits[..., lo:hi])
                for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def sample(self, key: jax.Array) -> jax.Array:
        keys = jax.random.split(key, len(self.nvec))
        parts = zip(self._components(), keys, strict=True)
        return jnp.stack([c.sample(k) for c, k in parts], axis=-1)

    def log_prob(self, action: jax.Array) -> jax.Array:
        return sum(c.log_prob(action[..., i]) for i, c in enumerate(self._components()))

    def entropy(self) -> jax.Array:
        return sum(c.entropy() for c in self._components())

    def mode(self) -> jax.Array:
        return jnp.stack([c.mode() for c in self._components()], axis=-1)


@struct.dataclass
class DiagGaussian:
    """Gaussian with diagonal covariance: `mean[*batch, d]`, `log_std[*batch, d]` (broadcastable).

    Actions are the raw (unclipped) samples; the environment clips to its bounds.
    """

    mean: jax.Array
    log_std: jax.Array

    def sample(self, key: jax.Array) -> jax.Array:
        noise = jax.random.normal(key, self.mean.shape, self.mean.dtype)
        return self.mean + jnp.exp(self.log_std) * noise

    def log_prob(self, action: jax.Array) -> jax.Array:
        # log N(a; mu, s^2) = -((a - mu) / s)^2 / 2 - log s - log(2 pi) / 2, summed over d.
        z = (action - self.mean) * jnp.exp(-self.log_std)
        return jnp.sum(-0.5 * z * z - self.log_std - 0.5 * LOG_2PI, axis=-1)

    def entropy(self) -> jax.Array:
        log_std = jnp.broadcast_to(self.log_std, self.mean.shape)
        return jnp.sum(log_std + 0.5 * (1.0 + LOG_2PI), axis=-1)

    def mode(self) -> jax.Array:
        return self.mean


Distribution = Categorical | MultiCategorical | DiagGaussian
