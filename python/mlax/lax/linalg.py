"""mlax.lax.linalg: triangular solves and matrix decompositions, as jax.lax.linalg.

IREE compiles no StableHLO decomposition (cholesky, triangular_solve) on any
target, so the decompositions are written here as loops over mlax ops; one op,
triangular_solve, does forward substitution. Each decomposition has its own
differentiation rule (custom_jvp) whose tangent is linear in the input's tangent
(products with the primal factors and triangular solves), so it transposes for
reverse mode and never differentiates through the iterations. Every function
works on a batch of matrices in the last two axes.
"""

from mlax import lax
from mlax.core import dtypes
from mlax.core.op import OPS
from mlax.transforms.custom import custom_jvp


def _matrix_transpose(x):
    return lax.transpose(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def triangular_solve(a, b, *, left_side=False, lower=False, transpose_a=False, conjugate_a=False,
                     unit_diagonal=False):
    """x with op(a) @ x = b (left_side) or x @ op(a) = b, for a triangular a of which only
    the `lower` (or upper) triangle is read; op(a) is a transposed and/or conjugated."""
    if not left_side:  # x op(a) = b  <=>  op(a)^T x^T = b^T
        return _matrix_transpose(triangular_solve(a, _matrix_transpose(b), left_side=True, lower=lower,
                                                  transpose_a=not transpose_a, conjugate_a=conjugate_a,
                                                  unit_diagonal=unit_diagonal))
    if conjugate_a and dtypes.is_complex(a.dtype):
        a = lax.conj(a)
    if transpose_a:
        a, lower = _matrix_transpose(a), not lower
    if lower:
        return OPS["triangular_solve"](a, b, unit_diagonal=bool(unit_diagonal))
    # Reversing the rows and columns of an upper-triangular matrix makes it lower triangular.
    rows = (b.ndim - 2,)
    flipped = OPS["triangular_solve"](lax.rev(a, (a.ndim - 2, a.ndim - 1)), lax.rev(b, rows),
                                      unit_diagonal=bool(unit_diagonal))
    return lax.rev(flipped, rows)


# -- helpers over the last two axes ---------------------------------------------------------

def _matmul(x, y):
    from mlax.ops.linalg import batched_matmul

    return batched_matmul(x, y)


def _adjoint(x):
    return _matrix_transpose(lax.conj(x) if dtypes.is_complex(x.dtype) else x)


def _zeros(shape, dtype):
    return lax.full(tuple(shape), 0, dtype)


def _where(keep, x, y):
    """select with a mask over the last axes of x (broadcast over the leading ones)."""
    return lax.select(lax.broadcast_in_dim(keep, x.shape, tuple(range(x.ndim - keep.ndim, x.ndim))), x, y)


def _positions(rows, cols):
    """(row index, column index) grids of a rows x cols matrix."""
    return (lax.broadcasted_iota(dtypes.int32, (rows, cols), 0),
            lax.broadcasted_iota(dtypes.int32, (rows, cols), 1))


def _triangle(x, lower, k=0):
    """The lower (rows >= cols + k) or upper (rows <= cols - k) part of x, zeros elsewhere."""
    rows, cols = _positions(*x.shape[-2:])
    keep = lax.ge(rows, lax.add(cols, k)) if lower else lax.le(rows, lax.sub(cols, k))
    return _where(keep, x, _zeros(x.shape, x.dtype))


def _eye(n, dtype, batch=()):
    rows, cols = _positions(n, n)
    return lax.broadcast_in_dim(lax.convert_element_type(lax.eq(rows, cols), dtype), tuple(batch) + (n, n),
                                (len(batch), len(batch) + 1))


def _diagonal(x):
    n = min(x.shape[-2:])
    rows, cols = _positions(*x.shape[-2:])
    on_diagonal = _where(lax.eq(rows, cols), x, _zeros(x.shape, x.dtype))
    return lax.slice_in_dim(lax.reduce_sum(on_diagonal, (x.ndim - 1,)), 0, n, axis=x.ndim - 2)


def _diagonal_matrix(v, cols=None):
    """The matrix with v (..., n) on its diagonal (n x cols)."""
    n = v.shape[-1]
    cols = n if cols is None else cols
    rows, columns = _positions(n, cols)
    spread = lax.broadcast_in_dim(v, v.shape + (cols,), tuple(range(v.ndim)))
    return _where(lax.eq(rows, columns), spread, _zeros(spread.shape, v.dtype))


def _scale_columns(x, v):
    """x with column j multiplied by v[..., j]."""
    return lax.mul(x, lax.broadcast_in_dim(v, x.shape, tuple(range(x.ndim - 2)) + (x.ndim - 1,)))


def _slice_at(x, axis, index, size=1):
    """x's `size` entries from a run-time `index` along `axis` (a negative axis counts from the end)."""
    axis %= x.ndim
    starts = [0] * x.ndim
    starts[axis] = index
    sizes = list(x.shape)
    sizes[axis] = size
    return lax.dynamic_slice(x, starts, sizes)


def _put_at(x, update, axis, index):
    starts = [0] * x.ndim
    starts[axis % x.ndim] = index
    return lax.dynamic_update_slice(x, update, starts)


def _compare_index(compare, positions, index):
    """compare(positions, index) for a run-time scalar index."""
    return compare(positions, lax.broadcast_in_dim(lax.convert_element_type(index, dtypes.int32), positions.shape, ()))


def _check_matrices(name, x, square=False):
    if x.ndim < 2:
        raise ValueError(f"{name}: needs a (batch of) matrices, got shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name}: needs square matrices, got shape {x.shape}")
    if not dtypes.is_inexact(x.dtype):
        raise TypeError(f"{name}: needs a floating or complex matrix, got {x.dtype}")


def _symmetrized(x):
    return lax.div(lax.add(x, _adjoint(x)), lax.full(x.shape, 2, x.dtype))


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
