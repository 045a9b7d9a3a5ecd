"""Resettable diagonal linear recurrence.

    h_t = a_t * h_{t-1} + b_t,    with h_{t-1} := 0 when reset_t   (t = 0 .. T-1)

`reset_t` means "step t is the first step of an episode": the state is cleared *before*
input t is consumed. Arrays are time-major: `b[T, *batch, P]`, `reset[T, *batch]`,
`h0[*batch, P]`. Real and complex dtypes work alike.

Two backends give the same result:

- ``"sequential"``: `lax.scan` over `h <- where(reset, 0, h) * a + b`. One pass, O(T) depth;
  the fastest on CPU (measured by `scripts/bench_memory.py`).
- ``"associative"``: fold the reset into the multiplier, `ã_t = where(reset_t, 0, a_t)`, and
  run `lax.associative_scan` with the operator on affine maps `h -> a h + b`,

      (a_i, b_i) • (a_j, b_j) = (a_j a_i,  a_j b_i + b_j),

  which is associative (composition of affine maps). A zero multiplier at t cuts every
  dependence on steps before t, gradients included (exactly zero). The initial state enters
  as `b_0 <- b_0 + ã_0 h0`. O(log T) depth: the choice for accelerators.

`default_backend()` picks per platform: sequential on CPU, associative on GPU/TPU. Pass
`backend=` to override; there is no other guessing.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

Backend = Literal["sequential", "associative"]
BACKENDS: tuple[str, ...] = ("sequential", "associative")


def default_backend(platform: str | None = None) -> Backend:
    """The faster backend for a platform (default: JAX's default backend)."""
    platform = platform or jax.default_backend()
    return "sequential" if platform == "cpu" else "associative"


def check_backend(backend: str | None) -> Backend:
    """Resolve `None` to the platform default and reject unknown names."""
    if backend is None:
        return default_backend()
    if backend not in BACKENDS:
        raise ValueError(f"unknown scan backend {backend!r}; expected one of {BACKENDS}")
    return backend  # type: ignore[return-value]


def _check_shapes(a: jax.Array, b: jax.Array, reset: jax.Array, h0: jax.Array | None) -> None:
    if b.ndim < 2:
        raise ValueError(f"b must be [T, *batch, P] with ndim >= 2, got shape {b.shape}")
    if reset.shape != b.shape[:-1]:
        raise ValueError(
            f"reset must have shape [T, *batch] = {b.shape[:-1]} to match b {b.shape}, "
            f"got {reset.shape}"
        )
    if a.ndim > b.ndim:
        raise ValueError(f"a {a.shape} has more dimensions than b {b.shape}")
    try:
        jnp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"a {a.shape} does not broadcast to b {b.shape}") from None
    if h0 is not None and h0.shape != b.shape[1:]:
        raise ValueError(f"h0 must have shape [*batch, P] = {b.shape[1:]}, got {h0.shape}")


def resettable_scan(
    a: jax.Array,
    b: jax.Array,
    reset: jax.Array,
    h0: jax.Array | None = None,
    *,
    backend: Backend | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Run `h_t = a_t h_{t-1} + b_t` with in-sequence resets.

    Args:
      a: multipliers. Same ndim as `b` -> time-varying `[T or 1, ...]` broadcastable to `b`;
        fewer dims -> constant in time, broadcast against `b[t]` (e.g. `[P]`).
      b: inputs `[T, *batch, P]`.
      reset: bool `[T, *batch]`; True where step t starts a new episode.
      h0: state before step 0, `[*batch, P]`; zeros if None.
      backend: "sequential" or "associative"; None -> `default_backend()`.

    Returns:
      `(h_all [T, *batch, P], h_last [*batch, P])`.
    """
    a, b, reset = jnp.asarray(a), jnp.asarray(b), jnp.asarray(reset)
    _check_shapes(a, b, reset, h0)
    backend = check_backend(backend)
    dtype = jnp.result_type(a.dtype, b.dtype)
    a, b = a.astype(dtype), b.astype(dtype)
    h0 = jnp.zeros(b.shape[1:], dtype) if h0 is None else jnp.asarray(h0, dtype)
    reset = reset.astype(bool)[..., None]
    time_varying = a.ndim == b.ndim
    if backend == "sequential":
        h_all = _sequential(a, b, reset, h0, time_varying)
    else:
        h_all = _associative(a, b, reset, h0)
    return h_all, h_all[-1]


def _sequential(a, b, reset, h0, time_varying):
    def step(h, inputs):
        a_t, b_t, reset_t = inputs
        h = jnp.where(reset_t, jnp.zeros_like(h), h) * a_t + b_t
        return h, h

    if time_varying:
        a_seq = jnp.broadcast_to(a, b.shape)
        _, h_all = jax.lax.scan(step, h0, (a_seq, b, reset))
    else:
        _, h_all = jax.lax.scan(lambda h, x: step(h, (a, *x)), h0, (b, reset))
    return h_all


def _combine(left, right):
    """(a_i, b_i) • (a_j, b_j) = (a_j a_i, a_j b_i + b_j): apply `left`, then `right`."""
    a_i, b_i = left
    a_j, b_j = right
    return a_j * a_i, a_j * b_i + b_j


def _associative(a, b, reset, h0):
    a_full = jnp.broadcast_to(a, b.shape)
    a_cut = jnp.where(reset, jnp.zeros_like(a_full), a_full)
    b = b.at[0].add(a_cut[0] * h0)
    _, h_all = jax.lax.associative_scan(_combine, (a_cut, b), axis=0)
    return h_all


def resettable_step(
    a: jax.Array, b: jax.Array, reset: jax.Array, h: jax.Array
) -> jax.Array:
    """One step of the same recurrence: `where(reset, 0, h) * a + b`.

    Shapes: `b[*batch, P]`, `reset[*batch]`, `h[*batch, P]`, `a` broadcastable to `b`.
    """
    b, reset, h = jnp.asarray(b), jnp.asarray(reset), jnp.asarray(h)
    if b.ndim < 1 or reset.shape != b.shape[:-1]:
        raise ValueError(
            f"reset must have shape [*batch] = {b.shape[:-1]} to match b {b.shape}, "
            f"got {reset.shape}"
        )
    if h.shape != b.shape:
        raise ValueError(f"h must have shape [*batch, P] = {b.shape} like b, got {h.shape}")
    reset = reset.astype(bool)[..., None]
    return jnp.where(reset, jnp.zeros_like(h), h) * a + b
