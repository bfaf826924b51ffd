"""mlax.lax.linalg: triangular solves and matrix decompositions, as jax.lax.linalg.

IREE compiles no StableHLO decomposition (cholesky, triangular_solve) on any
target, so the decompositions are written as loops over mlax ops; one op,
triangular_solve, does forward substitution. Each decomposition has its own
differentiation rule (custom_jvp) whose tangent is linear in the input's tangent
(products with the primal factors and triangular solves), so it transposes for
reverse mode and never differentiates through the iterations. Every function
works on a batch of matrices in the last two axes.

    triangular.py   triangular_solve, cholesky, lu (and permutation_matrix)
    householder.py  qr, orthonormal_complement
    jacobi.py       eigh, svd
"""

from mlax.lax.linalg._matrices import _adjoint, _diagonal, _eye, _matmul  # noqa: F401  (used by mlax.numpy.linalg)
from mlax.lax.linalg.householder import orthonormal_complement, qr
from mlax.lax.linalg.jacobi import eigh, svd
from mlax.lax.linalg.triangular import cholesky, lu, permutation_matrix, triangular_solve

__all__ = ["triangular_solve", "cholesky", "lu", "permutation_matrix", "qr", "orthonormal_complement", "eigh", "svd"]
