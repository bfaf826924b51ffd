"""The special matrices of jax.scipy.linalg (toeplitz, hankel, circulant, companion ...).

The ones built from vectors take a batch of vectors in their leading axes, as JAX's do,
and gather the entries through an index matrix; the ones of a given size n take n as a
static integer and compute their entries from index grids.
"""

import math
import operator

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.scipy.special import comb


def _grid(rows, cols, dtype=dtypes.int32):
    """(row index, column index) of a rows x cols matrix, each of shape (rows, cols)."""
    return (lax.broadcasted_iota(dtype, (rows, cols), 0), lax.broadcasted_iota(dtype, (rows, cols), 1))


def _vectors(*arrays):
    """The arrays at least 1-D, their leading (batch) axes broadcast together."""
    arrays = [mnp.atleast_1d(mnp.asarray(a)) for a in arrays]
    batch = mnp.broadcast_shapes(*(a.shape[:-1] for a in arrays))
    return [mnp.broadcast_to(a, batch + a.shape[-1:]) for a in arrays]


def _gather(values, index):
    """values[..., index] for an index matrix: one matrix per vector of the batch."""
    return mnp.take(values, mnp.asarray(index), axis=-1)


def toeplitz(c, r=None):
    """The Toeplitz matrix with first column c and first row r (r[0] is ignored; by default
    r = conj(c)); batches of c and r give a batch of matrices."""
    c = mnp.asarray(c)
    c, r = _vectors(c, mnp.conj(c) if r is None else r)
    rows, cols = c.shape[-1], r.shape[-1]
    values = mnp.concatenate([mnp.flip(c, -1), r[..., 1:]], axis=-1)
    if rows == 0 or cols == 0:
        return mnp.zeros(c.shape[:-1] + (rows, cols), values.dtype)
    i, j = _grid(rows, cols)
    return _gather(values, (rows - 1) - i + j)


def hankel(c, r=None):
    """The Hankel matrix with first column c and last row r (r[0] is ignored; by default
    zeros); batches of c and r give a batch of matrices."""
    c = mnp.asarray(c)
    r = mnp.zeros_like(c) if r is None else mnp.asarray(r)
    for name, value in (("c", c), ("r", r)):
        if value.ndim == 0:
            raise ValueError(f"hankel: {name} must be at least 1-dimensional, got a scalar")
    c, r = _vectors(c, r)
    rows, cols = c.shape[-1], r.shape[-1]
    values = mnp.concatenate([c, r[..., 1:]], axis=-1)
    if rows == 0 or cols == 0:
        return mnp.zeros(c.shape[:-1] + (rows, cols), values.dtype)
    i, j = _grid(rows, cols)
    return _gather(values, i + j)


def circulant(c):
    """The circulant matrix whose first column is c (a batch of vectors gives a batch)."""
    (c,) = _vectors(c)
    n = c.shape[-1]
    i, j = _grid(n, n)
    return _gather(c, (i - j + n) % n) if n else mnp.zeros(c.shape[:-1] + (0, 0), c.dtype)


def leslie(f, s):
    """The Leslie matrix: fecundities f in the first row, survival rates s below the diagonal."""
    f, s = mnp.atleast_1d(mnp.asarray(f)), mnp.atleast_1d(mnp.asarray(s))
    if f.shape[-1] < 2:
        raise ValueError(f"leslie: the last axis of f must hold at least 2 entries, got shape {f.shape}")
    if s.shape[-1] != f.shape[-1] - 1:
        raise ValueError(f"leslie: the last axis of s must be one shorter than f's, got f of shape {f.shape} "
                         f"and s of shape {s.shape}")
    f, s = _vectors(*mnp.promote_dtypes(f, s))
    n = f.shape[-1]
    i, j = _grid(n, n)
    below = mnp.where(i == j + 1, mnp.pad(s, [(0, 0)] * (s.ndim - 1) + [(0, 1)])[..., None, :], 0).astype(f.dtype)
    return mnp.where(i == 0, f[..., None, :], below)


def companion(a):
    """The companion matrix of the polynomial with coefficients a (highest degree first)."""
    (a,) = mnp.promote_args_inexact("companion", a)
    a = mnp.atleast_1d(a)
    if a.shape[-1] < 2:
        raise ValueError(f"companion: the last axis of a must hold at least 2 entries, got shape {a.shape}")
    first_row = -a[..., 1:] / a[..., :1]
    m = a.shape[-1] - 1
    i, j = _grid(m, m)
    return mnp.where(i == 0, first_row[..., None, :], (i == j + 1).astype(first_row.dtype))


def fiedler(a):
    """The symmetric Fiedler matrix |a[i] - a[j]|."""
    a = mnp.atleast_1d(mnp.asarray(a))
    return mnp.abs(a[..., :, None] - a[..., None, :])


def fiedler_companion(a):
    """The Fiedler companion matrix of the polynomial with coefficients a (highest degree
    first): pentadiagonal, with the same eigenvalues as the companion matrix."""
    (a,) = mnp.promote_args_inexact("fiedler_companion", a)
    a = mnp.atleast_1d(a)
    if a.shape[-1] == 0:
        raise ValueError(f"fiedler_companion: the last axis of a must not be empty, got shape {a.shape}")
    n = a.shape[-1] - 1
    if n == 0:
        return mnp.zeros(a.shape[:-1] + (0, 0), a.dtype)
    a = a / a[..., :1]
    if n == 1:
        return -a[..., 1:, None]
    i, j = _grid(n, n)
    even, odd = i % 2 == 0, i % 2 == 1
    coefficient = lambda index: -_gather(a, mnp.minimum(index, n))
    # An even row i holds -a[i + 2] right of the diagonal and 1 two places right; it holds
    # -a[i + 1] left of the diagonal (from row 2 on), and an odd row (from 3 on) 1 two places left.
    entries = [((i == 0) & (j == 0), -a[..., 1:2, None]), ((i == 1) & (j == 0), 1),
               ((j == i + 1) & even, coefficient(i + 2)), ((j == i + 2) & even, 1),
               ((j == i - 1) & even & (i >= 2), coefficient(i + 1)), ((j == i - 2) & odd & (i >= 3), 1)]
    out = mnp.zeros(a.shape[:-1] + (n, n), a.dtype)
    for where, value in reversed(entries):  # the first condition that holds wins
        out = mnp.where(where, value, out)
    return out


@compiled("n", "mode")
def convolution_matrix(a, n, mode="full"):
    """The matrix A with A @ x = convolve(a, x, mode) for x of length n."""
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"convolution_matrix: n must be a positive integer, got {n}")
    a = mnp.asarray(a)
    if a.ndim == 0:
        raise ValueError("convolution_matrix: a must be at least 1-dimensional, got a scalar")
    m = a.shape[-1]
    if m < 1:
        raise ValueError(f"convolution_matrix: a must not be empty, got shape {a.shape}")
    length = m + n - 1
    # The rows of the full convolution that the mode keeps: [first, first + rows).
    overlap = min(n, m) - 1
    first, rows = {"full": (0, length), "same": (overlap // 2, length - overlap),
                   "valid": (overlap, length - 2 * overlap)}.get(mode, (None, None))
    if first is None:
        raise ValueError(f"convolution_matrix: mode must be 'full', 'valid' or 'same', got {mode!r}")
    i, j = _grid(rows, n)
    index = first + i - j
    inside = (index >= 0) & (index < m)
    return mnp.where(inside, _gather(a, mnp.clip(index, 0, m - 1)), mnp.zeros((), a.dtype))


@compiled("n")
def hilbert(n):
    """The n x n Hilbert matrix 1 / (i + j + 1), in the default float dtype."""
    i, j = _grid(n, n, dtypes.default_float())
    return 1 / (i + j + 1)


def _parity_sign(k, dtype):
    """(-1) ** k for integer-valued k, in dtype."""
    return mnp.where(k % 2 == 0, 1, -1).astype(dtype)


@compiled("n")
def invhilbert(n):
    """The inverse of the n x n Hilbert matrix (integers, computed in the default float dtype)."""
    i, j = _grid(n, n, dtypes.default_float())
    s = i + j
    return _parity_sign(s, s.dtype) * (s + 1) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1) * comb(s, i) ** 2


def _binomial(n, k):
    """n choose k from lgamma (0 where k > n), as JAX computes it for pascal and invpascal."""
    return lax.exp(lax.lgamma(n + 1.0) - lax.lgamma(n - k + 1.0) - lax.lgamma(k + 1.0))


def _check_kind(kind):
    kind = "symmetric" if kind is None else kind
    if kind not in ("symmetric", "lower", "upper"):
        raise ValueError(f"kind must be 'symmetric', 'lower' or 'upper', got {kind!r}")
    return kind


@compiled("n", "kind")
def pascal(n, kind=None):
    """The n x n Pascal matrix ('symmetric' by default, or its 'lower'/'upper' Cholesky factor),
    in float32 whatever the default float (as in JAX)."""
    kind = _check_kind(kind)
    i, j = _grid(n, n, dtypes.float32)
    lower = _binomial(i, j)
    return {"lower": lower, "upper": lower.T, "symmetric": lower @ lower.T}[kind]


@compiled("n", "kind")
def invpascal(n, kind=None):
    """The inverse of pascal(n, kind), in the default float dtype."""
    kind = _check_kind(kind)
    i, j = _grid(n, n, dtypes.default_float())
    lower = _parity_sign(i - j, i.dtype) * _binomial(i, j)
    return {"lower": lower, "upper": lower.T, "symmetric": lower.T @ lower}[kind]


@compiled("n", "full")
def helmert(n, full=False):
    """The Helmert matrix: n - 1 orthonormal rows orthogonal to the ones vector, and with
    `full` that vector normalized as the first row."""
    if n < 1:
        raise ValueError(f"helmert: n must be a positive integer, got {n}")
    i, j = _grid(n - 1, n, dtypes.default_float())
    k = i + 1
    scale = mnp.sqrt(k * (k + 1))
    out = mnp.where(j <= i, 1 / scale, mnp.where(j == k, -k / scale, mnp.zeros_like(scale)))
    if full:
        out = mnp.concatenate([mnp.full((1, n), 1 / np.sqrt(n), out.dtype), out], axis=0)
    return out


@compiled("n", "dtype")
def hadamard(n, dtype=int):
    """The n x n Hadamard matrix (Sylvester's construction) for n a power of 2."""
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"hadamard: n must be a positive power of 2, got {n}")
    out = mnp.ones((1, 1), dtype=dtype)
    for _ in range(int(math.log2(n))):
        out = mnp.concatenate([mnp.concatenate([out, out], axis=1), mnp.concatenate([out, -out], axis=1)], axis=0)
    return out


@compiled("n", "scale", "dtype")
def dft(n, scale=None, *, dtype=None):
    """The n x n discrete Fourier transform matrix exp(-2 pi i j k / n), divided by sqrt(n)
    (scale='sqrtn') or n (scale='n'); complex64 by default."""
    if scale not in (None, "sqrtn", "n"):
        raise ValueError(f"dft: scale must be None, 'sqrtn' or 'n', got {scale!r}")
    dtype = dtypes.default_complex() if dtype is None else dtypes.canonicalize(dtype)
    if not dtypes.is_complex(dtype):
        raise ValueError(f"dft: dtype must be a complex floating-point type, got {dtype}")
    a = mnp.arange(n, dtype=dtype)
    out = mnp.exp(-2j * np.pi * a[:, None] * a[None, :] / n)
    if scale == "sqrtn":
        return out / mnp.sqrt(n)
    return out / n if scale == "n" else out


def block_diag(*arrs):
    """The block-diagonal matrix of the arguments (scalars and vectors count as one row)."""
    arrays = mnp.promote_dtypes(*arrs) if arrs else [mnp.zeros((1, 0))]
    for position, array in enumerate(arrays):
        if array.ndim > 2:
            raise ValueError(f"block_diag: arguments must have at most 2 dimensions, got shape {array.shape} "
                             f"at argument {position}")
    arrays = [mnp.atleast_2d(a) for a in arrays]
    total = sum(a.shape[1] for a in arrays)
    starts = np.cumsum([0] + [a.shape[1] for a in arrays])
    return mnp.concatenate([mnp.pad(a, [(0, 0), (start, total - start - a.shape[1])])
                            for a, start in zip(arrays, starts)], axis=0)
