"""mlax.numpy's diagonals and triangles: diagonal, trace, diag, diagflat, and the index
arrays of triangles and diagonals (tril_indices, triu_indices, diag_indices and their
*_from forms), which NumPy computes from the static sizes."""

import builtins
import operator

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.numpy._creation import eye
from mlax.numpy._dtypes import asarray
from mlax.numpy._indexing import getitem
from mlax.numpy._reductions import sum  # noqa: A004 - NumPy's name
from mlax.core.trace import Tracer
from mlax.numpy._shape import _axis, moveaxis, ravel
from mlax.numpy._ufuncs import where


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal at `offset` of the (axis1, axis2) planes, as the last axis."""
    a = asarray(a)
    axis1, axis2 = _axis(axis1, a.ndim), _axis(axis2, a.ndim)
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    n, m = a.shape[-2], a.shape[-1]
    rows = np.arange(builtins.max(0, -offset), builtins.min(n, m - offset))
    if rows.size == 0:
        return lax.full(a.shape[:-2] + (0,), 0, a.dtype)
    return getitem(a, (Ellipsis, rows.astype(np.int32), (rows + offset).astype(np.int32)))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """Sum along the diagonal `offset` of the axes axis1 and axis2."""
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v, k=0):
    """The k-th diagonal of a matrix, or a matrix with v on its k-th diagonal."""
    v = asarray(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag input must be 1-d or 2-d, got shape {v.shape}")
    n = v.shape[0] + builtins.abs(k)
    # Row i of the result holds v[i] (k >= 0) or v[i + k] (k < 0) on its diagonal entry.
    padded = lax.pad(v, 0, [(builtins.max(-k, 0), builtins.max(k, 0), 0)])
    values = lax.broadcast_in_dim(padded, (n, n), (0,))
    return where(eye(n, k=k, dtype=dtypes.bool_), values, lax.full((n, n), 0, v.dtype))


def diagflat(v, k=0):
    """A matrix with the flattened v on its k-th diagonal."""
    return diag(ravel(v), k)


def _static_size(value, what):
    if isinstance(value, Tracer):
        raise value._concretization_error(what)
    return operator.index(value)


def _index_arrays(*indices):
    return tuple(asarray(np.asarray(i, dtypes.default_int())) for i in indices)


def tril_indices(n, k=0, m=None):
    """The (rows, columns) of the elements at and below the k-th diagonal of an n x m matrix."""
    n, k = _static_size(n, "the n argument of tril_indices"), _static_size(k, "the k argument of tril_indices")
    m = n if m is None else _static_size(m, "the m argument of tril_indices")
    return _index_arrays(*np.tril_indices(n, k, m))


def triu_indices(n, k=0, m=None):
    """The (rows, columns) of the elements at and above the k-th diagonal of an n x m matrix."""
    n, k = _static_size(n, "the n argument of triu_indices"), _static_size(k, "the k argument of triu_indices")
    m = n if m is None else _static_size(m, "the m argument of triu_indices")
    return _index_arrays(*np.triu_indices(n, k, m))


def _matrix_shape(arr):
    shape = arr.shape if hasattr(arr, "shape") else asarray(arr).shape
    if len(shape) != 2:
        raise ValueError(f"Only 2-D inputs are accepted, got shape {shape}")
    return shape


def tril_indices_from(arr, k=0):
    """tril_indices for the shape of the 2-d arr."""
    n, m = _matrix_shape(arr)
    return tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    """triu_indices for the shape of the 2-d arr."""
    n, m = _matrix_shape(arr)
    return triu_indices(n, k, m)


def diag_indices(n, ndim=2):
    """The index arrays (ndim copies of 0..n-1) of the main diagonal of an n x ... x n array."""
    n = _static_size(n, "the 'n' argument of diag_indices")
    ndim = _static_size(ndim, "the 'ndim' argument of diag_indices")
    if n < 0:
        raise ValueError(f"n argument to diag_indices must be nonnegative, got {n}")
    if ndim < 0:
        raise ValueError(f"ndim argument to diag_indices must be nonnegative, got {ndim}")
    return _index_arrays(*[np.arange(n)] * ndim)


def diag_indices_from(arr):
    """diag_indices for arr, an array of two or more axes of one length."""
    shape = asarray(arr).shape
    if len(shape) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(shape[0], len(shape))
