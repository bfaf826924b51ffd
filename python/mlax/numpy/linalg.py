"""mlax.numpy.linalg: norms, decompositions (from mlax.lax.linalg) and the solvers
built on them, with NumPy's names, batching over leading axes and result tuples.
The products and views over the last axes (matmul, vecdot, cross ...) live in
_linalg_products. eig and eigvals come from a complex Schur decomposition by shifted QR
iterations (in complex arithmetic, where JAX calls LAPACK's geev)."""

import functools
import operator
from typing import NamedTuple

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.api.custom_rules import custom_jvp
from mlax.api.jit import compiled
from mlax.lax import linalg as lax_linalg
from mlax.lax.linalg._matrices import _matrix_transpose, _real_dtype, _triangle
from mlax.lax.linalg.householder import _householder
from mlax.numpy._creation import eye
from mlax.numpy._dtypes import asarray
from mlax.numpy._indexing import take_along_axis
from mlax.numpy._linalg_products import (cross, diagonal, matmul, matrix_transpose, multi_dot, outer,  # noqa: F401
                                         tensordot, trace, vecdot)
from mlax.numpy._promotion import (broadcast_shapes, broadcast_to, inexact_dtype, promote_args_inexact,
                                   promote_dtypes)
from mlax.numpy._reductions import any as any_
from mlax.numpy._reductions import max as max_
from mlax.numpy._reductions import min as min_
from mlax.numpy._reductions import sum as sum_
from mlax.numpy._shape import _axes, moveaxis, ravel, reshape
from mlax.numpy._ufuncs import abs as abs_
from mlax.numpy._ufuncs import conj, isnan, where

# jax.numpy.linalg's names that mlax has (the helpers imported above are not part of it).
__all__ = ["cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
           "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer",
           "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve",
           "trace", "vecdot", "vector_norm"]


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


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002 - NumPy's name
    """The vector norm of x over `axis` (all axes, as one vector, when None), as numpy.linalg.vector_norm."""
    x = asarray(x)
    if ord not in (1, np.inf, -np.inf):  # those keep an integer dtype, as in JAX
        (x,) = promote_args_inexact("vector_norm", x)
    return _vector_norm(x, ord, _axes(axis, x.ndim), keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002 - NumPy's name
    """The matrix norm of the matrices in x's last two axes, as numpy.linalg.matrix_norm."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


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
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid vector norm order {ord!r} (the max and min norms are ord=inf and -inf)")
    powered = sum_(magnitude ** ord, axes, keepdims=keepdims)
    return powered ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    row_axis, col_axis = axes
    if ord is None or ord in ("fro", "f"):
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


class EigResult(NamedTuple):
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


# -- the non-symmetric eigenproblem ---------------------------------------------------------
# A complex Schur form a = z t z^H (t upper triangular, z unitary) by shifted QR iterations on the
# whole matrix: each step factors the active leading block minus a shift, t_active - mu = q r, and
# replaces t by q^H t q, which drives the active block's last row (left of the diagonal) to zero;
# once it is below eps * |a|, that row is zeroed and the active block shrinks by one.

def _complex_dtype(dtype):
    return dtype if dtypes.is_complex(dtype) else np.result_type(dtype, np.complex64)


def _complex_schur(a):
    """(t, z) with a = z t z^H, t upper triangular with a's eigenvalues on its diagonal and z
    unitary, for the complex (batch of) square matrices a."""
    n, batch, dtype = a.shape[-1], a.shape[:-2], a.dtype
    identity = lax_linalg._eye(n, dtype, batch)
    if n <= 1:
        return a, identity
    real = _real_dtype(dtype)
    rows = lax.broadcasted_iota(dtypes.int32, batch + (n, n), a.ndim - 2)
    cols = lax.broadcasted_iota(dtypes.int32, batch + (n, n), a.ndim - 1)
    everything = tuple(range(len(batch), a.ndim))

    def spread(v):
        """A value per matrix over the matrix's entries."""
        return lax.broadcast_in_dim(v, batch + (n, n), tuple(range(len(batch))))

    def entry(t, i, j):
        """t[..., i, j] for run-time indices per matrix."""
        return lax.reduce_sum(where((rows == spread(i)) & (cols == spread(j)), t, 0), everything)

    tolerance = float(np.finfo(real).eps) * lax.sqrt(lax.reduce_sum(_abs_squared(a), everything))

    def bottom_residual(t, m):
        """The norm of the active block's last row left of its diagonal."""
        row = (rows == spread(m - 1)) & (cols < spread(m - 1))
        return lax.sqrt(lax.reduce_sum(where(row, _abs_squared(t), 0), everything)), row

    def step(state):
        count, t, z, m, stall = state
        top, bottom = entry(t, m - 2, m - 2), entry(t, m - 1, m - 1)
        upper, lower = entry(t, m - 2, m - 1), entry(t, m - 1, m - 2)
        # Wilkinson's shift: the eigenvalue of the trailing 2 x 2 block nearer its bottom entry;
        # after 10 steps without deflation an exceptional one (as LAPACK's zlahqr) breaks cycles.
        half = (top - bottom) / 2
        root = lax.sqrt(half * half + upper * lower)
        plus, minus = (top + bottom) / 2 + root, (top + bottom) / 2 - root
        shift = where(abs_(plus - bottom) <= abs_(minus - bottom), plus, minus)
        residual, _ = bottom_residual(t, m)
        shift = where(stall % 10 == 9, bottom + (0.75 * residual).astype(dtype), shift)
        active = (rows < spread(m)) & (cols < spread(m)) & spread(m >= 2)
        shifted = where(active, t - spread(shift) * identity, identity)
        q, _ = _householder(shifted)
        t = lax_linalg._matmul(lax_linalg._adjoint(q), lax_linalg._matmul(t, q))
        z = lax_linalg._matmul(z, q)
        residual, row = bottom_residual(t, m)
        deflate = (residual <= tolerance) & (m >= 2)
        t = where(row & spread(deflate), 0, t)
        return (count + 1, t, z, where(deflate, m - 1, m), where(deflate, 0, stall + 1))

    def going_on(state):
        count, m = state[0], state[3]
        return (count < 30 * n) & lax.reduce_or(m >= 2, tuple(range(m.ndim)))

    start = (lax.full((), 0, dtypes.int32), a, identity, lax.full(batch, n, dtypes.int32),
             lax.full(batch, 0, dtypes.int32))
    _, t, z, _, _ = lax.while_loop(going_on, step, start)
    return _triangle(t, lower=False), z


def _triangular_eigenvectors(t):
    """The eigenvectors of the upper triangular t as the columns of an upper triangular y with
    y_kk = 1, by back substitution; a pivot smaller than eps * |t_kk| (repeated eigenvalues) is
    raised to it (as LAPACK's ztrevc), so the vectors stay finite."""
    n, batch, dtype = t.shape[-1], t.shape[:-2], t.dtype
    real = _real_dtype(dtype)
    values = lax_linalg._diagonal(t)
    along_rows = lax.broadcast_in_dim(values, batch + (n, n), tuple(range(len(batch))) + (t.ndim - 2,))
    along_cols = lax.broadcast_in_dim(values, batch + (n, n), tuple(range(len(batch))) + (t.ndim - 1,))
    gaps = along_rows - along_cols  # gaps[j, k] = t_jj - t_kk
    # (At least tiny ** 0.25: complex division squares the divisor's magnitude, which must stay normal.)
    floor = lax.max(float(np.finfo(real).eps) * (abs_(lax.real(values)) + abs_(lax.imag(values))),
                    lax.full(values.shape, np.finfo(real).tiny ** 0.25, real))
    floor = lax.broadcast_in_dim(floor, batch + (n, n), tuple(range(len(batch))) + (t.ndim - 1,))
    gaps = where(abs_(gaps) < floor, floor.astype(dtype), gaps)
    rows = lax.broadcasted_iota(dtypes.int32, batch + (n, n), t.ndim - 2)
    cols = lax.broadcasted_iota(dtypes.int32, batch + (n, n), t.ndim - 1)

    def substitute(i, y):
        j = n - 2 - i
        at_row = rows == j
        row_of_t = lax.reduce_sum(where(at_row, t, 0), (t.ndim - 2,))
        sums = lax_linalg._matmul(lax.expand_dims(row_of_t, (t.ndim - 2,)), y)  # t[j, :] @ y
        new_row = -lax.broadcast_in_dim(sums, t.shape, tuple(range(t.ndim))) / gaps
        return where(at_row & (cols > j), new_row, y)

    return lax.fori_loop(0, n - 1, substitute, lax_linalg._eye(n, dtype, batch))


def _normalized_columns(v):
    """v's columns scaled to unit norm with their largest entry (the first of equals) real and
    positive: LAPACK's convention for complex eigenvectors."""
    magnitude = _abs_squared(v)
    v = v / lax.sqrt(sum_(magnitude, axis=-2, keepdims=True)).astype(v.dtype)
    rows = lax.broadcasted_iota(dtypes.int32, v.shape, v.ndim - 2)
    first = _largest_row(magnitude)
    pivot = sum_(where(rows == first, v, 0), axis=-2, keepdims=True)
    v = v * (conj(pivot) / abs_(pivot).astype(v.dtype))
    return where(rows == first, lax.real(v).astype(v.dtype), v)


def _largest_row(magnitude):
    """The row of each column's largest entry (the first of equals), keeping the row axis."""
    rows = lax.broadcasted_iota(dtypes.int32, magnitude.shape, magnitude.ndim - 2)
    largest = max_(magnitude, axis=-2, keepdims=True)
    return min_(where(magnitude == largest, rows, magnitude.shape[-2]), axis=-2, keepdims=True)


def _eig_parts(a):
    """(eigenvalues, unit eigenvectors) of the complex a."""
    t, z = _complex_schur(a)
    return lax_linalg._diagonal(t), _normalized_columns(lax_linalg._matmul(z, _triangular_eigenvectors(t)))


@custom_jvp
def _eig(a):
    return _eig_parts(a)


@_eig.defjvp
def _eig_jvp(primals, tangents):
    # First-order perturbation of distinct eigenvalues (JAX's rule, which JAX's jnp.linalg.eig
    # refuses to apply): with P = v^-1 da v, dw = diag(P) and dv = v (F * P) + v diag(c), where
    # F_ij = 1 / (w_j - w_i) off the diagonal and c keeps each column of unit norm with its
    # largest entry real.
    (a,), (a_dot,) = primals, tangents
    w, v = _eig(a)
    rotated = lax_linalg._matmul(_lu_solve(v, a_dot), v)
    w_dot = lax_linalg._diagonal(rotated)
    turned = lax_linalg._matmul(v, _inverse_gaps(w) * rotated)
    rows = lax.broadcasted_iota(dtypes.int32, v.shape, v.ndim - 2)
    pivot = rows == _largest_row(_abs_squared(v))
    along_v = lax.real(sum_(conj(v) * turned, axis=-2))
    pivot_phase = lax.imag(sum_(where(pivot, turned, 0), axis=-2)) / lax.real(sum_(where(pivot, v, 0), axis=-2))
    c = lax.complex(-along_v, -pivot_phase)
    return (w, v), (w_dot, turned + v * lax.expand_dims(c, (v.ndim - 2,)))


def _inverse_gaps(w):
    """F with F_ij = 1 / (w_j - w_i) off the diagonal and 0 on it."""
    n = w.shape[-1]
    identity = lax_linalg._eye(n, w.dtype, w.shape[:-1])
    return 1 / (identity + lax.expand_dims(w, (w.ndim - 1,)) - lax.expand_dims(w, (w.ndim,))) - identity


@custom_jvp
def _eigvals(a):
    return lax_linalg._diagonal(_complex_schur(a)[0])


@_eigvals.defjvp
def _eigvals_jvp(primals, tangents):
    # With a = v diag(w) v^-1, dw = diag(v^-1 da v).
    (a,), (a_dot,) = primals, tangents
    w, v = _eig_parts(a)
    return w, sum_(_lu_solve(v, a_dot) * _matrix_transpose(v), axis=-1)


@compiled()
def eig(a):
    """Eigenvalues and right eigenvectors (unit columns) of the square a, always complex. They are in
    the order of mlax's Schur form, which can differ from JAX's (LAPACK's); eigenvectors have their
    largest entry real and positive (LAPACK's convention for complex input; for real input LAPACK
    leaves real eigenvectors' signs to its algorithm). Differentiable (for distinct eigenvalues) by
    the rule JAX's jax.lax.linalg.eig applies with enable_eigvec_derivs=True; JAX's jnp.linalg.eig raises."""
    (a,) = _matrices("eig", a)
    a = lax.convert_element_type(a, _complex_dtype(a.dtype))
    if a.shape[-1] == 0:
        return EigResult(lax.full(a.shape[:-1], 0, a.dtype), a)
    return EigResult(*_eig(a))


@compiled()
def eigvals(a):
    """The eigenvalues of the square a, always complex, in the order of eig's."""
    (a,) = _matrices("eigvals", a)
    a = lax.convert_element_type(a, _complex_dtype(a.dtype))
    return lax.full(a.shape[:-1], 0, a.dtype) if a.shape[-1] == 0 else _eigvals(a)


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
    pivots, parity = _lu_diagonal_and_parity(a)
    return lax.mul(parity, lax.reduce_prod(pivots, (pivots.ndim - 1,)))


@compiled()
def slogdet(a):
    """(sign, log|det|) of the square matrix a: the determinant without overflow."""
    (a,) = _matrices("slogdet", a)
    pivots, parity = _lu_diagonal_and_parity(a)
    last = (pivots.ndim - 1,)
    magnitude = lax.abs(pivots)
    logabsdet = lax.reduce_sum(lax.log(magnitude), last)
    zero = lax.full(magnitude.shape, 0, magnitude.dtype)
    phases = lax.div(pivots, lax.convert_element_type(lax.select(lax.eq(magnitude, zero), lax.full(
        magnitude.shape, 1, magnitude.dtype), magnitude), a.dtype))
    sign = lax.mul(parity, lax.reduce_prod(phases, last))
    singular = lax.reduce_or(lax.eq(magnitude, zero), last)
    return SlogdetResult(lax.select(singular, lax.full(sign.shape, 0, sign.dtype), sign), logabsdet)


# -- built on the decompositions and solvers above ----------------------------------------------

def svdvals(x, /):
    """The singular values of x (descending), batched over leading axes."""
    return svd(x, compute_uv=False)


@compiled("p")
def cond(x, p=None):
    """The condition number of x in the matrix norm `p` (2 by default: from the singular values)."""
    x = asarray(x)
    if x.ndim < 2 or x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"cond: needs a (batch of) non-empty matrices, got shape {x.shape}")
    if p is None or p == 2:
        s = svdvals(x)
        return s[..., 0] / s[..., -1]
    if p == -2:
        s = svdvals(x)
        ratio = s[..., -1] / s[..., 0]
    else:
        if x.shape[-2] != x.shape[-1]:
            raise ValueError(f"cond: p={p!r} needs a (batch of) square matrices, got shape {x.shape}")
        ratio = norm(x, ord=p, axis=(-2, -1)) * norm(inv(x), ord=p, axis=(-2, -1))
    # A NaN from a singular matrix (not from a NaN in x) means an infinite condition number.
    return where(isnan(ratio) & ~any_(isnan(x), axis=(-2, -1)), np.inf, ratio)


@compiled("n")
def matrix_power(a, n):
    """a (a batch of square matrices) to the integer power n: repeated squaring, of inv(a) when n < 0."""
    a = asarray(a)
    if a.ndim < 2 or a.shape[-2] != a.shape[-1]:
        raise TypeError(f"matrix_power: needs a (batch of) square matrices, got shape {a.shape}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}") from None
    if n == 0:
        return broadcast_to(eye(a.shape[-1], dtype=a.dtype), a.shape)
    if n < 0:
        a, n = inv(a), -n
    if n <= 3:  # JAX's products for small n, in its order
        return functools.reduce(matmul, [a] * n)
    power, result = None, None
    while n > 0:
        power = a if power is None else matmul(power, power)
        n, bit = divmod(n, 2)
        if bit:
            result = power if result is None else matmul(result, power)
    return result


@compiled("hermitian")
def matrix_rank(M, rtol=None, *, hermitian=False, tol=None):  # noqa: N803 - JAX's name
    """The number of singular values of M above rtol (default: the largest times max(M's rows, columns) * eps)."""
    # JAX compares the singular values with rtol itself (not rtol times the largest), and so does mlax.
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified")
        rtol = tol
    (M,) = promote_args_inexact("matrix_rank", asarray(M))
    if M.ndim < 2:
        return lax.convert_element_type(any_(M != 0), dtypes.int32)
    s = svd(M, full_matrices=False, compute_uv=False, hermitian=hermitian)
    if rtol is None:
        rtol = max_(s, -1) * max(M.shape[-2:]) * np.finfo(s.dtype).eps
    rtol = asarray(rtol)
    return sum_(s > lax.expand_dims(rtol, (rtol.ndim,)), axis=-1)


def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    """The Moore-Penrose pseudo-inverse of a by SVD, without singular values <= rtol times the largest."""
    # The default rtol is 10 * max(rows, columns) * eps; rcond is its old name.
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: only one of rtol and rcond may be specified")
        rtol = rcond
    return _pinv(a, rtol, hermitian)


@compiled("hermitian")
def _pinv(a, rtol, hermitian):
    (a,) = _inexact(a)
    m, n = a.shape[-2:]
    if m == 0 or n == 0:
        return lax.full(a.shape[:-2] + (n, m), 0, a.dtype)
    real = np.finfo(a.dtype).dtype
    rtol = lax.convert_element_type(asarray(10.0 * max(m, n) * np.finfo(real).eps if rtol is None else rtol), real)
    return _pseudo_inverse(a, rtol, hermitian)


@functools.partial(custom_jvp, nondiff_argnums=(2,))
def _pseudo_inverse(a, rtol, hermitian):
    """pinv of the inexact a with the real cutoff rtol (NumPy's and JAX's algorithm)."""
    u, s, vh = svd(conj(a), full_matrices=False, hermitian=hermitian)
    rtol = reshape(rtol, (1,) * (s.ndim - rtol.ndim - 1) + rtol.shape + (1,))
    s = where(s > rtol * s[..., 0:1], s, np.inf).astype(u.dtype)
    return matmul(vh.mT, u.mT / s[..., None])


@_pseudo_inverse.defjvp
def _pseudo_inverse_jvp(hermitian, primals, tangents):
    # Golub and Pereyra (1973), as JAX: dP = -P dA P + (P P^H) dA^H (I - A P) + (I - P A) dA^H (P^H P),
    # multiplied out in the order that keeps the products small.
    (a, rtol), (a_dot, _) = primals, tangents
    p = _pseudo_inverse(a, rtol, hermitian)
    if hermitian:  # svd(hermitian=True) symmetrizes its input, and the derivative must too
        a, a_dot = (a + lax_linalg._adjoint(a)) / 2, (a_dot + lax_linalg._adjoint(a_dot)) / 2
    adjoint = lax_linalg._adjoint
    if a.shape[-2] >= a.shape[-1]:
        s = (p @ adjoint(p)) @ adjoint(a_dot)
        t = (adjoint(a_dot) @ adjoint(p)) @ p
        p_dot = -(p @ a_dot) @ p + s - (s @ a) @ p + t - (p @ a) @ t
    else:
        s = p @ (adjoint(p) @ adjoint(a_dot))
        t = adjoint(a_dot) @ (adjoint(p) @ p)
        p_dot = -p @ (a_dot @ p) + s - s @ (a @ p) + t - p @ (a @ t)
    return p, p_dot


def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """(x, residuals, rank, singular values) of the least-squares solution of a @ x = b, by SVD."""
    # Singular values below rcond times the largest count as zero (default: max(rows, columns) * eps).
    # numpy_resid gives NumPy's empty residuals when rank < columns or rows <= columns (a concrete rank).
    x, residuals, rank, s = _lstsq(a, b, rcond)
    if numpy_resid:
        m, n = asarray(a).shape
        if rank < n or m <= n:
            residuals = asarray([])
    return x, residuals, rank, s


@compiled()
def _lstsq(a, b, rcond):
    a, b = _inexact(a, b)
    if a.ndim != 2 or b.ndim not in (1, 2):
        raise TypeError(f"lstsq: needs a matrix a and a vector or matrix b, got shapes {a.shape} and {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"lstsq: a of shape {a.shape} and b of shape {b.shape} differ in their leading dimension")
    vector = b.ndim == 1
    if vector:
        b = reshape(b, (-1, 1))
    m, n = a.shape
    if a.size == 0:
        s = lax.full((0,), 0, a.dtype)
        rank = lax.full((), 0, dtypes.default_int())
        x = lax.full((n, b.shape[1]), 0, a.dtype)
    else:
        eps = np.finfo(a.dtype).eps
        rcond = eps * max(m, n) if rcond is None else where(asarray(rcond) < 0, eps, rcond)
        u, s, vh = svd(a, full_matrices=False)
        keep = (s > 0) & (s >= asarray(rcond).astype(s.dtype) * s[0])
        rank = sum_(keep)
        inverse_s = where(keep, 1 / where(keep, s, 1).astype(a.dtype), 0)
        x = lax_linalg._adjoint(vh) @ (inverse_s[:, None] * (lax_linalg._adjoint(u) @ b))
    residuals = norm(b - a @ x, axis=0) ** 2
    return ravel(x) if vector else x, residuals, rank, s


def tensorsolve(a, b, axes=None):
    """x with tensordot(a, x, x.ndim) = b, solved as one linear system; `axes` of a move to its end first."""
    a, b = asarray(a), asarray(b)
    if axes is not None:  # to the end in increasing order, whatever the order given (as in JAX)
        axes = sorted(_axes(axes, a.ndim))
        a = moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    out_shape = a.shape[b.ndim:]
    if a.shape[:b.ndim] != b.shape or b.size != int(np.prod(out_shape)):
        raise ValueError(f"tensorsolve: a of shape {a.shape} (axes moved to the end) needs leading axes of b's "
                         f"shape {b.shape} and trailing axes of b's size")
    return reshape(solve(reshape(a, (b.size, b.size)), ravel(b)), out_shape)


def tensorinv(a, ind=2):
    """The inverse of a as a map from its first `ind` axes to the others (shape: the others, then those)."""
    a = asarray(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive integer, got {ind}")
    rows, columns = a.shape[:ind], a.shape[ind:]
    if int(np.prod(rows)) != int(np.prod(columns)):
        raise ValueError(f"tensorinv: the first {ind} axes of a {a.shape} must hold as many elements as the others")
    size = int(np.prod(rows))
    return reshape(inv(reshape(a, (size, size))), columns + rows)
