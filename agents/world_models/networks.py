"""Encoders, decoders and heads of the world model and the actor-critic.

- Vector observations `[..., D]`: MLP on `symlog(x)`; the decoder predicts `symlog(x)`.
- Small images `[..., H, W, C]` in [0, 1] (H, W divisible by 2**len(channels)): strided
  convolutions; the decoder mirrors them with transposed convolutions.
Every MLP layer is Dense -> LayerNorm -> SiLU (DreamerV3).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from agents.common.dreamer_math import symlog


class MLP(nn.Module):
    """`layers` x (Dense(width) -> LayerNorm -> SiLU), then an optional Dense(out).

    `zero_out` starts the output layer at zero (DreamerV3 does so for reward and value heads).
    """

    width: int
    layers: int
    out: int | None = None
    zero_out: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(self.layers):
            x = nn.silu(nn.LayerNorm()(nn.Dense(self.width)(x)))
        if self.out is not None:
            init = nn.initializers.zeros if self.zero_out else nn.initializers.lecun_normal()
            x = nn.Dense(self.out, kernel_init=init)(x)
        return x


def is_image_shape(obs_shape: Sequence[int]) -> bool:
    """Images are `[H, W, C]`; vectors are `[D]`."""
    if len(obs_shape) not in (1, 3):
        raise ValueError(f"observation shape must be [D] or [H, W, C], got {tuple(obs_shape)}")
    return len(obs_shape) == 3


class VectorEncoder(nn.Module):
    """`x[..., D]` -> embedding `[..., width]` via an MLP on `symlog(x)`."""

    width: int
    layers: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return MLP(self.width, self.layers)(symlog(x))


class VectorDecoder(nn.Module):
    """features `[..., F]` -> predicted `symlog(x)` `[..., D]`."""

    size: int
    width: int
    layers: int

    @nn.compact
    def __call__(self, feat: jax.Array) -> jax.Array:
        return MLP(self.width, self.layers, out=self.size)(feat)


class ImageEncoder(nn.Module):
    """`x[..., H, W, C]` -> `[..., width]`: strided 4x4 convs (stride 2), flatten, MLP."""

    width: int
    channels: Sequence[int] = (16, 32, 64)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        batch = x.shape[:-3]
        h = x.reshape((-1, *x.shape[-3:])) - 0.5
        for c in self.channels:
            h = nn.silu(nn.LayerNorm()(nn.Conv(c, (4, 4), strides=(2, 2))(h)))
        h = h.reshape((*batch, -1))
        return MLP(self.width, 1)(h)


class ImageDecoder(nn.Module):
    """features `[..., F]` -> image `[..., H, W, C]` (mean of a unit Gaussian, offset by 0.5)."""

    shape: tuple[int, int, int]
    channels: Sequence[int] = (16, 32, 64)

    @nn.compact
    def __call__(self, feat: jax.Array) -> jax.Array:
        height, width, out_channels = self.shape
        factor = 2 ** len(self.channels)
        if height % factor or width % factor:
            raise ValueError(f"image shape {self.shape} must be divisible by {factor}")
        batch = feat.shape[:-1]
        h0, w0 = height // factor, width // factor
        h = nn.Dense(h0 * w0 * self.channels[-1])(feat.reshape((-1, feat.shape[-1])))
        h = h.reshape((-1, h0, w0, self.channels[-1]))
        for c in reversed(self.channels[:-1]):
            h = nn.silu(nn.LayerNorm()(nn.ConvTranspose(c, (4, 4), strides=(2, 2))(h)))
        h = nn.ConvTranspose(out_channels, (4, 4), strides=(2, 2))(h)
        return h.reshape((*batch, height, width, out_channels)) + 0.5


def observation_target(obs: jax.Array, obs_shape: Sequence[int]) -> jax.Array:
    """What the decoder regresses: `symlog(x)` for vectors, raw pixels for images."""
    return obs.astype(jnp.float32) if is_image_shape(obs_shape) else symlog(obs)
