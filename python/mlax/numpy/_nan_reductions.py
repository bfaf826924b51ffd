"""mlax.numpy's reductions that ignore NaNs, beyond nansum/nanprod/nanmax/nanmin/nanmean
(in _reductions.py): nanvar, nanstd, nanargmax, nanargmin, nancumsum, nancumprod,
nanquantile, nanpercentile and nanmedian.

Each replaces the NaNs by the reduction's identity (or counts only the others) before
reducing, as JAX does, so that the derivative at a NaN is zero rather than NaN.
"""

import operator

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.numpy._dtypes import asarray, astype, reject_out
from mlax.numpy._promotion import inexact_dtype, promote_args_inexact
from mlax.numpy._reductions import _accumulation_dtype, all, argmax, argmin, cumprod, cumsum, sum  # noqa: A004
from mlax.numpy._shape import _axes, _axis, ravel, transpose
from mlax.numpy._sorting import _QUANTILE_METHODS, sort
from mlax.numpy._ufuncs import isnan, maximum, minimum, where as _where


def _var_dtypes(a_dtype, dtype):
    """(the dtype a variance is computed in, the dtype it is returned in), as JAX's var."""
    if dtype is not None:
        dtype = np.dtype(dtypes.canonicalize(np.dtype(dtype)))
        if dtypes.is_complex(a_dtype) and not dtypes.is_complex(dtype):
            raise ValueError("nanvar does not support a real dtype for an array of complex values")
        return _accumulation_dtype(dtype), dtype
    if not dtypes.is_inexact(a_dtype):
        dtype = inexact_dtype(a_dtype)
        return dtype, dtype
    return _accumulation_dtype(a_dtype), np.dtype(dtypes.real_dtype(a_dtype))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """var, ignoring NaNs (NaN where fewer than ddof + 1 values are left); `mean` may be given."""
    reject_out("nanvar", out)
    a = asarray(a)
    compute, result = _var_dtypes(a.dtype, dtype)
    a = astype(a, compute)
    nan = isnan(a)
    if mean is None:
        count = sum(~nan, axis, dtype=compute, keepdims=True, where=where)
        mean = sum(_where(nan, 0, a), axis, keepdims=True, where=where) / count
    else:
        mean = astype(asarray(mean), compute)
    centered = _where(nan, 0, a - mean)  # the double where keeps NaN out of the derivative
    squared = lax.real(centered * lax.conj(centered)) if dtypes.is_complex(compute) else centered * centered
    normalizer = sum(~nan, axis, keepdims=keepdims, where=where) - ddof
    empty = normalizer <= 0
    total = _where(empty, np.nan, sum(squared, axis, keepdims=keepdims, where=where))
    return astype(total / astype(_where(empty, 1, normalizer), total.dtype), result)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """std, ignoring NaNs."""
    reject_out("nanstd", out)
    return lax.sqrt(nanvar(a, axis, dtype, None, ddof, keepdims, where, mean))


def _nan_arg(name, arg, fill, a, axis, out, keepdims):
    reject_out(name, out)
    a = asarray(a)
    axis = None if axis is None else operator.index(axis)
    keepdims = bool(keepdims)
    if not dtypes.is_inexact(a.dtype):
        return arg(a, axis, keepdims=keepdims)
    nan = isnan(a)
    index = arg(_where(nan, fill, a), axis, keepdims=keepdims)
    return _where(all(nan, axis, keepdims=keepdims), -1, index)


def nanargmax(a, axis=None, out=None, keepdims=None):
    """argmax, ignoring NaNs (-1 where all are NaN)."""
    return _nan_arg("nanargmax", argmax, -np.inf, a, axis, out, keepdims)


def nanargmin(a, axis=None, out=None, keepdims=None):
    """argmin, ignoring NaNs (-1 where all are NaN)."""
    return _nan_arg("nanargmin", argmin, np.inf, a, axis, out, keepdims)


def nancumsum(a, axis=None, dtype=None, out=None):
    """cumsum, with NaNs counted as zero."""
    reject_out("nancumsum", out)
    a = asarray(a)
    return cumsum(_where(isnan(a), 0, a) if dtypes.is_inexact(a.dtype) else a, axis, dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    """cumprod, with NaNs counted as one."""
    reject_out("nancumprod", out)
    a = asarray(a)
    return cumprod(_where(isnan(a), 1, a) if dtypes.is_inexact(a.dtype) else a, axis, dtype)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    """quantile, ignoring NaNs (NaN where all are NaN)."""
    # The order statistics around q * (count - 1) among each slice's non-NaN values (sorted
    # first; NaNs sort last), interpolated by `method`, as JAX does.
    if overwrite_input or out is not None:
        raise ValueError("jax.numpy.nanquantile does not support overwrite_input=True or out != None")
    if method == "inverted_cdf" or weights is not None:
        raise NotImplementedError(f"nanquantile: method='inverted_cdf' and weights are not supported; mlax has "
                                  f"{_QUANTILE_METHODS}")
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"method can only be one of {_QUANTILE_METHODS}, got {method!r}")
    (a,) = promote_args_inexact("nanquantile", a)
    q = asarray(q)
    if dtypes.is_complex(a.dtype):
        raise ValueError("quantile does not support complex input, as the operation is poorly defined.")
    if q.ndim > 1:
        raise ValueError(f"q must be have rank <= 1, got shape {q.shape}")
    kept_shape = None
    if axis is None:
        kept_shape = [1] * a.ndim if keepdims else None
        a, axis = ravel(a), 0
    elif np.ndim(axis):  # several axes: merged into one, last
        axes = _axes(axis, a.ndim)
        kept_shape = [1 if i in axes else d for i, d in enumerate(a.shape)]
        rest = [i for i in range(a.ndim) if i not in axes]
        merged = int(np.prod([a.shape[i] for i in axes], dtype=np.int64))
        a = lax.reshape(transpose(a, rest + list(axes)), tuple(a.shape[i] for i in rest) + (merged,))
        axis = a.ndim - 1
    else:
        axis = _axis(axis, a.ndim)
    nan = isnan(a)
    ordered = sort(_where(nan, np.nan, a), axis)  # NaNs last
    counts = sum(~nan, axis, dtype=q.dtype, keepdims=keepdims)
    reduced = counts.shape
    q_ndim = q.ndim
    position = lax.reshape(q, q.shape + (1,) * len(reduced)) * lax.reshape(counts - 1, (1,) * q_ndim + reduced)
    low, high = lax.floor(position), lax.ceil(position)
    high_weight = position - low
    low_weight = 1 - high_weight
    last = lax.reshape(counts - 1, (1,) * q_ndim + reduced)
    low = astype(maximum(minimum(low, last), 0), dtypes.default_int())
    high = astype(maximum(minimum(high, last), 0), dtypes.default_int())
    out_shape = q.shape + reduced
    index = [lax.broadcasted_iota(dtypes.default_int(), out_shape, d + q_ndim) for d in range(len(reduced))]
    if keepdims:
        index[axis] = low
    else:
        index.insert(axis, low)
    low_value = ordered[tuple(index)]
    index[axis] = high
    high_value = ordered[tuple(index)]
    if method == "linear":
        result = astype(low_value, q.dtype) * low_weight + astype(high_value, q.dtype) * high_weight
    elif method == "lower":
        result = low_value
    elif method == "higher":
        result = high_value
    elif method == "nearest":
        result = _where(high_weight <= 0.5, low_value, high_value)
    else:
        result = (low_value + high_value) * 0.5
    if keepdims and kept_shape is not None:
        result = lax.reshape(result, tuple(q.shape) + tuple(kept_shape))
    return astype(result, a.dtype)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                  weights=None):
    """percentile, ignoring NaNs (q in [0, 100])."""
    (q,) = promote_args_inexact("nanpercentile", q)
    return nanquantile(a, q / 100, axis, out, overwrite_input, method, keepdims, weights=weights)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """median, ignoring NaNs (NaN where all are NaN)."""
    return nanquantile(a, 0.5, axis, out, overwrite_input, "midpoint", keepdims)
