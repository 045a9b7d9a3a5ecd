"""PTD: a small perturbation of LegS with a well-conditioned, exact eigendecomposition."""

import jax
import numpy as np
import pytest

from ssm_rl.init.hippo import hippo_legs
from ssm_rl.init.ptd import (
    block_diagonal_ptd,
    legs_perturbation,
    optimize_perturbation,
    ptd_eig,
)
from ssm_rl.layers.s5_ptd import S5PTD


def legs_A(N):
    """LegS A written out entry by entry (independent of ssm_rl.init.hippo)."""
    return np.array(
        [
            [-np.sqrt((2 * n + 1) * (2 * k + 1)) if n > k else (-(n + 1.0) if n == k else 0.0)
             for k in range(N)]
            for n in range(N)
        ]
    )


@pytest.mark.parametrize("N", [6, 16])  # 6 is computed on the fly, 16 comes from the cache
def test_ptd_decomposition(N):
    A = legs_A(N)
    np.testing.assert_allclose(A, hippo_legs(N)[0], rtol=1e-14)
    E = legs_perturbation(N)
    Lambda, V, Vinv = ptd_eig(N)
    assert np.isrealobj(E) and E.shape == (N, N)
    assert np.linalg.norm(E) / np.linalg.norm(A) == pytest.approx(0.05, rel=1e-3)
    assert np.linalg.norm(E, 2) / np.linalg.norm(A, 2) < 0.06
    # An exact eigendecomposition of A + E with the true inverse.
    np.testing.assert_allclose(V @ np.diag(Lambda) @ Vinv, A + E, atol=1e-9 * np.linalg.norm(A))
    np.testing.assert_allclose(Vinv @ V, np.eye(N), atol=1e-10)
    assert np.linalg.cond(V) < 8.0
    assert np.linalg.cond(np.linalg.eig(A)[1]) > 100 * np.linalg.cond(V)  # what PTD fixes
    assert Lambda.shape == (N,) and np.all(Lambda.real < 0)  # all N kept, stable
    np.testing.assert_allclose(np.sort_complex(Lambda.conj()), np.sort_complex(Lambda), atol=1e-9)


def test_cache_matches_recomputation():
    """The cached N = 16 perturbation is as good as what the code computes now."""
    A = legs_A(16)
    fresh = optimize_perturbation(A)
    cond_fresh = np.linalg.cond(np.linalg.eig(A + fresh)[1])
    cond_cached = np.linalg.cond(ptd_eig(16)[1])
    assert cond_cached < 1.15 * cond_fresh


def test_block_diagonal_and_conj_sym():
    Lambda, V, Vinv = block_diagonal_ptd(12, 2, False)
    L6, V6, Vinv6 = ptd_eig(6)
    np.testing.assert_array_equal(Lambda, np.tile(L6, 2))
    np.testing.assert_array_equal(V[:6, :6], V6)
    np.testing.assert_array_equal(Vinv[6:, 6:], Vinv6)
    assert np.all(V[:6, 6:] == 0) and np.all(Vinv[6:, :6] == 0)
    with pytest.raises(ValueError, match="conj_sym"):
        block_diagonal_ptd(12, 2, True)
    with pytest.raises(ValueError, match="divisible"):
        block_diagonal_ptd(12, 5, False)


def test_s5_ptd_layer_init():
    layer = S5PTD(d_model=4, state_size=8, blocks=2)
    x = np.zeros((3, 1, 4), np.float32)
    params = layer.init(jax.random.key(0), layer.initialize_carry((1,)), x, np.ones((3, 1), bool))
    p = params["params"]
    L4, _, Vinv4 = ptd_eig(4)
    np.testing.assert_allclose(p["Lambda_re"], np.tile(L4.real, 2), rtol=1e-6)
    np.testing.assert_allclose(p["Lambda_im"], np.tile(L4.imag, 2), rtol=1e-6, atol=1e-7)
    assert p["B"].shape == (4, 2, 8)  # all 8 states kept
    halved = S5PTD(d_model=4, state_size=8, conj_sym=True)
    with pytest.raises(ValueError, match="conj_sym"):
        halved.init(jax.random.key(0), halved.initialize_carry((1,)), x, np.ones((3, 1), bool))
