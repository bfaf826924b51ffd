"""lax.gather and the lax.scatter family, with JAX's dimension-number tuples and
out-of-bounds modes, over the op table's gather and scatter.

Index vectors lie along the last axis of the indices, as in JAX. The ops
themselves clamp gather windows into bounds and drop scatter updates that
fall outside; the modes adjust the indices (or the result) around them.
"""

import enum
from typing import NamedTuple

import numpy as np

from mlax import lax, ops
from mlax.core import dtypes
from mlax.core.trace import aval_of


class GatherDimensionNumbers(NamedTuple):
    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()


class ScatterDimensionNumbers(NamedTuple):
    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple
    operand_batching_dims: tuple = ()
    scatter_indices_batching_dims: tuple = ()


class GatherScatterMode(enum.Enum):
    """Out-of-bounds indices: CLIP moves the window into bounds; FILL_OR_DROP gives
    fill values (gather) or skips the update (scatter); PROMISE_IN_BOUNDS trusts them."""

    CLIP = "clip"
    FILL_OR_DROP = "fill"
    PROMISE_IN_BOUNDS = "promise_in_bounds"

    @staticmethod
    def from_any(mode):
        if isinstance(mode, GatherScatterMode):
            return mode
        names = {"clip": GatherScatterMode.CLIP, "fill": GatherScatterMode.FILL_OR_DROP,
                 "drop": GatherScatterMode.FILL_OR_DROP, "promise_in_bounds": GatherScatterMode.PROMISE_IN_BOUNDS}
        if mode not in names:
            raise ValueError(f"unknown gather/scatter mode {mode!r}: use one of {sorted(names)}")
        return names[mode]


def _ints(values):
    return tuple(int(v) for v in values)


def _window_in_bounds(indices, operand_shape, window_sizes, index_map):
    """Per index vector (indices without their last axis): does the window it starts fit?"""
    inside = None
    for k, axis in enumerate(index_map):
        start = lax.squeeze(lax.slice_in_dim(indices, k, k + 1, axis=indices.ndim - 1), (indices.ndim - 1,))
        limit = operand_shape[axis] - window_sizes[axis]
        fits = lax.bitwise_and(lax.ge(start, lax.full(start.shape, 0, start.dtype)),
                               lax.le(start, lax.full(start.shape, limit, start.dtype)))
        inside = fits if inside is None else lax.bitwise_and(inside, fits)
    return inside


def _default_fill(dtype):
    if dtypes.is_inexact(dtype):
        return np.nan
    if dtype == dtypes.bool_:
        return True
    return np.iinfo(dtype).min if np.issubdtype(dtype, np.signedinteger) else np.iinfo(dtype).max


def gather(operand, start_indices, dimension_numbers, slice_sizes, *, unique_indices=False,
           indices_are_sorted=False, mode=None, fill_value=None):
    """Slices of `slice_sizes` of operand starting at the index vectors in start_indices'
    last axis, laid out by dimension_numbers (GatherDimensionNumbers). Default mode: clip."""
    mode = GatherScatterMode.CLIP if mode is None else GatherScatterMode.from_any(mode)
    numbers = GatherDimensionNumbers(*dimension_numbers)
    indices = start_indices
    slice_sizes = _ints(slice_sizes)
    out = ops.gather(operand, indices, offset_dims=numbers.offset_dims,
                     collapsed_slice_dims=numbers.collapsed_slice_dims, start_index_map=numbers.start_index_map,
                     index_vector_dim=aval_of(indices).ndim - 1, slice_sizes=slice_sizes,
                     operand_batching_dims=numbers.operand_batching_dims,
                     start_indices_batching_dims=numbers.start_indices_batching_dims)
    if mode is not GatherScatterMode.FILL_OR_DROP:
        return out
    inside = _window_in_bounds(indices, aval_of(operand).shape, slice_sizes, numbers.start_index_map)
    batch_positions = tuple(i for i in range(out.ndim) if i not in numbers.offset_dims)
    fill = _default_fill(out.dtype) if fill_value is None else fill_value
    return lax.select(lax.broadcast_in_dim(inside, out.shape, batch_positions), out,
                      lax.full(out.shape, fill, out.dtype))


def _scatter(combiner, doc):
    def scatter_fn(operand, scatter_indices, updates, dimension_numbers, *, indices_are_sorted=False,
                   unique_indices=False, mode=None):
        mode = GatherScatterMode.FILL_OR_DROP if mode is None else GatherScatterMode.from_any(mode)
        numbers = ScatterDimensionNumbers(*dimension_numbers)
        indices = scatter_indices
        shape = aval_of(operand).shape
        index_map = _ints(numbers.scatter_dims_to_operand_dims)
        # The window's extent along each operand axis: 1 where inserted or batched.
        window = iter(aval_of(updates).shape[d] for d in sorted(numbers.update_window_dims))
        sizes = [1 if a in numbers.inserted_window_dims or a in numbers.operand_batching_dims else next(window)
                 for a in range(len(shape))]
        if mode is GatherScatterMode.CLIP:
            columns = [lax.clamp(0, lax.slice_in_dim(indices, k, k + 1, axis=indices.ndim - 1), shape[a] - sizes[a])
                       for k, a in enumerate(index_map)]
            indices = lax.concatenate(columns, indices.ndim - 1) if len(columns) > 1 else columns[0]
        elif mode is GatherScatterMode.FILL_OR_DROP:
            # A window that does not fit is dropped whole: its start moves past every bound.
            inside = _window_in_bounds(indices, shape, sizes, index_map)
            outside = lax.full(aval_of(indices).shape, max(shape, default=0), aval_of(indices).dtype)
            indices = lax.select(lax.broadcast_in_dim(inside, aval_of(indices).shape, tuple(range(indices.ndim - 1))),
                                 indices, outside)
        return ops.scatter(operand, indices, updates, update_window_dims=numbers.update_window_dims,
                           inserted_window_dims=numbers.inserted_window_dims,
                           scatter_dims_to_operand_dims=index_map, index_vector_dim=aval_of(indices).ndim - 1,
                           combiner=combiner, input_batching_dims=numbers.operand_batching_dims,
                           scatter_indices_batching_dims=numbers.scatter_indices_batching_dims)
    scatter_fn.__doc__ = doc + (" Windows are laid out by dimension_numbers (ScatterDimensionNumbers); "
                                "default mode: out-of-bounds windows are dropped.")
    return scatter_fn


scatter = _scatter("set", "operand with updates written at the index vectors in scatter_indices' last axis.")
scatter_add = _scatter("add", "operand with updates added at the index vectors in scatter_indices' last axis.")
scatter_mul = _scatter("mul", "operand multiplied by updates at the index vectors in scatter_indices' last axis.")
scatter_min = _scatter("min", "operand's minimum with updates at the index vectors in scatter_indices' last axis.")
scatter_max = _scatter("max", "operand's maximum with updates at the index vectors in scatter_indices' last axis.")
for _fn, _name in ((scatter, "scatter"), (scatter_add, "scatter_add"), (scatter_mul, "scatter_mul"),
                   (scatter_min, "scatter_min"), (scatter_max, "scatter_max")):
    _fn.__name__ = _fn.__qualname__ = _name
