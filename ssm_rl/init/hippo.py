"""HiPPO-LegS matrices and the eigendecomposition of their normal part (numpy float64).

LegS (N states):

    A_nk = -sqrt(2n+1) sqrt(2k+1)   n > k
    A_nn = -(n+1)
    A_nk = 0                         n < k
    B_n  = sqrt(2n+1)

A itself has a hopelessly ill-conditioned eigenvector matrix, so it is never diagonalised.
Adding the rank-one term p p^T with p_n = sqrt(n + 1/2) gives the normal part

    S = A + p p^T,    S + S^T = -I,

i.e. S = -I/2 + K with K skew-symmetric. K is diagonalised through the Hermitian matrix
-iK (`numpy.linalg.eigh`: unitary eigenvectors, exactly real spectrum), so the eigenvalues of S
are -1/2 + i w_j with real part -1/2 exactly, in conjugate pairs for even N.
"""

from __future__ import annotations

import numpy as np


def _check_size(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def hippo_legs(N: int) -> tuple[np.ndarray, np.ndarray]:
    """HiPPO-LegS state matrix `A[N, N]` and input vector `B[N]` (float64)."""
    _check_size("N", N)
    q = np.sqrt(2.0 * np.arange(N) + 1.0)
    A = -np.tril(np.outer(q, q), k=-1) - np.diag(np.arange(N) + 1.0)
    return A, q.copy()


def legs_normal_part(N: int) -> tuple[np.ndarray, np.ndarray]:
    """Normal part `S = A + p p^T` of LegS and the low-rank vector `p_n = sqrt(n + 1/2)`."""
    A, _ = hippo_legs(N)
    p = np.sqrt(np.arange(N) + 0.5)
    return A + np.outer(p, p), p


def legs_normal_eig(N: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of the LegS normal part: `S = V diag(Lambda) V^H` with V unitary.

    Returns `(Lambda[N] complex128, V[N, N] complex128)`, sorted by imaginary part in
    descending order, so for even N the first N/2 eigenvalues have Im > 0 and eigenvalue
    `N-1-j` is the conjugate of eigenvalue j with eigenvector `conj(V[:, j])`.
    """
    S, _ = legs_normal_part(N)
    skew = S + 0.5 * np.eye(N)  # K = S + I/2, K^T = -K
    w, V = np.linalg.eigh(-1j * skew)  # -iK is Hermitian: K = V diag(i w) V^H
    order = np.argsort(-w, kind="stable")
    w, V = w[order], V[:, order]
    if N % 2 == 0:
        # Make the pairing exact: the eigenvector of -w_j is the conjugate of that of w_j.
        half = N // 2
        V[:, half:] = np.conj(V[:, :half][:, ::-1])
        w[half:] = -w[:half][::-1]
    return -0.5 + 1j * w, V


def block_diagonal_legs(
    state_size: int, blocks: int, conj_sym: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S5's initial eigenvalues and eigenvectors: `blocks` copies of LegS of size P/blocks.

    Args:
      state_size: P, the full number of states (before keeping one of each conjugate pair).
      blocks: J, the number of diagonal blocks; P must be divisible by J.
      conj_sym: keep one eigenvalue of each conjugate pair (P/2 states). Needs an even block.

    Returns:
      `(Lambda[Pk], V[P, Pk], Vinv[Pk, P])` complex128 with Pk = P/2 if conj_sym else P;
      `V` is block diagonal with orthonormal columns and `Vinv = V^H`, so the full real system
      is recovered as `S_blockdiag = V diag(Lambda) Vinv + conj(.)` (conj_sym) or
      `V diag(Lambda) Vinv` (otherwise).
    """
    _check_size("state_size", state_size)
    _check_size("blocks", blocks)
    if state_size % blocks:
        raise ValueError(f"state_size {state_size} must be divisible by blocks {blocks}")
    size = state_size // blocks
    if conj_sym and size % 2:
        raise ValueError(
            f"conj_sym needs an even block size, got state_size/blocks = {size}"
        )
    Lambda, V = legs_normal_eig(size)
    if conj_sym:
        Lambda, V = Lambda[: size // 2], V[:, : size // 2]
    Lambda = np.tile(Lambda, blocks)
    V_full = np.zeros((state_size, blocks * V.shape[1]), dtype=np.complex128)
    for j in range(blocks):
        V_full[j * size : (j + 1) * size, j * V.shape[1] : (j + 1) * V.shape[1]] = V
    return Lambda, V_full, V_full.conj().T
