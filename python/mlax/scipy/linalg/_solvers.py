"""The factorizations of jax.scipy.linalg that solve linear systems (cholesky, lu) and the
solvers built on them (cho_solve, lu_solve, solve, solve_triangular), plus det and inv.

The solvers take b as JAX does: a vector (n,) against a batch of matrices, a batch of
matrices (..., n, k) whose batch axes broadcast against a's, and (deprecated, with JAX's
FutureWarning) a batch of vectors (..., n) with a's batch axes. Their derivatives come
from those of mlax.lax.linalg's triangular_solve, lu and cholesky.
"""

import functools
import warnings

import mlax.numpy as mnp
from mlax import lax
from mlax.api.custom_rules import custom_jvp
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.lax import linalg as lax_linalg


def _inexact(*arrays):
    """The arrays in their common floating or complex dtype (shapes untouched)."""
    arrays = mnp.promote_dtypes(*(mnp.asarray(a) for a in arrays))
    dtype = mnp.inexact_dtype(arrays[0].dtype)
    return [a.astype(dtype) for a in arrays]


def _square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: needs a (batch of) square matrices, got shape {a.shape}")


def _solve_columns(name, a, b, solve):
    """solve(a, b) for b of shape (..., n, k), after broadcasting a's and b's batch axes,
    with b's other layouts (a vector, a batch of vectors) turned into columns and back."""
    _square(name, a)
    n = a.shape[-1]
    vectors = b.ndim == 1 or (a.ndim == b.ndim + 1 and b.shape[-1] == n)
    if b.ndim > 1 and vectors:
        warnings.warn(f"mlax.scipy.linalg.{name}: batched 1D solves with b.ndim > 1 are deprecated, and in the "
                      f"future will be treated as a batched 2D solve. Use {name}(..., b[..., None]).squeeze(-1) "
                      "to avoid this warning.", FutureWarning, stacklevel=4)
    if b.ndim == 0 or b.shape[-1 if vectors else -2] != n:
        raise ValueError(f"{name}: a of shape {a.shape} and b of shape {b.shape} do not match: b needs {n} rows")
    columns = b[..., None] if vectors else b
    batch = mnp.broadcast_shapes(a.shape[:-2], columns.shape[:-2])
    x = solve(mnp.broadcast_to(a, batch + a.shape[-2:]), mnp.broadcast_to(columns, batch + columns.shape[-2:]))
    return x[..., 0] if vectors else x


# -- Cholesky -------------------------------------------------------------------------------------

@compiled("lower")
def _cholesky(a, lower):
    (a,) = _inexact(a)
    _square("cholesky", a)
    # The upper factor is the adjoint of the lower factor of a's adjoint: it reads a's upper triangle.
    factor = lax_linalg.cholesky(a if lower else mnp.conj(mnp.matrix_transpose(a)), symmetrize_input=False)
    return factor if lower else mnp.conj(mnp.matrix_transpose(factor))


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of the Hermitian positive-definite a: upper U with a = U^H U (by
    default), or lower L with a = L L^H; only that triangle of a is read."""
    del overwrite_a, check_finite  # SciPy's memory and input checks: no effect on the result
    return _cholesky(a, bool(lower))


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower): the Cholesky factor of a and which triangle it is, for cho_solve."""
    del overwrite_a, check_finite  # SciPy's memory and input checks: no effect on the result
    return cholesky(a, lower=lower), lower


def _cholesky_solve(factor, b, lower):
    """x with (L L^H) x = b for the lower factor L, or (U^H U) x = b for the upper U."""
    solve = functools.partial(lax_linalg.triangular_solve, factor, left_side=True, lower=lower)
    y = solve(b, transpose_a=not lower, conjugate_a=not lower)
    return solve(y, transpose_a=lower, conjugate_a=lower)


@compiled("lower")
def _cho_solve(c, b, lower):
    c, b = _inexact(c, b)
    return _solve_columns("cho_solve", c, b, functools.partial(_cholesky_solve, lower=lower))


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with a @ x = b, from cho_factor's (c, lower) of a."""
    del overwrite_b, check_finite  # SciPy's memory and input checks: no effect on the result
    c, lower = c_and_lower
    return _cho_solve(c, b, bool(lower))


# -- LU -------------------------------------------------------------------------------------------

def lu_factor(a, overwrite_a=False, check_finite=True):
    """(lu, pivots): L (unit diagonal, below) and U (on and above the diagonal) packed in one
    matrix, and the row swapped with row i at step i; for lu_solve."""
    del overwrite_a, check_finite  # SciPy's memory and input checks: no effect on the result
    return _lu_factor(a)


@compiled()
def _lu_factor(a):
    (a,) = _inexact(a)
    _square("lu_factor", a)
    packed, pivots, _ = lax_linalg.lu(a)
    return packed, pivots


def _permutation_from_pivots(pivots, n):
    """The permutation (batched) that applies the row swaps i <-> pivots[i] in turn."""
    positions = lax.broadcasted_iota(dtypes.int32, pivots.shape[:-1] + (n,), pivots.ndim - 1)
    pivots = pivots.astype(dtypes.int32)

    def swap(i, permutation):
        target = lax.dynamic_slice(pivots, (0,) * (pivots.ndim - 1) + (i,), pivots.shape[:-1] + (1,))
        at_i, at_target = positions == i, positions == target
        entry_i = mnp.sum(mnp.where(at_i, permutation, 0), axis=-1, keepdims=True)
        entry_target = mnp.sum(mnp.where(at_target, permutation, 0), axis=-1, keepdims=True)
        return mnp.where(at_i, entry_target, mnp.where(at_target, entry_i, permutation))

    return lax.fori_loop(0, pivots.shape[-1], swap, positions)


def _lu_solve_columns(packed, permutation, b, trans):
    """x with op(a) x = b for a = P^T L U (P: the rows in `permutation`'s order)."""
    rows = lax_linalg.permutation_matrix(permutation, b.dtype)
    solve = functools.partial(lax_linalg.triangular_solve, packed, left_side=True)
    if trans == 0:
        x = solve(rows @ b, lower=True, unit_diagonal=True)
        return solve(x, lower=False)
    conjugate = trans == 2
    x = solve(b, lower=False, transpose_a=True, conjugate_a=conjugate)
    x = solve(x, lower=True, unit_diagonal=True, transpose_a=True, conjugate_a=conjugate)
    return mnp.matrix_transpose(rows) @ x


@compiled("trans")
def _lu_solve(packed, pivots, b, trans):
    if trans not in (0, 1, 2):
        raise ValueError(f"lu_solve: 'trans' value must be 0, 1, or 2, got {trans!r}")
    packed, b = _inexact(packed, b)
    _square("lu_solve", packed)
    permutation = _permutation_from_pivots(mnp.asarray(pivots), packed.shape[-1])
    permutation = mnp.broadcast_to(permutation, packed.shape[:-1])

    def solve(lu, columns):
        order = mnp.broadcast_to(permutation, lu.shape[:-1])
        return _lu_solve_columns(lu, order, columns, trans)
    return _solve_columns("lu_solve", packed, b, solve)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """x with a @ x = b (trans=0), a^T x = b (1) or a^H x = b (2), from lu_factor's (lu, pivots) of a."""
    del overwrite_b, check_finite  # SciPy's memory and input checks: no effect on the result
    packed, pivots = lu_and_piv
    return _lu_solve(packed, pivots, b, trans)


def lu(a, permute_l=False, overwrite_a=False, check_finite=True):
    """(p, l, u) with a = p @ l @ u, l unit lower triangular and u upper triangular; (p @ l, u)
    with permute_l. Takes a batch of square matrices (JAX: one matrix, of any shape)."""
    del overwrite_a, check_finite  # SciPy's memory and input checks: no effect on the result
    return _lu(a, bool(permute_l))


@compiled("permute_l")
def _lu(a, permute_l):
    (a,) = _inexact(a)
    _square("lu", a)
    packed, _, permutation = lax_linalg.lu(a)
    n = a.shape[-1]
    real = mnp.real(mnp.zeros((), a.dtype)).dtype
    p = mnp.matrix_transpose(lax_linalg.permutation_matrix(permutation, real))
    lower = mnp.tril(packed, -1) + mnp.eye(n, dtype=a.dtype)
    upper = mnp.triu(packed)
    if permute_l:
        return p.astype(a.dtype) @ lower, upper
    return p, lower, upper


def det(a, overwrite_a=False, check_finite=True):
    """The determinant of the square matrix a (batched)."""
    del overwrite_a, check_finite  # SciPy's memory and input checks: no effect on the result
    return mnp.linalg.det(a)


def inv(a, overwrite_a=False, check_finite=True):
    """The inverse of the square matrix a (batched)."""
    del overwrite_a, check_finite  # SciPy's memory and input checks: no effect on the result
    return mnp.linalg.inv(a)


# -- solve ----------------------------------------------------------------------------------------

@functools.partial(custom_jvp, nondiff_argnums=(2,))
def _positive_definite_solve(a, b, lower):
    """x with a @ x = b for Hermitian positive-definite a, from the Cholesky factor of a's
    `lower` (or upper) triangle; b of shape (..., n, k) with a's batch axes."""
    return _cholesky_solve(_cholesky(a, lower), b, lower)


@_positive_definite_solve.defjvp
def _positive_definite_solve_jvp(lower, primals, tangents):
    # As JAX's custom_linear_solve: dx solves a dx = db - da x, with the whole of da (the value
    # reads one triangle). The solve of the tangent goes through the factor, whose own
    # derivative (for the second derivatives) takes the Hermitian part of a's tangent.
    (a, b), (a_dot, b_dot) = primals, tangents
    factor = _cholesky(a, lower)
    x = _cholesky_solve(factor, b, lower)
    return x, _cholesky_solve(factor, b_dot - a_dot @ x, lower)


@compiled("assume_a", "lower")
def _solve(a, b, assume_a, lower):
    a, b = _inexact(a, b)
    if assume_a != "pos":  # general, symmetric and Hermitian a: LU, as JAX
        return mnp.linalg.solve(a, b)
    _square("solve", a)
    if b.ndim == 0 or b.shape[-1 if a.ndim == b.ndim + 1 else -2] != a.shape[-1]:
        raise ValueError(f"solve: a of shape {a.shape} and b of shape {b.shape} do not match")
    vectors = a.ndim == b.ndim + 1  # as JAX: then b is a batch of vectors
    columns = b[..., None] if vectors else b
    batch = mnp.broadcast_shapes(a.shape[:-2], columns.shape[:-2])
    x = _positive_definite_solve(mnp.broadcast_to(a, batch + a.shape[-2:]),
                                 mnp.broadcast_to(columns, batch + columns.shape[-2:]), lower)
    return x[..., 0] if vectors else x


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, debug=False, check_finite=True, assume_a="gen"):
    """x with a @ x = b. With assume_a='pos' a is Hermitian positive definite and only its
    `lower` (or upper) triangle is read; 'gen', 'sym' and 'her' solve by LU (as JAX, which
    reads all of a for them)."""
    del overwrite_a, overwrite_b, debug, check_finite  # SciPy's memory, logging and input checks
    if assume_a not in ("gen", "sym", "her", "pos"):
        raise ValueError(f"solve: assume_a must be one of 'gen', 'sym', 'her' or 'pos', got {assume_a!r}")
    return _solve(a, b, assume_a, bool(lower))


_TRANSPOSES = {0: (False, False), "N": (False, False), 1: (True, False), "T": (True, False), 2: (True, True),
               "C": (True, True)}


@compiled("trans", "lower", "unit_diagonal")
def _solve_triangular(a, b, trans, lower, unit_diagonal):
    if trans not in _TRANSPOSES:
        raise ValueError(f"solve_triangular: invalid 'trans' value {trans!r} (0/'N', 1/'T' or 2/'C')")
    transpose_a, conjugate_a = _TRANSPOSES[trans]
    a, b = _inexact(a, b)
    solve = functools.partial(lax_linalg.triangular_solve, left_side=True, lower=lower, transpose_a=transpose_a,
                              conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)
    return _solve_columns("solve_triangular", a, b, solve)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, debug=None,
                     check_finite=True):
    """x with op(a) @ x = b for triangular a (only its `lower` or upper triangle is read; its
    diagonal taken as ones with unit_diagonal); op is trans: 0/'N' none, 1/'T' the transpose,
    2/'C' the conjugate transpose."""
    del overwrite_b, debug, check_finite  # SciPy's memory, logging and input checks
    return _solve_triangular(a, b, trans, bool(lower), bool(unit_diagonal))
