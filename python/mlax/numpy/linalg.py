"""mlax.numpy.linalg: norms (decompositions arrive with the ops they need)."""

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.numpy._core import abs as abs_
from mlax.numpy._core import asarray, promote_args_inexact
from mlax.numpy._reductions import max as max_
from mlax.numpy._reductions import min as min_
from mlax.numpy._reductions import sum as sum_
from mlax.numpy._shape import _axes, ravel


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
    else:
        raise NotImplementedError(f"matrix norm ord={ord!r} (needs an SVD)")
    return out if keepdims else lax.squeeze(out, axes)
