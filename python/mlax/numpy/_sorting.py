"""mlax.numpy sorting: sort, argsort, and the order statistics built on them
(median, quantile, percentile)."""

import numpy as np

from mlax import lax, ops
from mlax.core import dtypes
from mlax.numpy._dtypes import asarray, astype, reject_out
from mlax.numpy._promotion import promote_args_inexact
from mlax.numpy._shape import _axis, ravel


def _prepared(a, axis):
    a = asarray(a)
    if axis is None:
        return ravel(a), 0
    if a.ndim == 0:
        raise ValueError("cannot sort a 0-d array along an axis")
    return a, _axis(axis, a.ndim)


def _check_sort_arguments(name, kind, order):
    """TypeError for NumPy's `kind` and `order`, as in JAX: mlax sorts stably (the
    `stable` keyword only allows an unstable sort), and its arrays have no fields."""
    if kind is not None:
        raise TypeError(f"'kind' argument to {name} is not supported. Use stable=True or stable=False to specify "
                        "sort stability.")
    if order is not None:
        raise TypeError(f"'order' argument to {name} is not supported.")


def sort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    """a sorted along `axis` (flattened when None): stable, NaNs last (first when descending)."""
    _check_sort_arguments("sort", kind, order)
    a, axis = _prepared(a, axis)
    if descending:
        # The sort builder sorts ascending only; the op table's entry takes the order as an attribute.
        return ops.sorting.sort_p(a, dimension=axis, descending=True)
    return ops.sort(a, dimension=axis)


def argsort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    """The indices that sort a along `axis` (equal elements keep their order)."""
    _check_sort_arguments("argsort", kind, order)
    a, axis = _prepared(a, axis)
    positions = lax.broadcasted_iota(dtypes.int32, a.shape, axis)
    if descending:
        order_ = ops.sorting.sort_key_val_p(a, positions, dimension=axis, descending=True)[1]
    else:
        order_ = ops.sort_key_val(a, positions, dimension=axis)[1]
    return astype(order_, dtypes.default_int())


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The q-th quantiles (q in [0, 1]) along `axis`, as numpy.quantile: from the two order
    statistics around each, interpolated by `method` ('linear', 'lower', 'higher', 'midpoint'
    or 'nearest', which takes the lower one on a tie, as JAX does)."""
    reject_out("quantile", out)
    if overwrite_input:
        raise ValueError("quantile: overwrite_input=True is not supported (mlax arrays are immutable), as in JAX")
    if method == "inverted_cdf":
        raise NotImplementedError(f"quantile: method={method!r} is not supported; mlax has {_QUANTILE_METHODS}")
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"quantile: method must be one of {_QUANTILE_METHODS}, got {method!r}")
    (a,) = promote_args_inexact("quantile", a)
    q_array = np.asarray(q, dtype=np.float64)
    if np.any((q_array < 0) | (q_array > 1)):
        raise ValueError(f"quantiles must be in the range [0, 1], got {q}")
    reduce_all = axis is None
    original_ndim = a.ndim
    a, axis = _prepared(a, axis)
    ordered = ops.sort(a, dimension=axis)
    size = a.shape[axis]
    position = q_array * (size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.ceil(position).astype(np.int64)
    fraction = position - low
    pieces = []
    for lo, hi, w in zip(low.reshape(-1), high.reshape(-1), fraction.reshape(-1)):
        lower = lax.slice_in_dim(ordered, int(lo), int(lo) + 1, axis=axis)
        upper = lax.slice_in_dim(ordered, int(hi), int(hi) + 1, axis=axis)
        if method == "linear":
            # JAX's weighting (so infinities give what JAX gives: inf between two infs)
            pieces.append(lower * np.asarray(1 - w, a.dtype) + upper * np.asarray(w, a.dtype))
        elif method == "midpoint":
            pieces.append((lower + upper) * np.asarray(0.5, a.dtype))
        else:
            pieces.append(upper if method == "higher" or (method == "nearest" and w > 0.5) else lower)
    if size:  # a NaN anywhere makes every quantile NaN, as in NumPy and JAX (sorting put NaNs last)
        last = lax.slice_in_dim(ordered, size - 1, size, axis=axis)
        pieces = [lax.select(lax.ne(last, last), last, piece) for piece in pieces]
    result = lax.concatenate(pieces, axis) if len(pieces) > 1 else pieces[0]
    # The quantile axis goes first (as NumPy does for array q); the reduced axis goes away.
    result = lax.transpose(result, (axis,) + tuple(i for i in range(result.ndim) if i != axis))
    result = lax.reshape(result, q_array.shape + tuple(d for i, d in enumerate(a.shape) if i != axis))
    if keepdims:
        kept = [1] * original_ndim if reduce_all else [1 if i == axis else d for i, d in enumerate(a.shape)]
        result = lax.reshape(result, q_array.shape + tuple(kept))
    return result


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The q-th percentiles (q in [0, 100]) along `axis`."""
    reject_out("percentile", out)
    return quantile(a, np.asarray(q, dtype=np.float64) / 100, axis, out, overwrite_input, method, keepdims)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along `axis` (of all elements when None)."""
    reject_out("median", out)
    return quantile(a, 0.5, axis, overwrite_input=overwrite_input, keepdims=keepdims)


_SEARCH_METHODS = ("scan", "scan_unrolled", "sort", "compare_all")


def searchsorted(a, v, side="left", sorter=None, *, method="scan"):
    """Where to insert v in the sorted 1-D a to keep it sorted: for each element of v, the
    number of elements of a that come before it ('left': those less than it, 'right': those
    not greater); NaNs sort last, as in NumPy and JAX. `method` only picks JAX's algorithm:
    every method gives these indices."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if method not in _SEARCH_METHODS:
        raise ValueError(f"searchsorted: method must be one of {_SEARCH_METHODS}, got {method!r}")
    a, v = asarray(a), asarray(v)
    if a.ndim != 1:
        raise ValueError(f"searchsorted: a must be one-dimensional, got shape {a.shape}")
    if sorter is not None:
        a = a[asarray(sorter)]
    common = dtypes.result_type(a.dtype, v.dtype)
    a, v = astype(a, common), astype(v, common)
    size = a.shape[0]
    found = lax.full(v.shape, 0, dtypes.int32)

    def before(entry):  # does `entry` of a come before v (NaNs last)?
        if side == "left":
            ordered = lax.lt(entry, v)
        else:
            ordered = lax.le(entry, v)
        if dtypes.is_inexact(common):
            v_nan, entry_nan = lax.ne(v, v), lax.ne(entry, entry)
            ordered = lax.bitwise_or(ordered, lax.bitwise_and(v_nan, lax.bitwise_or(
                lax.bitwise_not(entry_nan), lax.full(v.shape, side == "right", np.bool_))))
        return ordered
    # Binary search by halving steps: `found` counts the elements known to come before v.
    step = 1 << max(size.bit_length() - 1, 0) if size else 0
    while step:
        candidate = lax.add(found, lax.full(v.shape, step, dtypes.int32))
        inside = lax.le(candidate, lax.full(v.shape, size, dtypes.int32))
        probe = lax.min(candidate, lax.full(v.shape, size, dtypes.int32)) - 1
        found = lax.select(lax.bitwise_and(inside, before(a[probe])), candidate, found)
        step >>= 1
    return found
