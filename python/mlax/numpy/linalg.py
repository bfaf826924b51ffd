"""mlax.numpy.linalg: norms, decompositions (from mlax.lax.linalg) and the solvers
built on them, with NumPy's names, batching over leading axes and result tuples."""

from typing import NamedTuple

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.api.jit import compiled
from mlax.lax import linalg as lax_linalg
from mlax.numpy._dtypes import asarray
from mlax.numpy._indexing import take_along_axis
from mlax.numpy._promotion import (broadcast_shapes, broadcast_to, inexact_dtype, promote_args_inexact,
                                   promote_dtypes)
from mlax.numpy._reductions import max as max_
from mlax.numpy._reductions import min as min_
from mlax.numpy._reductions import sum as sum_
from mlax.numpy._shape import _axes, ravel
from mlax.numpy._ufuncs import abs as abs_


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    """Vector norms (any ord) and the Frobenius, 1 and inf matrix norms, as numpy.linalg.norm."""
    (x,) = promote_args_inexact("norm", asarray(x))
    if axis is None:
        if ord is None:
            out = lax.sqrt(sum_(_abs_squared(ravel(x)), 0))
            return lax.reshape(out, (1,) * x.ndim) if keepdims else out
        axes = tuple(range(x.ndim))
    else:
        axes = _axes(axis, x.ndim)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: improper number of axes {axes}")


def _abs_squared(x):
    if dtypes.is_complex(x.dtype):
        return lax.add(lax.square(lax.real(x)), lax.square(lax.imag(x)))
    return lax.mul(x, x)


def _vector_norm(x, ord, axes, keepdims):
    if ord is None or ord == 2:
        return lax.sqrt(sum_(_abs_squared(x), axes, keepdims=keepdims))
    magnitude = abs_(x)
    if ord == np.inf:
        return max_(magnitude, axes, keepdims=keepdims)
    if ord == -np.inf:
        return min_(magnitude, axes, keepdims=keepdims)
    if ord == 0:
        return sum_(lax.convert_element_type(lax.ne(magnitude, lax.full(magnitude.shape, 0, magnitude.dtype)),
                                             magnitude.dtype), axes, keepdims=keepdims)
    if ord == 1:
        return sum_(magnitude, axes, keepdims=keepdims)
    powered = sum_(magnitude ** ord, axes, keepdims=keepdims)
    return powered ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    row_axis, col_axis = axes
    if ord is None or ord == "fro":
        return lax.sqrt(sum_(_abs_squared(x), axes, keepdims=keepdims))
    magnitude = abs_(x)
    if ord in (1, -1):
        sums = sum_(magnitude, row_axis, keepdims=True)
        reduce = max_ if ord == 1 else min_
        out = reduce(sums, col_axis, keepdims=True)
    elif ord in (np.inf, -np.inf):
        sums = sum_(magnitude, col_axis, keepdims=True)
        reduce = max_ if ord == np.inf else min_
        out = reduce(sums, row_axis, keepdims=True)
    elif ord in (2, -2, "nuc"):
        moved = lax.transpose(x, tuple(a for a in range(x.ndim) if a not in axes) + (row_axis, col_axis))
        singular_values = svd(moved, compute_uv=False)
        last = singular_values.ndim - 1
        out = {2: lambda s: max_(s, last), -2: lambda s: min_(s, last), "nuc": lambda s: sum_(s, last)}[ord](
            singular_values)
        return lax.expand_dims(lax.expand_dims(out, (min(axes),)), (max(axes),)) if keepdims else out
    else:
        raise ValueError(f"norm: invalid matrix norm order {ord!r}")
    return out if keepdims else lax.squeeze(out, axes)


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


class QRResult(NamedTuple):
    Q: object
    R: object


def _inexact(*arrays):
    """The arrays in their common floating or complex dtype (shapes untouched)."""
    arrays = promote_dtypes(*(asarray(a) for a in arrays))
    dtype = inexact_dtype(arrays[0].dtype)
    return [lax.convert_element_type(a, dtype) for a in arrays]


def _matrices(name, a, *others):
    """a, a (batch of) square matrices, and the others, in their common inexact dtype."""
    a, *others = _inexact(a, *others)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: needs a (batch of) square matrices, got shape {a.shape}")
    return [a] + others


@compiled("upper")
def cholesky(a, *, upper=False):
    """The Cholesky factor of the Hermitian positive-definite a: lower L with a = L @ L^H
    (upper: U = L^H); NaNs where a is not positive definite."""
    (a,) = _matrices("cholesky", a)
    factor = lax_linalg.cholesky(a)
    return lax_linalg._adjoint(factor) if upper else factor


@compiled("mode")
def qr(a, mode="reduced"):
    """QR decomposition: (Q, R) for mode 'reduced' or 'complete', R alone for mode 'r'."""
    (a,) = _inexact(a)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = lax_linalg.qr(a, full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


@compiled("UPLO", "symmetrize_input")
def eigh(a, UPLO="L", symmetrize_input=True):  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) and eigenvectors (columns) of the real symmetric a."""
    (a,) = _matrices("eigh", a)
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    v, w = lax_linalg.eigh(a, lower=UPLO == "L", symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", symmetrize_input=True):  # noqa: N803 - NumPy's name
    """The eigenvalues (ascending) of the real symmetric a."""
    return eigh(a, UPLO, symmetrize_input).eigenvalues


@compiled("full_matrices", "compute_uv", "hermitian")
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition a = U @ diag(S) @ Vh, S descending; S alone without compute_uv.
    With `hermitian`, a is taken to be Hermitian and decomposed by eigh (which symmetrizes it), as in JAX."""
    (a,) = _inexact(a)
    if hermitian:
        return _hermitian_svd(a, compute_uv)
    result = lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return SVDResult(*result) if compute_uv else result


def _hermitian_svd(a, compute_uv):
    """JAX's SVD of a Hermitian a: S = |eigenvalues| in descending order (the reverse of a stable
    ascending sort), U = the eigenvectors in that order, Vh = (U * sign(eigenvalues))^H."""
    vectors, values = lax_linalg.eigh(a)
    last = values.ndim - 1
    positions = lax.broadcasted_iota(dtypes.int32, values.shape, last)
    s, order = lax.sort_key_val(abs_(values), positions, last)
    s, order = lax.rev(s, (last,)), lax.rev(order, (last,))
    if not compute_uv:
        return s
    u = take_along_axis(vectors, lax.expand_dims(order, (last,)), axis=-1)
    sign = lax.convert_element_type(lax.sign(take_along_axis(values, order, axis=-1)), u.dtype)
    return SVDResult(u, s, lax_linalg._adjoint(u * lax.expand_dims(sign, (last,))))


def _lu_solve(a, b):
    """x with a @ x = b, for matrices b with a's batch axes."""
    packed, _, permutation = lax_linalg.lu(a)
    x = lax_linalg._matmul(lax_linalg.permutation_matrix(permutation, b.dtype), b)
    x = lax_linalg.triangular_solve(packed, x, left_side=True, lower=True, unit_diagonal=True)
    return lax_linalg.triangular_solve(packed, x, left_side=True, lower=False)


@compiled()
def solve(a, b):
    """x with a @ x = b: b is a vector when 1-D, else a (batch of) matrices; batch axes broadcast."""
    a, b = _matrices("solve", a, b)
    n = a.shape[-1]
    vector = b.ndim == 1
    if b.ndim == 0 or b.shape[0 if vector else -2] != n:
        raise ValueError(f"solve: a of shape {a.shape} and b of shape {b.shape} do not match: b needs {n} rows")
    if vector:
        b = lax.reshape(b, (n, 1))
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = _lu_solve(broadcast_to(a, batch + a.shape[-2:]), broadcast_to(b, batch + b.shape[-2:]))
    return lax.reshape(x, x.shape[:-1]) if vector else x


@compiled()
def inv(a):
    """The inverse of the square matrix a (inf or NaN entries where a is singular)."""
    (a,) = _matrices("inv", a)
    return _lu_solve(a, lax_linalg._eye(a.shape[-1], a.dtype, a.shape[:-2]))


def _lu_diagonal_and_parity(a):
    packed, pivots, _ = lax_linalg.lu(a)
    steps = lax.broadcasted_iota(dtypes.int32, pivots.shape, pivots.ndim - 1)
    swaps = lax.reduce_sum(lax.convert_element_type(lax.ne(pivots, steps), dtypes.int32), (pivots.ndim - 1,))
    odd = lax.eq(lax.rem(swaps, lax.full(swaps.shape, 2, swaps.dtype)), lax.full(swaps.shape, 1, swaps.dtype))
    # Chosen in a real dtype: IREE 3.13 computed a select between complex constants here as 0.
    real = lax.real(lax.full((), 0, a.dtype)).dtype if dtypes.is_complex(a.dtype) else a.dtype
    parity = lax.select(odd, lax.full(swaps.shape, -1, real), lax.full(swaps.shape, 1, real))
    return lax_linalg._diagonal(packed), lax.convert_element_type(parity, a.dtype)


@compiled()
def det(a):
    """The determinant of the square matrix a (batched)."""
    (a,) = _matrices("det", a)
    diagonal, parity = _lu_diagonal_and_parity(a)
    return lax.mul(parity, lax.reduce_prod(diagonal, (diagonal.ndim - 1,)))


@compiled()
def slogdet(a):
    """(sign, log|det|) of the square matrix a: the determinant without overflow."""
    (a,) = _matrices("slogdet", a)
    diagonal, parity = _lu_diagonal_and_parity(a)
    last = (diagonal.ndim - 1,)
    magnitude = lax.abs(diagonal)
    logabsdet = lax.reduce_sum(lax.log(magnitude), last)
    zero = lax.full(magnitude.shape, 0, magnitude.dtype)
    phases = lax.div(diagonal, lax.convert_element_type(lax.select(lax.eq(magnitude, zero), lax.full(
        magnitude.shape, 1, magnitude.dtype), magnitude), a.dtype))
    sign = lax.mul(parity, lax.reduce_prod(phases, last))
    singular = lax.reduce_or(lax.eq(magnitude, zero), last)
    return SlogdetResult(lax.select(singular, lax.full(sign.shape, 0, sign.dtype), sign), logabsdet)
