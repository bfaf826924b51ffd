"""mlax.numpy's array creation: zeros, ones, full and their *_like forms, arange,
linspace, logspace, geomspace, eye, identity, tri, tril, triu, and the grids of
indices (indices, ix_). (asarray and array are in _dtypes.py.)

Without a trace the values are made by NumPy and put on the device, nothing to
compile; inside one they are constants or iotas.
"""

import builtins
import operator

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.runtime.array import device_put
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Tracer, aval_of, current_trace as _current_trace  # (underscored: kept out of mlax.numpy)
from mlax.numpy._dtypes import _dtype_arg, asarray, astype, bool_
from mlax.numpy._promotion import _shape_arg, broadcast_to, inexact_dtype, result_type
from mlax.numpy._shape import concatenate, expand_dims, moveaxis, reshape, stack
from mlax.numpy._ufuncs import log10, power, sign, where


def zeros(shape, dtype=None):
    """An array of `shape` filled with zeros (the default float dtype unless `dtype`)."""
    return full(shape, 0, dtype or dtypes.default_float())


def ones(shape, dtype=None):
    """An array of `shape` filled with ones (the default float dtype unless `dtype`)."""
    return full(shape, 1, dtype or dtypes.default_float())


def empty(shape, dtype=None):
    """zeros(shape, dtype): as in JAX, the array is filled with zeros, never left uninitialised."""
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (weakly typed for a Python scalar without dtype)."""
    shape = _shape_arg(shape)
    dtype = _dtype_arg(dtype)
    if isinstance(fill_value, ArrayMethods) or np.ndim(fill_value):
        return broadcast_to(asarray(fill_value, dtype), shape)
    if dtype is not None:
        return _filled(shape, fill_value, dtype, weak=False)
    if isinstance(fill_value, (bool, int, float, complex)):
        return _filled(shape, fill_value, aval_of(fill_value).dtype, weak=True)
    return _filled(shape, fill_value, dtypes.canonicalize(np.asarray(fill_value).dtype), weak=False)


def _filled(shape, fill_value, dtype, weak):
    if _current_trace() is not None:
        return lax.full(shape, fill_value, dtype, weak_type=weak)
    out = device_put(np.full(shape, fill_value, dtype))
    return lax.convert_element_type(out, dtype, weak_type=True) if weak else out


def zeros_like(a, dtype=None, shape=None):
    """Zeros shaped like `a` (or `shape`), of a's dtype and weak type unless `dtype`."""
    return full_like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    """Ones shaped like `a` (or `shape`), of a's dtype and weak type unless `dtype`."""
    return full_like(a, 1, dtype, shape)


def empty_like(a, dtype=None, shape=None):
    """zeros_like(a, dtype, shape): as in JAX, filled with zeros."""
    return zeros_like(a, dtype, shape)


def full_like(a, fill_value, dtype=None, shape=None):
    """An array shaped like `a` (or `shape`) filled with `fill_value`, of a's dtype and weak type unless `dtype`."""
    aval = aval_of(a)
    shape = aval.shape if shape is None else _shape_arg(shape)
    if dtype is not None or isinstance(fill_value, ArrayMethods) or np.ndim(fill_value):
        return full(shape, fill_value, _dtype_arg(dtype) or aval.dtype)
    return _filled(shape, fill_value, aval.dtype, aval.weak_type)


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (all bounds static)."""
    for bound in (start, stop, step):
        if isinstance(bound, Tracer):
            raise bound._concretization_error("a bound of arange")
    values = np.arange(start, stop, step) if step is not None else (
        np.arange(start, stop) if stop is not None else np.arange(start))
    dtype = _dtype_arg(dtype) or (dtypes.default_int() if values.dtype.kind in "iu" else dtypes.default_float())
    if _current_trace() is None:
        return device_put(values.astype(dtype))
    if step is None and (stop is None or start == 0):
        return lax.iota(dtype, values.size)
    return asarray(values.astype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced samples from start to stop."""
    dtype = _dtype_arg(dtype) or dtypes.default_float()
    if _current_trace() is None:  # eager: NumPy computes the samples, nothing to compile
        samples, step = np.linspace(np.asarray(start), np.asarray(stop), num, endpoint, retstep=True, axis=axis)
        out = device_put(samples.astype(dtype))
        return (out, device_put(np.asarray(step, dtypes.default_float()))) if retstep else out
    start, stop = asarray(start, dtype=dtypes.default_float()), asarray(stop, dtype=dtypes.default_float())
    divisor = (num - 1) if endpoint else num
    steps = lax.iota(dtypes.default_float(), num)
    step = (stop - start) / builtins.max(divisor, 1)
    shape = [num] + [1] * start.ndim
    out = start + reshape(steps, shape) * step
    if endpoint and num > 1:
        out = concatenate([out[:-1], expand_dims(stop, 0)], axis=0)
    out = moveaxis(out, 0, axis) if start.ndim else out
    out = astype(out, dtype)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """`num` samples of base ** t for t evenly spaced from start to stop. In float32 these can be an
    ulp or two off where JAX's are exact (100.00001 for 10 ** 2; see power in docs/compatibility.md)."""
    return astype(power(base, linspace(start, stop, num, endpoint, axis=axis)), _dtype_arg(dtype) or dtypes.default_float())


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` samples from start to stop spaced evenly on a log scale (start and stop of one sign)."""
    num = operator.index(num)
    axis = operator.index(axis)
    start, stop = asarray(start), asarray(stop)
    dtype = _dtype_arg(dtype) or inexact_dtype(result_type(start, stop))
    compute = inexact_dtype(dtype)
    start, stop = astype(start, compute), astype(stop, compute)
    direction = sign(start)
    out = direction * logspace(log10(start / direction), log10(stop / direction), num, endpoint, 10.0, compute, 0)
    return astype(moveaxis(out, 0, axis), dtype)


def _diagonal_mask(N, M, k, dtype, numpy_fn, compare):  # noqa: N803 - NumPy's names
    """An N x M matrix of ones where compare(row + k, column) holds (numpy_fn outside a trace)."""
    M = N if M is None else M
    dtype = _dtype_arg(dtype) or dtypes.default_float()
    if _current_trace() is None:
        return device_put(numpy_fn(N, M, k, dtype))
    rows = lax.broadcasted_iota(dtypes.int32, (N, M), 0)
    cols = lax.broadcasted_iota(dtypes.int32, (N, M), 1)
    return astype(compare(lax.add(rows, k), cols), dtype)


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    """Ones on the k-th diagonal of an N x M matrix."""
    return _diagonal_mask(N, M, k, dtype, np.eye, lax.eq)


def identity(n, dtype=None):
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    """Ones at and below the k-th diagonal of an N x M matrix."""
    return _diagonal_mask(N, M, k, dtype, np.tri, lax.ge)


def tril(m, k=0):
    """m with the elements above its k-th diagonal set to zero (over the last two axes)."""
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k, dtype=bool_)
    return where(mask, m, zeros_like(m))


def triu(m, k=0):
    """m with the elements below its k-th diagonal set to zero (over the last two axes)."""
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k - 1, dtype=bool_)
    return where(mask, zeros_like(m), m)


def indices(dimensions, dtype=None, sparse=False):
    """The grid of indices of an array of shape `dimensions` (one broadcastable array per axis when sparse)."""
    dtype = _dtype_arg(dtype) or dtypes.default_int()
    dimensions = tuple(operator.index(d) for d in dimensions)
    count = len(dimensions)
    out = []
    for i, size in enumerate(dimensions):
        shape = (1,) * i + (size,) + (1,) * (count - i - 1) if sparse else dimensions
        out.append(lax.broadcast_in_dim(lax.iota(dtype, size), shape, (i,)))
    if sparse:
        return tuple(out)
    return stack(out, 0) if out else asarray(np.zeros((0,), dtype))


def ix_(*args):
    """An open mesh from 1-d sequences: the i-th output has args[i] along axis i and size 1 elsewhere."""
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if a.ndim != 1:
            raise ValueError(f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape {a.shape}")
        if a.dtype == dtypes.bool_:
            raise NotImplementedError("Boolean arguments to jax.numpy.ix_ are not implemented")
        shape = [1] * len(args)
        shape[i] = a.shape[0]
        if a.size == 0:  # NumPy indexes with integers then
            out.append(lax.full(shape, 0, dtypes.default_int()))
        else:
            out.append(lax.broadcast_in_dim(a, shape, (i,)))
    return tuple(out)
