"""mlax.numpy's counting and correlation statistics: bincount, digitize, the histograms
(histogram_bin_edges, histogram, histogram2d, histogramdd), cov, corrcoef and correlate.

Counts are scatter-adds into a static number of bins: `bincount` without `length` and an
integer `bins` need concrete values (under jit they raise ConcretizationTypeError naming the
argument, as in JAX). Values outside the bins are dropped, as JAX's scatter drops them.
"""

import builtins
import math
import operator

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.core.trace import Tracer
from mlax.numpy._contractions import dot
from mlax.numpy._creation import full, ones_like, zeros, zeros_like
from mlax.numpy._diagonals import diag
from mlax.numpy._dtypes import asarray, astype
from mlax.numpy._promotion import inexact_dtype, promote_args_inexact, promote_dtypes
from mlax.numpy._reductions import average, max, min, ptp, sum  # noqa: A004 - NumPy's names
from mlax.numpy._shape import atleast_2d, concatenate, reshape, stack
from mlax.numpy._sorting import searchsorted
from mlax.numpy._ufuncs import abs, clip, conj, maximum, real, sqrt, true_divide, where  # noqa: A004


def _static(value, what, convert=operator.index):
    """value converted by `convert`, or ConcretizationTypeError naming `what` for a traced value."""
    if isinstance(value, Tracer):
        raise value._concretization_error(what)
    return convert(value)


def _promote_inexact(*args):
    """The args in their common inexact dtype, shapes untouched."""
    args = promote_dtypes(*args)
    dtype = inexact_dtype(args[0].dtype)
    return [lax.convert_element_type(x, dtype, weak_type=x.weak_type) for x in args]


def bincount(x, weights=None, minlength=0, *, length=None, out_sharding=None):
    """How often each value 0, 1, ... occurs in the 1-d integer x (the sum of its weights with
    `weights`). Negative values count as 0 and values past `length` are dropped, as in JAX; without
    `length` the output's length is max(x) + 1 (at least `minlength`), which needs a concrete x."""
    if out_sharding is not None:
        raise NotImplementedError("bincount: out_sharding is not supported (mlax has no sharded arrays); leave it None")
    x = asarray(x)
    if x.dtype == dtypes.bool_:
        x = astype(x, dtypes.int32)
    if not dtypes.is_integer(x.dtype):
        raise TypeError(f"bincount: x must have an integer type, got {x.dtype.name}")
    if x.ndim != 1:
        raise ValueError(f"bincount: only 1-dimensional input is supported, got shape {x.shape}")
    minlength = _static(minlength, "the 'minlength' argument of bincount")
    if length is None:
        if isinstance(x, Tracer):
            raise x._concretization_error("the 'x' argument of bincount without a static `length` (pass length=)")
        length = builtins.max(minlength, builtins.max(0, int(np.max(np.asarray(x)))) + 1 if x.size else 0)
    else:
        length = _static(length, "the 'length' argument of bincount")
    if weights is None:
        weights = lax.full((), 1, dtypes.default_int())
    else:
        weights = asarray(weights)
        if weights.shape != x.shape:
            raise ValueError(f"bincount: weights of shape {weights.shape} must match x of shape {x.shape}")
    if x.size == 0 or length == 0:  # nothing lands in a bin (and mlax's scatter rejects empty operands)
        return zeros(length, weights.dtype)
    return zeros(length, weights.dtype).at[maximum(x, 0)].add(weights, mode="drop")


def digitize(x, bins, right=False, *, method=None):
    """The index of the bin of the monotonic 1-d `bins` that each x falls in (bins[i-1] <= x < bins[i],
    or bins[i-1] < x <= bins[i] with `right`; mirrored for decreasing bins)."""
    x, bins = asarray(x), asarray(bins)
    right = _static(right, "the 'right' argument of digitize", bool)
    if bins.ndim != 1:
        raise ValueError(f"digitize: bins must be a 1-dimensional array, got shape {bins.shape}")
    if bins.shape[0] == 0:
        return zeros_like(x, dtype=dtypes.int32)
    side = "left" if right else "right"
    options = {} if method is None else {"method": method}
    increasing = searchsorted(bins, x, side=side, **options)
    decreasing = bins.shape[0] - searchsorted(bins[::-1], x, side=side, **options)
    return where(bins[-1] >= bins[0], increasing, decreasing)


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002 - NumPy's name
    """The edges of a histogram's bins: `bins` itself when it is 1-d, else bins + 1 evenly spaced
    edges over `range` (default: a's minimum to maximum, widened by 0.5 each way when they are equal).
    `weights` only matters to NumPy's string estimators for `bins`, which JAX and mlax lack."""
    if isinstance(bins, str):
        raise NotImplementedError(f"histogram_bin_edges: string values for `bins` ({bins!r}) are not supported")
    a = asarray(a)
    dtype = inexact_dtype(a.dtype)
    if np.ndim(bins) == 1:
        return astype(asarray(bins), dtype)
    count = _static(bins, "the 'bins' argument of histogram_bin_edges")
    if range is None:
        bounds = stack([min(a), max(a)])
    else:
        bounds = stack([asarray(r) for r in range]) if isinstance(range, (list, tuple)) else asarray(range)
    bounds = astype(bounds, dtype)
    if bounds.shape != (2,):
        raise ValueError(f"histogram_bin_edges: `range` must be None or a pair of scalars, got {range}")
    empty = ptp(bounds) == 0
    low = where(empty, bounds[0] - 0.5, bounds[0])
    high = where(empty, bounds[1] + 0.5, bounds[1])
    # JAX's linspace interpolates low * (1 - t) + high * t in the array's dtype; its edges, and so
    # which bin a value on an edge falls in, are these (mlax.numpy.linspace rounds differently).
    t = lax.iota(dtype, count) / count
    return concatenate([low * (1 - t) + high * t, high[None]])


def histogram(a, bins=10, range=None, weights=None, density=None):  # noqa: A002 - NumPy's name
    """(counts, bin edges) of the values of a in `bins` bins (or between the given edges); the last
    bin includes its right edge. With `weights`, each value counts its weight; with `density`, the
    counts are scaled to integrate to 1 over the range."""
    if isinstance(bins, str):  # JAX's histogram takes only arrays and numbers
        raise TypeError(f"histogram: string values for `bins` ({bins!r}) are not supported; give a count or edges")
    if weights is None:
        (a,) = promote_args_inexact("histogram", a)
        weights = ones_like(a)
    else:
        a, weights = asarray(a), asarray(weights)
        if a.shape != weights.shape:
            raise ValueError(f"histogram: weights of shape {weights.shape} must have the shape of a, {a.shape}")
        a, weights = promote_args_inexact("histogram", a, weights)
    edges = histogram_bin_edges(a, bins, range, weights)
    index = searchsorted(edges, a, side="right")
    index = where(a == edges[-1], edges.shape[0] - 1, index)
    counts = zeros(edges.shape[0], weights.dtype).at[index].add(weights)[1:]
    if density:
        counts = counts / (edges[1:] - edges[:-1]) / sum(counts)
    return counts, edges


def histogramdd(sample, bins=10, range=None, weights=None, density=None):  # noqa: A002 - NumPy's name
    """(counts, [edges per dimension]) of the N points of the (N, D) sample in a D-dimensional grid
    of bins; `bins` and `range` are one for all dimensions or one per dimension."""
    if weights is None:
        (sample,) = promote_args_inexact("histogramdd", sample)
    else:
        sample, weights = asarray(sample), asarray(weights)
        if weights.shape != sample.shape[:1]:
            raise ValueError(f"histogramdd: there must be one weight for each sample: weights of shape "
                             f"{weights.shape} for a sample of shape {sample.shape}")
        sample, weights = _promote_inexact(sample, weights)
    _, dims = sample.shape  # (a sample of another rank raises ValueError here, as in JAX)
    if range is not None and (len(range) != dims or builtins.any(r is not None and np.shape(r)[0] != 2
                                                                  for r in range)):
        raise ValueError(f"histogramdd: for a sample of shape {sample.shape}, range must be a sequence of "
                         f"{dims} pairs or Nones; got {range}")
    try:
        bins_per_dim = list(bins)
    except TypeError:  # one number of bins for every dimension
        bins_per_dim = [bins] * dims
    if len(bins_per_dim) != dims:
        raise ValueError(f"histogramdd: there must be bins for each of the {dims} dimensions, got {len(bins_per_dim)}")
    edges, flat_index, stride = [], 0, 1
    for d in builtins.range(dims - 1, -1, -1):  # the last dimension varies fastest
        values = sample[:, d]
        edges_d = histogram_bin_edges(values, bins_per_dim[d], None if range is None else range[d])
        index = searchsorted(edges_d, values, side="right")
        index = where(values == edges_d[-1], index - 1, index)  # the last bin includes its right edge
        slots = edges_d.shape[0] + 1  # under the first edge, the bins, over the last edge
        flat_index = flat_index + clip(index, 0, slots - 1) * stride
        stride *= slots
        edges.insert(0, edges_d)
    slots = tuple(e.shape[0] + 1 for e in edges)
    hist = reshape(bincount(flat_index, weights, length=math.prod(slots)), slots)
    hist = hist[(slice(1, -1),) * dims]
    if density:
        hist = astype(hist, sample.dtype)
        hist = hist / sum(hist)
        for d, e in enumerate(edges):
            widths = e[1:] - e[:-1]
            hist = hist / reshape(widths, [-1 if i == d else 1 for i in builtins.range(dims)])
    return hist, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):  # noqa: A002 - NumPy's name
    """(counts, x edges, y edges) of the points (x[i], y[i]) in a 2-d grid of bins: `bins` is a count,
    the edges for both, or a pair of either, one per axis."""
    x, y = promote_dtypes(x, y)
    try:
        per_axis = len(bins)
    except TypeError:
        per_axis = 1
    if per_axis not in (1, 2):  # one array of edges for both axes
        bins = [asarray(bins), asarray(bins)]
    hist, (x_edges, y_edges) = histogramdd(stack([x, y], axis=1), bins, range, weights, density)
    return hist, x_edges, y_edges


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None):
    """The covariance matrix of the variables in the rows of m (columns unless `rowvar`), with y's
    variables appended; normalised by N - 1 (N with `bias`, N - ddof with `ddof`), the observations
    weighted by the integer `fweights` and the `aweights`. One variable gives a scalar."""
    if y is None:
        (m,) = promote_args_inexact("cov", m)
    else:
        m, y = _promote_inexact(m, y)
        rank = builtins.max(m.ndim, y.ndim)  # the lower-rank one gains leading axes, as in JAX
        m, y = (reshape(x, (1,) * (rank - x.ndim) + x.shape) for x in (m, y))
        if y.ndim > 2:
            raise ValueError(f"cov: y has more than 2 dimensions (shape {y.shape})")
    if m.ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {m.shape})")
    if dtype is not None and not dtypes.is_inexact(dtypes.canonicalize(dtype)):
        raise ValueError(f"cov: dtype must be a float or complex type, got {dtype}")
    rows = atleast_2d(m)
    if not rowvar and m.ndim != 1:
        rows = rows.T
    if rows.shape[0] == 0:
        return reshape(zeros(0, dtypes.default_float()), (0, 0))
    if y is not None:
        other = atleast_2d(y)
        if not rowvar and other.shape[0] != 1:
            other = other.T
        rows = concatenate((rows, other), axis=0)
    if rows.shape[1] == 0:
        return full(() if rows.shape[0] == 1 else (rows.shape[0],) * 2, np.nan, dtype=rows.dtype)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    weights = None
    if fweights is not None:
        fweights = asarray(fweights)
        if fweights.ndim > 1:
            raise RuntimeError("cov: cannot handle multidimensional fweights")
        if fweights.shape[0] != rows.shape[1]:
            raise RuntimeError(f"cov: {fweights.shape[0]} fweights for {rows.shape[1]} observations")
        if not dtypes.is_integer(fweights.dtype):
            raise TypeError(f"cov: fweights must be integers, got {fweights.dtype.name}")
        weights = abs(fweights)  # NumPy raises for negative weights; JAX takes their magnitude
    if aweights is not None:
        aweights = asarray(aweights)
        if aweights.ndim > 1:
            raise RuntimeError("cov: cannot handle multidimensional aweights")
        if aweights.shape[0] != rows.shape[1]:
            raise RuntimeError(f"cov: {aweights.shape[0]} aweights for {rows.shape[1]} observations")
        aweights = abs(aweights)
        weights = aweights if weights is None else weights * aweights
    if dtype is not None:
        rows = astype(rows, dtype)
        weights = None if weights is None else astype(weights, dtype)
    mean, weight_sum = average(rows, axis=1, weights=weights, returned=True)
    weight_sum = weight_sum[0]
    if weights is None:
        normalizer = rows.shape[1] - ddof
    elif ddof == 0:
        normalizer = weight_sum
    elif aweights is None:
        normalizer = weight_sum - ddof
    else:
        normalizer = weight_sum - ddof * sum(weights * aweights) / weight_sum
    centered = rows - mean[:, None]
    weighted = centered if weights is None else centered * weights[None, :]
    out = true_divide(dot(centered, conj(weighted.T)), normalizer)
    return reshape(out, ()) if out.shape == (1, 1) else out


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """The correlation coefficients of the variables (cov normalised by their standard deviations),
    clipped to [-1, 1] (real and imaginary parts apart for complex input)."""
    if dtype is not None and not dtypes.is_inexact(dtypes.canonicalize(dtype)):
        raise ValueError(f"corrcoef: dtype must be a float or complex type, got {dtype}")
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:  # one variable: 1, or NaN where its variance is 0, inf or NaN
        return true_divide(c, c)
    deviation = astype(sqrt(real(diag(c))), c.dtype)
    c = c / deviation[:, None] / deviation[None, :]
    clipped = clip(real(c), -1, 1)
    if dtypes.is_complex(c.dtype):
        return lax.complex(clipped, clip(lax.imag(c), -1, 1))
    return clipped


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """The cross-correlation of two 1-d arrays, sum_j a[k + j] * conj(v[j]): mode 'valid' (where they
    overlap fully), 'same' (as long as the longer, centred) or 'full'; integers correlate in floating
    point unless `preferred_element_type` is given."""
    a, v = asarray(a), asarray(v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"correlate: only 1-dimensional inputs are supported, got shapes {a.shape} and {v.shape}")
    a, v = (promote_dtypes if preferred_element_type is not None else _promote_inexact)(a, v)
    if a.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError(f"correlate: inputs cannot be empty, got shapes {a.shape} and {v.shape}")
    v = conj(v)
    reverse = a.shape[0] < v.shape[0]
    if reverse:  # slide the shorter one, and read the result backwards
        a, v = v, a
    n = v.shape[0]
    padding = {"valid": (0, 0), "same": (n // 2, n - n // 2 - 1), "full": (n - 1, n - 1)}
    if mode not in padding:
        raise ValueError(f"correlate: mode must be one of 'full', 'same' or 'valid', got {mode!r}")
    if dtypes.is_complex(a.dtype):
        # IREE 3.13's compiler crashes (SIGSEGV) on a complex convolution: four real ones instead.
        (ar, vr), (ai, vi) = [lax.real(x) for x in (a, v)], [lax.imag(x) for x in (a, v)]
        out = lax.complex(_correlate_real(ar, vr, padding[mode], preferred_element_type)
                          - _correlate_real(ai, vi, padding[mode], preferred_element_type),
                          _correlate_real(ar, vi, padding[mode], preferred_element_type)
                          + _correlate_real(ai, vr, padding[mode], preferred_element_type))
    else:
        out = _correlate_real(a, v, padding[mode], preferred_element_type)
    return out[::-1] if reverse else out


def _correlate_real(a, v, padding, preferred_element_type):
    out = lax.conv_general_dilated(reshape(a, (1, 1, -1)), reshape(v, (1, 1, -1)), (1,), [padding],
                                   preferred_element_type=preferred_element_type)
    return reshape(out, out.shape[2:])
