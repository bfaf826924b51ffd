"""Reading and writing at run-time indices: dynamic_slice and dynamic_update_slice (one
slice each), gather and scatter (many), and take_along_axis, built on gather.

    %2 = "mlax.dynamic_slice"(%x, %i, %j) {slice_sizes = array<i64: 2, 2>}
           : (tensor<2x3xf32>, tensor<i32>, tensor<i32>) -> tensor<2x2xf32>

Start indices are clamped so that every slice lies inside the operand (as in
StableHLO); scatter drops the updates that would leave it and combines the others in
with `combiner` ("set", "add", "mul", "min" or "max"). The attributes of gather and
scatter are StableHLO's dimension numbers, spelled out flat; mlax.lax.gather and the
lax.scatter family take JAX's dimension-number tuples.
"""

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import batch_size, defbatch_front, shifted, to_front
from mlax.ops._rules import add_tangents, deflinear, deftranspose, instantiate, is_linear, zeros

__all__ = ["dynamic_slice", "dynamic_index_in_dim", "dynamic_update_slice", "gather", "scatter", "take_along_axis"]

_NO_DIMS = ()


def _batch_shape(indices, index_vector_dim):
    return [d for i, d in enumerate(indices.shape) if i != index_vector_dim]


def _dims_attr(kind, **fields):
    body = ", ".join(f"{k} = [{', '.join(map(str, v))}]" if isinstance(v, tuple) else f"{k} = {v}"
                     for k, v in fields.items() if not (isinstance(v, tuple) and not v))
    return ir.Attribute.parse(f"#stablehlo.{kind}<{body}>")


def _per_component(indices, index_vector_dim, values):
    """A tensor shaped like `indices` holding values[k] in component k of every index vector."""
    shape, dtype = _hlo.shape_of(indices), _hlo.dtype_of(indices)
    if index_vector_dim == len(shape):
        return _hlo.constant(values[0], dtype, shape)
    return _hlo.broadcast_in_dim(_hlo.constant(np.asarray(values), dtype, (len(values),)), shape,
                                 (index_vector_dim,))


def _ints(values):
    return tuple(int(v) for v in values)


def _given(**dims):
    """The batching-dimension attributes that were given (None: left out of the op)."""
    return {name: _ints(value) for name, value in dims.items() if value is not None}


# -- dynamic_slice ----------------------------------------------------------------------

def _check_indices(name, x, indices):
    if len(indices) != x.ndim:
        raise TypeError(f"mlax.{name}: needs {x.ndim} start indices for shape {x.shape}, got {len(indices)}")
    for i in indices:
        if i.shape != () or not dtypes.is_integer(i.dtype):
            raise TypeError(f"mlax.{name}: start indices must be integer scalars, got {i.str_short()}")
    if len({i.dtype for i in indices}) > 1:
        raise TypeError(f"mlax.{name}: start indices must all have one integer dtype, got "
                        + ", ".join(i.str_short() for i in indices))


def _dynamic_slice_rule(x, *start_indices, slice_sizes):
    _check_indices("dynamic_slice", x, start_indices)
    if len(slice_sizes) != x.ndim or any(not 0 <= s <= d for s, d in zip(slice_sizes, x.shape)):
        raise TypeError(f"mlax.dynamic_slice: slice_sizes {slice_sizes} do not fit shape {x.shape}")
    return x.update(shape=slice_sizes)


def _lower_dynamic_slice(ctx, x, *start_indices, slice_sizes):
    if not start_indices:  # a 0-d operand is its only slice (IREE 3.13 crashed compiling it)
        return x
    return _hlo.value("stablehlo.dynamic_slice", [x, *start_indices], ctx.out_types[0], slice_sizes=slice_sizes)


dynamic_slice_p = Op(
    "dynamic_slice", ["x", "*start_indices"], _dynamic_slice_rule, _lower_dynamic_slice,
    attrs={"slice_sizes": "ints"},
    doc='A slice of static size at run-time start indices (clamped to stay in bounds).\n\n'
        '    %2 = "mlax.dynamic_slice"(%x, %i, %j) {slice_sizes = array<i64: 2, 2>}'
        ' : (tensor<2x3xf32>, tensor<i32>, tensor<i32>) -> tensor<2x2xf32>')


def _from_the_end(indices, shape, allow_negative_indices):
    """Negative start indices plus their axis's size, as jax.lax wraps them (once: -d - 1 stays
    negative, for the clamp), where allow_negative_indices (a bool, or one per axis) says so."""
    indices = list(indices)
    if len(indices) != len(shape):
        return indices  # the shape rule says what is wrong
    allowed = ([allow_negative_indices] * len(shape) if isinstance(allow_negative_indices, (bool, np.bool_))
               else list(allow_negative_indices))
    wrapped = []
    for i, d, allow in zip(indices, shape, allowed):
        if not allow:
            wrapped.append(i)
            continue
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            wrapped.append(i + d if i < 0 else i)
            continue
        aval = aval_of(i)
        if not dtypes.is_integer(aval.dtype) or dtypes.is_unsigned(aval.dtype) or aval.shape != ():
            wrapped.append(i)  # nothing to wrap, or an index the shape rule rejects
            continue
        zero, size = ops.full((), 0, aval.dtype), ops.full((), d, aval.dtype)
        wrapped.append(ops.select(ops.lt(i, zero), ops.add(i, size), i))
    return wrapped


def _index_scalars(indices):
    """Start indices as scalars of one integer dtype (int32 unless an index needs more)."""
    indices = [ops.convert_element_type(i, dtypes.int32) if isinstance(i, (bool, int, float, complex)) else i
               for i in indices]
    dtype = dtypes.result_type(dtypes.int32, *[aval_of(i).dtype for i in indices])
    return [ops.convert_element_type(i, dtype) for i in indices]


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """A slice of static `slice_sizes` at run-time `start_indices` (a negative one counts from
    the end of its axis, as in JAX, unless allow_negative_indices is False; then clamped into
    bounds)."""
    starts = _index_scalars(_from_the_end(start_indices, aval_of(operand).shape, allow_negative_indices))
    return dynamic_slice_p(operand, *starts, slice_sizes=tuple(int(s) for s in slice_sizes))


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True, *, allow_negative_indices=True):
    """The entry at run-time `index` along `axis` (keeping that axis, of size 1, with keepdims)."""
    shape = aval_of(operand).shape
    axis %= len(shape)
    out = dynamic_slice(operand, [index if d == axis else 0 for d in range(len(shape))],
                        [1 if d == axis else n for d, n in enumerate(shape)],
                        allow_negative_indices=allow_negative_indices)
    return out if keepdims else ops.squeeze(out, (axis,))


def _np_dynamic_slice(x, *start_indices, slice_sizes):
    starts = [int(np.clip(s, 0, d - n)) for s, d, n in zip(start_indices, x.shape, slice_sizes)]
    return x[tuple(slice(s, s + n) for s, n in zip(starts, slice_sizes))]


def _element_coordinates(starts, index_dims, shape, size):
    """For a window of `shape` = (batch, sizes...) at per-example start indices: the
    (example, start + offset...) coordinates of every element, one row each.

    Batched dynamic slices and updates become element gathers and scatters: IREE
    compiles no scatter whose windows span indexed axes (the gather's transpose)."""
    count = int(np.prod(shape, dtype=np.int64))
    coordinates = [ops.broadcasted_iota(dtypes.int32, shape, 0)] + [
        ops.add(ops.broadcast_in_dim(ops.convert_element_type(to_front(i, d, size), dtypes.int32), shape, (0,)),
                ops.broadcasted_iota(dtypes.int32, shape, k + 1)) for k, (i, d) in enumerate(zip(starts, index_dims))]
    return ops.concatenate([ops.reshape(c, (count, 1)) for c in coordinates], 1), count


def _clamp_start(index, largest):
    """dynamic_slice clamps start indices into bounds; a gather needs the same clamp spelled out."""
    return ops.clamp(ops.full(index.shape, 0, index.dtype), index, ops.full(index.shape, largest, index.dtype))


def _batch_dynamic_slice(ctx, args, dims, slice_sizes):
    """Batched start indices: one element gather; otherwise a slice of the whole batch."""
    size = batch_size(args, dims)
    x = to_front(args[0], dims[0], size)
    indices, index_dims = args[1:], dims[1:]
    if all(d is None for d in index_dims):
        zero = ops.full((), 0, indices[0].dtype if indices else dtypes.int32)
        return [ops.dynamic_slice(x, [zero, *indices], (size, *slice_sizes), allow_negative_indices=False)], [0]
    starts = [_clamp_start(i, limit - s) for i, limit, s in zip(indices, x.shape[1:], slice_sizes)]
    shape = (size,) + tuple(slice_sizes)
    flat, _ = _element_coordinates(starts, index_dims, shape, size)
    axes = tuple(range(len(shape)))
    out = gather(x, flat, offset_dims=(), collapsed_slice_dims=axes, start_index_map=axes, index_vector_dim=1,
                 slice_sizes=(1,) * len(shape))
    return [ops.reshape(out, shape)], [0]


dynamic_slice_p.numpy_ref = _np_dynamic_slice
dynamic_slice_p.kernel_form = "dynamic_slice"
deflinear(dynamic_slice_p, lambda ct, x, *start_indices, slice_sizes: [
    ops.dynamic_update_slice(zeros(x.aval), ct, start_indices, allow_negative_indices=False)] + [None] * len(start_indices),
    linear_operands=(0,))
dynamic_slice_p.batch = _batch_dynamic_slice


# -- dynamic_update_slice ---------------------------------------------------------------

def _dynamic_update_slice_rule(x, update, *start_indices):
    _check_indices("dynamic_update_slice", x, start_indices)
    if update.ndim != x.ndim or any(u > d for u, d in zip(update.shape, x.shape)):
        raise TypeError(f"mlax.dynamic_update_slice: update of shape {update.shape} does not fit operand "
                        f"of shape {x.shape}")
    if update.dtype != x.dtype:
        raise TypeError(f"mlax.dynamic_update_slice: update dtype {update.dtype.name} differs from operand "
                        f"dtype {x.dtype.name}")
    return x


dynamic_update_slice_p = Op(
    "dynamic_update_slice", ["x", "update", "*start_indices"], _dynamic_update_slice_rule,
    lambda ctx, x, u, *idx: _hlo.value("stablehlo.dynamic_update_slice", [x, u, *idx], x.type) if idx else u,
    doc='x with `update` written at run-time start indices (clamped to stay in bounds).\n\n'
        '    %3 = "mlax.dynamic_update_slice"(%x, %u, %i, %j)'
        ' : (tensor<2x3xf32>, tensor<2x1xf32>, tensor<i32>, tensor<i32>) -> tensor<2x3xf32>')


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """operand with `update` written at run-time `start_indices` (a negative one counts from the
    end of its axis, as in JAX, unless allow_negative_indices is False; then clamped into
    bounds)."""
    starts = _from_the_end(start_indices, aval_of(operand).shape, allow_negative_indices)
    return dynamic_update_slice_p(operand, update, *_index_scalars(starts))


def _np_dynamic_update_slice(x, update, *start_indices):
    out = np.array(x, copy=True)
    starts = [int(np.clip(s, 0, d - n)) for s, d, n in zip(start_indices, x.shape, update.shape)]
    out[tuple(slice(s, s + n) for s, n in zip(starts, update.shape))] = update
    return out


def _dynamic_update_slice_transpose(ct, x, update, *start_indices):
    # (The start indices are the op's, negative ones already counted from the end.)
    ct_x = (ops.dynamic_update_slice(ct, zeros(update.aval), start_indices, allow_negative_indices=False)
            if is_linear(x) else None)
    ct_update = (ops.dynamic_slice(ct, start_indices, update.aval.shape, allow_negative_indices=False)
                 if is_linear(update) else None)
    return [ct_x, ct_update] + [None] * len(start_indices)


def _batch_dynamic_update_slice(ctx, args, dims):
    """Batched start indices: one element scatter; otherwise an update of the whole batch."""
    size = batch_size(args, dims)
    x, update = to_front(args[0], dims[0], size), to_front(args[1], dims[1], size)
    indices, index_dims = args[2:], dims[2:]
    if all(d is None for d in index_dims):
        zero = ops.full((), 0, indices[0].dtype if indices else dtypes.int32)
        return [ops.dynamic_update_slice(x, update, [zero, *indices], allow_negative_indices=False)], [0]
    starts = [_clamp_start(i, limit - u) for i, limit, u in zip(indices, x.shape[1:], update.shape[1:])]
    flat, count = _element_coordinates(starts, index_dims, update.shape, size)
    axes = tuple(range(update.ndim))
    out = scatter(x, flat, ops.reshape(update, (count,)), update_window_dims=(), inserted_window_dims=axes,
                  scatter_dims_to_operand_dims=axes, index_vector_dim=1, combiner="set")
    return [out], [0]


dynamic_update_slice_p.numpy_ref = _np_dynamic_update_slice
deflinear(dynamic_update_slice_p, _dynamic_update_slice_transpose, linear_operands=(0, 1))
dynamic_update_slice_p.batch = _batch_dynamic_update_slice


# -- gather ------------------------------------------------------------------------------

def _gather_rule(operand, indices, offset_dims, collapsed_slice_dims, start_index_map, index_vector_dim,
                 slice_sizes, operand_batching_dims=_NO_DIMS, start_indices_batching_dims=_NO_DIMS):
    if not dtypes.is_integer(indices.dtype):
        raise TypeError(f"mlax.gather: indices must be integers, got {indices.dtype.name}")
    if len(slice_sizes) != operand.ndim or any(not 0 <= s <= d for s, d in zip(slice_sizes, operand.shape)):
        raise TypeError(f"mlax.gather: slice_sizes {slice_sizes} do not fit operand shape {operand.shape}")
    index_vector_size = 1 if index_vector_dim == indices.ndim else indices.shape[index_vector_dim]
    if index_vector_size != len(start_index_map):
        raise TypeError(f"mlax.gather: index vectors have {index_vector_size} entries but start_index_map "
                        f"is {start_index_map}")
    offset_sizes = [s for i, s in enumerate(slice_sizes)
                    if i not in collapsed_slice_dims and i not in operand_batching_dims]
    batch_sizes = iter(_batch_shape(indices, index_vector_dim))
    offsets = iter(offset_sizes)
    rank = len(offset_sizes) + indices.ndim - (index_vector_dim < indices.ndim)
    if len(offset_dims) != len(offset_sizes):
        raise TypeError(f"mlax.gather: offset_dims {offset_dims} do not match the {len(offset_sizes)} "
                        "uncollapsed slice dimensions")
    shape = [next(offsets) if i in offset_dims else next(batch_sizes) for i in range(rank)]
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _lower_gather(ctx, operand, indices, offset_dims, collapsed_slice_dims, start_index_map, index_vector_dim,
                  slice_sizes, operand_batching_dims=_NO_DIMS, start_indices_batching_dims=_NO_DIMS):
    # StableHLO clamps start indices so each slice lies inside the operand; IREE does not, so clamp here.
    shape = ctx.in_avals[0].shape
    upper = _per_component(indices, index_vector_dim, [shape[d] - slice_sizes[d] for d in start_index_map])
    indices = _hlo.value("stablehlo.clamp", [_hlo.full_like(indices, 0), indices, upper], indices.type)
    numbers = _dims_attr("gather", offset_dims=offset_dims, collapsed_slice_dims=collapsed_slice_dims,
                         operand_batching_dims=operand_batching_dims,
                         start_indices_batching_dims=start_indices_batching_dims,
                         start_index_map=start_index_map, index_vector_dim=index_vector_dim)
    return _hlo.value("stablehlo.gather", [operand, indices], ctx.out_types[0], dimension_numbers=numbers,
                      slice_sizes=slice_sizes, indices_are_sorted=False)


gather_p = Op("gather", ["operand", "indices"], _gather_rule, _lower_gather,
              attrs={"offset_dims": "ints", "collapsed_slice_dims": "ints", "start_index_map": "ints",
                     "index_vector_dim": "int", "slice_sizes": "ints", "operand_batching_dims": "ints",
                     "start_indices_batching_dims": "ints"},
              doc='Slices of `slice_sizes` read at the start indices held in `indices`.\n\n'
                  '    %2 = "mlax.gather"(%x, %idx) {collapsed_slice_dims = array<i64: 0>, index_vector_dim = 1 : i64,'
                  ' offset_dims = array<i64: 1>, slice_sizes = array<i64: 1, 3>, start_index_map = array<i64: 0>}'
                  ' : (tensor<2x3xf32>, tensor<2x1xi32>) -> tensor<2x3xf32>')


def gather(operand, indices, *, offset_dims, collapsed_slice_dims, start_index_map, index_vector_dim, slice_sizes,
           operand_batching_dims=None, start_indices_batching_dims=None):
    """Slices of `slice_sizes` of operand at the start indices held along `index_vector_dim`
    of `indices`, laid out by StableHLO's gather dimension numbers (clamped into bounds)."""
    return gather_p(operand, indices, offset_dims=_ints(offset_dims), collapsed_slice_dims=_ints(collapsed_slice_dims),
                    start_index_map=_ints(start_index_map), index_vector_dim=int(index_vector_dim),
                    slice_sizes=_ints(slice_sizes), **_given(operand_batching_dims=operand_batching_dims,
                                                             start_indices_batching_dims=start_indices_batching_dims))


def _np_gather(operand, indices, offset_dims, collapsed_slice_dims, start_index_map, index_vector_dim,
               slice_sizes, operand_batching_dims=_NO_DIMS, start_indices_batching_dims=_NO_DIMS):
    """Reference for gathers without batching dimensions: one clamped slice per index vector."""
    if operand_batching_dims:
        raise NotImplementedError("the NumPy reference of gather has no batching dimensions")
    vectors = np.moveaxis(np.expand_dims(indices, -1) if index_vector_dim == indices.ndim else indices,
                          index_vector_dim, -1)
    kept = [size for d, size in enumerate(slice_sizes) if d not in collapsed_slice_dims]
    slices = []
    for vector in vectors.reshape(-1, vectors.shape[-1]):
        start = [0] * operand.ndim
        for k, d in enumerate(start_index_map):
            start[d] = int(np.clip(vector[k], 0, operand.shape[d] - slice_sizes[d]))
        window = operand[tuple(slice(s, s + n) for s, n in zip(start, slice_sizes))]
        slices.append(window.reshape(kept))
    out = np.reshape(slices, vectors.shape[:-1] + tuple(kept)).astype(operand.dtype)
    return np.moveaxis(out, range(vectors.ndim - 1, out.ndim), offset_dims)


def _gather_transpose(ct, operand, indices, offset_dims, collapsed_slice_dims, start_index_map, index_vector_dim,
                      slice_sizes, operand_batching_dims=_NO_DIMS, start_indices_batching_dims=_NO_DIMS):
    """Scatter-add the cotangent of each gathered slice back where it was read."""
    # gather clamps start indices so that slices fit, where scatter would drop them: clamp first.
    shape, dtype = indices.aval.shape, indices.aval.dtype
    limits = [operand.aval.shape[d] - slice_sizes[d] for d in start_index_map]
    if index_vector_dim == len(shape):  # implicit index vectors of one index
        limit = ops.full(shape, limits[0], dtype)
    else:
        one = tuple(1 if i == index_vector_dim else n for i, n in enumerate(shape))
        limit = ops.concatenate([ops.full(one, n, dtype) for n in limits], index_vector_dim)
    indices = ops.clamp(ops.full(shape, 0, dtype), indices, limit)
    ct_operand = scatter_p(zeros(operand.aval), indices, ct, update_window_dims=offset_dims,
                           inserted_window_dims=collapsed_slice_dims, scatter_dims_to_operand_dims=start_index_map,
                           index_vector_dim=index_vector_dim, combiner="add",
                           input_batching_dims=operand_batching_dims,
                           scatter_indices_batching_dims=start_indices_batching_dims)
    return [ct_operand, None]


def _batched_gather_attrs(attrs, size):
    """The batch axis becomes a StableHLO batching dimension of operand and indices."""
    return {**attrs, "offset_dims": shifted(attrs["offset_dims"]),
            "collapsed_slice_dims": shifted(attrs["collapsed_slice_dims"]),
            "start_index_map": shifted(attrs["start_index_map"]), "index_vector_dim": attrs["index_vector_dim"] + 1,
            "slice_sizes": (1,) + tuple(attrs["slice_sizes"]),
            "operand_batching_dims": (0,) + shifted(attrs.get("operand_batching_dims", _NO_DIMS)),
            "start_indices_batching_dims": (0,) + shifted(attrs.get("start_indices_batching_dims", _NO_DIMS))}


gather_p.numpy_ref = _np_gather
deflinear(gather_p, _gather_transpose, linear_operands=(0,))
defbatch_front(gather_p, _batched_gather_attrs)


# -- scatter -----------------------------------------------------------------------------

def _scatter_rule(operand, indices, updates, update_window_dims, inserted_window_dims,
                  scatter_dims_to_operand_dims, index_vector_dim, combiner, input_batching_dims=_NO_DIMS,
                  scatter_indices_batching_dims=_NO_DIMS):
    if not dtypes.is_integer(indices.dtype):
        raise TypeError(f"mlax.scatter: indices must be integers, got {indices.dtype.name}")
    if updates.dtype != operand.dtype:
        raise TypeError(f"mlax.scatter: updates dtype {updates.dtype.name} differs from operand dtype "
                        f"{operand.dtype.name}")
    if combiner not in _COMBINERS:
        raise TypeError(f"mlax.scatter: combiner must be one of {sorted(_COMBINERS)}, got {combiner!r}")
    expected_rank = len(update_window_dims) + indices.ndim - (index_vector_dim < indices.ndim)
    if updates.ndim != expected_rank:
        raise TypeError(f"mlax.scatter: updates of shape {updates.shape} do not fit indices of shape "
                        f"{indices.shape} with update_window_dims {update_window_dims}")
    batch = _batch_shape(indices, index_vector_dim)
    update_batch = [d for i, d in enumerate(updates.shape) if i not in update_window_dims]
    if update_batch != batch:
        raise TypeError(f"mlax.scatter: updates of shape {updates.shape} do not match the index batch "
                        f"shape {tuple(batch)}")
    return operand


_COMBINERS = {"set": None, "add": "stablehlo.add", "mul": "stablehlo.multiply",
              "min": "stablehlo.minimum", "max": "stablehlo.maximum"}


def _window_sizes(operand_shape, updates_shape, update_window_dims, inserted_window_dims, input_batching_dims):
    """The size of the updated window along each operand dimension."""
    window = iter(updates_shape[d] for d in update_window_dims)
    return [1 if d in inserted_window_dims or d in input_batching_dims else next(window)
            for d in range(len(operand_shape))]


def _element_updates(indices, updates, shape, windows, update_window_dims, inserted_window_dims,
                     scatter_dims_to_operand_dims, index_vector_dim, input_batching_dims,
                     scatter_indices_batching_dims):
    """The same scatter as one update per element: (indices, updates) whose index vectors
    (last axis) name every operand axis, one per element of every window."""
    index_shape, index_dtype = list(_hlo.shape_of(indices)), _hlo.dtype_of(indices)
    if index_vector_dim == len(index_shape):
        index_shape.append(1)
        indices = _hlo.reshape(indices, index_shape)
    batch_axes = [d for d in range(len(index_shape)) if d != index_vector_dim]
    batch_shape = [index_shape[d] for d in batch_axes]
    window_axes = [a for a in range(len(shape)) if a not in inserted_window_dims and a not in input_batching_dims]
    element_shape = batch_shape + [windows[a] for a in window_axes]
    components = []
    for a in range(len(shape)):
        component = _hlo.constant(0, index_dtype, element_shape)
        if a in scatter_dims_to_operand_dims:
            k = scatter_dims_to_operand_dims.index(a)
            starts = [0] * len(index_shape)
            starts[index_vector_dim] = k
            limits = list(index_shape)
            limits[index_vector_dim] = k + 1
            start = _hlo.value("stablehlo.slice", [indices], mlir.tensor_type(
                [1 if d == index_vector_dim else n for d, n in enumerate(index_shape)], index_dtype),
                start_indices=tuple(starts), limit_indices=tuple(limits), strides=(1,) * len(index_shape))
            component = _hlo.broadcast_in_dim(_hlo.reshape(start, batch_shape), element_shape,
                                              range(len(batch_shape)))
        if a in input_batching_dims:  # the position along the paired axis of the indices
            paired = scatter_indices_batching_dims[input_batching_dims.index(a)]
            component = _hlo.value("stablehlo.iota", [], mlir.tensor_type(element_shape, index_dtype),
                                   iota_dimension=batch_axes.index(paired))
        if a in window_axes:
            offset = _hlo.value("stablehlo.iota", [], mlir.tensor_type(element_shape, index_dtype),
                                iota_dimension=len(batch_shape) + window_axes.index(a))
            component = _hlo.value("stablehlo.add", [component, offset], component.type)
        components.append(_hlo.reshape(component, element_shape + [1]))
    vector_type = mlir.tensor_type(element_shape + [len(shape)], index_dtype)
    element_indices = (_hlo.value("stablehlo.concatenate", components, vector_type, dimension=len(element_shape))
                       if len(components) > 1 else components[0])
    update_rank = len(_hlo.shape_of(updates))
    order = [d for d in range(update_rank) if d not in update_window_dims] + list(update_window_dims)
    element_values = _hlo.transpose(updates, order)
    return element_indices, element_values


def _lower_scatter(ctx, operand, indices, updates, update_window_dims, inserted_window_dims,
                   scatter_dims_to_operand_dims, index_vector_dim, combiner, input_batching_dims=_NO_DIMS,
                   scatter_indices_batching_dims=_NO_DIMS):
    # IREE compiles no scatter whose operand has a window axis before an inserted or batching
    # one: scatter into the operand transposed to put its window axes last (their order, and so
    # the updates, unchanged), and transpose the result back.
    shape = ctx.in_avals[0].shape
    window_axes = [a for a in range(len(shape)) if a not in inserted_window_dims and a not in input_batching_dims]
    order = [a for a in range(len(shape)) if a not in window_axes] + window_axes
    if order == list(range(len(shape))):
        return _scatter_windows_last(operand, indices, updates, ctx.in_avals[2].shape, update_window_dims,
                                     inserted_window_dims, scatter_dims_to_operand_dims, index_vector_dim, combiner,
                                     input_batching_dims, scatter_indices_batching_dims)
    moved = tuple(order.index(a) for a in range(len(shape)))
    transposed = _hlo.transpose(operand, order)
    result = _scatter_windows_last(
        transposed, indices, updates, ctx.in_avals[2].shape, update_window_dims,
        tuple(moved[a] for a in inserted_window_dims), tuple(moved[a] for a in scatter_dims_to_operand_dims),
        index_vector_dim, combiner, tuple(moved[a] for a in input_batching_dims), scatter_indices_batching_dims)
    return _hlo.value("stablehlo.transpose", [result], ctx.out_types[0], permutation=moved)


def _scatter_windows_last(operand, indices, updates, updates_shape, update_window_dims, inserted_window_dims,
                          scatter_dims_to_operand_dims, index_vector_dim, combiner, input_batching_dims,
                          scatter_indices_batching_dims):
    # StableHLO skips updates whose window would leave the operand; IREE would write out of bounds.
    # So: pad the operand past its end along the scattered dimensions, send such updates into the
    # padding, and slice it off afterwards.
    shape, dtype = _hlo.shape_of(operand), _hlo.dtype_of(operand)
    windows = _window_sizes(shape, updates_shape, update_window_dims, inserted_window_dims, input_batching_dims)
    if any(windows[d] > 1 for d in scatter_dims_to_operand_dims):
        # IREE compiles no scatter whose windows extend along an indexed axis: scatter their
        # elements one by one (each window element-wise in bounds or not, not as a whole).
        indices, updates = _element_updates(indices, updates, shape, windows, update_window_dims,
                                            inserted_window_dims, scatter_dims_to_operand_dims, index_vector_dim,
                                            input_batching_dims, scatter_indices_batching_dims)
        input_batching_dims = scatter_indices_batching_dims = ()
        update_window_dims, inserted_window_dims = (), tuple(range(len(shape)))
        scatter_dims_to_operand_dims, index_vector_dim = tuple(range(len(shape))), len(_hlo.shape_of(indices)) - 1
        windows = [1] * len(shape)
    dims = scatter_dims_to_operand_dims
    upper = _per_component(indices, index_vector_dim, [shape[d] - windows[d] for d in dims])
    in_bounds = _hlo.value("stablehlo.and", [_hlo.compare(indices, _hlo.full_like(indices, 0), "GE"),
                                             _hlo.compare(indices, upper, "LE")],
                           mlir.tensor_type(_hlo.shape_of(indices), dtypes.bool_))
    if index_vector_dim < len(_hlo.shape_of(indices)):
        every = _hlo.reduce([in_bounds], [_hlo.constant(True, dtypes.bool_)], (index_vector_dim,),
                            _hlo.binary("stablehlo.and"))[0]
        batch_dims = [d for d in range(len(_hlo.shape_of(indices))) if d != index_vector_dim]
        in_bounds = _hlo.broadcast_in_dim(every, _hlo.shape_of(indices), batch_dims)
    trash = _per_component(indices, index_vector_dim, [shape[d] for d in dims])
    indices = _hlo.select(in_bounds, indices, trash)
    padding = [windows[d] if d in dims else 0 for d in range(len(shape))]
    padded_shape = [size + extra for size, extra in zip(shape, padding)]
    padded = _hlo.value("stablehlo.pad", [operand, _hlo.constant(0, dtype)], mlir.tensor_type(padded_shape, dtype),
                        edge_padding_low=(0,) * len(shape), edge_padding_high=tuple(padding),
                        interior_padding=(0,) * len(shape))
    numbers = _dims_attr("scatter", update_window_dims=update_window_dims,
                         inserted_window_dims=inserted_window_dims, input_batching_dims=input_batching_dims,
                         scatter_indices_batching_dims=scatter_indices_batching_dims,
                         scatter_dims_to_operand_dims=scatter_dims_to_operand_dims,
                         index_vector_dim=index_vector_dim)
    scatter = _hlo.op("stablehlo.scatter", [padded, indices, updates], [padded.type],
                      {"scatter_dimension_numbers": numbers, "indices_are_sorted": False,
                       "unique_indices": False}, regions=1)
    combine = _COMBINERS[combiner]
    body = (lambda old, new: [new]) if combine is None else _hlo.binary(combine)
    _hlo.scalar_region(scatter, 0, [dtype] * 2, body)
    return _hlo.value("stablehlo.slice", [scatter.result], operand.type, start_indices=(0,) * len(shape),
                      limit_indices=tuple(shape), strides=(1,) * len(shape))


scatter_p = Op("scatter", ["operand", "indices", "updates"], _scatter_rule, _lower_scatter,
               attrs={"update_window_dims": "ints", "inserted_window_dims": "ints",
                      "scatter_dims_to_operand_dims": "ints", "index_vector_dim": "int", "combiner": "str",
                      "input_batching_dims": "ints", "scatter_indices_batching_dims": "ints"},
               doc='`operand` with `updates` combined in at the indices held in `indices`.\n\n'
                   '    %3 = "mlax.scatter"(%x, %idx, %u) {combiner = "add", index_vector_dim = 1 : i64,'
                   ' inserted_window_dims = array<i64: 0>, scatter_dims_to_operand_dims = array<i64: 0>,'
                   ' update_window_dims = array<i64: 1>} : (tensor<2x3xf32>, tensor<2x1xi32>, tensor<2x3xf32>)'
                   ' -> tensor<2x3xf32>')


def scatter(operand, indices, updates, *, update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims,
            index_vector_dim, combiner, input_batching_dims=None, scatter_indices_batching_dims=None):
    """operand with `updates` combined in (by `combiner`: "set", "add", "mul", "min" or "max")
    at the indices held along `index_vector_dim` of `indices`, laid out by StableHLO's scatter
    dimension numbers; updates whose window leaves the operand are dropped."""
    return scatter_p(operand, indices, updates, update_window_dims=_ints(update_window_dims),
                     inserted_window_dims=_ints(inserted_window_dims),
                     scatter_dims_to_operand_dims=_ints(scatter_dims_to_operand_dims),
                     index_vector_dim=int(index_vector_dim), combiner=combiner,
                     **_given(input_batching_dims=input_batching_dims,
                              scatter_indices_batching_dims=scatter_indices_batching_dims))


def _np_scatter(operand, indices, updates, combiner, update_window_dims, inserted_window_dims,
                scatter_dims_to_operand_dims, index_vector_dim, **batching_dims):
    """Reference for scatters without batching dimensions: element by element, dropping the
    elements that fall outside the operand."""
    if any(batching_dims.values()):
        raise NotImplementedError("the NumPy reference of scatter covers scatters without batching dimensions")
    out = np.array(operand, copy=True)
    ufunc = {"set": None, "add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}[combiner]
    if index_vector_dim == indices.ndim:
        indices = indices[..., None]
    indices = np.moveaxis(indices, index_vector_dim, -1)
    scatter_axes = [d for d in range(updates.ndim) if d not in update_window_dims]
    window_axes = [a for a in range(operand.ndim) if a not in inserted_window_dims]
    for position in np.ndindex(*indices.shape[:-1]):
        start = [0] * operand.ndim
        for k, axis in enumerate(scatter_dims_to_operand_dims):
            start[axis] = int(indices[position][k])
        window = updates[tuple(np.s_[:] if d in update_window_dims else position[scatter_axes.index(d)]
                               for d in range(updates.ndim))]
        for offset in np.ndindex(*window.shape):
            target = list(start)
            for axis, step in zip(window_axes, offset):
                target[axis] += step
            if all(0 <= t < n for t, n in zip(target, operand.shape)):
                out[tuple(target)] = window[offset] if ufunc is None else ufunc(out[tuple(target)], window[offset])
    return out


def _gather_updates(ct, indices, updates_shape, update_window_dims, inserted_window_dims,
                    scatter_dims_to_operand_dims, index_vector_dim, input_batching_dims=_NO_DIMS,
                    scatter_indices_batching_dims=_NO_DIMS):
    """Read, for every update, the cotangent at the place it was written."""
    window = iter(updates_shape[d] for d in update_window_dims)
    slice_sizes = tuple(1 if d in inserted_window_dims or d in input_batching_dims else next(window)
                        for d in range(len(ct.shape)))
    return gather_p(ct, indices, offset_dims=update_window_dims, collapsed_slice_dims=inserted_window_dims,
                    start_index_map=scatter_dims_to_operand_dims, index_vector_dim=index_vector_dim,
                    slice_sizes=slice_sizes, operand_batching_dims=input_batching_dims,
                    start_indices_batching_dims=scatter_indices_batching_dims)


def _scatter_jvp(ctx, primals, tangents, combiner, **dims):
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    ans = scatter_p(operand, indices, updates, combiner=combiner, **dims)
    if t_operand is None and t_updates is None:
        return [ans], [None]
    if combiner in ("set", "add"):
        # Linear in operand and updates jointly.
        return [ans], [scatter_p(instantiate(t_operand, operand), indices, instantiate(t_updates, updates),
                                 combiner=combiner, **dims)]
    result_at_updates = _gather_updates(ans, indices, updates.shape, **dims)
    if combiner == "mul":
        # d(x * prod u) = t_x * prod u + out * sum(t_u / u), scattered.
        parts = []
        if t_operand is not None:
            parts.append(scatter_p(t_operand, indices, updates, combiner="mul", **dims))
        if t_updates is not None:
            ratio = scatter_p(zeros(operand.aval), indices, ops.div(t_updates, updates), combiner="add", **dims)
            parts.append(ops.mul(ans, ratio))
        return [ans], [add_tangents(parts)]
    # min/max: the tangent of whichever value won.
    parts = []
    if t_operand is not None:
        parts.append(ops.mul(t_operand, ops.convert_element_type(ops.eq(operand, ans), operand.dtype)))
    if t_updates is not None:
        won = ops.convert_element_type(ops.eq(updates, result_at_updates), updates.dtype)
        parts.append(scatter_p(zeros(operand.aval), indices, ops.mul(t_updates, won), combiner="add", **dims))
    return [ans], [add_tangents(parts)]


def _scatter_transpose(ct, operand, indices, updates, combiner, **dims):
    if combiner not in ("set", "add"):
        raise NotImplementedError(f"scatter with combiner {combiner!r} is not linear")
    ct_operand = None
    if is_linear(operand):
        ct_operand = ct if combiner == "add" else scatter_p(ct, indices, zeros(updates.aval), combiner="set", **dims)
    ct_updates = _gather_updates(ct, indices, updates.aval.shape, **dims) if is_linear(updates) else None
    return [ct_operand, None, ct_updates]


def _batched_scatter_attrs(attrs, size):
    """The batch axis becomes a StableHLO batching dimension of operand, indices and updates."""
    return {**attrs, "update_window_dims": shifted(attrs["update_window_dims"]),
            "inserted_window_dims": shifted(attrs["inserted_window_dims"]),
            "scatter_dims_to_operand_dims": shifted(attrs["scatter_dims_to_operand_dims"]),
            "index_vector_dim": attrs["index_vector_dim"] + 1,
            "input_batching_dims": (0,) + shifted(attrs.get("input_batching_dims", _NO_DIMS)),
            "scatter_indices_batching_dims": (0,) + shifted(attrs.get("scatter_indices_batching_dims", _NO_DIMS))}


scatter_p.numpy_ref = _np_scatter
scatter_p.jvp = _scatter_jvp
# Linear in operand and updates jointly for combiners set and add, the ones the transpose takes
# (mul's JVP above passes a tangent as operand alone, which this transpose refuses).
deftranspose(scatter_p, _scatter_transpose, linear_operands=(0, 2))
defbatch_front(scatter_p, _batched_scatter_attrs)


# -- take_along_axis: a gather of one element per index ------------------------------------

def take_along_axis(arr, indices, axis):
    """arr's elements at `indices` (of arr's shape, in bounds) along `axis`, the other axes
    matched one to one: out[..., i, ...] = arr[..., indices[..., i, ...], ...]."""
    shape, dtype = aval_of(arr).shape, dtypes.result_type(dtypes.int32, aval_of(indices).dtype)
    if aval_of(indices).shape != shape:
        raise ValueError(f"take_along_axis: indices of shape {aval_of(indices).shape} must have arr's {shape}")
    coordinates = [ops.convert_element_type(indices, dtype) if d == axis else ops.broadcasted_iota(dtype, shape, d)
                   for d in range(len(shape))]
    axes = tuple(range(len(shape)))
    return gather(arr, ops.concatenate([ops.reshape(c, shape + (1,)) for c in coordinates], len(shape)),
                  offset_dims=(), collapsed_slice_dims=axes, start_index_map=axes, index_vector_dim=len(shape),
                  slice_sizes=(1,) * len(shape))
