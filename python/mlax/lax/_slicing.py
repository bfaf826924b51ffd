"""jax.lax's slicing conveniences over one axis (index_in_dim, dynamic_slice_in_dim,
dynamic_update_slice_in_dim, dynamic_update_index_in_dim), index_take, and the scatters
scatter_sub and scatter_apply, over the op table's slice, dynamic_slice,
dynamic_update_slice, gather and scatter. Derivatives and batching are the ops'."""

from mlax import ops
from mlax.api.jit import compiled
from mlax.api.vmap import vmap
from mlax.core import dtypes
from mlax.core.trace import aval_of
from mlax.lax.control_flow import while_loop
from mlax.lax.gather_scatter import GatherDimensionNumbers, gather, scatter_add


def _axis(axis, ndim, where):
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{where}: axis {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim


def index_in_dim(operand, index, axis=0, keepdims=True):
    """The entry at the static `index` along `axis` (negative: from the end), keeping that axis
    (of size 1) when keepdims. IndexError when out of bounds."""
    shape = aval_of(operand).shape
    axis = _axis(axis, len(shape), "index_in_dim")
    index = int(index)
    wrapped = index + shape[axis] if index < 0 else index
    if not 0 <= wrapped < shape[axis]:
        raise IndexError(f"index_in_dim: index {index} is out of bounds for axis {axis} of size {shape[axis]}")
    out = ops.slice_in_dim(operand, wrapped, wrapped + 1, axis=axis)
    return out if keepdims else ops.squeeze(out, (axis,))


def _along(axis, ndim, value, rest):
    """A per-axis list: `value` at `axis`, `rest` elsewhere."""
    return [value if d == axis else rest for d in range(ndim)]


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0, *, allow_negative_indices=True):
    """The slice of `slice_size` entries along `axis` from the run-time start_index (negative:
    from the end, unless allow_negative_indices is False; then clamped into bounds)."""
    shape = aval_of(operand).shape
    axis = _axis(axis, len(shape), "dynamic_slice_in_dim")
    sizes = [int(slice_size) if d == axis else n for d, n in enumerate(shape)]
    return ops.dynamic_slice(operand, _along(axis, len(shape), start_index, 0), sizes,
                             allow_negative_indices=_along(axis, len(shape), bool(allow_negative_indices), False))


def dynamic_update_slice_in_dim(operand, update, start_index, axis, *, allow_negative_indices=True):
    """operand with `update` written along `axis` from the run-time start_index (negative: from
    the end, unless allow_negative_indices is False; then clamped so that it fits)."""
    ndim = aval_of(operand).ndim
    axis = _axis(axis, ndim, "dynamic_update_slice_in_dim")
    return ops.dynamic_update_slice(operand, update, _along(axis, ndim, start_index, 0),
                                    allow_negative_indices=_along(axis, ndim, bool(allow_negative_indices), False))


def dynamic_update_index_in_dim(operand, update, index, axis, *, allow_negative_indices=True):
    """operand with the entry at run-time `index` along `axis` replaced by update (which may lack
    that axis)."""
    ndim = aval_of(operand).ndim
    axis = _axis(axis, ndim, "dynamic_update_index_in_dim")
    if aval_of(update).ndim == ndim - 1:
        update = ops.expand_dims(update, (axis,))
    elif aval_of(update).ndim != ndim:
        raise TypeError(f"dynamic_update_index_in_dim: update of shape {aval_of(update).shape} must have the "
                        f"operand's rank {ndim} or one less")
    return dynamic_update_slice_in_dim(operand, update, index, axis, allow_negative_indices=allow_negative_indices)


def index_take(src, idxs, axes):
    """src indexed along `axes` by the integer arrays idxs (one per axis, of one shape): the
    indices wrap modulo the axis size (-1 is the last entry); the other axes follow."""
    axes = tuple(int(a) for a in axes)
    idxs = list(idxs)
    shape = aval_of(src).shape
    if len(idxs) != len(axes):
        raise ValueError(f"index_take: needs one index array per axis, got {len(idxs)} for axes {axes}")
    columns = []
    for index, axis in zip(idxs, axes):
        size = ops.full(aval_of(index).shape, shape[axis], aval_of(index).dtype)
        remainder = ops.rem(index, size)
        wrapped = ops.select(ops.lt(remainder, ops.full(remainder.shape, 0, remainder.dtype)),
                             ops.add(remainder, size), remainder)
        columns.append(ops.expand_dims(wrapped, (1,)))
    indices = ops.concatenate(columns, 1)
    numbers = GatherDimensionNumbers(offset_dims=tuple(range(1, len(shape) - len(axes) + 1)),
                                     collapsed_slice_dims=axes, start_index_map=axes)
    return gather(src, indices, numbers, tuple(1 if d in axes else n for d, n in enumerate(shape)))


def scatter_sub(operand, scatter_indices, updates, dimension_numbers, *, indices_are_sorted=False,
                unique_indices=False, mode=None):
    """operand with updates subtracted at the index vectors in scatter_indices' last axis (windows
    laid out by dimension_numbers; default mode: out-of-bounds windows are dropped)."""
    return scatter_add(operand, scatter_indices, ops.neg(updates), dimension_numbers,
                       indices_are_sorted=indices_are_sorted, unique_indices=unique_indices, mode=mode)


@compiled("func", "dimension_numbers", "update_shape", "indices_are_sorted", "unique_indices", "mode")
def scatter_apply(operand, scatter_indices, func, dimension_numbers, *, update_shape=(), indices_are_sorted=False,
                  unique_indices=False, mode=None):
    """operand with func (a function of a scalar) applied to each element the windows of
    update_shape at scatter_indices cover: k times to an element covered k times, as XLA's
    scatter. Default mode: out-of-bounds windows are dropped."""
    aval = aval_of(operand)
    counts = scatter_add(ops.full(aval.shape, 0, dtypes.int32), scatter_indices,
                         ops.full(tuple(update_shape), 1, dtypes.int32), dimension_numbers,
                         indices_are_sorted=indices_are_sorted, unique_indices=unique_indices, mode=mode)
    flat_func = vmap(func)

    def apply_once(state):
        step, value = state
        applied = ops.reshape(flat_func(ops.reshape(value, (aval.size,))), aval.shape)
        return ops.add(step, 1), ops.select(ops.gt(counts, ops.full(aval.shape, step, dtypes.int32)), applied, value)

    most = ops.reduce_max(counts, tuple(range(aval.ndim)))
    return while_loop(lambda state: ops.lt(state[0], most), apply_once, (ops.full((), 0, dtypes.int32), operand))[1]
