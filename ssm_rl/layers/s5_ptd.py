"""S5-PTD: the S5 layer initialised by perturb-then-diagonalise of the full LegS matrix.

`ssm_rl.init.ptd.block_diagonal_ptd` gives all P eigenvalues of `A + E` per block (some
real), the well-conditioned eigenvectors V and the true inverse for `B~ = V^-1 B`. Because the
real eigenvalues have no conjugate partner, every state is stored (`conj_sym=False`) and the
output is `Re(C~ x) + D u`. Everything else is `ssm_rl.layers.s5.S5`.
"""

from __future__ import annotations

from ssm_rl.init.ptd import block_diagonal_ptd
from ssm_rl.layers.s5 import S5, register_s5_eigen_init
from ssm_rl.memory import register_layer

register_s5_eigen_init("ptd", block_diagonal_ptd)


@register_layer("s5_ptd")
class S5PTD(S5):
    """S5 with `eig_init="ptd"` and `conj_sym=False` by default."""

    conj_sym: bool = False
    eig_init: str = "ptd"
