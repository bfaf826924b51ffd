"""Ops that create arrays or move their elements: constant, iota, broadcast_in_dim,
reshape, transpose, rev, slice, concatenate, pad (the slices at run-time indices are
in ops/indexing.py).

One block per op, read top to bottom: its shape rule and lowering, the entry
(`<name>_p`), the builders that bind it under JAX's lax names, its NumPy
reference, then its differentiation and batching rules.

    %1 = "mlax.broadcast_in_dim"(%0) {broadcast_dimensions = array<i64: 1>, shape = array<i64: 2, 3>}
           : (tensor<3xf32>) -> tensor<2x3xf32>
"""

import builtins

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.aval import ShapedArray, concrete_shape
from mlax.core.op import Op
from mlax.core.trace import aval_of, current_trace, device_constant, install_constant_builder
from mlax.ops import _hlo, elementwise
from mlax.ops._batching import batch_size, defbatch_front, shifted, to_front
from mlax.ops._rules import deflinear, defzero, is_linear

__all__ = ["full", "iota", "broadcasted_iota", "broadcast_in_dim", "broadcast", "reshape", "expand_dims", "squeeze",
           "transpose", "rev", "slice", "slice_in_dim", "concatenate", "pad"]


def _shape_error(name, message):
    return TypeError(f"mlax.{name}: {message}")


def _with(**updates):
    """An attribute adjustment for defbatch_front: each update maps (value, batch size) -> new value."""
    def adjust(attrs, size):
        for name, update in updates.items():
            attrs[name] = update(attrs[name], size)
        return attrs
    return adjust


# -- constant ---------------------------------------------------------------------------

def _constant_rule(value):
    return ShapedArray(value.shape, value.dtype)


constant_p = Op("constant", [], _constant_rule,
                lambda ctx, value: _hlo.value("stablehlo.constant", [], ctx.out_types[0],
                                              value=ctx.op.attributes["value"]),
                attrs={"value": "dense"},
                doc='An array literal held in the `value` attribute.\n\n'
                    '    %0 = "mlax.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>')


def full(shape, fill_value, dtype=None, weak_type=False):
    """An array of `shape` filled with `fill_value`."""
    shape = concrete_shape(shape)
    if dtype is None:
        aval = aval_of(fill_value)
        dtype, weak_type = aval.dtype, aval.weak_type or weak_type
    dtype = dtypes.canonicalize(dtype)
    if isinstance(fill_value, ArrayMethods):
        value = ops.convert_element_type(fill_value, dtype, weak_type)
        return broadcast_in_dim(value, shape, tuple(range(len(shape) - value.ndim, len(shape))))
    # One splat constant, not a scalar and a broadcast: fewer ops to trace, pass and compile.
    return _constant(np.broadcast_to(np.asarray(fill_value).astype(dtype), shape), weak_type)


def _constant(value, weak_type=False):
    """A constant array holding `value`, typed weak or strong: an op in the current
    trace, or an array on the default device when none is active."""
    trace = current_trace()
    aval = ShapedArray(value.shape, value.dtype, weak_type)
    if trace is None:
        return device_constant(value, aval)
    return trace.constant(value, aval)


def _emit_constant(trace, value, aval):
    """The constant op for `value` in `trace` (complex ones are built from their real and
    imaginary parts: MLIR's Python bindings cannot read complex dense attributes back)."""
    if dtypes.is_complex(aval.dtype):
        part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
        real, imag = _emit_constant(trace, np.real(value), part), _emit_constant(trace, np.imag(value), part)
        [out] = trace.emit(elementwise.complex_p, [real, imag], {}, [aval])
        return out
    [out] = trace.emit(constant_p, [], {"value": value}, [aval])
    return out


install_constant_builder(_emit_constant)
constant_p.numpy_ref = lambda value: value
constant_p.traits.add("literal")  # its result is its `value` attribute: eager runs need no kernel
defzero(constant_p)


# -- iota -------------------------------------------------------------------------------

def _iota_rule(dtype, shape, dimension):
    if not 0 <= dimension < len(shape):
        raise _shape_error("iota", f"dimension {dimension} is out of range for shape {shape}")
    return ShapedArray(shape, dtype)


iota_p = Op("iota", [], _iota_rule,
            lambda ctx, dtype, shape, dimension: _hlo.value("stablehlo.iota", [], ctx.out_types[0],
                                                            iota_dimension=dimension),
            attrs={"dtype": "dtype", "shape": "ints", "dimension": "int"},
            doc='0, 1, 2, ... counting along `dimension` of an array of `shape`.\n\n'
                '    %0 = "mlax.iota"() {dimension = 1 : i64, dtype = i32, shape = array<i64: 2, 3>}'
                ' : () -> tensor<2x3xi32>')


def iota(dtype, size):
    """0, 1, ..., size-1."""
    return iota_p(dtype=dtypes.canonicalize(dtype), shape=(int(size),), dimension=0)


def broadcasted_iota(dtype, shape, dimension):
    """Counting along `dimension` of an array of `shape`."""
    return iota_p(dtype=dtypes.canonicalize(dtype), shape=tuple(shape), dimension=int(dimension))


iota_p.numpy_ref = lambda dtype, shape, dimension: np.broadcast_to(
    np.arange(shape[dimension], dtype=dtype).reshape([-1 if i == dimension else 1 for i in range(len(shape))]),
    shape)
defzero(iota_p)
iota_p.kernel_form = "host"


# -- broadcast_in_dim -------------------------------------------------------------------

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


broadcast_in_dim_p = Op(
    "broadcast_in_dim", ["x"], _broadcast_rule,
    lambda ctx, x, shape, broadcast_dimensions: _hlo.broadcast_in_dim(x, shape, broadcast_dimensions),
    attrs={"shape": "ints", "broadcast_dimensions": "ints"},
    doc='Broadcast x into `shape`, operand dimension i going to broadcast_dimensions[i].\n\n'
        '    %1 = "mlax.broadcast_in_dim"(%x) {broadcast_dimensions = array<i64: 1>, shape = array<i64: 2, 3>}'
        ' : (tensor<3xf32>) -> tensor<2x3xf32>')


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Broadcast `operand` to `shape`, its axis i going to broadcast_dimensions[i]."""
    shape, dims = concrete_shape(shape), tuple(int(d) for d in broadcast_dimensions)
    if aval_of(operand).shape == shape and dims == tuple(range(len(shape))):
        return operand
    return broadcast_in_dim_p(operand, shape=shape, broadcast_dimensions=dims)


def broadcast(operand, sizes):
    """Add leading axes of `sizes` to operand."""
    ndim = aval_of(operand).ndim
    shape = tuple(sizes) + aval_of(operand).shape
    return broadcast_in_dim(operand, shape, tuple(range(len(sizes), len(sizes) + ndim)))


def _np_broadcast_in_dim(x, shape, broadcast_dimensions):
    expanded = np.reshape(x, [x.shape[broadcast_dimensions.index(i)] if i in broadcast_dimensions else 1
                              for i in range(len(shape))])
    return np.broadcast_to(expanded, shape)


def _broadcast_transpose(ct, x, shape, broadcast_dimensions):
    """Sum the cotangent over the axes the broadcast created or stretched."""
    stretched = [broadcast_dimensions[i] for i, size in enumerate(x.aval.shape)
                 if size == 1 and shape[broadcast_dimensions[i]] != 1]
    created = [d for d in range(len(shape)) if d not in broadcast_dimensions]
    return [ops.reshape(ops.reduce_sum(ct, tuple(sorted(created + stretched))), x.aval.shape)]


broadcast_in_dim_p.numpy_ref = _np_broadcast_in_dim
broadcast_in_dim_p.kernel_form = "broadcast"
deflinear(broadcast_in_dim_p, _broadcast_transpose)
defbatch_front(broadcast_in_dim_p, _with(shape=lambda s, b: (b,) + tuple(s),
                                         broadcast_dimensions=lambda d, b: (0,) + shifted(d)))


# -- reshape ----------------------------------------------------------------------------

def _reshape_rule(x, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise _shape_error("reshape", f"cannot reshape array of shape {x.shape} (size {x.size}) "
                                      f"into shape {tuple(new_sizes)}")
    return x.update(shape=new_sizes)


reshape_p = Op("reshape", ["x"], _reshape_rule,
               lambda ctx, x, new_sizes: _hlo.reshape(x, new_sizes),
               attrs={"new_sizes": "ints"},
               doc='The same elements in row-major order, with shape new_sizes.\n\n'
                   '    %1 = "mlax.reshape"(%x) {new_sizes = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>')


def reshape(operand, new_sizes, dimensions=None):
    """Reshape (after transposing by `dimensions` when given)."""
    if dimensions is not None:
        operand = transpose(operand, dimensions)
    new_sizes = concrete_shape(new_sizes)
    if aval_of(operand).shape == new_sizes:
        return operand
    return reshape_p(operand, new_sizes=new_sizes)


def expand_dims(operand, dimensions):
    """operand with axes of size 1 inserted at `dimensions`."""
    shape = list(aval_of(operand).shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return reshape(operand, shape)


def squeeze(operand, dimensions):
    """operand without its axes `dimensions`, which must have size 1."""
    shape = aval_of(operand).shape
    dimensions = {d % len(shape) for d in dimensions}
    for d in dimensions:
        if shape[d] != 1:
            raise ValueError(f"cannot squeeze axis {d} of size {shape[d]} in shape {shape}")
    return reshape(operand, [s for i, s in enumerate(shape) if i not in dimensions])


reshape_p.numpy_ref = lambda x, new_sizes: np.reshape(x, new_sizes)
reshape_p.kernel_form = "view"
deflinear(reshape_p, lambda ct, x, new_sizes: [ops.reshape(ct, x.aval.shape)])
defbatch_front(reshape_p, _with(new_sizes=lambda s, b: (b,) + tuple(s)))


# -- transpose --------------------------------------------------------------------------

def _transpose_rule(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise _shape_error("transpose", f"permutation {permutation} is not a permutation of the "
                                        f"axes of shape {x.shape}")
    return x.update(shape=[x.shape[p] for p in permutation])


transpose_p = Op("transpose", ["x"], _transpose_rule,
                 lambda ctx, x, permutation: _hlo.value("stablehlo.transpose", [x], ctx.out_types[0],
                                                        permutation=permutation),
                 attrs={"permutation": "ints"},
                 doc='Permute the axes: result axis i is operand axis permutation[i].\n\n'
                     '    %1 = "mlax.transpose"(%x) {permutation = array<i64: 1, 0>}'
                     ' : (tensor<2x3xf32>) -> tensor<3x2xf32>')


def transpose(operand, permutation):
    """operand with its axes permuted: result axis i is operand axis permutation[i]."""
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return operand
    return transpose_p(operand, permutation=permutation)


transpose_p.numpy_ref = lambda x, permutation: np.transpose(x, permutation)
transpose_p.kernel_form = "transpose"
deflinear(transpose_p, lambda ct, x, permutation: [ops.transpose(ct, tuple(np.argsort(permutation)))])
defbatch_front(transpose_p, _with(permutation=lambda p, b: (0,) + shifted(p)))


# -- rev --------------------------------------------------------------------------------

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


rev_p = Op("rev", ["x"], _rev_rule, _lower_rev, attrs={"dimensions": "ints"},
           doc='Reverse the order of elements along `dimensions`.\n\n'
               '    %1 = "mlax.rev"(%x) {dimensions = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>')


def rev(operand, dimensions):
    """operand reversed along `dimensions`."""
    return rev_p(operand, dimensions=tuple(int(d) for d in dimensions))


rev_p.numpy_ref = lambda x, dimensions: np.flip(x, dimensions) if dimensions else x
deflinear(rev_p, lambda ct, x, dimensions: [ops.rev(ct, dimensions)])
defbatch_front(rev_p, _with(dimensions=lambda d, b: shifted(d)))


# -- slice ------------------------------------------------------------------------------

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


slice_p = Op("slice", ["x"], _slice_rule,
             lambda ctx, x, start_indices, limit_indices, strides: _hlo.value(
                 "stablehlo.slice", [x], ctx.out_types[0], start_indices=start_indices,
                 limit_indices=limit_indices, strides=strides),
             attrs={"start_indices": "ints", "limit_indices": "ints", "strides": "ints"},
             doc='The static strided slice x[start:limit:stride] along every axis.\n\n'
                 '    %1 = "mlax.slice"(%x) {limit_indices = array<i64: 2, 3>, start_indices = array<i64: 0, 1>,'
                 ' strides = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<2x1xf32>')


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001 - JAX's name
    """The static slice operand[start:limit:stride] along every axis."""
    ndim = aval_of(operand).ndim
    strides = tuple(strides) if strides is not None else (1,) * ndim
    start, limit = tuple(int(s) for s in start_indices), tuple(int(s) for s in limit_indices)
    if start == (0,) * ndim and limit == aval_of(operand).shape and strides == (1,) * ndim:
        return operand
    return slice_p(operand, start_indices=start, limit_indices=limit, strides=tuple(int(s) for s in strides))


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """The static slice operand[start_index:limit_index:stride] along `axis`."""
    shape = aval_of(operand).shape
    start = [0] * len(shape)
    limit = list(shape)
    strides = [1] * len(shape)
    start[axis], limit[axis], strides[axis] = start_index, limit_index, stride
    return slice(operand, start, limit, strides)


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    """Put the cotangent back where the slice took it from, zeros elsewhere."""
    config = []
    for size, start, stride, count in zip(x.aval.shape, start_indices, strides, ct.shape):
        end = start + (count - 1) * stride + 1 if count else start
        config.append((start, size - end, stride - 1 if count else 0))
    return [ops.pad(ct, 0, config)]


slice_p.numpy_ref = lambda x, start_indices, limit_indices, strides: x[
    tuple(builtins.slice(a, b, c) for a, b, c in zip(start_indices, limit_indices, strides))]
slice_p.kernel_form = "slice"
deflinear(slice_p, _slice_transpose)
defbatch_front(slice_p, _with(start_indices=lambda s, b: (0,) + tuple(s), limit_indices=lambda s, b: (b,) + tuple(s),
                              strides=lambda s, b: (1,) + tuple(s)))


# -- concatenate ------------------------------------------------------------------------

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
    sizes = [x.shape[dimension] for x in xs]
    shape[dimension] = None if None in sizes else sum(sizes)  # None: a dynamic size (kernels)
    return ShapedArray(shape, first.dtype, all(x.weak_type for x in xs))


# Binary, so that MLIR's IRDL can verify it (an IRDL variadic operand list must be of one type);
# the builder makes n-ary joins a balanced tree, which StableHLO flattens again.
concatenate_p = Op("concatenate", ["lhs", "rhs"], _concatenate_rule,
                   lambda ctx, *xs, dimension: _hlo.value("stablehlo.concatenate", xs, ctx.out_types[0],
                                                          dimension=dimension),
                   attrs={"dimension": "int"},
                   doc='Join two arrays along `dimension`.\n\n'
                       '    %2 = "mlax.concatenate"(%x, %y) {dimension = 0 : i64}'
                       ' : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>')


def concatenate(operands, dimension):
    """Join arrays along `dimension` (as a balanced tree of binary joins)."""
    operands = list(operands)
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return concatenate_p(concatenate(operands[:middle], dimension), concatenate(operands[middle:], dimension),
                         dimension=int(dimension))


def _concatenate_transpose(ct, *xs, dimension):
    cts, offset = [], 0
    for x in xs:
        size = x.aval.shape[dimension]
        cts.append(ops.slice_in_dim(ct, offset, offset + size, axis=dimension) if is_linear(x) else None)
        offset += size
    return cts


concatenate_p.numpy_ref = lambda *xs, dimension: np.concatenate(xs, axis=dimension)
concatenate_p.kernel_form = "concatenate"
deflinear(concatenate_p, _concatenate_transpose)
defbatch_front(concatenate_p, _with(dimension=lambda d, b: d + 1))


# -- pad --------------------------------------------------------------------------------

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


def _lower_pad(ctx, x, v, low, high, interior):
    if _interior_padded(x):
        # IREE 3.13 folds a pad of an interior-padded value into one pad that drops the interior
        # padding (pad(pad([1, 2, 3, 4], interior=1), high=1) gave [1, 2, 3, 4, 0, 0, 0, 0], and
        # the gradient of x[1:7][::2] was wrong): a barrier keeps the two pads apart.
        x = _hlo.op("stablehlo.optimization_barrier", [x], [x.type]).result
    return _hlo.value("stablehlo.pad", [x, v], ctx.out_types[0], edge_padding_low=low, edge_padding_high=high,
                      interior_padding=interior)


def _interior_padded(value):
    producer = _hlo.defining_op(value)
    if producer is None or producer.name != "stablehlo.pad":
        return False
    return any(ir.DenseI64ArrayAttr(producer.attributes["interior_padding"]))


pad_p = Op("pad", ["x", "padding_value"], _pad_rule, _lower_pad,
           attrs={"low": "ints", "high": "ints", "interior": "ints"},
           doc='Pad with padding_value: `low`/`high` at the edges (negative crops), `interior` between elements.\n\n'
               '    %2 = "mlax.pad"(%x, %v) {high = array<i64: 0, 1>, interior = array<i64: 0, 1>,'
               ' low = array<i64: 1, 0>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<3x6xf32>')


def pad(operand, padding_value, padding_config):
    """Pad with (low, high, interior) per axis; negative low/high crop."""
    low, high, interior = zip(*padding_config) if padding_config else ((), (), ())
    padding_value = ops.convert_element_type(padding_value, aval_of(operand).dtype)
    return pad_p(operand, padding_value, low=tuple(low), high=tuple(high), interior=tuple(interior))


def _np_pad(x, padding_value, low, high, interior):
    shape = _pad_rule(ShapedArray(x.shape, x.dtype), ShapedArray((), x.dtype), low, high, interior).shape
    out = np.full([d + max(d - 1, 0) * it for d, it in zip(x.shape, interior)], padding_value, x.dtype)
    out[tuple(builtins.slice(None, None, it + 1) for it in interior)] = x
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in zip(low, high)]
    out = np.pad(out, pads, constant_values=padding_value)
    crops = tuple(builtins.slice(max(-lo, 0), max(-lo, 0) + s) for lo, s in zip(low, shape))
    return out[crops]


def _pad_transpose(ct, x, padding_value, low, high, interior):
    # Undo the edge padding (negative pads crop), then step over the interior padding.
    unpadded = ops.pad(ct, 0, [(-lo, -hi, 0) for lo, hi in zip(low, high)])
    ct_x = ops.slice(unpadded, [0] * len(low), unpadded.shape, [i + 1 for i in interior])
    ct_value = None
    if is_linear(padding_value):
        everything = ops.reduce_sum(ct, tuple(range(len(low))))
        ct_value = ops.sub(everything, ops.reduce_sum(ct_x, tuple(range(len(low)))))
    return [ct_x if is_linear(x) else None, ct_value]


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


pad_p.numpy_ref = _np_pad
deflinear(pad_p, _pad_transpose)
pad_p.batch = _batch_pad
