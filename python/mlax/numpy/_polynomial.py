"""mlax.numpy's polynomials as coefficient arrays, highest power first (NumPy's poly1d
convention): polyval, polyadd, polysub, polymul, polyder and polyint."""

import operator

import numpy as np

from mlax import lax
from mlax.core.trace import Tracer
from mlax.numpy._convolve import convolve
from mlax.numpy._creation import arange, full, zeros
from mlax.numpy._promotion import broadcast_shapes, inexact_dtype, promote_dtypes
from mlax.numpy._reductions import prod
from mlax.numpy._shape import atleast_1d, concatenate
from mlax.numpy._ufuncs import maximum, true_divide


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
