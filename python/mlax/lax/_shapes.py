"""jax.lax's functions that make, join, split and reshape arrays, built from the op table's
broadcast_in_dim, reshape, slice, concatenate and select: broadcast_shapes,
broadcast_to_rank, broadcast_like, collapse, full_like, empty, tile, split, stack, unstack,
select_n, batch_matmul and shape_as_value. Their derivatives and batching are the ops'."""

import math

import numpy as np

from mlax import ops
from mlax.api._staging import as_value
from mlax.core import dtypes
from mlax.core.aval import concrete_shape
from mlax.core.trace import aval_of
from mlax.lax._types import canonicalize_precision


def _axis(axis, ndim, where):
    """axis, counted from the end when negative, checked against ndim."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{where}: axis {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim


def broadcast_shapes(*shapes):
    """The shape NumPy's broadcasting gives arrays of these shapes (a tuple)."""
    shapes = [concrete_shape(s) for s in shapes]
    rank = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (rank - len(s)) + s for s in shapes]
    result = []
    for sizes in zip(*padded):
        others = {d for d in sizes if d != 1}
        if len(others) > 1:
            raise ValueError(f"Incompatible shapes for broadcasting: shapes={[tuple(s) for s in shapes]}")
        result.append(others.pop() if others else 1)
    return tuple(result)


def broadcast_to_rank(x, rank):
    """x with leading axes of size 1 added up to rank `rank` (x itself when its rank is at least that)."""
    x = as_value(x)
    return ops.broadcast(x, (1,) * (int(rank) - x.ndim)) if x.ndim < int(rank) else x


def broadcast_like(arr, like_arr):
    """arr broadcast (NumPy's rules) to the shape of like_arr."""
    arr, shape = as_value(arr), aval_of(like_arr).shape
    if broadcast_shapes(arr.shape, shape) != shape:
        raise ValueError(f"broadcast_like: an array of shape {arr.shape} does not broadcast to shape {shape}")
    return ops.broadcast_in_dim(arr, shape, tuple(range(len(shape) - arr.ndim, len(shape))))


def collapse(operand, start_dimension, stop_dimension=None):
    """operand with its axes start_dimension to stop_dimension (exclusive; the last one when None)
    merged into one."""
    shape = aval_of(operand).shape
    low, high, _ = slice(start_dimension, stop_dimension).indices(len(shape))
    if high < low:
        raise ValueError(f"collapse: invalid axis range [{start_dimension}:{stop_dimension}] of an array of shape "
                         f"{shape}")
    return ops.reshape(operand, shape[:low] + (math.prod(shape[low:high]),) + shape[high:])


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """An array filled with fill_value, of x's shape and dtype unless `shape` or `dtype` are given
    (weakly typed when x is and dtype is not given)."""
    if sharding is not None:
        raise NotImplementedError("full_like: sharding= is not supported: mlax arrays are not sharded")
    aval = aval_of(x)
    weak_type = dtype is None and aval.weak_type
    dtype = aval.dtype if dtype is None else dtypes.canonicalize(dtype)
    return ops.full(aval.shape if shape is None else concrete_shape(shape), fill_value, dtype, weak_type=weak_type)


def empty(shape, dtype, *, out_sharding=None):
    """An array of `shape` and `dtype` whose values are not to be relied on (mlax's are zeros)."""
    if out_sharding is not None:
        raise NotImplementedError("empty: out_sharding= is not supported: mlax arrays are not sharded")
    return ops.full(concrete_shape(shape), 0, dtypes.canonicalize(dtype))


def tile(operand, reps):
    """operand repeated reps[i] times along each axis i (len(reps) must be its rank)."""
    operand = as_value(operand)
    reps, shape = tuple(int(r) for r in reps), operand.shape
    if len(reps) != len(shape):
        raise TypeError(f"tile: reps must have one entry per axis of the operand, got reps={reps} for shape {shape}")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be non-negative, got {reps}")
    interleaved = tuple(d for pair in zip(reps, shape) for d in pair)
    spread = ops.broadcast_in_dim(operand, interleaved, tuple(range(1, 2 * len(shape), 2)))
    return ops.reshape(spread, tuple(r * s for r, s in zip(reps, shape)))


def split(operand, sizes, axis=0):
    """operand cut along `axis` into consecutive pieces of the given sizes (which sum to the axis's size)."""
    operand = as_value(operand)
    axis = _axis(axis, operand.ndim, "split")
    sizes = [int(s) for s in sizes]
    if any(s < 0 for s in sizes) or sum(sizes) != operand.shape[axis]:
        raise ValueError(f"split: sizes {sizes} must be non-negative and sum to the size {operand.shape[axis]} of "
                         f"axis {axis} of an array of shape {operand.shape}")
    starts = np.cumsum([0] + sizes)
    return [ops.slice_in_dim(operand, int(start), int(start) + size, axis=axis) for start, size in zip(starts, sizes)]


def stack(operands, axis=0):
    """The operands (of one shape and dtype) joined along a new axis `axis`."""
    arrays = [as_value(x) for x in operands]
    if not arrays:
        raise ValueError("stack: needs at least one array")
    axis = _axis(axis, arrays[0].ndim + 1, "stack")
    kinds = {a.dtype for a in arrays}
    if len(kinds) > 1:
        raise TypeError(f"stack: the arrays must have one dtype, got {', '.join(k.name for k in kinds)}")
    return ops.concatenate([ops.expand_dims(a, (axis,)) for a in arrays], axis)


def unstack(x, axis=0):
    """The slices of x along `axis`, that axis removed (a tuple)."""
    x = as_value(x)
    axis = _axis(axis, x.ndim, "unstack")
    return tuple(ops.squeeze(ops.slice_in_dim(x, i, i + 1, axis=axis), (axis,)) for i in range(x.shape[axis]))


def select_n(which, *cases):
    """cases[which] elementwise: which is boolean (two cases at most: False picks cases[0]) or an
    integer, scalar or of the cases' shape. An integer out of range picks the nearest end's case."""
    if not cases:
        raise ValueError("select_n: needs at least one case")
    cases = [as_value(c) for c in cases]
    which = as_value(which)
    shape = cases[0].shape
    if any(c.shape != shape for c in cases):
        raise TypeError(f"select_n: the cases must have one shape, got {[c.shape for c in cases]}")
    if any(c.dtype != cases[0].dtype for c in cases):
        raise TypeError(f"select_n: the cases must have one dtype, got {[c.dtype.name for c in cases]}")
    if which.dtype != dtypes.bool_ and not dtypes.is_integer(which.dtype):
        raise TypeError(f"select_n: which must be boolean or an integer, got dtype {which.dtype.name}")
    if which.shape not in ((), shape):
        raise TypeError(f"select_n: which must be a scalar or of the cases' shape {shape}, got shape {which.shape}")
    if which.dtype == dtypes.bool_ and len(cases) > 2:
        raise TypeError(f"select_n: a boolean which picks one of two cases, got {len(cases)}")
    if which.shape != shape:
        which = ops.broadcast_in_dim(which, shape, ())
    weak = all(c.weak_type for c in cases)
    cases = [ops.convert_element_type(c, c.dtype, weak) for c in cases]  # one weak type, as one select gives

    def pick(low, high):  # cases[low:high], split in two halves by comparing which with the middle
        if high - low == 1:
            return cases[low]
        middle = (low + high) // 2
        lower = (ops.bitwise_not(which) if which.dtype == dtypes.bool_
                 else ops.lt(which, ops.full(shape, middle, which.dtype)))
        return ops.select(lower, pick(low, middle), pick(middle, high))
    return pick(0, len(cases))


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products over the last two axes of lhs and rhs (of one rank, at least 2), batched
    over the leading axes."""
    canonicalize_precision(precision)
    lhs_aval, rhs_aval = aval_of(lhs), aval_of(rhs)
    if min(lhs_aval.ndim, rhs_aval.ndim) < 2:
        raise ValueError(f"batch_matmul: the arguments must be at least 2-d, got shapes {lhs_aval.shape} and "
                         f"{rhs_aval.shape}")
    if lhs_aval.ndim != rhs_aval.ndim:
        raise ValueError(f"batch_matmul: the arguments must have one rank, got shapes {lhs_aval.shape} and "
                         f"{rhs_aval.shape}")
    batch = tuple(range(lhs_aval.ndim - 2))
    return ops.dot_general(lhs, rhs, (((lhs_aval.ndim - 1,), (rhs_aval.ndim - 2,)), (batch, batch)))


def shape_as_value(shape):
    """A shape as a 1-d NumPy integer array (int32, int64 when a size needs it)."""
    shape = concrete_shape(shape)
    wide = any(d > np.iinfo(np.int32).max for d in shape)
    return np.asarray(shape, dtypes.canonicalize(np.int64) if wide else np.int32)
