"""Causal Transformer block with a sliding-window KV cache: the attention baseline.

One pre-LN block (shapes time-major, `N` = flattened batch):

    h = x + Wo · MHA(q = Wq (LN1(x) + e_t), k = Wk (LN1(x) + e_t), v = Wv LN1(x))
    y = h + W2 gelu(W1 LN2(h))

`e_t` encodes the *episode-relative* position of step t (0 at the step where `reset` is True,
counting on across chunk boundaries through the carry), sinusoidal or learned, and enters the
queries and keys only, in every block. Positions restart at each reset, so the encoding of a
step does not depend on where a chunk boundary falls: step mode and sequence mode agree.

Window semantics (`window` = W). Query t attends to the keys of steps t-W+1 .. t (itself and
the W-1 steps before it) that belong to its episode. The carry is the KV cache of the last W
steps (oldest first) with a validity mask (False for slots from before the latest reset, or not
filled yet) and the next position. In sequence mode the keys are `[cache (W) ; chunk (T)]`;
query i of the chunk (absolute key index W+i) may see key j iff

    i + 1 <= j <= W + i                               (causal, within the window)
    j >= W: seg[j - W] == seg[i]                      (same episode inside the chunk)
    j <  W: cache_valid[j] and seg[i] == 0            (cache only before the chunk's 1st reset)

with `seg = cumsum(reset)` over the chunk. The new cache is the last W keys/values of
`[cache ; chunk]`, valid where they belong to the chunk's final episode. `step` is sequence
mode on a chunk of one step, so stepping, chunking and whole sequences give the same outputs
(to float32 round-off) for any window. Each query always sees itself, so no row is empty.

Cost: plain masked softmax (`jax.nn.dot_product_attention`) over each query's band only.
Sequence mode takes queries in blocks of `query_block` = b, so time is O(T (W + b)) and,
because the blocks run in a loop whose body is recomputed in the backward pass
(`jax.checkpoint`), memory is O(T + b (W + b)) per head. With W >= T that is the usual
quadratic time of causal attention at linear memory. Step mode costs O(W).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from ssm_rl.memory import (
    Memory,
    check_carry,
    check_sequence_inputs,
    check_step_inputs,
    register_layer,
)

POSITION_ENCODINGS: tuple[str, ...] = ("sinusoidal", "learned", "none")


class KVCache(NamedTuple):
    """Carry of one Transformer block; `*batch` leads every leaf.

    key, value: `[*batch, W, heads, head_dim]` float32, oldest step first.
    valid: `[*batch, W]` bool, slot holds a step of the current episode.
    position: `[*batch]` int32, episode-relative position the next step gets (unless it resets).
    """

    key: jax.Array
    value: jax.Array
    valid: jax.Array
    position: jax.Array


def sinusoidal_encoding(position: jax.Array, dim: int) -> jax.Array:
    """`[...] int -> [..., dim]`: sin/cos pairs at wavelengths 2π · 10000^(2i/dim)."""
    half = dim // 2
    inv_freq = jnp.exp(-math.log(10000.0) * jnp.arange(half, dtype=jnp.float32) / max(half, 1))
    angle = position.astype(jnp.float32)[..., None] * inv_freq
    enc = jnp.concatenate([jnp.sin(angle), jnp.cos(angle)], axis=-1)
    return jnp.pad(enc, [(0, 0)] * position.ndim + [(0, dim - 2 * half)])


def episode_positions(reset: jax.Array, start: jax.Array) -> jax.Array:
    """Steps since the episode start: `reset[T, N]`, `start[N]` (position of step 0 if no reset).

    `pos_t = t - r_t` with `r_t` the index of the latest reset at or before t, or
    `start + t` if there is none in the chunk.
    """
    t = jnp.arange(reset.shape[0], dtype=jnp.int32)[:, None]
    last_reset = jax.lax.cummax(jnp.where(reset, t, -1), axis=0)
    return jnp.where(last_reset >= 0, t - last_reset, start[None, :] + t)


def windowed_attention(
    q: jax.Array,
    keys: jax.Array,
    values: jax.Array,
    query_segment: jax.Array,
    key_segment: jax.Array,
    window: int,
    query_block: int | None,
) -> jax.Array:
    """Masked softmax attention of chunk queries over `[cache ; chunk]` keys, block by block.

    Shapes: `q[N, T, heads, hd]`, `keys`/`values[N, W + T, heads, hd]`, `query_segment[N, T]`
    (episode index of each query), `key_segment[N, W + T]` (-1 for keys nobody may see).
    Query i sees key j iff `i + 1 <= j <= W + i` and `key_segment[j] == query_segment[i]`.
    Queries go in blocks of `query_block` (None: one block); a block of b queries only scores
    its band of W + b - 1 keys, and blocks run one after another under `jax.checkpoint`, so
    time is O(T (W + b)) and memory O(T + b (W + b)) rather than O(T (W + T)).
    Returns `[N, T, heads, hd]`.
    """
    steps = q.shape[1]
    block = steps if query_block is None else min(query_block, steps)
    num_blocks = -(-steps // block)
    pad = num_blocks * block - steps
    span = window + block - 1
    if pad:  # padded queries are dropped at the end; padded keys are never in a real band
        q = jnp.pad(q, [(0, 0), (0, pad), (0, 0), (0, 0)])
        query_segment = jnp.pad(query_segment, [(0, 0), (0, pad)], mode="edge")
        keys = jnp.pad(keys, [(0, 0), (0, pad), (0, 0), (0, 0)])
        values = jnp.pad(values, [(0, 0), (0, pad), (0, 0), (0, 0)])
        key_segment = jnp.pad(key_segment, [(0, 0), (0, pad)], constant_values=-1)
    # Query r of a block starting at q0 is step q0 + r; band slot s is key q0 + 1 + s; the
    # window condition 1 <= j - i <= W becomes 0 <= s - r <= W - 1, the same for every block.
    offset = jnp.arange(span)[None, :] - jnp.arange(block)[:, None]
    band = (offset >= 0) & (offset < window)  # [block, span]

    def attend(q0):
        def cut(a, start, size):
            return jax.lax.dynamic_slice_in_dim(a, start, size, axis=1)

        same_episode = cut(key_segment, q0 + 1, span)[:, None, :] == cut(
            query_segment, q0, block
        )[:, :, None]
        mask = (band[None] & same_episode)[:, None]  # [N, 1, block, span]
        return jax.nn.dot_product_attention(
            cut(q, q0, block), cut(keys, q0 + 1, span), cut(values, q0 + 1, span), mask=mask
        )

    if num_blocks == 1:
        return attend(0)[:, :steps]
    out = jax.lax.map(jax.checkpoint(attend), jnp.arange(num_blocks) * block)
    out = jnp.moveaxis(out, 0, 1).reshape(q.shape[0], num_blocks * block, *q.shape[2:])
    return out[:, :steps]


@register_layer("transformer")
class TransformerLayer(Memory):
    """Pre-LN causal Transformer block whose attention spans the last `window` steps.

    `make_memory("transformer", num_layers=L)` is an input Dense to d_model followed by L of
    these blocks (the stack adds no norm, activation or residual of its own).

    Attributes:
      d_model: width H (set by the stack); divisible by `num_heads`.
      num_heads: attention heads; head_dim = d_model // num_heads.
      window: W, steps each query attends to (itself included) and the KV cache length.
      mlp_ratio: MLP hidden width = mlp_ratio * d_model.
      positions: "sinusoidal", "learned" (table of `max_position` rows, later positions use
        the last row) or "none"; always episode-relative.
      max_position: rows of the learned position table.
      query_block: sequence-mode queries per attention block (None: all at once); see
        `windowed_attention`. Changes cost only, not results.
    """

    d_model: int
    num_heads: int = 4
    window: int = 128
    mlp_ratio: int = 4
    positions: str = "sinusoidal"
    max_position: int = 1024
    query_block: int | None = 128
    # The block has its own norms, MLP and residuals: the stack only adds the input Dense.
    stack_defaults: ClassVar[dict[str, Any]] = {
        "norm": "none",
        "activation": "none",
        "residual": False,
    }

    def _check_options(self) -> None:
        if self.d_model < 1 or self.num_heads < 1 or self.d_model % self.num_heads:
            raise ValueError(
                f"d_model={self.d_model} must be a positive multiple of num_heads={self.num_heads}"
            )
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")
        if self.mlp_ratio < 1:
            raise ValueError(f"mlp_ratio must be >= 1, got {self.mlp_ratio}")
        if self.positions not in POSITION_ENCODINGS:
            raise ValueError(
                f"unknown positions {self.positions!r}; expected one of {POSITION_ENCODINGS}"
            )
        if self.query_block is not None and self.query_block < 1:
            raise ValueError(f"query_block must be >= 1 or None, got {self.query_block}")
        if self.max_position < 1:
            raise ValueError(f"max_position must be >= 1, got {self.max_position}")

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> KVCache:
        self._check_options()
        batch_shape = tuple(batch_shape)
        head_dim = self.d_model // self.num_heads
        kv = jnp.zeros((*batch_shape, self.window, self.num_heads, head_dim), jnp.float32)
        return KVCache(
            key=kv,
            value=kv,
            valid=jnp.zeros((*batch_shape, self.window), bool),
            position=jnp.zeros(batch_shape, jnp.int32),
        )

    def _encode_positions(self, position: jax.Array) -> jax.Array:
        """`[...] int -> [..., d_model]`."""
        if self.positions == "sinusoidal":
            return sinusoidal_encoding(position, self.d_model)
        table = nn.Embed(self.max_position, self.d_model, name="position_embedding")
        return table(jnp.minimum(position, self.max_position - 1))

    @nn.compact
    def __call__(
        self, carry: KVCache, x: jax.Array, reset: jax.Array
    ) -> tuple[KVCache, jax.Array]:
        """`x[T, *batch, d_model]`, `reset[T, *batch]` -> `(carry, y[T, *batch, d_model])`."""
        self._check_options()
        check_sequence_inputs(x, reset)
        if x.shape[-1] != self.d_model:
            raise ValueError(f"x has width {x.shape[-1]}, expected d_model={self.d_model}")
        batch_shape = x.shape[1:-1]
        check_carry(carry, self.initialize_carry(batch_shape))
        steps, width, heads = x.shape[0], self.d_model, self.num_heads
        n = math.prod(batch_shape)
        head_dim = width // heads
        window = self.window

        x = x.reshape(steps, n, width)
        reset = reset.reshape(steps, n).astype(bool)
        cache = jax.tree.map(lambda leaf: leaf.reshape(n, *leaf.shape[len(batch_shape):]), carry)

        # Attention sub-block; projections are single matmuls over [T*N, .].
        h = nn.LayerNorm(name="attention_norm")(x)
        position = episode_positions(reset, cache.position)  # [T, N]
        qk_input = h if self.positions == "none" else h + self._encode_positions(position)
        qk = nn.Dense(2 * width, name="query_key")(qk_input)
        v = nn.Dense(width, name="value")(h)

        def heads_first(a):  # [T, N, width] -> [N, T, heads, head_dim]
            return a.reshape(steps, n, heads, head_dim).transpose(1, 0, 2, 3)

        q, k, v = heads_first(qk[..., :width]), heads_first(qk[..., width:]), heads_first(v)
        keys = jnp.concatenate([cache.key, k], axis=1)  # [N, W + T, heads, head_dim]
        values = jnp.concatenate([cache.value, v], axis=1)
        # Episode index within the chunk; cache slots count as episode 0 when valid.
        seg = jnp.cumsum(reset.astype(jnp.int32), axis=0).T  # [N, T]
        key_segment = jnp.concatenate([jnp.where(cache.valid, 0, -1), seg], axis=1)
        attended = windowed_attention(
            q, keys, values, seg, key_segment, window, self.query_block
        )
        attended = attended.transpose(1, 0, 2, 3).reshape(steps, n, width)
        x = x + nn.Dense(width, name="attention_out")(attended)

        # MLP sub-block.
        h = nn.LayerNorm(name="mlp_norm")(x)
        h = nn.gelu(nn.Dense(self.mlp_ratio * width, name="mlp_hidden")(h))
        y = x + nn.Dense(width, name="mlp_out")(h)

        # New cache: the last W of [cache ; chunk], valid where in the chunk's last episode.
        valid = (key_segment == seg[:, -1:])[:, -window:]
        new_cache = KVCache(
            key=keys[:, -window:],
            value=values[:, -window:],
            valid=valid,
            position=position[-1] + 1,
        )
        new_cache = jax.tree.map(
            lambda leaf: leaf.reshape(*batch_shape, *leaf.shape[1:]), new_cache
        )
        return new_cache, y.reshape(steps, *batch_shape, width)

    def step(self, carry: KVCache, x: jax.Array, reset: jax.Array) -> tuple[KVCache, jax.Array]:
        """`x[*batch, d_model]`, `reset[*batch]` -> `(carry, y[*batch, d_model])`: O(W) per step.

        Exactly sequence mode on a one-step chunk (keys = W cache slots + the new step).
        """
        check_step_inputs(x, reset)
        carry, y = self(carry, x[None], reset[None])
        return carry, y[0]
