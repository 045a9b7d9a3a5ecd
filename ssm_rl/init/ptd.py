"""Perturb-then-diagonalise (PTD) initialisation of the full HiPPO-LegS matrix (numpy float64).

Yu et al. 2024 ("Robustifying State-space Models for Long Sequences via Approximate
Diagonalization"): LegS `A` cannot be diagonalised stably (eigenvector condition ~1e10 at
N = 16), but a small real perturbation `E` makes `A + E = V diag(Λ) V^-1` with a
well-conditioned `V`. All N eigenvalues are kept (some are real, so no conjugate halving) and
the true inverse `V^-1` maps the input matrix, `B~ = V^-1 B`.

Finding E (our own method). With `M = A + E`, eigenvectors `v_i` (columns of V) and left
eigenvectors `w_i` (rows of W = V^-1), `κ_i = |v_i| |w_i|` is the condition number of
eigenvalue i, and `sum_i κ_i = min over column scalings D of |V D|_F |(V D)^-1|_F` bounds
cond_2(V) with the balanced scaling used here. We solve

    min_E  log sum_i κ_i(A + E) + w sum_i max(0, Re λ_i + 1/2)^2,   |E|_F = ρ |A|_F,

(the penalty keeps the spectrum left of the LegS normal part's -1/2) with L-BFGS over the
sphere, first with w = 0, then warm-started with w = 10. The gradient is exact first-order
eigen-perturbation theory: with G = W dM V, dλ_i = G_ii, dV = V (F ∘ G), dW = -(F ∘ G) W,
F_ij = 1/(λ_j - λ_i) (i ≠ j, 0 on the diagonal), so `d/dM [sum κ] = Re(W^T (F ∘ Q) V^T)`
with `Q_ij = (|w_j|/|v_j|) (V^H V)_ji - (|v_i|/|w_i|) (W W^H)_ji`.

Results for ρ = 5% (`python -m ssm_rl.init.ptd`, 110 s for all cached sizes on one core):

    N                  2     4     8    16    32    64   128   256
    cond_2(V)        2.6   6.7   5.4   5.4   5.5   5.5   5.7   6.7
    |E|_2/|A|_2 (%)  5.1   4.4   5.2   5.3   5.4   5.4   5.2   4.4
    real eigenvalues   2     2     2     2     4     4     6     8      max Re Λ <= -0.4999

(unperturbed LegS: cond_2(V) ~ 1e10 at N = 16). The perturbations for these N at the default
ρ and seed are cached in `ptd_legs.npz`; other sizes are computed on first use (N = 32: ~1 s
single-threaded).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ssm_rl.init.hippo import hippo_legs

DEFAULT_REL_NORM = 0.05
DEFAULT_SEED = 0
_CACHE_FILE = Path(__file__).with_name("ptd_legs.npz")
_REAL_PART_BOUND = -0.5  # penalty keeps Re λ <= -1/2
_PENALTY_WEIGHT = 10.0


def _eig_balanced(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`M = V diag(lam) W`, `W = V^-1`, columns of V scaled so that |v_i| = |w_i|."""
    lam, V = np.linalg.eig(M)
    W = np.linalg.inv(V)
    scale = np.sqrt(np.linalg.norm(W, axis=1) / np.linalg.norm(V, axis=0))
    return lam, V * scale, W / scale[:, None]


def _objective(M: np.ndarray, weight: float) -> tuple[float, np.ndarray]:
    """`log sum_i κ_i + weight * sum_i max(0, Re λ_i + 1/2)^2` and its gradient w.r.t. M."""
    lam, V = np.linalg.eig(M)
    W = np.linalg.inv(V)
    nv, nw = np.linalg.norm(V, axis=0), np.linalg.norm(W, axis=1)
    kappa_sum = float(np.sum(nv * nw))
    Q = (nw / nv)[None, :] * (V.conj().T @ V).T - (nv / nw)[:, None] * (W @ W.conj().T).T
    gap = lam[None, :] - lam[:, None]
    np.fill_diagonal(gap, 1.0)
    gap = np.where(np.abs(gap) < 1e-300, 1e-300, gap)
    F = 1.0 / gap
    np.fill_diagonal(F, 0.0)
    excess = np.maximum(lam.real - _REAL_PART_BOUND, 0.0)
    R = F * Q / kappa_sum + np.diag(2.0 * weight * excess)
    grad = np.real(W.T @ R @ V.T)
    return np.log(kappa_sum) + weight * float(np.sum(excess**2)), grad


def optimize_perturbation(
    A: np.ndarray, rel_norm: float = DEFAULT_REL_NORM, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """A real `E` with `|E|_F = rel_norm |A|_F` making `A + E`'s eigenvectors well conditioned.

    See the module docstring for the objective. Deterministic for a given `seed`.
    """
    from scipy.optimize import minimize  # scipy ships with jax

    A = np.asarray(A, np.float64)
    N = A.shape[0]
    if A.shape != (N, N):
        raise ValueError(f"A must be square, got shape {A.shape}")
    if not 0.0 < rel_norm < 1.0:
        raise ValueError(f"rel_norm must be in (0, 1), got {rel_norm!r}")
    if N == 1:
        return np.zeros((1, 1))
    radius = rel_norm * np.linalg.norm(A)

    def on_sphere(u: np.ndarray, weight: float) -> tuple[float, np.ndarray]:
        U = u.reshape(N, N)
        norm = np.linalg.norm(U)
        value, grad = _objective(A + radius * U / norm, weight)
        grad_u = (radius / norm) * (grad - np.sum(grad * U) * U / norm**2)
        return value, grad_u.ravel()

    u = np.random.default_rng(seed).normal(size=N * N)
    for weight in (0.0, _PENALTY_WEIGHT):
        u = minimize(
            on_sphere, u, args=(weight,), jac=True, method="L-BFGS-B",
            options={"maxiter": 5000},
        ).x
    U = u.reshape(N, N)
    return radius * U / np.linalg.norm(U)


@functools.lru_cache(maxsize=1)
def _cached_file() -> dict[int, np.ndarray]:
    if not _CACHE_FILE.exists():
        return {}
    with np.load(_CACHE_FILE) as data:
        return {int(k[1:]): data[k].astype(np.float64) for k in data.files}


@functools.lru_cache(maxsize=32)
def _perturbation(N: int, rel_norm: float, seed: int) -> np.ndarray:
    if rel_norm == DEFAULT_REL_NORM and seed == DEFAULT_SEED and N in _cached_file():
        return _cached_file()[N]
    A, _ = hippo_legs(N)
    return optimize_perturbation(A, rel_norm, seed)


def legs_perturbation(
    N: int, rel_norm: float = DEFAULT_REL_NORM, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """The PTD perturbation `E[N, N]` (float64) for LegS of size N (cached; see module doc)."""
    if not isinstance(N, int | np.integer) or N < 1:
        raise ValueError(f"N must be an integer >= 1, got {N!r}")
    return _perturbation(int(N), float(rel_norm), int(seed)).copy()


def ptd_eig(
    N: int, rel_norm: float = DEFAULT_REL_NORM, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigendecomposition of the perturbed LegS matrix: `A + E = V diag(Λ) Vinv`.

    Returns `(Lambda[N], V[N, N], Vinv[N, N])` complex128. All N eigenvalues are kept
    (conjugate pairs and some real ones), `Vinv` is the true inverse, columns of V are
    balanced (|v_i| = |row i of Vinv|), and `Re Λ < 0` (a ValueError otherwise).
    """
    A, _ = hippo_legs(N)
    Lambda, V, Vinv = _eig_balanced(A + legs_perturbation(N, rel_norm, seed))
    if np.max(Lambda.real) >= 0.0:
        raise ValueError(
            f"PTD for N={N}, rel_norm={rel_norm} gave an eigenvalue with Re >= 0 "
            f"({np.max(Lambda.real):.3g}); use a smaller rel_norm"
        )
    return Lambda, V, Vinv


def block_diagonal_ptd(
    state_size: int, blocks: int, conj_sym: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S5 eigen-initialiser: `blocks` copies of `ptd_eig(state_size / blocks)`.

    Returns `(Lambda[P], V[P, P], Vinv[P, P])` complex128, V and Vinv block diagonal.
    PTD keeps all eigenvalues (some real), so `conj_sym` must be False.
    """
    if conj_sym:
        raise ValueError(
            "the PTD initialiser keeps all eigenvalues (some are real), so it needs "
            "conj_sym=False"
        )
    for name, value in (("state_size", state_size), ("blocks", blocks)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if state_size % blocks:
        raise ValueError(f"state_size {state_size} must be divisible by blocks {blocks}")
    size = state_size // blocks
    Lambda, V, Vinv = ptd_eig(size)
    V_full = np.zeros((state_size, state_size), np.complex128)
    Vinv_full = np.zeros_like(V_full)
    for j in range(blocks):
        block = slice(j * size, (j + 1) * size)
        V_full[block, block] = V
        Vinv_full[block, block] = Vinv
    return np.tile(Lambda, blocks), V_full, Vinv_full


def write_cache(sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128, 256)) -> None:
    """Recompute the default perturbations for `sizes` and store them in `ptd_legs.npz`.

    Run `OPENBLAS_NUM_THREADS=1 python -m ssm_rl.init.ptd` (N = 256 takes several minutes).
    """
    perturbations = {}
    for N in sizes:
        A, _ = hippo_legs(N)
        E = optimize_perturbation(A)
        Lambda, V, _ = _eig_balanced(A + E)
        print(
            f"N={N:4d}  |E|_F/|A|_F={np.linalg.norm(E) / np.linalg.norm(A):.4f}  "
            f"|E|_2/|A|_2={np.linalg.norm(E, 2) / np.linalg.norm(A, 2):.4f}  "
            f"cond(V)={np.linalg.cond(V):.2f}  max Re Λ={Lambda.real.max():.4f}  "
            f"real eigenvalues={int(np.sum(Lambda.imag == 0))}",
            flush=True,
        )
        perturbations[f"N{N}"] = E.astype(np.float32)
    np.savez(_CACHE_FILE, **perturbations)


if __name__ == "__main__":
    write_cache()
