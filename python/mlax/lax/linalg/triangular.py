"""Triangular solves and the triangular factorizations: cholesky, and lu with partial
pivoting.

triangular_solve (JAX's signature) is the op table's builder: forward or back
substitution, the one solver the decompositions need. cholesky and lu are loops
over mlax ops (IREE compiles no StableHLO decomposition on any target), each with a
custom JVP that is linear in the input's tangent (products with the primal factors
and triangular solves), so it transposes for reverse mode and never differentiates
through the iterations.
"""

from mlax import lax
from mlax.api.custom_rules import custom_jvp
from mlax.core import dtypes
from mlax.lax.linalg._matrices import (_adjoint, _check_matrices, _compare_index, _eye, _full, _matmul, _put_at,
                                       _slice_at, _symmetrized, _triangle, _where, _zeros)
from mlax.ops.linalg import triangular_solve


# -- cholesky -------------------------------------------------------------------------------

def cholesky(x, *, symmetrize_input=True):
    """The lower-triangular L with L @ L^H = x, for Hermitian positive-definite x (NaNs otherwise)."""
    _check_matrices("cholesky", x, square=True)
    return _cholesky(_symmetrized(x) if symmetrize_input else x)


@custom_jvp
def _cholesky(a):
    n = a.shape[-1]
    rows = lax.broadcasted_iota(dtypes.int32, (n, 1), 0)

    def column(j, factor):
        # Column j of L: (a[:, j] - L[:, :j] @ conj(L[j, :j])) scaled by its diagonal entry.
        row_j = _slice_at(factor, -2, j)
        rest = lax.sub(_slice_at(a, -1, j), _matmul(factor, _adjoint(row_j)))
        pivot = lax.sqrt(_slice_at(rest, -2, j))
        scaled = lax.div(rest, lax.broadcast_in_dim(pivot, rest.shape, tuple(range(rest.ndim))))
        below = _where(_compare_index(lax.gt, rows, j), scaled, _zeros(rest.shape, a.dtype))
        new_column = _where(_compare_index(lax.eq, rows, j), lax.broadcast_in_dim(pivot, rest.shape, tuple(range(rest.ndim))),
                            below)
        return _put_at(factor, new_column, -1, j)

    return lax.fori_loop(0, n, column, _zeros(a.shape, a.dtype))


@_cholesky.defjvp
def _cholesky_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    factor = _cholesky(a)
    # dL = L phi(L^-1 dA L^-H), phi: the lower triangle with its diagonal halved.
    inner = triangular_solve(factor, a_dot, left_side=True, lower=True)
    inner = triangular_solve(factor, inner, left_side=False, lower=True, transpose_a=True, conjugate_a=True)
    half_diagonal = lax.mul(_eye(a.shape[-1], a.dtype, a.shape[:-2]), lax.full(a.shape, 0.5, a.dtype))
    phi = lax.sub(_triangle(inner, lower=True), lax.mul(inner, half_diagonal))
    return factor, _matmul(factor, phi)


# -- LU -------------------------------------------------------------------------------------

def lu(x):
    """(lu, pivots, permutation) of the LU decomposition with partial pivoting of square x:
    x[permutation] = L @ U, L unit lower triangular (below lu's diagonal), U upper (on and
    above it); pivots[i] is the row swapped with row i at step i."""
    _check_matrices("lu", x, square=True)
    return _lu(x)


def _pick(mask, x, axis):
    """The entries of x where mask holds along `axis` (one per line), summed, broadcast back."""
    zeros = _zeros(x.shape, x.dtype)
    return _full(lax.reshape(lax.reduce_sum(lax.select(mask, x, zeros), (axis % x.ndim,)),
                             tuple(1 if i == axis % x.ndim else d for i, d in enumerate(x.shape))), x.shape)


def _lu_steps(a):
    n, batch = a.shape[-1], a.shape[:-2]
    shape, vector = a.shape, batch + (n,)
    rows = lax.broadcasted_iota(dtypes.int32, shape, a.ndim - 2)
    cols = lax.broadcasted_iota(dtypes.int32, shape, a.ndim - 1)
    positions = lax.broadcasted_iota(dtypes.int32, vector, len(batch))
    zeros = _zeros(shape, a.dtype)

    def step(k, state):
        matrix, pivots, permutation = state
        # The pivot: the largest magnitude in column k on or below the diagonal.
        in_column_k = _compare_index(lax.eq, cols, k)
        candidates = lax.select(_compare_index(lax.ge, rows, k), lax.abs(matrix), lax.full(shape, -1, lax.abs(matrix).dtype))
        column = lax.reduce_sum(lax.select(in_column_k, candidates, lax.full(shape, 0, candidates.dtype)), (a.ndim - 1,))
        pivot_row = lax.argmax(column, len(batch), dtypes.int32)
        # Swap rows k and pivot_row, of the matrix and of the permutation.
        is_k, is_pivot = _compare_index(lax.eq, rows, k), lax.eq(rows, _full(lax.reshape(pivot_row, batch + (1, 1)), shape))
        row_k, pivot_values = _pick(is_k, matrix, -2), _pick(is_pivot, matrix, -2)
        matrix = lax.select(is_k, pivot_values, lax.select(is_pivot, row_k, matrix))
        at_k, at_pivot = _compare_index(lax.eq, positions, k), lax.eq(positions, _full(lax.reshape(pivot_row, batch + (1,)), vector))
        entry_k, entry_pivot = _pick(at_k, permutation, -1), _pick(at_pivot, permutation, -1)
        permutation = lax.select(at_k, entry_pivot, lax.select(at_pivot, entry_k, permutation))
        pivots = lax.select(at_k, _full(lax.reshape(pivot_row, batch + (1,)), vector), pivots)
        # Eliminate below the pivot; the multipliers take the pivot column's place. A zero
        # pivot (a singular matrix) leaves its column as it is.
        pivot = _pick(in_column_k, pivot_values, -1)
        is_zero = lax.eq(pivot, zeros)
        multipliers = lax.div(_pick(in_column_k, matrix, -1), lax.select(is_zero, lax.full(shape, 1, a.dtype), pivot))
        below = _compare_index(lax.gt, rows, k)
        multipliers = lax.select(lax.bitwise_and(below, lax.bitwise_not(is_zero)), multipliers, zeros)
        right_of_pivot = lax.select(_compare_index(lax.gt, cols, k), pivot_values, zeros)
        matrix = lax.sub(matrix, lax.mul(multipliers, right_of_pivot))
        matrix = lax.select(lax.bitwise_and(below, in_column_k), multipliers, matrix)
        return matrix, pivots, permutation

    return lax.fori_loop(0, n, step, (a, lax.full(vector, 0, dtypes.int32), positions))


@custom_jvp
def _lu(a):
    return _lu_steps(a)


def permutation_matrix(permutation, dtype):
    """The matrix P (batched) with P @ x = x[permutation]."""
    n = permutation.shape[-1]
    shape = permutation.shape + (n,)
    columns = lax.broadcasted_iota(dtypes.int32, shape, len(shape) - 1)
    return lax.convert_element_type(lax.eq(_full(lax.reshape(permutation, permutation.shape + (1,)), shape), columns),
                                    dtype)


def _unit_lower(packed):
    return lax.add(_triangle(packed, lower=True, k=1), _eye(packed.shape[-1], packed.dtype, packed.shape[:-2]))


@_lu.defjvp
def _lu_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    packed, pivots, permutation = _lu(a)
    lower, upper = _unit_lower(packed), _triangle(packed, lower=False)
    # P dA = dL U + L dU, so L^-1 P dA U^-1 = L^-1 dL + dU U^-1: strictly lower plus upper.
    change = _matmul(permutation_matrix(permutation, a.dtype), a_dot)
    change = triangular_solve(lower, change, left_side=True, lower=True, unit_diagonal=True)
    change = triangular_solve(upper, change, left_side=False, lower=False)
    packed_dot = lax.add(_matmul(lower, _triangle(change, lower=True, k=1)),
                         _matmul(_triangle(change, lower=False), upper))
    return (packed, pivots, permutation), (packed_dot, lax.full(pivots.shape, 0, pivots.dtype),
                                           lax.full(permutation.shape, 0, permutation.dtype))
