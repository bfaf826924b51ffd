"""mlax.numpy.linalg's products and views over the last axes (the array API's names):
matmul, tensordot, vecdot, outer, cross, multi_dot, diagonal, trace and matrix_transpose,
with JAX's signatures (positional-only arrays, keyword-only options). They build on
mlax.numpy's products and need none of the decompositions; mlax.numpy.linalg exports them.
Those of several ops run eagerly as one compiled program, as JAX's jitted ones do."""

import itertools

import numpy as np

from mlax import lax
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.numpy._contractions import matmul as _matmul
from mlax.numpy._contractions import tensordot as _tensordot
from mlax.numpy._diagonals import diagonal as _diagonal
from mlax.numpy._diagonals import trace as _trace
from mlax.numpy._dtypes import asarray
from mlax.numpy._promotion import promote_dtypes
from mlax.numpy._shape import matrix_transpose as _matrix_transpose
from mlax.numpy._shape import moveaxis, reshape, stack
from mlax.numpy._ufuncs import conj


def matmul(x1, x2, /, *, precision=None, preferred_element_type=None):
    """Matrix product with broadcasting over the leading (batch) axes, as numpy.linalg.matmul."""
    return _matmul(x1, x2, precision=precision, preferred_element_type=preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None, out_sharding=None):
    """Sums of products over `axes` (x1's last N with x2's first N, or two lists of axes)."""
    if out_sharding is not None:
        raise NotImplementedError("tensordot: out_sharding is not supported (mlax has no sharded arrays); "
                                  "leave it None")
    if preferred_element_type is not None:  # the products are computed in it, as by dot_general
        x1, x2 = (lax.convert_element_type(asarray(x), dtypes.canonicalize(preferred_element_type)) for x in (x1, x2))
    return _tensordot(x1, x2, axes)


@compiled("axis", "precision", "preferred_element_type")
def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """The dot products conj(x1) . x2 along `axis`, broadcast over the other axes."""
    x1, x2 = asarray(x1), asarray(x2)
    if x1.shape[axis] != x2.shape[axis]:
        raise ValueError(f"vecdot: axes must match; got shapes {x1.shape} and {x2.shape} with axis={axis}")
    rows = lax.expand_dims(conj(moveaxis(x1, axis, -1)), (x1.ndim - 1,))
    columns = lax.expand_dims(moveaxis(x2, axis, -1), (x2.ndim,))
    products = _matmul(rows, columns, precision=precision, preferred_element_type=preferred_element_type)
    return reshape(products, products.shape[:-2])


def outer(x1, x2, /):
    """The outer product of the vectors x1 and x2."""
    x1, x2 = asarray(x1), asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"outer: input arrays must be one-dimensional, got shapes {x1.shape} and {x2.shape}")
    return lax.expand_dims(x1, (1,)) * lax.expand_dims(x2, (0,))


@compiled("axis")
def cross(x1, x2, /, *, axis=-1):
    """The cross products of the 3-vectors along `axis` of x1 and x2 (other axes broadcast)."""
    x1, x2 = asarray(x1), asarray(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(f"cross: both arrays must hold 3-vectors along axis {axis}, got shapes {x1.shape} and "
                         f"{x2.shape}")
    a0, a1, a2 = (moveaxis(x1, axis, -1)[..., i] for i in range(3))
    b0, b1, b2 = (moveaxis(x2, axis, -1)[..., i] for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=axis)


@compiled("precision")
def multi_dot(arrays, *, precision=None):
    """The product of a chain of matrices (the first and last may be vectors), in the cheapest order."""
    arrays = promote_dtypes(*arrays)
    if len(arrays) < 2:
        raise ValueError(f"multi_dot: needs at least two arrays, got {len(arrays)}")
    shapes = [a.shape for a in arrays]
    if arrays[0].ndim not in (1, 2) or arrays[-1].ndim not in (1, 2) or any(a.ndim != 2 for a in arrays[1:-1]):
        raise ValueError(f"multi_dot: the arrays must be matrices (the first and last may be vectors), got shapes "
                         f"{shapes}")
    if any(a.shape[-1] != b.shape[0] for a, b in itertools.pairwise(arrays)):
        raise ValueError(f"multi_dot: each array's last dimension must match the next one's first, got shapes "
                         f"{shapes}")
    first, last = arrays[0].ndim == 1, arrays[-1].ndim == 1
    matrices = [reshape(arrays[0], (1, -1)) if first else arrays[0], *arrays[1:-1],
                reshape(arrays[-1], (-1, 1)) if last else arrays[-1]]
    split = _cheapest_splits([m.shape[0] for m in matrices] + [matrices[-1].shape[1]])

    def product(i, j):  # of matrices i..j
        if i == j:
            return matrices[i]
        return _matmul(product(i, split[i][j]), product(split[i][j] + 1, j), precision=precision)
    out = product(0, len(matrices) - 1)
    return reshape(out, out.shape[int(first):2 - int(last)])


def _cheapest_splits(dims):
    """split[i][j]: after which matrix the cheapest product of matrices i..j splits, matrix k being
    dims[k] x dims[k + 1] (the textbook dynamic program over chain lengths)."""
    n = len(dims) - 1
    cost = np.zeros((n, n), np.int64)
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i, j], split[i][j] = min((cost[i, k] + cost[k + 1, j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                                          for k in range(i, j))
    return split


def diagonal(x, /, *, offset=0):
    """The diagonals at `offset` of the matrices in x's last two axes."""
    return _diagonal(x, offset, -2, -1)


@compiled("offset", "dtype")
def trace(x, /, *, offset=0, dtype=None):
    """The sums of the diagonals at `offset` of the matrices in x's last two axes."""
    return _trace(x, offset, -2, -1, dtype)


def matrix_transpose(x, /):
    """x with its last two axes swapped."""
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: needs at least 2 dimensions, got shape {x.shape}")
    return _matrix_transpose(x)
