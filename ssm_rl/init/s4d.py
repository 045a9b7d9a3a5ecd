"""S4D diagonal initialisers (Gu et al. 2022, "On the Parameterization and Initialization of
Diagonal State Space Models"); numpy complex128, one half of each conjugate pair.

For state size N (even) the N/2 kept eigenvalues, n = 0 .. N/2 - 1, are

    "lin":   Λ_n = -1/2 + i π n                                   B_n = 1
    "inv":   Λ_n = -1/2 + i (N/π) (N/(2n+1) - 1)                  B_n = 1
    "legs":  Λ_n = the eigenvalues of the LegS normal part with     B = V^H B_legs
             Im > 0 (ssm_rl.init.hippo.legs_normal_eig)

The layer outputs 2 Re(C x) to account for the conjugate halves it does not store.
"""

from __future__ import annotations

import numpy as np

from ssm_rl.init.hippo import hippo_legs, legs_normal_eig

S4D_INITS: tuple[str, ...] = ("lin", "inv", "legs")


def _check_even(N: int) -> None:
    if not isinstance(N, int | np.integer) or N < 2 or N % 2:
        raise ValueError(f"S4D state size N must be an even integer >= 2, got {N!r}")


def s4d_lin(N: int) -> np.ndarray:
    """S4D-Lin eigenvalues `-1/2 + i π n`, `[N/2]` complex128."""
    _check_even(N)
    n = np.arange(N // 2)
    return -0.5 + 1j * np.pi * n


def s4d_inv(N: int) -> np.ndarray:
    """S4D-Inv eigenvalues `-1/2 + i (N/π)(N/(2n+1) - 1)`, `[N/2]` complex128."""
    _check_even(N)
    n = np.arange(N // 2)
    return -0.5 + 1j * (N / np.pi) * (N / (2 * n + 1) - 1)


def s4d_legs(N: int) -> tuple[np.ndarray, np.ndarray]:
    """S4D-LegS: `(Λ[N/2], B[N/2])` from the LegS normal part, `B = V^H B_legs` (complex128)."""
    _check_even(N)
    Lambda, V = legs_normal_eig(N)
    _, B_legs = hippo_legs(N)
    half = N // 2
    return Lambda[:half], V[:, :half].conj().T @ B_legs


def s4d_init(name: str, N: int) -> tuple[np.ndarray, np.ndarray]:
    """`(Λ[N/2], B[N/2])` complex128 for the S4D initialiser `name` (one of `S4D_INITS`)."""
    if name == "lin":
        return s4d_lin(N), np.ones(N // 2, np.complex128)
    if name == "inv":
        return s4d_inv(N), np.ones(N // 2, np.complex128)
    if name == "legs":
        return s4d_legs(N)
    raise ValueError(f"unknown S4D init {name!r}; expected one of {S4D_INITS}")
