"""mlax.numpy's diagonals: diagonal, trace and diag."""

import builtins

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.numpy._creation import eye
from mlax.numpy._dtypes import asarray
from mlax.numpy._indexing import getitem
from mlax.numpy._reductions import sum  # noqa: A004 - NumPy's name
from mlax.numpy._shape import _axis, moveaxis
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
