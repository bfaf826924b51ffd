"""mlax.numpy's polynomials as coefficient arrays, highest power first (NumPy's poly1d
convention): polyval, polyadd, polysub, polymul, polydiv, polyder, polyint, poly and
polyfit, roots, and the Vandermonde matrix (vander). polyfit solves by mlax.numpy.linalg's
lstsq and roots and poly find eigenvalues by its eigvals, so this module comes after linalg
in the chain."""

import operator

import numpy as np

from mlax import lax
from mlax.core.trace import Tracer
from mlax.core import dtypes
from mlax.numpy import linalg
from mlax.numpy._contractions import dot, outer
from mlax.numpy._convolve import convolve
from mlax.numpy._creation import arange, full, ones, zeros
from mlax.numpy._diagonals import diag
from mlax.numpy._dtypes import asarray
from mlax.numpy._promotion import broadcast_shapes, inexact_dtype, promote_dtypes
from mlax.numpy._reductions import all as all_
from mlax.numpy._reductions import argmin, prod
from mlax.numpy._shape import atleast_1d, concatenate
from mlax.numpy._ufuncs import maximum, power, sqrt, true_divide, where


def _promote_inexact(*args):
    args = promote_dtypes(*args)
    dtype = inexact_dtype(args[0].dtype)
    return [lax.convert_element_type(x, dtype, weak_type=x.weak_type) for x in args]


def _static(value, what):
    if isinstance(value, Tracer):
        raise value._concretization_error(what)
    return operator.index(value)


def polyval(p, x, *, unroll=16):
    """The polynomial with coefficients p (along p's first axis) at x, by Horner's rule."""
    # `unroll` only sets how JAX's loop is unrolled: every valid value gives this result.
    if isinstance(unroll, bool) or not isinstance(unroll, (int, np.integer)) or unroll < 0:
        raise ValueError("`unroll` must be a `bool` or a non-negative `int`.")
    p, x = promote_dtypes(p, x)
    y = lax.full(broadcast_shapes(p.shape[1:], x.shape), 0, x.dtype)
    for i in range(p.shape[0]):
        y = y * x + p[i]
    return y


def polyadd(a1, a2):
    """The sum of two polynomials (the shorter one aligned to the end of the longer)."""
    a1, a2 = promote_dtypes(a1, a2)
    if a2.shape[0] <= a1.shape[0]:
        return a1.at[a1.shape[0] - a2.shape[0]:].add(a2)
    return a2.at[a2.shape[0] - a1.shape[0]:].add(a1)


def polysub(a1, a2):
    """The difference of two polynomials."""
    a1, a2 = promote_dtypes(a1, a2)
    return polyadd(a1, -a2)


def _trim_leading_zeros(a):
    if isinstance(a, Tracer):
        raise a._concretization_error("polymul with trim_leading_zeros=True")
    nonzero = np.flatnonzero(np.asarray(a))
    return a[int(nonzero[0]) if nonzero.size else a.shape[0]:]


def polymul(a1, a2, *, trim_leading_zeros=False):
    """The product of two polynomials (their coefficients' convolution)."""
    a1, a2 = _promote_inexact(a1, a2)
    if trim_leading_zeros and (a1.shape[0] > 1 or a2.shape[0] > 1):
        a1, a2 = _trim_leading_zeros(a1), _trim_leading_zeros(a2)
    if a1.shape[0] == 0:
        a1 = zeros(1, dtype=a2.dtype)
    if a2.shape[0] == 0:
        a2 = zeros(1, dtype=a1.dtype)
    return convolve(a1, a2, mode="full")


def polyder(p, m=1):
    """The m-th derivative of a polynomial."""
    m = _static(m, "the 'm' argument of polyder")
    (p,) = _promote_inexact(p)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    if m == 0:
        return p
    coeff = prod(arange(m, p.shape[0], dtype=p.dtype)[None] - arange(m, dtype=p.dtype)[:, None], 0)
    return p[:-m] * coeff[::-1]


def polyint(p, m=1, k=None):
    """The m-th antiderivative of a polynomial, with integration constants k (a scalar or m values)."""
    m = _static(m, "the 'm' argument of polyint")
    p, k = _promote_inexact(p, 0 if k is None else k)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = atleast_1d(k)
    if k.shape[0] == 1:
        k = full((m,), k[0])
    if k.shape != (m,):
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or m.")
    if m == 0:
        return p
    grid = arange(p.shape[0] + m, dtype=p.dtype)[None] - arange(m, dtype=p.dtype)[:, None]
    return true_divide(concatenate((p, k)), prod(maximum(1, grid), 0)[::-1])


def vander(x, N=None, increasing=False):  # noqa: N803 - NumPy's name
    """The Vandermonde matrix of the vector x: columns x**(N-1), ..., x**0 (increasing powers with `increasing`)."""
    x = asarray(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be a one-dimensional array, got shape {x.shape}")
    N = x.shape[0] if N is None else _static(N, "the 'N' argument of vander")
    if N < 0:
        raise ValueError(f"vander: N must be nonnegative, got {N}")
    exponents = lax.iota(x.dtype, N)
    if not increasing:
        exponents = lax.full((N,), N - 1, x.dtype) - exponents
    return power(x[:, None], exponents[None, :])


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (a square matrix stands for
    its eigenvalues, its characteristic polynomial); complex roots give complex coefficients."""
    (zeros_,) = _promote_inexact(seq_of_zeros)
    zeros_ = atleast_1d(zeros_)
    if zeros_.ndim == 2 and zeros_.shape[0] == zeros_.shape[1] != 0:
        zeros_ = linalg.eigvals(zeros_)
    if zeros_.ndim != 1:
        raise ValueError(f"poly: input must be 1-d or a non-empty square 2-d array, got shape {zeros_.shape}")
    coefficients = ones((1,) if zeros_.shape[0] else (), dtype=zeros_.dtype)
    for k in range(zeros_.shape[0]):  # times (x - z_k); no product with a padding 0 (inf * 0 is NaN)
        shifted = -zeros_[k] * coefficients
        coefficients = concatenate((coefficients[:1], coefficients[1:] + shifted[:-1], shifted[-1:]))
    return coefficients


def polydiv(u, v, *, trim_leading_zeros=False):
    """(quotient, remainder) of the polynomial division u / v, by long division. The remainder keeps
    u's length unless `trim_leading_zeros` (concrete input only) drops its leading near-zeros."""
    u, v = _promote_inexact(u, v)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = 1.0 / v[0]
    quotient = zeros(max(m - n + 1, 1), dtype=u.dtype)
    for k in range(m - n + 1):
        term = scale * u[k]
        quotient = quotient.at[k].set(term)
        u = u.at[k:k + n + 1].add(-term * v)
    if trim_leading_zeros:
        u = _trim_small_leading(u, np.sqrt(np.finfo(u.dtype).eps))
    return quotient, u


def _trim_small_leading(a, tolerance):
    """a without its leading entries of magnitude below `tolerance` (NumPy's tolerance for
    polydiv's remainder); needs concrete a."""
    if isinstance(a, Tracer):
        raise a._concretization_error("polydiv with trim_leading_zeros=True")
    large = np.flatnonzero(np.abs(np.asarray(a)) >= tolerance)
    return a[int(large[0]):] if large.size else a[a.shape[0]:]


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares polynomial of degree `deg` through the points (x, y) (each column of a 2-d y),
    with weights w; `full` adds (residuals, rank, singular values, rcond), `cov` the coefficients'
    covariance ("unscaled" leaves out the residual variance)."""
    x, y = _promote_inexact(x, y)
    deg = _static(deg, "the 'deg' argument of polyfit")
    order = deg + 1
    if deg < 0:
        raise ValueError(f"polyfit: expected deg >= 0, got {deg}")
    if x.ndim != 1:
        raise TypeError(f"polyfit: expected a 1-d vector for x, got shape {x.shape}")
    if x.size == 0:
        raise TypeError("polyfit: expected a non-empty vector for x")
    if y.ndim not in (1, 2):
        raise TypeError(f"polyfit: expected a 1-d or 2-d array for y, got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise TypeError(f"polyfit: expected x and y of the same length, got shapes {x.shape} and {y.shape}")
    if rcond is None:
        rcond = x.shape[0] * float(np.finfo(x.dtype).eps)
    if isinstance(rcond, Tracer):
        raise rcond._concretization_error("the 'rcond' argument of polyfit")
    rcond = float(rcond)
    lhs, rhs = vander(x, order), y
    if w is not None:
        (w,) = _promote_inexact(w)
        if w.ndim != 1:
            raise TypeError(f"polyfit: expected a 1-d array of weights, got shape {w.shape}")
        if w.shape[0] != y.shape[0]:
            raise TypeError(f"polyfit: expected w and y of the same length, got shapes {w.shape} and {y.shape}")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
    scale = sqrt((lhs * lhs).sum(axis=0))  # unit columns: a better conditioned system
    lhs = lhs / scale[None, :]
    coefficients, residuals, rank, singular_values = linalg.lstsq(lhs, rhs, rcond)
    coefficients = (coefficients.T / scale).T
    if full:
        return coefficients, residuals, rank, singular_values, asarray(rcond)
    if not cov:
        return coefficients
    base = linalg.inv(dot(lhs.T, lhs)) / outer(scale, scale)
    if cov == "unscaled":
        factor = 1
    else:
        if x.shape[0] <= order:
            raise ValueError("polyfit: the number of data points must exceed order to scale the covariance matrix")
        factor = (residuals / (x.shape[0] - order))[0]
    return coefficients, base * factor if y.ndim == 1 else base[:, :, None] * factor


def _complex(dtype):
    return dtype if dtypes.is_complex(dtype) else np.result_type(dtype, np.complex64)


def _companion_roots(p):
    """The roots of p (p[0] != 0): the eigenvalues of its companion matrix."""
    if p.shape[0] < 2:
        return zeros((0,), _complex(p.dtype))
    companion = diag(ones((p.shape[0] - 2,), p.dtype), -1)
    return linalg.eigvals(companion.at[0, :].set(-p[1:] / p[0]))


def roots(p, *, strip_zeros=True):
    """The roots of the polynomial p (complex), as the eigenvalues of its companion matrix, in the
    order of mlax.numpy.linalg.eigvals (which can differ from JAX's). Leading zeros of p are dropped,
    which needs a concrete p; with strip_zeros=False each leading zero gives a NaN root instead."""
    (p,) = _promote_inexact(p)
    p = atleast_1d(p)
    if p.ndim != 1:
        raise ValueError(f"roots: input must be a rank-1 array, got shape {p.shape}")
    if p.shape[0] < 2:
        return zeros((0,), _complex(p.dtype))
    if strip_zeros:
        if isinstance(p, Tracer):
            raise p._concretization_error("the 'p' argument of roots with strip_zeros=True (pass "
                                          "strip_zeros=False, where leading zeros give NaN roots)")
        nonzero = np.flatnonzero(np.asarray(p))
        return _companion_roots(p[int(nonzero[0]) if nonzero.size else p.shape[0]:])
    n = p.shape[0]
    is_zero = p == 0
    leading = where(all_(is_zero), n, argmin(is_zero))
    p = where(leading == n, 1, p)  # all zeros: any polynomial without zeros stands in
    found = _companion_roots(p[(arange(n) + leading) % n])  # the leading zeros rolled to the end
    found = lax.sort_key_val(found == 0, found)[1]  # their zero roots last
    return where(arange(n - 1) < n - 1 - leading, found, complex(np.nan, np.nan))
