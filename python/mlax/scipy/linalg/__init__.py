"""mlax.scipy.linalg: SciPy's linear algebra over mlax arrays, as jax.scipy.linalg.

Each function takes JAX's arguments and gives JAX's values, dtypes and derivatives. SciPy's
keywords that JAX accepts and ignores (overwrite_a, check_finite, lwork ...) are accepted
and ignored here too. schur and funm are absent: they need a real Schur decomposition of a
general matrix, which mlax does not have (solve_sylvester uses the complex one of _schur.py).

    _special_matrices.py  toeplitz, hankel, circulant, companion, pascal, dft, block_diag ...
    _solvers.py           cholesky, cho_factor/cho_solve, lu, lu_factor/lu_solve, solve,
                          solve_triangular, det, inv
    _decompositions.py    eigh, eigh_tridiagonal, svd, qr, qr_multiply, hessenberg, polar
    _matrix_functions.py  expm, expm_frechet, sqrtm, rsf2csf
    _schur.py             solve_sylvester (Bartels-Stewart over complex Schur forms)
"""

from mlax.scipy.linalg._decompositions import (
                                        eigh,
                                        eigh_tridiagonal,
                                        hessenberg,
                                        polar,
                                        qr,
                                        qr_multiply,
                                        svd,
)
from mlax.scipy.linalg._matrix_functions import expm, expm_frechet, rsf2csf, sqrtm
from mlax.scipy.linalg._schur import solve_sylvester
from mlax.scipy.linalg._solvers import (
                                        cho_factor,
                                        cho_solve,
                                        cholesky,
                                        det,
                                        inv,
                                        lu,
                                        lu_factor,
                                        lu_solve,
                                        solve,
                                        solve_triangular,
)
from mlax.scipy.linalg._special_matrices import (
                                        block_diag,
                                        circulant,
                                        companion,
                                        convolution_matrix,
                                        dft,
                                        fiedler,
                                        fiedler_companion,
                                        hadamard,
                                        hankel,
                                        helmert,
                                        hilbert,
                                        invhilbert,
                                        invpascal,
                                        leslie,
                                        pascal,
                                        toeplitz,
)

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "companion", "convolution_matrix", "det",
           "dft", "eigh", "eigh_tridiagonal", "expm", "expm_frechet", "fiedler", "fiedler_companion", "hadamard",
           "hankel", "helmert", "hessenberg", "hilbert", "inv", "invhilbert", "invpascal", "leslie", "lu", "lu_factor",
           "lu_solve", "pascal", "polar", "qr", "qr_multiply", "rsf2csf", "solve", "solve_sylvester", "solve_triangular",
           "sqrtm", "svd",
           "toeplitz"]
