"""Reusable contract checks for any `Memory` (see ssm_rl/memory.py).

Every check builds its own reference from the memory's other mode or from separate runs, so a
layer that mishandles resets, carries or step mode fails:

- `check_step_matches_sequence`: stepping through T steps == sequence mode (outputs, carry).
- `check_episodes_independent`: a sequence of several episodes, started from a non-fresh carry
  with reset[0] = True, == each episode run alone from a fresh carry.
- `check_chunking`: chunks with the carry passed along == one run.
- `check_reset_cuts_gradient`: d(outputs at/after a reset) / d(inputs before it) == 0 exactly.
- `check_transforms`: jit == eager, vmap over parameter seeds == per-seed runs, gradients finite.
- `check_backends_agree`: the two scan backends give the same outputs, carries and gradients.

Use: `case = make_case(memory)` then `check_x(case)`; `build_small(name)` makes a small stack.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ssm_rl.memory import Memory, check_carry, layer_class, make_memory
from ssm_rl.scan import BACKENDS, default_backend

RTOL, ATOL = 1e-4, 1e-5

# Episode starts (besides t = 0) per batch element for T = 20; element 2 never resets.
RESET_STEPS = ((6, 13), (9,), ())
T_DEFAULT = 20

SMALL_LAYER_OPTIONS = {"state_size": 8}  # applied where the layer has such a field


def build_small(name: str, d_model: int = 12, **options: Any) -> Memory:
    """A one-block stack of `name` at width d_model with small layer sizes (fast to compile).

    One block suffices: blocks compose through the same carry tuple (tests/test_blocks.py).
    """
    fields = {f.name for f in dataclasses.fields(layer_class(name))}
    small = {k: v for k, v in SMALL_LAYER_OPTIONS.items() if k in fields}
    return make_memory(name, **{"d_model": d_model, "num_layers": 1, **small, **options})


def _mean_square_loss(memory: Memory):
    """`(params, carry, x, reset) -> (mean y^2, (carry, y))`, jitted with its gradient."""

    def loss(params, carry, x, reset):
        carry, y = memory.apply(params, carry, x, reset)
        return jnp.mean(y**2), (carry, y)

    return jax.jit(jax.value_and_grad(loss, has_aux=True))


@dataclasses.dataclass
class Case:
    """A memory with parameters, a multi-episode input batch and jitted sequence/step calls.

    x: `[T, B, D_in]` float32; reset: `[T, B]` bool, True at t = 0 and at `RESET_STEPS[b]`.
    """

    memory: Memory
    params: Any
    x: jax.Array
    reset: jax.Array

    def __post_init__(self) -> None:
        self._run = jax.jit(self.memory.apply)
        self._step = jax.jit(functools.partial(self.memory.apply, method="step"))
        self.loss_and_grad = _mean_square_loss(self.memory)

    @property
    def batch(self) -> int:
        return self.x.shape[1]

    def fresh(self, batch_shape: tuple[int, ...] | None = None):
        return self.memory.initialize_carry(batch_shape or (self.batch,))

    def run(self, carry, x, reset, params=None):
        return self._run(self.params if params is None else params, carry, x, reset)

    def step(self, carry, x_t, reset_t):
        return self._step(self.params, carry, x_t, reset_t)


def make_case(memory: Memory, input_dim: int = 5, T: int = T_DEFAULT, seed: int = 0) -> Case:
    """Random inputs for len(RESET_STEPS) sequences and the parameters of `memory`."""
    k_x, k_init = jax.random.split(jax.random.key(seed))
    B = len(RESET_STEPS)
    x = jax.random.normal(k_x, (T, B, input_dim), jnp.float32)
    reset = np.zeros((T, B), bool)
    reset[0] = True
    for b, steps in enumerate(RESET_STEPS):
        reset[list(steps), b] = True
    reset = jnp.asarray(reset)
    params = memory.init(k_init, memory.initialize_carry((B,)), x, reset)  # eager: no compile
    return Case(memory, params, x, reset)


def _close(actual, desired, what: str) -> None:
    for a, d in zip(jax.tree.leaves(actual), jax.tree.leaves(desired), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(d), rtol=RTOL, atol=ATOL, err_msg=what)


def _warm_carry(case: Case):
    """A non-fresh carry: the state after running on unrelated inputs."""
    x = jax.random.normal(jax.random.key(123), case.x.shape, jnp.float32)
    carry, _ = case.run(case.fresh(), 3.0 * x, jnp.zeros_like(case.reset))
    return carry


def check_step_matches_sequence(case: Case) -> None:
    carry0 = _warm_carry(case)
    carry_seq, y_seq = case.run(carry0, case.x, case.reset)
    check_carry(carry_seq, case.fresh())
    assert y_seq.shape[:-1] == case.x.shape[:-1]
    carry, ys = carry0, []
    for t in range(case.x.shape[0]):
        carry, y_t = case.step(carry, case.x[t], case.reset[t])
        ys.append(y_t)
    _close(jnp.stack(ys), y_seq, "step-mode outputs vs sequence mode")
    _close(carry, carry_seq, "step-mode final carry vs sequence mode")


def _episodes(reset: np.ndarray) -> list[tuple[int, int, int]]:
    """(batch element, start, end) of every episode in `reset[T, B]`."""
    T = reset.shape[0]
    out = []
    for b in range(reset.shape[1]):
        starts = [int(t) for t in np.flatnonzero(reset[:, b])] + [T]
        out += [(b, s, e) for s, e in zip(starts[:-1], starts[1:], strict=True)]
    return out


def check_episodes_independent(case: Case) -> None:
    _, y = case.run(_warm_carry(case), case.x, case.reset)
    episodes = _episodes(np.asarray(case.reset))
    # Each episode alone, left-aligned in its own batch column, fresh carry, no resets. Outputs
    # at t < length depend only on steps <= t, so what follows an episode does not matter.
    x_alone = np.zeros((case.x.shape[0], len(episodes), case.x.shape[2]), np.float32)
    for k, (b, s, e) in enumerate(episodes):
        x_alone[: e - s, k] = np.asarray(case.x[s:e, b])
    _, y_alone = case.run(
        case.fresh((len(episodes),)), jnp.asarray(x_alone), jnp.zeros(x_alone.shape[:2], bool)
    )
    for k, (b, s, e) in enumerate(episodes):
        _close(y_alone[: e - s, k], y[s:e, b], f"episode {k} (element {b}, steps {s}..{e})")


def check_chunking(case: Case, bounds: tuple[int, ...] = (T_DEFAULT // 2,)) -> None:
    carry0 = _warm_carry(case)
    carry_full, y_full = case.run(carry0, case.x, case.reset)
    carry, ys = carry0, []
    edges = (0, *bounds, case.x.shape[0])
    for s, e in zip(edges[:-1], edges[1:], strict=True):
        carry, y = case.run(carry, case.x[s:e], case.reset[s:e])
        ys.append(y)
    _close(jnp.concatenate(ys), y_full, "chunked outputs vs one run")
    _close(carry, carry_full, "chunked final carry vs one run")


def _has_state(case: Case) -> bool:
    return sum(leaf.size for leaf in jax.tree.leaves(case.fresh())) > 0


def check_reset_cuts_gradient(case: Case) -> None:
    """Element 0 resets at r: its outputs from r on must not depend on its inputs before r."""
    r = RESET_STEPS[0][0]

    @jax.jit
    @jax.grad
    def grad_later_outputs(x, b):
        _, y = case.memory.apply(case.params, case.fresh(), x, case.reset)
        weights = jnp.linspace(0.5, 1.5, y.shape[-1])
        return jnp.sum(y[r:, b] * weights)

    grad_reset = grad_later_outputs(case.x, 0)
    assert np.all(np.asarray(grad_reset[:r, 0]) == 0.0), "gradient leaks across a reset"
    if _has_state(case):  # without a reset the same gradient is nonzero: the test can fail
        b_free = len(RESET_STEPS) - 1
        grad_free = grad_later_outputs(case.x, b_free)
        assert np.any(np.asarray(grad_free[:r, b_free]) != 0.0), "memory ignores the past"


def check_transforms(case: Case, seeds: int = 2) -> None:
    """jit(vmap) over parameter seeds == per-seed jitted runs; gradients finite, not all zero."""
    carry0 = case.fresh()
    inits = [case.memory.init(jax.random.key(i), carry0, case.x, case.reset) for i in range(seeds)]
    params = jax.tree.map(lambda *leaves: jnp.stack(leaves), *inits)
    batched = jax.jit(jax.vmap(case.memory.apply, in_axes=(0, None, None, None)))(
        params, carry0, case.x, case.reset
    )
    for i in range(seeds):
        single = case.run(carry0, case.x, case.reset, jax.tree.map(lambda p, i=i: p[i], params))
        _close(jax.tree.map(lambda leaf, i=i: leaf[i], batched), single, f"vmap seed {i}")

    _, grads = case.loss_and_grad(case.params, carry0, case.x, case.reset)
    leaves = jax.tree.leaves(grads)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in leaves), "non-finite gradient"
    assert any(np.any(np.asarray(g) != 0) for g in leaves), "all gradients are zero"


def check_backends_agree(case: Case) -> None:
    """A stack vs its clone on the other scan backend: same outputs, carries and gradients."""
    backend = dict(case.memory.layer_options).get("backend") or default_backend()
    other_backend = next(b for b in BACKENDS if b != backend)
    layer_options = {**dict(case.memory.layer_options), "backend": other_backend}
    other = case.memory.clone(layer_options=tuple(sorted(layer_options.items())))
    carry0 = _warm_carry(case)
    args = (case.params, carry0, case.x, case.reset)
    (_, reference), grads = case.loss_and_grad(*args)
    (_, result), other_grads = _mean_square_loss(other)(*args)
    _close(result, reference, f"{other_backend} vs {backend} outputs/carry")
    _close(other_grads, grads, f"{other_backend} vs {backend} gradients")
