"""HiPPO-LegS and its normal-part eigendecomposition against the definitions and known values."""

import numpy as np
import pytest
from scipy.linalg import block_diag

from ssm_rl.init.hippo import block_diagonal_legs, hippo_legs, legs_normal_eig, legs_normal_part


def test_legs_matches_definition():
    N = 5
    A, B = hippo_legs(N)
    for n in range(N):
        assert B[n] == pytest.approx(np.sqrt(2 * n + 1))
        for k in range(N):
            if n > k:
                expected = -np.sqrt(2 * n + 1) * np.sqrt(2 * k + 1)
            elif n == k:
                expected = -(n + 1)
            else:
                expected = 0.0
            assert A[n, k] == pytest.approx(expected)


@pytest.mark.parametrize("N", [4, 9, 16])
def test_normal_part_is_minus_half_identity_plus_skew(N):
    S, p = legs_normal_part(N)
    np.testing.assert_allclose(p, np.sqrt(np.arange(N) + 0.5))
    np.testing.assert_allclose(S + S.T, -np.eye(N), atol=1e-12)


def test_n4_eigenvalues():
    Lambda, _ = legs_normal_eig(4)
    expected = [-0.5 + 4.603293j, -0.5 + 0.556501j, -0.5 - 0.556501j, -0.5 - 4.603293j]
    np.testing.assert_allclose(Lambda, expected, atol=1e-6)


@pytest.mark.parametrize("N", [4, 16, 64])
def test_eigendecomposition(N):
    S, _ = legs_normal_part(N)
    Lambda, V = legs_normal_eig(N)
    assert np.all(Lambda.real == -0.5)
    np.testing.assert_allclose(V.conj().T @ V, np.eye(N), atol=1e-12)
    np.testing.assert_allclose(V @ np.diag(Lambda) @ V.conj().T, S, atol=1e-10 * N)
    # same spectrum as a general eigensolver (S is normal, so its eigenvalues are well posed)
    general = np.linalg.eigvals(S)
    np.testing.assert_allclose(general.real, -0.5, atol=1e-8 * N)
    np.testing.assert_allclose(np.sort(Lambda.imag), np.sort(general.imag), atol=1e-8 * N)
    # conjugate pairs: entry N-1-j is the conjugate of entry j, eigenvectors included
    np.testing.assert_array_equal(Lambda[::-1], Lambda.conj())
    np.testing.assert_array_equal(V[:, ::-1], V.conj())


@pytest.mark.parametrize("conj_sym", [True, False])
def test_block_diagonal_reconstructs_block_normal_part(conj_sym):
    P, J = 12, 3
    Lambda, V, Vinv = block_diagonal_legs(P, J, conj_sym)
    Pk = P // 2 if conj_sym else P
    assert Lambda.shape == (Pk,) and V.shape == (P, Pk) and Vinv.shape == (Pk, P)
    np.testing.assert_allclose(Vinv, V.conj().T)
    S_blocks = block_diag(*[legs_normal_part(P // J)[0]] * J)
    half = V @ np.diag(Lambda) @ Vinv
    rebuilt = half + half.conj() if conj_sym else half
    np.testing.assert_allclose(rebuilt, S_blocks, atol=1e-12)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="divisible"):
        block_diagonal_legs(10, 3, False)
    with pytest.raises(ValueError, match="even"):
        block_diagonal_legs(6, 2, True)
    with pytest.raises(ValueError, match="N must be"):
        hippo_legs(0)
