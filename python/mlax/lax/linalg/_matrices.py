"""Helpers over matrices in the last two axes of an array (batched over the leading
ones), shared by the decompositions of mlax.lax.linalg."""

from mlax import lax
from mlax.core import dtypes
from mlax.ops.linalg import batched_matmul


def _matrix_transpose(x):
    return lax.transpose(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def _matmul(x, y):
    """x @ y over the last two axes, batched over the leading ones."""
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


def _diagonal(x, offset=0):
    """The entries x[..., i, i + offset]."""
    rows, cols = x.shape[-2:]
    count = max(0, min(rows, cols - offset))
    row_index, col_index = _positions(rows, cols)
    on_diagonal = _where(lax.eq(lax.add(row_index, offset), col_index), x, _zeros(x.shape, x.dtype))
    return lax.slice_in_dim(lax.reduce_sum(on_diagonal, (x.ndim - 1,)), 0, count, axis=x.ndim - 2)


def _diagonal_matrix(v, cols=None):
    """The matrix with v (..., n) on its diagonal (n x cols)."""
    n = v.shape[-1]
    cols = n if cols is None else cols
    rows, columns = _positions(n, cols)
    spread = lax.broadcast_in_dim(v, v.shape + (cols,), tuple(range(v.ndim)))
    return _where(lax.eq(rows, columns), spread, _zeros(spread.shape, v.dtype))


def _scale_columns(x, v):
    """x with column j multiplied by v[..., j]."""
    return lax.mul(x, lax.broadcast_in_dim(_as(v, x.dtype), x.shape, tuple(range(x.ndim - 2)) + (x.ndim - 1,)))


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


def _full(x, shape):
    """x broadcast to `shape`, its axes kept in order (size-1 axes stretch)."""
    if x.shape == tuple(shape):
        return x
    squeezed = [i for i, d in enumerate(x.shape) if d == 1 and shape[i] != 1]
    kept = tuple(i for i in range(x.ndim) if i not in squeezed)
    return lax.broadcast_in_dim(lax.reshape(x, tuple(x.shape[i] for i in kept)), tuple(shape), kept)


def _real_dtype(dtype):
    return lax.real(lax.full((), 0, dtype)).dtype if dtypes.is_complex(dtype) else dtype


def _as(x, dtype):
    return lax.convert_element_type(x, dtype)


def _abs_squared(x):
    if dtypes.is_complex(x.dtype):
        return lax.add(lax.square(lax.real(x)), lax.square(lax.imag(x)))
    return lax.mul(x, x)
