"""Ops that create arrays or move their elements: constant, iota, broadcast,
reshape, transpose, slicing, concatenation, padding, reversal.

    %1 = "mlax.broadcast_in_dim"(%0) {shape = array<i64: 2, 3>,
           broadcast_dimensions = array<i64: 1>} : (tensor<3xf32>) -> tensor<2x3xf32>
"""

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import install_constant_builder
from mlax.ops import _hlo, elementwise
from mlax.ops._batching import batch_size, defbatch_front, shifted, to_front
from mlax.ops._rules import deflinear, defzero, is_linear, zeros

__all__: list[str] = []  # the builders this family exports (mlax.lax re-exports them)


def _shape_error(name, message):
    return TypeError(f"mlax.{name}: {message}")


# -- constant and iota ----------------------------------------------------------

def _constant_rule(value):
    return ShapedArray(value.shape, value.dtype)


constant = Op("constant", [], _constant_rule,
              lambda ctx, value: _hlo.value("stablehlo.constant", [], ctx.out_types[0],
                                            value=ctx.op.attributes["value"]),
              attrs={"value": "dense"}, doc="An array literal held in the `value` attribute.")
constant.numpy_ref = lambda value: value


def _emit_constant(trace, value, aval):
    """The constant op for `value` in `trace` (complex ones are built from their real and
    imaginary parts: MLIR's Python bindings cannot read complex dense attributes back)."""
    if dtypes.is_complex(aval.dtype):
        part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
        real, imag = _emit_constant(trace, np.real(value), part), _emit_constant(trace, np.imag(value), part)
        [out] = trace.emit(elementwise.complex_, [real, imag], {}, [aval])
        return out
    [out] = trace.emit(constant, [], {"value": value}, [aval])
    return out


install_constant_builder(_emit_constant)


def _iota_rule(dtype, shape, dimension):
    if not 0 <= dimension < len(shape):
        raise _shape_error("iota", f"dimension {dimension} is out of range for shape {shape}")
    return ShapedArray(shape, dtype)


iota = Op("iota", [], _iota_rule,
          lambda ctx, dtype, shape, dimension: _hlo.value("stablehlo.iota", [], ctx.out_types[0],
                                                          iota_dimension=dimension),
          attrs={"dtype": "dtype", "shape": "ints", "dimension": "int"},
          doc="0, 1, 2, ... counting along `dimension` of an array of `shape`.")
iota.numpy_ref = lambda dtype, shape, dimension: np.broadcast_to(
    np.arange(shape[dimension], dtype=dtype).reshape([-1 if i == dimension else 1 for i in range(len(shape))]),
    shape)


# -- broadcast, reshape, transpose ------------------------------------------------

def _broadcast_rule(x, shape, broadcast_dimensions):
    dims = broadcast_dimensions
    if len(dims) != x.ndim:
        raise _shape_error("broadcast_in_dim", f"operand of shape {x.shape} needs {x.ndim} "
                                               f"broadcast_dimensions, got {dims}")
    if any(b <= a for a, b in zip(dims, dims[1:])) or any(not 0 <= d < len(shape) for d in dims):
        raise _shape_error("broadcast_in_dim", f"broadcast_dimensions {dims} must be increasing "
                                               f"and within the rank of {shape}")
    for i, d in enumerate(dims):
        if x.shape[i] not in (1, shape[d]):
            raise _shape_error("broadcast_in_dim", f"cannot broadcast shape {x.shape} to shape {shape}")
    return x.update(shape=shape)


broadcast_in_dim = Op("broadcast_in_dim", ["x"], _broadcast_rule,
                      lambda ctx, x, shape, broadcast_dimensions: _hlo.broadcast_in_dim(x, shape, broadcast_dimensions),
                      attrs={"shape": "ints", "broadcast_dimensions": "ints"},
                      doc="Broadcast x into `shape`, operand dimension i going to broadcast_dimensions[i].")


def _np_broadcast_in_dim(x, shape, broadcast_dimensions):
    expanded = np.reshape(x, [x.shape[broadcast_dimensions.index(i)] if i in broadcast_dimensions else 1
                              for i in range(len(shape))])
    return np.broadcast_to(expanded, shape)


broadcast_in_dim.numpy_ref = _np_broadcast_in_dim


def _reshape_rule(x, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise _shape_error("reshape", f"cannot reshape array of shape {x.shape} (size {x.size}) "
                                      f"into shape {tuple(new_sizes)}")
    return x.update(shape=new_sizes)


reshape = Op("reshape", ["x"], _reshape_rule,
             lambda ctx, x, new_sizes: _hlo.reshape(x, new_sizes),
             attrs={"new_sizes": "ints"}, doc="The same elements in row-major order, with shape new_sizes.")
reshape.numpy_ref = lambda x, new_sizes: np.reshape(x, new_sizes)


def _transpose_rule(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise _shape_error("transpose", f"permutation {permutation} is not a permutation of the "
                                        f"axes of shape {x.shape}")
    return x.update(shape=[x.shape[p] for p in permutation])


transpose = Op("transpose", ["x"], _transpose_rule,
               lambda ctx, x, permutation: _hlo.value("stablehlo.transpose", [x], ctx.out_types[0],
                                                      permutation=permutation),
               attrs={"permutation": "ints"}, doc="Permute the axes: result axis i is operand axis permutation[i].")
transpose.numpy_ref = lambda x, permutation: np.transpose(x, permutation)


def _rev_rule(x, dimensions):
    if any(not 0 <= d < x.ndim for d in dimensions):
        raise _shape_error("rev", f"dimensions {dimensions} out of range for shape {x.shape}")
    return x


def _lower_rev(ctx, x, dimensions):
    producer = x.owner
    if getattr(producer, "name", None) == "stablehlo.slice" and any(
            s != 1 for s in ir.DenseI64ArrayAttr(producer.attributes["strides"])):
        # IREE 3.13's CPU codegen fails on a reverse fused with a strided slice; keep them apart.
        x = _hlo.value("stablehlo.optimization_barrier", [x], x.type)
    return _hlo.value("stablehlo.reverse", [x], x.type, dimensions=dimensions)


rev = Op("rev", ["x"], _rev_rule, _lower_rev,
         attrs={"dimensions": "ints"}, doc="Reverse the order of elements along `dimensions`.")
rev.numpy_ref = lambda x, dimensions: np.flip(x, dimensions) if dimensions else x


# -- slicing -----------------------------------------------------------------------

def _slice_rule(x, start_indices, limit_indices, strides):
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise _shape_error("slice", f"start/limit/strides must each have {x.ndim} entries for shape {x.shape}")
    shape = []
    for size, start, limit, stride in zip(x.shape, start_indices, limit_indices, strides):
        if not (0 <= start <= limit <= size) or stride < 1:
            raise _shape_error("slice", f"slice [{start}:{limit}:{stride}] is out of bounds for a "
                                        f"dimension of size {size} in shape {x.shape}")
        shape.append(-(-(limit - start) // stride))
    return x.update(shape=shape)


slice_ = Op("slice", ["x"], _slice_rule,
            lambda ctx, x, start_indices, limit_indices, strides: _hlo.value(
                "stablehlo.slice", [x], ctx.out_types[0], start_indices=start_indices,
                limit_indices=limit_indices, strides=strides),
            attrs={"start_indices": "ints", "limit_indices": "ints", "strides": "ints"},
            doc="The static strided slice x[start:limit:stride] along every axis.")
slice_.numpy_ref = lambda x, start_indices, limit_indices, strides: x[
    tuple(slice(a, b, c) for a, b, c in zip(start_indices, limit_indices, strides))]


def _check_indices(name, x, indices):
    if len(indices) != x.ndim:
        raise _shape_error(name, f"needs {x.ndim} start indices for shape {x.shape}, got {len(indices)}")
    for i in indices:
        if i.shape != () or not dtypes.is_integer(i.dtype):
            raise _shape_error(name, f"start indices must be integer scalars, got {i.str_short()}")
    if len({i.dtype for i in indices}) > 1:
        raise _shape_error(name, "start indices must all have one integer dtype, got "
                                 + ", ".join(i.str_short() for i in indices))


def _dynamic_slice_rule(x, *start_indices, slice_sizes):
    _check_indices("dynamic_slice", x, start_indices)
    if len(slice_sizes) != x.ndim or any(not 0 <= s <= d for s, d in zip(slice_sizes, x.shape)):
        raise _shape_error("dynamic_slice", f"slice_sizes {slice_sizes} do not fit shape {x.shape}")
    return x.update(shape=slice_sizes)


dynamic_slice = Op("dynamic_slice", ["x", "*start_indices"], _dynamic_slice_rule,
                   lambda ctx, x, *idx, slice_sizes: _hlo.value(
                       "stablehlo.dynamic_slice", [x, *idx], ctx.out_types[0],
                       slice_sizes=slice_sizes),
                   attrs={"slice_sizes": "ints"},
                   doc="A slice of static size at run-time start indices (clamped to stay in bounds).")


def _np_dynamic_slice(x, *start_indices, slice_sizes):
    starts = [int(np.clip(s, 0, d - n)) for s, d, n in zip(start_indices, x.shape, slice_sizes)]
    return x[tuple(slice(s, s + n) for s, n in zip(starts, slice_sizes))]


dynamic_slice.numpy_ref = _np_dynamic_slice


def _dynamic_update_slice_rule(x, update, *start_indices):
    _check_indices("dynamic_update_slice", x, start_indices)
    if update.ndim != x.ndim or any(u > d for u, d in zip(update.shape, x.shape)):
        raise _shape_error("dynamic_update_slice", f"update of shape {update.shape} does not fit "
                                                   f"operand of shape {x.shape}")
    if update.dtype != x.dtype:
        raise _shape_error("dynamic_update_slice", f"update dtype {update.dtype.name} differs from "
                                                   f"operand dtype {x.dtype.name}")
    return x


dynamic_update_slice = Op("dynamic_update_slice", ["x", "update", "*start_indices"], _dynamic_update_slice_rule,
                          lambda ctx, x, u, *idx: _hlo.value(
                              "stablehlo.dynamic_update_slice", [x, u, *idx], x.type),
                          doc="x with `update` written at run-time start indices (clamped to stay in bounds).")


def _np_dynamic_update_slice(x, update, *start_indices):
    out = np.array(x, copy=True)
    starts = [int(np.clip(s, 0, d - n)) for s, d, n in zip(start_indices, x.shape, update.shape)]
    out[tuple(slice(s, s + n) for s, n in zip(starts, update.shape))] = update
    return out


dynamic_update_slice.numpy_ref = _np_dynamic_update_slice


# -- concatenate and pad ---------------------------------------------------------

def _concatenate_rule(*xs, dimension):
    if not xs:
        raise _shape_error("concatenate", "needs at least one operand")
    first = xs[0]
    if not 0 <= dimension < max(first.ndim, 1):
        raise _shape_error("concatenate", f"dimension {dimension} out of range for shape {first.shape}")
    for x in xs[1:]:
        if x.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != dimension):
            raise _shape_error("concatenate", f"shapes {first.shape} and {x.shape} differ outside "
                                              f"dimension {dimension}")
        if x.dtype != first.dtype:
            raise _shape_error("concatenate", f"dtypes {first.dtype.name} and {x.dtype.name} differ")
    shape = list(first.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(shape, first.dtype, all(x.weak_type for x in xs))


# Binary, so that MLIR's IRDL can verify it (an IRDL variadic operand list must be of one type);
# ops.concatenate builds n-ary joins as a balanced tree, which StableHLO flattens again.
concatenate = Op("concatenate", ["lhs", "rhs"], _concatenate_rule,
                 lambda ctx, *xs, dimension: _hlo.value("stablehlo.concatenate", xs, ctx.out_types[0],
                                                        dimension=dimension),
                 attrs={"dimension": "int"}, doc="Join two arrays along `dimension`.")
concatenate.numpy_ref = lambda *xs, dimension: np.concatenate(xs, axis=dimension)


def _pad_rule(x, padding_value, low, high, interior):
    if padding_value.shape != () or padding_value.dtype != x.dtype:
        raise _shape_error("pad", f"padding value must be a scalar of dtype {x.dtype.name}, "
                                  f"got {padding_value.str_short()}")
    if not len(low) == len(high) == len(interior) == x.ndim or any(i < 0 for i in interior):
        raise _shape_error("pad", f"low/high/interior must have {x.ndim} entries (interior >= 0)")
    shape = [lo + hi + d + max(d - 1, 0) * it for d, lo, hi, it in zip(x.shape, low, high, interior)]
    if any(s < 0 for s in shape):
        raise _shape_error("pad", f"negative padding crops more than shape {x.shape} holds")
    return x.update(shape=shape)


pad = Op("pad", ["x", "padding_value"], _pad_rule,
         lambda ctx, x, v, low, high, interior: _hlo.value(
             "stablehlo.pad", [x, v], ctx.out_types[0], edge_padding_low=low, edge_padding_high=high,
             interior_padding=interior),
         attrs={"low": "ints", "high": "ints", "interior": "ints"},
         doc="Pad with padding_value: `low`/`high` at the edges (negative crops), `interior` between elements.")


def _np_pad(x, padding_value, low, high, interior):
    shape = _pad_rule(ShapedArray(x.shape, x.dtype), ShapedArray((), x.dtype), low, high, interior).shape
    out = np.full([d + max(d - 1, 0) * it for d, it in zip(x.shape, interior)], padding_value, x.dtype)
    out[tuple(slice(None, None, it + 1) for it in interior)] = x
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in zip(low, high)]
    out = np.pad(out, pads, constant_values=padding_value)
    crops = tuple(slice(max(-lo, 0), max(-lo, 0) + s) for lo, s in zip(low, shape))
    return out[crops]


pad.numpy_ref = _np_pad


# -- differentiation rules ---------------------------------------------------------------

def _broadcast_transpose(ct, x, shape, broadcast_dimensions):
    """Sum the cotangent over the axes the broadcast created or stretched."""
    stretched = [broadcast_dimensions[i] for i, size in enumerate(x.aval.shape)
                 if size == 1 and shape[broadcast_dimensions[i]] != 1]
    created = [d for d in range(len(shape)) if d not in broadcast_dimensions]
    return [ops.reshape(ops.reduce_sum(ct, tuple(sorted(created + stretched))), x.aval.shape)]


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    """Put the cotangent back where the slice took it from, zeros elsewhere."""
    config = []
    for size, start, stride, count in zip(x.aval.shape, start_indices, strides, ct.shape):
        end = start + (count - 1) * stride + 1 if count else start
        config.append((start, size - end, stride - 1 if count else 0))
    return [ops.pad(ct, 0, config)]


def _dynamic_slice_transpose(ct, x, *start_indices, slice_sizes):
    return [ops.dynamic_update_slice(zeros(x.aval), ct, start_indices)] + [None] * len(start_indices)


def _dynamic_update_slice_transpose(ct, x, update, *start_indices):
    ct_x = ops.dynamic_update_slice(ct, zeros(update.aval), start_indices) if is_linear(x) else None
    ct_update = ops.dynamic_slice(ct, start_indices, update.aval.shape) if is_linear(update) else None
    return [ct_x, ct_update] + [None] * len(start_indices)


def _concatenate_transpose(ct, *xs, dimension):
    cts, offset = [], 0
    for x in xs:
        size = x.aval.shape[dimension]
        cts.append(ops.slice_in_dim(ct, offset, offset + size, axis=dimension) if is_linear(x) else None)
        offset += size
    return cts


def _pad_transpose(ct, x, padding_value, low, high, interior):
    # Undo the edge padding (negative pads crop), then step over the interior padding.
    unpadded = ops.pad(ct, 0, [(-lo, -hi, 0) for lo, hi in zip(low, high)])
    ct_x = ops.slice(unpadded, [0] * len(low), unpadded.shape, [i + 1 for i in interior])
    ct_value = None
    if is_linear(padding_value):
        everything = ops.reduce_sum(ct, tuple(range(len(low))))
        ct_value = ops.sub(everything, ops.reduce_sum(ct_x, tuple(range(len(low)))))
    return [ct_x if is_linear(x) else None, ct_value]


defzero(constant)
defzero(iota)
deflinear(broadcast_in_dim, _broadcast_transpose)
deflinear(reshape, lambda ct, x, new_sizes: [ops.reshape(ct, x.aval.shape)])
deflinear(transpose, lambda ct, x, permutation: [ops.transpose(ct, tuple(np.argsort(permutation)))])
deflinear(rev, lambda ct, x, dimensions: [ops.rev(ct, dimensions)])
deflinear(slice_, _slice_transpose)
deflinear(dynamic_slice, _dynamic_slice_transpose, linear_operands=(0,))
deflinear(dynamic_update_slice, _dynamic_update_slice_transpose, linear_operands=(0, 1))
deflinear(concatenate, _concatenate_transpose)
deflinear(pad, _pad_transpose)


# -- batching rules -------------------------------------------------------------------

def _with(**updates):
    """An attribute adjustment for defbatch_front: each update maps (value, batch size) -> new value."""
    def adjust(attrs, size):
        for name, update in updates.items():
            attrs[name] = update(attrs[name], size)
        return attrs
    return adjust


def _batch_pad(ctx, args, dims, low, high, interior):
    x, value = args
    size = batch_size(args, dims)
    config = [(0, 0, 0)] + list(zip(low, high, interior))
    x = to_front(x, dims[0], size)
    if dims[1] is None:
        return [ops.pad(x, value, config)], [0]
    # A batched padding value: pad with zeros, then fill the padding per example.
    value = to_front(value, dims[1], size)
    padded = ops.pad(x, 0, config)
    inside = ops.pad(ops.full(x.shape, True, dtypes.bool_), False, config)
    fill = ops.broadcast_in_dim(value, padded.shape, (0,))
    return [ops.select(inside, padded, fill)], [0]


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


def _gather_slices(x, starts, index_dims, sizes, size):
    """dynamic_slice with per-example start indices, as one element gather."""
    from mlax.ops.indexing import gather

    shape = (size,) + tuple(sizes)
    flat, _ = _element_coordinates(starts, index_dims, shape, size)
    axes = tuple(range(len(shape)))
    out = gather(x, flat, offset_dims=(), collapsed_slice_dims=axes, start_index_map=axes, index_vector_dim=1,
                 slice_sizes=(1,) * len(shape))
    return ops.reshape(out, shape)


def _clamp_start(index, largest):
    """dynamic_slice clamps start indices into bounds; a gather needs the same clamp spelled out."""
    return ops.clamp(ops.full(index.shape, 0, index.dtype), index, ops.full(index.shape, largest, index.dtype))


def _batch_dynamic_slice(ctx, args, dims, slice_sizes):
    size = batch_size(args, dims)
    x = to_front(args[0], dims[0], size)
    indices, index_dims = args[1:], dims[1:]
    if all(d is None for d in index_dims):
        zero = ops.full((), 0, indices[0].dtype if indices else dtypes.int32)
        return [ops.dynamic_slice(x, [zero, *indices], (size, *slice_sizes))], [0]
    starts = [_clamp_start(i, limit - s) for i, limit, s in zip(indices, x.shape[1:], slice_sizes)]
    return [_gather_slices(x, starts, index_dims, slice_sizes, size)], [0]


def _batch_dynamic_update_slice(ctx, args, dims):
    from mlax.ops.indexing import scatter

    size = batch_size(args, dims)
    x, update = to_front(args[0], dims[0], size), to_front(args[1], dims[1], size)
    indices, index_dims = args[2:], dims[2:]
    if all(d is None for d in index_dims):
        zero = ops.full((), 0, indices[0].dtype if indices else dtypes.int32)
        return [ops.dynamic_update_slice(x, update, [zero, *indices])], [0]
    starts = [_clamp_start(i, limit - u) for i, limit, u in zip(indices, x.shape[1:], update.shape[1:])]
    flat, count = _element_coordinates(starts, index_dims, update.shape, size)
    axes = tuple(range(update.ndim))
    out = scatter(x, flat, ops.reshape(update, (count,)), update_window_dims=(), inserted_window_dims=axes,
                  scatter_dims_to_operand_dims=axes, index_vector_dim=1, combiner="set")
    return [out], [0]


defbatch_front(broadcast_in_dim, _with(shape=lambda s, b: (b,) + tuple(s),
                                       broadcast_dimensions=lambda d, b: (0,) + shifted(d)))
defbatch_front(reshape, _with(new_sizes=lambda s, b: (b,) + tuple(s)))
defbatch_front(transpose, _with(permutation=lambda p, b: (0,) + shifted(p)))
defbatch_front(rev, _with(dimensions=lambda d, b: shifted(d)))
defbatch_front(slice_, _with(start_indices=lambda s, b: (0,) + tuple(s), limit_indices=lambda s, b: (b,) + tuple(s),
                             strides=lambda s, b: (1,) + tuple(s)))
defbatch_front(concatenate, _with(dimension=lambda d, b: d + 1))
pad.batch = _batch_pad
dynamic_slice.batch = _batch_dynamic_slice
dynamic_update_slice.batch = _batch_dynamic_update_slice
