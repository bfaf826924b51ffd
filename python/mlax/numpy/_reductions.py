"""mlax.numpy reductions: sum, prod, mean, var, std, max, min, argmax, argmin,
all, any, cumulative sums and products, with NumPy's axis/keepdims/where; and
allclose, array_equal, array_equiv and isin, which reduce an elementwise
comparison with all or any."""

import builtins

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.numpy._dtypes import asarray, astype, reject_out
from mlax.numpy._promotion import inexact_dtype, promote_args_inexact, promote_dtypes
from mlax.numpy._shape import _axes, _axis, expand_dims, ravel, reshape
from mlax.numpy._ufuncs import equal, isclose, isnan, logical_and, logical_or, where


def _sum_dtype(dtype):
    """NumPy-style accumulation dtype: small ints and bools widen to the default int."""
    if dtype == dtypes.bool_ or (dtypes.is_integer(dtype) and not dtypes.is_unsigned(dtype)):
        return dtypes.result_type(dtype, dtypes.default_int())
    if dtypes.is_unsigned(dtype):
        return dtypes.result_type(dtype, dtypes.canonicalize(np.uint64))
    return dtype


def _keep(out, axes, ndim, keepdims):
    if not keepdims:
        return out
    shape = list(out.shape)
    for ax in sorted(axes):
        shape.insert(ax, 1)
    return lax.reshape(out, shape)


def _reduction(name, kind, a, axis, dtype, keepdims, initial, where_, accumulate_dtype=None):
    a = asarray(a)
    axes = _axes(axis, a.ndim)
    out_dtype = dtypes.canonicalize(dtype) if dtype is not None else (accumulate_dtype(a.dtype) if accumulate_dtype else a.dtype)
    a = astype(a, out_dtype) if a.dtype != out_dtype else a
    if where_ is not None:
        identity = {"sum": 0, "prod": 1, "and": True, "or": False}.get(kind)
        if identity is None:
            if initial is None:
                raise ValueError(f"reduction {name} with where= needs an initial value")
            identity = initial
        a = where(where_, a, lax.full((), identity, a.dtype))
    if kind in ("max", "min") and initial is None and builtins.any(a.shape[ax] == 0 for ax in axes):
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    out = getattr(lax, f"reduce_{kind}")(a, axes)
    if initial is not None:
        combine = {"sum": lax.add, "prod": lax.mul, "max": lax.max, "min": lax.min}[kind]
        out = combine(out, lax.full(out.shape, initial, out.dtype))
    return _keep(out, axes, a.ndim, keepdims)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Sum over `axis` (all axes when None)."""
    reject_out("sum", out)
    return _reduction("sum", "sum", a, axis, dtype, keepdims, initial, where, _sum_dtype)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product over `axis` (all axes when None); small integers and bools multiply in the default integer."""
    reject_out("prod", out)
    return _reduction("prod", "prod", a, axis, dtype, keepdims, initial, where, _sum_dtype)


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Largest element over `axis` (all axes when None); NaN if any is NaN. An empty reduction needs
    `initial`."""
    reject_out("max", out)
    return _reduction("max", "max", a, axis, None, keepdims, initial, where)


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Smallest element over `axis` (all axes when None); NaN if any is NaN. An empty reduction needs
    `initial`."""
    reject_out("min", out)
    return _reduction("min", "min", a, axis, None, keepdims, initial, where)


amax, amin = max, min


def all(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """Whether every element over `axis` is true (nonzero)."""
    reject_out("all", out)
    return _reduction("all", "and", astype(asarray(a), bool), axis, None, keepdims, None, where)


def any(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """Whether some element over `axis` is true (nonzero)."""
    reject_out("any", out)
    return _reduction("any", "or", astype(asarray(a), bool), axis, None, keepdims, None, where)


def _count(a, axes, where_):
    if where_ is None:
        return int(np.prod([a.shape[ax] for ax in axes], dtype=np.int64))
    return sum(astype(asarray(where_), bool) & np.ones(a.shape, bool), axis=axes, keepdims=True)


def _accumulation_dtype(dtype):
    """The dtype means and variances are computed in: float32 for float16 and bfloat16
    (as JAX does: their sums and counts overflow or round away), else `dtype`."""
    return dtypes.float32 if dtype in (dtypes.float16, dtypes.bfloat16) else dtype


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over `axis`; integers average in floating point."""
    reject_out("mean", out)
    a = asarray(a)
    axes = _axes(axis, a.ndim)
    if dtype is None:
        dtype = inexact_dtype(a.dtype)
    wide = _accumulation_dtype(dtypes.canonicalize(dtype))
    total = sum(astype(a, wide), axes, keepdims=True, where=where)
    count = _count(a, axes, where)
    out_value = astype(total / (astype(count, wide) if not isinstance(count, int) else count), dtype)
    return out_value if keepdims else lax.squeeze(out_value, axes)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Variance over `axis` with `ddof` delta degrees of freedom."""
    reject_out("var", out)
    if correction is not None:
        ddof = correction
    (a,) = promote_args_inexact("var", a)
    if dtype is not None:
        a = astype(a, dtype)
    result_dtype = a.dtype
    a = astype(a, _accumulation_dtype(a.dtype))
    axes = _axes(axis, a.ndim)
    centered = a - mean(a, axes, keepdims=True, where=where)
    squared = lax.real(centered * lax.conj(centered)) if dtypes.is_complex(a.dtype) else centered * centered
    count = _count(a, axes, where)
    total = sum(squared, axes, keepdims=True, where=where)
    out_value = astype(total / (count - ddof), dtypes.real_dtype(result_dtype))
    return out_value if keepdims else lax.squeeze(out_value, axes)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Standard deviation over `axis` with `ddof` (or `correction`) delta degrees of freedom."""
    reject_out("std", out)
    return lax.sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, correction=correction))


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Mean over `axis`, weighted by `weights` (a 1-d `weights` runs along `axis`); with `returned`,
    also the sum of the weights."""
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        total_weight = lax.full(avg.shape, int(np.prod([a.shape[x] for x in _axes(axis, a.ndim)])), avg.dtype)
    else:
        weights = asarray(weights)
        if weights.shape != a.shape:
            if axis is None or weights.ndim != 1:
                raise ValueError(f"average: weights of shape {weights.shape} do not match a of shape {a.shape}")
            shape = [1] * a.ndim
            shape[_axis(axis, a.ndim)] = weights.shape[0]
            weights = reshape(weights, shape)
        total_weight = sum(weights * np.ones(a.shape, dtypes.default_float()), axis, keepdims=keepdims)
        avg = sum(a * weights, axis, keepdims=keepdims) / total_weight
    return (avg, total_weight) if returned else avg


def ptp(a, axis=None, keepdims=False):
    """Peak to peak: max - min over `axis`."""
    return max(a, axis, keepdims=keepdims) - min(a, axis, keepdims=keepdims)


def count_nonzero(a, axis=None, keepdims=False):
    """How many elements over `axis` are nonzero, in the default integer dtype."""
    return sum(asarray(a) != 0, axis, dtype=dtypes.default_int(), keepdims=keepdims)


def _arg(name, lax_fn, a, axis, keepdims):
    a = asarray(a)
    if axis is None:
        out = _arg(name, lax_fn, ravel(a), 0, keepdims=False)
        return lax.reshape(out, (1,) * a.ndim) if keepdims else out
    axis = _axis(axis, a.ndim)
    if a.shape[axis] == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence")
    out = lax_fn(a, axis, dtypes.default_int())
    return expand_dims(out, axis) if keepdims else out


def argmax(a, axis=None, out=None, keepdims=False):
    """Index of the first maximum along `axis` (of the flattened array when None)."""
    reject_out("argmax", out)
    return _arg("argmax", lax.argmax, a, axis, keepdims)


def argmin(a, axis=None, out=None, keepdims=False):
    """Index of the first minimum along `axis` (of the flattened array when None); a NaN counts as
    the minimum."""
    reject_out("argmin", out)
    return _arg("argmin", lax.argmin, a, axis, keepdims)


def _cumulative(name, lax_fn, accumulate_dtype):
    def fn(a, axis=None, dtype=None, out=None):
        reject_out(name, out)
        a = asarray(a)
        if axis is None:
            a, axis = ravel(a), 0
        target = dtypes.canonicalize(dtype) if dtype is not None else accumulate_dtype(a.dtype)
        return lax_fn(astype(a, target), _axis(axis, a.ndim))
    fn.__name__ = name
    fn.__doc__ = f"Running {name[3:]} along `axis` (of the flattened array when None)."
    return fn


def _cumulative_dtype(dtype):
    """Running sums and products keep the dtype, as in JAX (NumPy widens small integers); bools count as ints."""
    return dtypes.default_int() if dtype == dtypes.bool_ else dtype


cumsum = _cumulative("cumsum", lax.cumsum, _cumulative_dtype)
cumprod = _cumulative("cumprod", lax.cumprod, _cumulative_dtype)
cumulative_sum = cumsum
cumulative_prod = cumprod


def _nan_filled(a, fill):
    a = asarray(a)
    return where(isnan(a), lax.full((), fill, a.dtype), a) if dtypes.is_inexact(a.dtype) else a


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """sum, with NaNs counted as zero."""
    reject_out("nansum", out)
    return sum(_nan_filled(a, 0), axis, dtype, None, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """prod, with NaNs counted as one."""
    reject_out("nanprod", out)
    return prod(_nan_filled(a, 1), axis, dtype, None, keepdims, initial, where)


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """max, ignoring NaNs."""
    reject_out("nanmax", out)
    return max(_nan_filled(a, -np.inf), axis, None, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """min, ignoring NaNs."""
    reject_out("nanmin", out)
    return min(_nan_filled(a, np.inf), axis, None, keepdims, initial, where)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    """mean, ignoring NaNs (computed in `dtype`, as JAX does)."""
    reject_out("nanmean", out)
    a = asarray(a)
    if not dtypes.is_inexact(a.dtype):
        return mean(a, axis, dtype, keepdims=keepdims)
    dtype = a.dtype if dtype is None else dtypes.canonicalize(dtype)
    count = sum(~isnan(a), axis, dtype=dtype, keepdims=keepdims)
    return nansum(a, axis, dtype=dtype, keepdims=keepdims) / count


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether isclose(a, b, rtol, atol, equal_nan) holds everywhere, as a 0-d boolean array."""
    return all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """Whether a1 and a2 have one shape and equal elements (NaNs equal with `equal_nan`)."""
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return lax.full((), False, dtypes.bool_)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all(eq)


def array_equiv(a1, a2):
    """Whether a1 and a2 broadcast to one shape and are equal everywhere (False when they do not broadcast)."""
    try:
        eq = equal(a1, a2)
    except ValueError:  # as JAX: shapes that do not broadcast
        return lax.full((), False, dtypes.bool_)
    return all(eq)


_ISIN_METHODS = ("auto", "compare_all", "binary_search", "sort")


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Whether each element of `element` equals some element of `test_elements` (none, with `invert`)."""
    # Every `method` of JAX's gives these values (assume_unique only permits a faster one): this
    # compares all pairs.
    element, test_elements = asarray(element), asarray(test_elements)
    if method not in _ISIN_METHODS:
        raise ValueError(f"method={method!r} is not implemented; options are 'compare_all', 'binary_search', "
                         "'sort', and 'auto'")
    flat, tests = promote_dtypes(ravel(element), ravel(test_elements))
    if flat.size == 0 or tests.size == 0:
        return lax.full(element.shape, invert, dtypes.bool_)
    pairs = equal(flat[:, None], tests[None, :])
    found = all(~pairs, -1) if invert else any(pairs, -1)
    return reshape(found, element.shape)
