"""S5: one MIMO diagonal SSM per layer (Smith et al. 2023), with in-sequence resets.

Continuous system in the eigenbasis, H = d_model inputs/outputs, Pk complex states:

    x'(t) = Λ x(t) + B~ u(t),     y(t) = C~ x(t) + D u(t)

Discretised per state with timescale Δ_p = step_rescale · exp(log_step_p):

    ZOH:       Λ̄ = exp(ΔΛ),                      B̄ = ((Λ̄ - 1) / Λ) · B~
    bilinear:  Λ̄ = (1 + ΔΛ/2) / (1 - ΔΛ/2),      B̄ = (Δ / (1 - ΔΛ/2)) · B~

    x_t = Λ̄ ⊙ where(reset_t, 0, x_{t-1}) + B̄ u_t
    y_t = 2 Re(C~ x_t) + D ⊙ u_t    (conj_sym: one state of each conjugate pair is kept)
    y_t =   Re(C~ x_t) + D ⊙ u_t    (otherwise)

Init (`eig_init="legs"`): Λ, V from `block_diagonal_legs(state_size, blocks, conj_sym)`,
B~ = V^-1 B with B lecun-normal, C~ = C V, log Δ ~ U[log dt_min, log dt_max], D ~ N(0, 1).
Other eigen-initialisers plug in through `register_s5_eigen_init`.

Re Λ < 0 is kept by `lambda_real`: "clip" uses min(Re Λ, -1e-4) (the S5 papers' clip_eigs),
"exp" parameterises Re Λ = -exp(Lambda_log_neg_re).

Parameters (all real float32):
  Lambda_re | Lambda_log_neg_re [Pk], Lambda_im [Pk], log_step [Pk], D [H],
  B [H, 2, Pk] with B[h, 0, p] = Re B~[p, h], B[h, 1, p] = Im B~[p, h],
  C [2, Pk, H] with C[0, p, h] = Re C~[h, p], C[1, p, h] = Im C~[h, p].
The layouts make `B~ u` one real matmul `u[N, H] @ B[H, 2Pk]` giving re/im, and
`Re(C~ x)` one real matmul `[Re x, -Im x][N, 2Pk] @ C[2Pk, H]`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ssm_rl.init.hippo import block_diagonal_legs
from ssm_rl.memory import Memory, register_layer
from ssm_rl.scan import BACKENDS, resettable_scan, resettable_step

EigenInit = Callable[[int, int, bool], tuple[np.ndarray, np.ndarray, np.ndarray]]
"""`(state_size, blocks, conj_sym) -> (Lambda[Pk], V[P, Pk], Vinv[Pk, P])`, numpy complex."""

_EIGEN_INITS: dict[str, EigenInit] = {"legs": block_diagonal_legs}

DISCRETIZATIONS: tuple[str, ...] = ("zoh", "bilinear")
C_INITS: tuple[str, ...] = ("lecun_normal", "trunc_standard_normal", "complex_normal")
LAMBDA_REAL: tuple[str, ...] = ("clip", "exp")
_CLIP_RE = -1e-4


def register_s5_eigen_init(name: str, fn: EigenInit) -> None:
    """Make `fn` available as `S5(eig_init=name)`; see `EigenInit` for the contract."""
    if name in _EIGEN_INITS and _EIGEN_INITS[name] is not fn:
        raise ValueError(f"S5 eigen-initialiser {name!r} is already registered")
    _EIGEN_INITS[name] = fn


@functools.lru_cache(maxsize=32)
def _eigen_init(name: str, state_size: int, blocks: int, conj_sym: bool):
    Lambda, V, Vinv = _EIGEN_INITS[name](state_size, blocks, conj_sym)
    Pk = state_size // 2 if conj_sym else state_size
    if Lambda.shape != (Pk,) or V.shape != (state_size, Pk) or Vinv.shape != (Pk, state_size):
        raise ValueError(
            f"eigen-initialiser {name!r} returned shapes {Lambda.shape}, {V.shape}, "
            f"{Vinv.shape}; expected ({Pk},), ({state_size}, {Pk}), ({Pk}, {state_size})"
        )
    return Lambda, V, Vinv


def _as_pair(z: np.ndarray | jax.Array, axis: int) -> jax.Array:
    return jnp.stack([jnp.real(z), jnp.imag(z)], axis=axis).astype(jnp.float32)


@register_layer("s5")
class S5(Memory):
    """S5 SSM layer: `[T, *batch, d_model] -> [T, *batch, d_model]`, carry `[*batch, Pk]` complex64.

    `state_size` is P, the full state count; with `conj_sym` Pk = P/2 states are stored.
    """

    d_model: int
    state_size: int = 256
    blocks: int = 1
    conj_sym: bool = True
    eig_init: str = "legs"
    C_init: str = "lecun_normal"
    discretization: str = "zoh"
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    step_rescale: float = 1.0
    lambda_real: str = "clip"
    backend: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, allowed in (
            ("eig_init", tuple(_EIGEN_INITS)),
            ("C_init", C_INITS),
            ("discretization", DISCRETIZATIONS),
            ("lambda_real", LAMBDA_REAL),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} is not one of {allowed}")
        if self.backend is not None and self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not None or one of {BACKENDS}")
        for name in ("d_model", "state_size", "blocks"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.state_size % self.blocks or (
            self.conj_sym and (self.state_size // self.blocks) % 2
        ):
            raise ValueError(
                f"state_size={self.state_size} must split into blocks={self.blocks} equal "
                f"blocks{' of even size (conj_sym)' if self.conj_sym else ''}"
            )
        if not 0 < self.dt_min <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")

    @property
    def num_states(self) -> int:
        """Pk: stored complex states (P/2 with conj_sym, else P)."""
        return self.state_size // 2 if self.conj_sym else self.state_size

    def _eig(self):
        return _eigen_init(self.eig_init, self.state_size, self.blocks, self.conj_sym)

    def setup(self) -> None:
        H, P, Pk = self.d_model, self.state_size, self.num_states
        if self.lambda_real == "clip":
            self.Lambda_re = self.param(
                "Lambda_re", lambda _: jnp.asarray(self._eig()[0].real, jnp.float32)
            )
        else:
            self.Lambda_log_neg_re = self.param(
                "Lambda_log_neg_re",
                lambda _: jnp.log(jnp.asarray(-self._eig()[0].real, jnp.float32)),
            )
        self.Lambda_im = self.param(
            "Lambda_im", lambda _: jnp.asarray(self._eig()[0].imag, jnp.float32)
        )

        def init_B(key):
            B = nn.initializers.lecun_normal()(key, (H, P), jnp.float32)  # u -> x, fan_in H
            return _as_pair(B @ jnp.asarray(self._eig()[2].T, jnp.complex64), axis=1)

        def init_C(key):
            V = jnp.asarray(self._eig()[1], jnp.complex64)  # [P, Pk]
            if self.C_init == "complex_normal":  # C~ drawn directly, no V
                C_t = jax.random.normal(key, (2, Pk, H)) * np.sqrt(0.5)
                return C_t.astype(jnp.float32)
            lecun = nn.initializers.lecun_normal()  # [P, H], fan_in P
            if self.C_init == "lecun_normal":  # C real: the real system's output map
                C = lecun(key, (P, H), jnp.float32)
            else:  # "trunc_standard_normal": C complex, each part var 1/P
                k_re, k_im = jax.random.split(key)
                C = lecun(k_re, (P, H), jnp.float32) + 1j * lecun(k_im, (P, H), jnp.float32)
            return _as_pair(V.T @ C, axis=0)  # (C V)^T = V^T C^T

        self.B = self.param("B", init_B)
        self.C = self.param("C", init_C)
        self.D = self.param("D", nn.initializers.normal(1.0), (H,))
        log_lo, log_hi = np.log(self.dt_min), np.log(self.dt_max)
        self.log_step = self.param(
            "log_step",
            lambda key: jax.random.uniform(key, (Pk,), jnp.float32, log_lo, log_hi),
        )

    def continuous_lambda(self) -> jax.Array:
        """Λ [Pk] complex64 with Re Λ < 0."""
        if self.lambda_real == "clip":
            re = jnp.minimum(self.Lambda_re, _CLIP_RE)
        else:
            re = -jnp.exp(self.Lambda_log_neg_re)
        return jax.lax.complex(re, self.Lambda_im)

    def discretize(self) -> tuple[jax.Array, jax.Array]:
        """`(Λ̄ [Pk], s [Pk])` complex64 with `B̄ = diag(s) B~` (per-state input scale)."""
        Lambda = self.continuous_lambda()
        delta = self.step_rescale * jnp.exp(self.log_step)
        if self.discretization == "zoh":
            Lambda_bar = jnp.exp(delta * Lambda)
            return Lambda_bar, (Lambda_bar - 1.0) / Lambda
        denom = 1.0 - 0.5 * delta * Lambda
        return (1.0 + 0.5 * delta * Lambda) / denom, delta / denom

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, self.num_states), jnp.complex64)

    def _input(self, u: jax.Array, scale: jax.Array) -> jax.Array:
        """B̄ u: `u[..., H]` -> `[..., Pk]` complex64 via one real matmul."""
        if u.shape[-1] != self.d_model:
            raise ValueError(f"x has width {u.shape[-1]}, S5 expects d_model={self.d_model}")
        Pk = self.num_states
        bu = u @ self.B.reshape(self.d_model, 2 * Pk)
        return jax.lax.complex(bu[..., :Pk], bu[..., Pk:]) * scale

    def _output(self, x: jax.Array, u: jax.Array) -> jax.Array:
        """y = c Re(C~ x) + D u with c = 2 (conj_sym) or 1: `x[..., Pk]` -> `[..., H]`."""
        parts = jnp.concatenate([jnp.real(x), -jnp.imag(x)], axis=-1)
        y = parts @ self.C.reshape(2 * self.num_states, self.d_model)
        return (2.0 * y if self.conj_sym else y) + self.D * u

    def __call__(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        """`x[T, *batch, H]`, `reset[T, *batch]` -> `(carry [*batch, Pk], y[T, *batch, H])`."""
        Lambda_bar, scale = self.discretize()
        h_all, h_last = resettable_scan(
            Lambda_bar, self._input(x, scale), reset, carry, backend=self.backend
        )
        return h_last, self._output(h_all, x)

    def step(self, carry: jax.Array, x: jax.Array, reset: jax.Array):
        """`x[*batch, H]`, `reset[*batch]` -> `(carry [*batch, Pk], y[*batch, H])`."""
        Lambda_bar, scale = self.discretize()
        h = resettable_step(Lambda_bar, self._input(x, scale), reset, carry)
        return h, self._output(h, x)
