"""Windowed ops: conv_general_dilated, and reduce_window_sum/max/min (pooling).

Both slide a window over the spatial axes of an operand padded by
`padding_low`/`padding_high` (negative: cropped), with `lhs_dilation` /
`base_dilation` holes between its elements and `rhs_dilation` /
`window_dilation` holes between the window's. The convolution's dimension
numbers are spelled as JAX's ConvDimensionNumbers: lhs_spec = (batch axis,
feature axis, spatial axes...), rhs_spec = (output feature axis, input
feature axis, spatial axes...), out_spec like lhs_spec. The builders here take
these attributes as they are; mlax.lax.conv_general_dilated and reduce_window take
JAX's arguments (padding strings, layout strings, a computation).

    %2 = "mlax.conv_general_dilated"(%0, %1) {batch_group_count = 1 : i64, feature_group_count = 1 : i64,
           lhs_dilation = array<i64: 1, 1>, lhs_spec = array<i64: 0, 3, 1, 2>, out_spec = array<i64: 0, 3, 1, 2>,
           padding_high = array<i64: 1, 1>, padding_low = array<i64: 1, 1>, rhs_dilation = array<i64: 1, 1>,
           rhs_spec = array<i64: 3, 2, 0, 1>, window_strides = array<i64: 1, 1>}
           : (tensor<8x28x28x1xf32>, tensor<3x3x1x16xf32>) -> tensor<8x28x28x16xf32>
    %3 = "mlax.reduce_window_max"(%2) {base_dilation = array<i64: 1, 1, 1, 1>,
           padding_high = array<i64: 0, 0, 0, 0>, padding_low = array<i64: 0, 0, 0, 0>,
           window_dilation = array<i64: 1, 1, 1, 1>, window_dimensions = array<i64: 1, 2, 2, 1>,
           window_strides = array<i64: 1, 2, 2, 1>} : (tensor<8x28x28x16xf32>) -> tensor<8x14x14x16xf32>
"""

import dataclasses
import itertools
import math
from typing import NamedTuple

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.ops import _hlo, structural
from mlax.ops._batching import defbatch_front, move_axis
from mlax.ops._rules import defbilinear, deflinear
from mlax.ops._elementwise import NUMERIC, _check_dtype, check_same_dtypes
from mlax.ops.reduction import identity_element

__all__ = ["conv_general_dilated", "reduce_window_sum", "reduce_window_max", "reduce_window_min"]


def window_count(size, window, stride, low, high, base_dilation, window_dilation):
    """How many window positions fit along one axis (StableHLO's rule for both ops)."""
    padded = low + high + ((size - 1) * base_dilation + 1 if size else 0)
    extent = (window - 1) * window_dilation + 1 if window else 0
    return 0 if padded <= 0 or extent > padded else (padded - extent) // stride + 1


def _ints(values):
    return tuple(int(v) for v in values)


def _padding_attr(low, high):
    return mlir.dense_attr(np.array(list(zip(low, high)), np.int64).reshape(-1, 2), np.int64)


# -- conv_general_dilated ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Conv:
    """The attributes of one conv_general_dilated."""

    window_strides: tuple
    padding_low: tuple
    padding_high: tuple
    lhs_dilation: tuple
    rhs_dilation: tuple
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple
    feature_group_count: int
    batch_group_count: int
    preferred_element_type: object = None

    def apply(self, lhs, rhs):
        return conv_general_dilated_p(lhs, rhs, **dataclasses.asdict(self))

    def geometry(self, lhs_shape, rhs_shape, out_shape):
        """Per spatial dimension: (input size, kernel size, output size)."""
        return [(lhs_shape[a], rhs_shape[b], out_shape[c])
                for a, b, c in zip(self.lhs_spec[2:], self.rhs_spec[2:], self.out_spec[2:])]


def _conv_error(message):
    return TypeError(f"mlax.conv_general_dilated: {message}")


def _conv_rule(lhs, rhs, window_strides, padding_low, padding_high, lhs_dilation, rhs_dilation, lhs_spec, rhs_spec,
               out_spec, feature_group_count, batch_group_count, preferred_element_type=None):
    check_same_dtypes("conv_general_dilated", lhs, rhs)
    _check_dtype("conv_general_dilated", NUMERIC, lhs)
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise _conv_error(f"lhs of shape {lhs.shape} and rhs of shape {rhs.shape} need one rank, at least 2")
    for name, spec in (("lhs_spec", lhs_spec), ("rhs_spec", rhs_spec), ("out_spec", out_spec)):
        if sorted(spec) != list(range(lhs.ndim)):
            raise _conv_error(f"{name} {spec} is not a permutation of the axes of shape {lhs.shape}")
    spatial = lhs.ndim - 2
    for name, values in (("window_strides", window_strides), ("padding_low", padding_low),
                         ("padding_high", padding_high), ("lhs_dilation", lhs_dilation),
                         ("rhs_dilation", rhs_dilation)):
        if len(values) != spatial:
            raise _conv_error(f"{name} {values} needs {spatial} entries, one per spatial dimension")
    if min(window_strides + lhs_dilation + rhs_dilation, default=1) < 1:
        raise _conv_error(f"window_strides {window_strides}, lhs_dilation {lhs_dilation} and "
                          f"rhs_dilation {rhs_dilation} must be positive")
    groups = feature_group_count * batch_group_count
    if feature_group_count < 1 or batch_group_count < 1 or groups > max(feature_group_count, batch_group_count):
        raise _conv_error(f"feature_group_count={feature_group_count} and batch_group_count={batch_group_count} "
                          "must be positive, and not both above 1")
    batch, features = lhs.shape[lhs_spec[0]], lhs.shape[lhs_spec[1]]
    out_features, in_features = rhs.shape[rhs_spec[0]], rhs.shape[rhs_spec[1]]
    if features != in_features * feature_group_count:
        raise _conv_error(f"lhs of shape {lhs.shape} has {features} input features, but rhs of shape {rhs.shape} "
                          f"takes {in_features} x feature_group_count={feature_group_count}")
    if out_features % groups or batch % batch_group_count:
        raise _conv_error(f"rhs of shape {rhs.shape} has {out_features} output features and lhs of shape "
                          f"{lhs.shape} a batch of {batch}: neither may leave a remainder when split into "
                          f"{groups} groups")
    shape = [0] * lhs.ndim
    shape[out_spec[0]], shape[out_spec[1]] = batch // batch_group_count, out_features
    for i, axis in enumerate(out_spec[2:]):
        shape[axis] = window_count(lhs.shape[lhs_spec[i + 2]], rhs.shape[rhs_spec[i + 2]], window_strides[i],
                                   padding_low[i], padding_high[i], lhs_dilation[i], rhs_dilation[i])
    dtype = lhs.dtype if preferred_element_type is None else preferred_element_type
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


def _lower_conv(ctx, lhs, rhs, **attrs):
    c = Conv(**attrs)
    if c.preferred_element_type is not None:
        lhs, rhs = _hlo.convert(lhs, c.preferred_element_type), _hlo.convert(rhs, c.preferred_element_type)
    positions = int(np.prod([ctx.out_avals[0].shape[a] for a in c.out_spec[2:]]))
    window = int(np.prod([ctx.in_avals[1].shape[a] for a in c.rhs_spec[2:]]))
    ungrouped = c.feature_group_count == c.batch_group_count == 1
    if ungrouped and 0 < positions < window and positions <= _MOST_DOTS:
        return _lower_conv_as_dots(ctx, lhs, rhs, c)
    rows = int(np.prod([ctx.out_avals[0].shape[a] for a in (c.out_spec[0], *c.out_spec[2:])]))
    patches_bytes = rows * window * ctx.in_avals[0].shape[c.lhs_spec[1]] * _hlo.dtype_of(lhs).itemsize
    if ungrouped and set(c.lhs_dilation) == {1} and patches_bytes <= _LARGEST_PATCHES:
        return _lower_conv_as_patches(ctx, lhs, rhs, c)
    phases = int(np.prod(c.lhs_dilation))
    if (ungrouped and set(c.window_strides) == {1} and positions and patches_bytes <= _LARGEST_PATCHES * phases
            and phases <= _MOST_PHASES and 0 not in ctx.in_avals[0].shape):
        return _lower_conv_as_phases(ctx, lhs, rhs, c)
    (lhs_b, lhs_f, *lhs_s), (rhs_o, rhs_i, *rhs_s), (out_b, out_f, *out_s) = c.lhs_spec, c.rhs_spec, c.out_spec
    numbers = ir.Attribute.parse(
        f"#stablehlo.conv<raw input_batch_dimension = {lhs_b}, input_feature_dimension = {lhs_f}, "
        f"input_spatial_dimensions = {lhs_s}, kernel_input_feature_dimension = {rhs_i}, "
        f"kernel_output_feature_dimension = {rhs_o}, kernel_spatial_dimensions = {rhs_s}, "
        f"output_batch_dimension = {out_b}, output_feature_dimension = {out_f}, "
        f"output_spatial_dimensions = {out_s}>")
    return _hlo.value("stablehlo.convolution", [lhs, rhs], ctx.out_types[0], dimension_numbers=numbers,
                      window_strides=c.window_strides, padding=_padding_attr(c.padding_low, c.padding_high),
                      lhs_dilation=c.lhs_dilation, rhs_dilation=c.rhs_dilation,
                      feature_group_count=c.feature_group_count, batch_group_count=c.batch_group_count)


# IREE 3.13 runs a convolution whose window is larger than its output (a kernel gradient's:
# 28x28 window, 3x3 output) at ~3 GFLOP/s on this machine; one dot_general per output
# position runs at ~37 (all positions' windows in one dot_general ran slower: bench_steady's
# CNN step 102 -> 51 steps/s). Past this many positions the program would grow too long.
_MOST_DOTS = 128


# IREE 3.13's direct convolutions run at 4-6 GFLOP/s here (a 3x3 conv of 32x16x32x32 by 32
# filters, stride 2: 18 ms); as one matrix product of the patches, 1.2 ms (bench_steady's CNN
# step: 38 -> 113 steps/s). A dilated input (a strided convolution's input gradient) is not
# lowered so: its patches would be mostly zeros (1.6 ms direct, 5.3 ms as patches); see
# _MOST_PHASES. The patches take the window's size times the input: past this many bytes, a
# convolution stays one.
_LARGEST_PATCHES = 256 << 20


# A dilated input with unit window strides (a strided convolution's input gradient) is
# lowered one output phase at a time: along an axis dilated by d, the outputs q, q + d,
# q + 2d, ... read the same kernel taps, those landing on input elements rather than on the
# zeros between them, so each phase is a patches product of the undilated input with part of
# the kernel (bench_steady's CNN step: the stride-2 3x3 convolution's input gradient took a
# quarter of the step as a convolution). Past this many phases, it stays a convolution.
_MOST_PHASES = 64


def _zero_padded(x, low, high, interior=None):
    """x with `low` and `high` zeros before and after along each axis (and `interior` between)."""
    interior = interior or [0] * len(low)
    shape = [lo + hi + d + (d - 1) * it for d, lo, hi, it in zip(_hlo.shape_of(x), low, high, interior)]
    dtype = _hlo.dtype_of(x)
    return _hlo.value("stablehlo.pad", [x, _hlo.constant(0, dtype)], mlir.tensor_type(shape, dtype),
                      edge_padding_low=tuple(low), edge_padding_high=tuple(high), interior_padding=tuple(interior))


def _padded_lhs(lhs, c, axes):
    """lhs padded and dilated as the convolution reads it (its spatial dimensions are `axes`)."""
    rank = len(_hlo.shape_of(lhs))
    low, high, interior = [0] * rank, [0] * rank, [0] * rank
    for axis, lo, hi, dilation in zip(axes, c.padding_low, c.padding_high, c.lhs_dilation):
        low[axis], high[axis], interior[axis] = lo, hi, dilation - 1
    return _zero_padded(lhs, low, high, interior)


def _channels_last(lhs, c):
    """lhs as (batch, spatial..., features)."""
    return _hlo.transpose(lhs, (c.lhs_spec[0], *c.lhs_spec[2:], c.lhs_spec[1]))


def _kernel_by_taps(rhs, c):
    """The kernel as (spatial..., input features, output features)."""
    return _hlo.transpose(rhs, (*c.rhs_spec[2:], c.rhs_spec[1], c.rhs_spec[0]))


def _lower_conv_as_patches(ctx, lhs, rhs, c):
    """The convolution as one matrix product (im2col): each kernel position's strided slice of
    the padded, dilated lhs, channels last, side by side along the channels, times the kernel
    as a (kernel positions x input features, output features) matrix."""
    out_aval = ctx.out_avals[0]
    dtype = _hlo.dtype_of(lhs)
    spatial = len(c.lhs_spec) - 2
    lhs = _padded_lhs(_channels_last(lhs, c), c, range(1, spatial + 1))
    padded = _hlo.shape_of(lhs)
    batch, features = padded[0], padded[-1]
    window = [ctx.in_avals[1].shape[a] for a in c.rhs_spec[2:]]
    out_sizes = [out_aval.shape[a] for a in c.out_spec[2:]]
    taps = []
    for tap in itertools.product(*(range(k) for k in window)):
        start = [0] + [t * d for t, d in zip(tap, c.rhs_dilation)] + [0]
        limit = [batch] + [a + (n - 1) * s + 1 for a, n, s in zip(start[1:], out_sizes, c.window_strides)] + [features]
        taps.append(_hlo.value("stablehlo.slice", [lhs], mlir.tensor_type([batch, *out_sizes, features], dtype),
                               start_indices=tuple(start), limit_indices=tuple(limit),
                               strides=(1, *c.window_strides, 1)))
    return _from_channels_last(_patches_product(taps, _kernel_by_taps(rhs, c)), c)


def _patches_product(pieces, kernel):
    """The slices `pieces` of a channels-last input (batch, spatial..., features), side by side
    along the channels, times `kernel` (taps..., features, outputs) as a matrix whose rows
    follow the pieces: (batch, spatial..., outputs)."""
    *sizes, features = _hlo.shape_of(pieces[0])
    dtype, outputs = _hlo.dtype_of(pieces[0]), _hlo.shape_of(kernel)[-1]
    columns = len(pieces) * features
    patches = pieces[0] if len(pieces) == 1 else _hlo.value(
        "stablehlo.concatenate", pieces, mlir.tensor_type([*sizes, columns], dtype), dimension=len(sizes))
    numbers = ir.Attribute.parse(f"#stablehlo.dot<lhs_contracting_dimensions = [{len(sizes)}], "
                                 "rhs_contracting_dimensions = [0]>")
    return _hlo.value("stablehlo.dot_general", [patches, _hlo.reshape(kernel, (columns, outputs))],
                      mlir.tensor_type([*sizes, outputs], dtype), dot_dimension_numbers=numbers)


def _from_channels_last(product, c):
    """A (batch, spatial..., outputs) result in the convolution's output layout."""
    spatial = len(c.out_spec) - 2
    source = {c.out_spec[0]: 0, c.out_spec[1]: spatial + 1}
    source.update({axis: 1 + i for i, axis in enumerate(c.out_spec[2:])})
    return _hlo.transpose(product, [source[d] for d in range(len(c.out_spec))])


class _Phase(NamedTuple):
    """The outputs q, q + d, q + 2d, ... along an axis whose input is dilated by d."""
    first: int   # the first kernel tap they read
    taps: int    # how many taps they read
    step: int    # between those taps
    start: int   # the input index their first output's first tap reads
    skip: int    # between the input indices of successive taps
    outputs: int  # how many outputs there are


def _axis_phases(size, kernel, out_size, dilation, kernel_dilation, low):
    """The phases along one axis. Tap j of output q + d*m reads input m + (q + j*r - low) / d
    where that divides (d the dilation, r the kernel's), so a phase's taps are every
    d / gcd(r, d)-th from its first."""
    step = dilation // math.gcd(kernel_dilation, dilation)
    phases = []
    for q in range(dilation):
        taps = [j for j in range(min(kernel, step)) if (q + j * kernel_dilation - low) % dilation == 0]
        first = taps[0] if taps else 0
        phases.append(_Phase(first, len(range(first, kernel, step)) if taps else 0, step,
                             (q + first * kernel_dilation - low) // dilation, step * kernel_dilation // dilation,
                             max(0, -(-(out_size - q) // dilation))))
    return phases


def _lower_conv_as_phases(ctx, lhs, rhs, c):
    """The convolution of a dilated lhs (unit window strides) as one patches product per output
    phase (see _MOST_PHASES), the phases' outputs then interleaved."""
    dtype = _hlo.dtype_of(lhs)
    spatial = len(c.lhs_spec) - 2
    x = _channels_last(lhs, c)
    batch, *sizes, features = _hlo.shape_of(x)
    kernel = _kernel_by_taps(rhs, c)
    outputs = _hlo.shape_of(kernel)[-1]
    out_sizes = [ctx.out_avals[0].shape[a] for a in c.out_spec[2:]]
    axes = [_axis_phases(*args) for args in zip(sizes, _hlo.shape_of(kernel)[:spatial], out_sizes, c.lhs_dilation,
                                                c.rhs_dilation, c.padding_low)]
    # Zeros around x wherever a phase's tap reads outside it.
    low = [max([0] + [-p.start for p in axis if p.taps and p.outputs]) for axis in axes]
    high = [max([0] + [p.start + (p.taps - 1) * p.skip + p.outputs - size for p in axis if p.taps and p.outputs])
            for axis, size in zip(axes, sizes)]
    x = _zero_padded(x, (0, *low, 0), (0, *high, 0))
    longest = [-(-n // d) for n, d in zip(out_sizes, c.lhs_dilation)]
    ones = (1,) * (spatial + 2)

    def phase(chosen):
        """One phase's outputs, zero-padded to `longest`, with a unit axis after each spatial
        one: (batch, longest[0], 1, longest[1], 1, ..., outputs)."""
        counts = [p.outputs for p in chosen]
        if not all(p.taps and p.outputs for p in chosen):
            return _hlo.constant(0, dtype, [batch, *(d for n in longest for d in (n, 1)), outputs])
        pieces = []
        for tap in itertools.product(*(range(p.taps) for p in chosen)):
            start = [0, *(lo + p.start + t * p.skip for lo, p, t in zip(low, chosen, tap)), 0]
            limit = [batch, *(a + m for a, m in zip(start[1:], counts)), features]
            pieces.append(_hlo.value("stablehlo.slice", [x], mlir.tensor_type([batch, *counts, features], dtype),
                                     start_indices=tuple(start), limit_indices=tuple(limit), strides=ones))
        sub = _hlo.value("stablehlo.slice", [kernel],
                         mlir.tensor_type([*(p.taps for p in chosen), features, outputs], dtype),
                         start_indices=(*(p.first for p in chosen), 0, 0),
                         limit_indices=(*(p.first + (p.taps - 1) * p.step + 1 for p in chosen), features, outputs),
                         strides=(*(p.step for p in chosen), 1, 1))
        product = _patches_product(pieces, sub)
        if counts != longest:
            product = _zero_padded(product, (0,) * len(ones), (0, *(n - m for n, m in zip(longest, counts)), 0))
        return _hlo.reshape(product, [batch, *(d for n in longest for d in (n, 1)), outputs])

    def interleaved(axis, chosen):
        """The phases of axes from `axis` on (those before fixed to `chosen`), side by side
        along each axis's unit axis."""
        if axis == spatial:
            return phase(chosen)
        parts = [interleaved(axis + 1, chosen + [p]) for p in axes[axis]]
        if len(parts) == 1:
            return parts[0]
        shape = list(_hlo.shape_of(parts[0]))
        shape[2 + 2 * axis] = len(parts)
        return _hlo.value("stablehlo.concatenate", parts, mlir.tensor_type(shape, dtype), dimension=2 + 2 * axis)

    merged = [n * d for n, d in zip(longest, c.lhs_dilation)]
    product = _hlo.reshape(interleaved(0, []), [batch, *merged, outputs])
    if merged != out_sizes:
        product = _hlo.value("stablehlo.slice", [product], mlir.tensor_type([batch, *out_sizes, outputs], dtype),
                             start_indices=(0,) * len(ones), limit_indices=(batch, *out_sizes, outputs), strides=ones)
    return _from_channels_last(product, c)


def _lower_conv_as_dots(ctx, lhs, rhs, c):
    """The convolution as one dot_general per output position, each contracting the
    window's slice of the padded, dilated lhs with the whole kernel."""
    (lhs_aval, rhs_aval), out_aval = ctx.in_avals, ctx.out_avals[0]
    dtype = _hlo.dtype_of(lhs)
    lhs = _padded_lhs(lhs, c, c.lhs_spec[2:])
    padded_shape = _hlo.shape_of(lhs)
    kernel = [rhs_aval.shape[a] for a in c.rhs_spec[2:]]
    numbers = ir.Attribute.parse(
        "#stablehlo.dot<lhs_contracting_dimensions = %s, rhs_contracting_dimensions = %s>"
        % ([c.lhs_spec[1]] + list(c.lhs_spec[2:]), [c.rhs_spec[1]] + list(c.rhs_spec[2:])))
    batch, features = out_aval.shape[c.out_spec[0]], out_aval.shape[c.out_spec[1]]
    out_sizes = [out_aval.shape[a] for a in c.out_spec[2:]]
    dots = []
    for position in itertools.product(*(range(n) for n in out_sizes)):
        start, limit, step = [0] * lhs_aval.ndim, list(padded_shape), [1] * lhs_aval.ndim
        for axis, p, k, stride, dilation in zip(c.lhs_spec[2:], position, kernel, c.window_strides, c.rhs_dilation):
            start[axis], limit[axis], step[axis] = p * stride, p * stride + (k - 1) * dilation + 1, dilation
        window_shape = [-(-(b - a) // s) for a, b, s in zip(start, limit, step)]
        window = _hlo.value("stablehlo.slice", [lhs], mlir.tensor_type(window_shape, dtype), start_indices=tuple(start),
                            limit_indices=tuple(limit), strides=tuple(step))
        dot = _hlo.value("stablehlo.dot_general", [window, rhs], mlir.tensor_type((batch, features), dtype),
                         dot_dimension_numbers=numbers)
        dots.append(_hlo.reshape(dot, (1, batch, features)))
    stacked = _hlo.value("stablehlo.concatenate", dots, mlir.tensor_type((len(dots), batch, features), dtype),
                         dimension=0) if len(dots) > 1 else dots[0]
    stacked = _hlo.reshape(stacked, out_sizes + [batch, features])
    spatial = len(out_sizes)
    source = {c.out_spec[0]: spatial, c.out_spec[1]: spatial + 1}
    source.update({axis: i for i, axis in enumerate(c.out_spec[2:])})
    return _hlo.transpose(stacked, [source[d] for d in range(out_aval.ndim)])


def _np_conv(lhs, rhs, **attrs):
    """Reference in the (batch, feature, spatial...) layout: one product per kernel position."""
    c = Conv(**attrs)
    x, w = np.transpose(lhs, c.lhs_spec), np.transpose(rhs, c.rhs_spec)
    if dtypes.is_float(x.dtype):
        x, w = x.astype(np.float64), w.astype(np.float64)
    spatial = x.ndim - 2
    x = structural.pad_p.numpy_ref(x, np.zeros((), x.dtype), (0, 0) + c.padding_low, (0, 0) + c.padding_high,
                                 (0, 0) + tuple(d - 1 for d in c.lhs_dilation))
    groups_b, groups_f = c.batch_group_count, c.feature_group_count
    x = x.reshape((groups_b, x.shape[0] // groups_b, groups_f, x.shape[1] // groups_f) + x.shape[2:])
    w = w.reshape((groups_b, groups_f, w.shape[0] // (groups_b * groups_f)) + w.shape[1:])
    out_sizes = [window_count(x.shape[4 + i], w.shape[4 + i], c.window_strides[i], 0, 0, 1, c.rhs_dilation[i])
                 for i in range(spatial)]
    out = np.zeros((x.shape[1], groups_b, groups_f, w.shape[2], *out_sizes), x.dtype)
    for position in itertools.product(*(range(k) for k in w.shape[4:])):
        window = x[(Ellipsis,) + tuple(slice(k * d, k * d + (n - 1) * s + 1, s) for k, d, n, s in
                                       zip(position, c.rhs_dilation, out_sizes, c.window_strides))]
        out = out + np.einsum("bngi...,bgoi->nbgo...", window, w[(Ellipsis,) + position])
    out = np.reshape(out, (x.shape[1], groups_b * groups_f * w.shape[2]) + tuple(out_sizes))
    return np.transpose(out, np.argsort(c.out_spec)).astype(c.preferred_element_type or lhs.dtype)


conv_general_dilated_p = Op(
    "conv_general_dilated", ["lhs", "rhs"], _conv_rule, _lower_conv,
    attrs={"window_strides": "ints", "padding_low": "ints", "padding_high": "ints", "lhs_dilation": "ints",
           "rhs_dilation": "ints", "lhs_spec": "ints", "rhs_spec": "ints", "out_spec": "ints",
           "feature_group_count": "int", "batch_group_count": "int", "preferred_element_type": "dtype"},
    doc='Convolve lhs with the kernel rhs (a cross-correlation, as in deep learning), grouped and dilated.\n\n'
        '    %2 = "mlax.conv_general_dilated"(%x, %w) {batch_group_count = 1 : i64, feature_group_count = 1 : i64,'
        ' lhs_dilation = array<i64: 1, 1>, lhs_spec = array<i64: 0, 3, 1, 2>, out_spec = array<i64: 0, 3, 1, 2>,'
        ' padding_high = array<i64: 1, 1>, padding_low = array<i64: 1, 1>, rhs_dilation = array<i64: 1, 1>,'
        ' rhs_spec = array<i64: 3, 2, 0, 1>, window_strides = array<i64: 1, 1>}'
        ' : (tensor<1x4x4x1xf32>, tensor<3x3x1x2xf32>) -> tensor<1x4x4x2xf32>')


def conv_general_dilated(lhs, rhs, *, window_strides, padding_low, padding_high, lhs_dilation, rhs_dilation,
                         lhs_spec, rhs_spec, out_spec, feature_group_count=1, batch_group_count=1,
                         preferred_element_type=None):
    """The convolution of lhs with the kernel rhs, its attributes spelled out (see the module
    docstring); mlax.lax.conv_general_dilated takes JAX's arguments and calls this."""
    return conv_general_dilated_p(
        lhs, rhs, window_strides=_ints(window_strides), padding_low=_ints(padding_low),
        padding_high=_ints(padding_high), lhs_dilation=_ints(lhs_dilation), rhs_dilation=_ints(rhs_dilation),
        lhs_spec=_ints(lhs_spec), rhs_spec=_ints(rhs_spec), out_spec=_ints(out_spec),
        feature_group_count=int(feature_group_count), batch_group_count=int(batch_group_count),
        preferred_element_type=None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type))


# Differentiation: conv is bilinear, and each transpose is a conv.

def _regrouped_kernel(rhs, rhs_spec, groups):
    """The kernel in (O, I, spatial...) layout with its output features regrouped as inputs and
    its inputs as outputs: [g*I + i, o, k] = rhs[g*O/groups + o, i, k], flipped along space."""
    w = ops.transpose(rhs, rhs_spec)
    out_features, in_features, spatial = w.shape[0], w.shape[1], w.shape[2:]
    w = ops.reshape(w, (groups, out_features // groups, in_features) + spatial)
    w = ops.transpose(w, (0, 2, 1) + tuple(range(3, w.ndim)))
    w = ops.reshape(w, (groups * in_features, out_features // groups) + spatial)
    return ops.rev(w, tuple(range(2, w.ndim)))


def _ungroup_batch(y, groups, lhs_spec):
    """(batch, groups*feature, spatial...) -> (groups*batch, feature, spatial...) in lhs_spec's layout."""
    batch, features, spatial = y.shape[0], y.shape[1] // groups, y.shape[2:]
    y = ops.transpose(ops.reshape(y, (batch, groups, features) + spatial), (1, 0) + tuple(range(2, y.ndim + 1)))
    return ops.transpose(ops.reshape(y, (groups * batch, features) + spatial), tuple(np.argsort(lhs_spec)))


def _conv_transpose_lhs(ct, rhs, lhs_aval, **attrs):
    """A conv of the cotangent, dilated by the strides, with the flipped kernel; the
    lhs dilation becomes the stride."""
    c = Conv(**attrs)
    low, high = [], []
    for (size, kernel, out), lo, stride, lhs_d, rhs_d in zip(
            c.geometry(lhs_aval.shape, rhs.shape, ct.shape), c.padding_low, c.window_strides,
            c.lhs_dilation, c.rhs_dilation):
        low.append((kernel - 1) * rhs_d - lo)
        high.append((size - 1) * lhs_d - (out - 1) * stride + lo)
    canonical = tuple(range(lhs_aval.ndim))
    groups = c.feature_group_count * c.batch_group_count
    transposed = Conv(window_strides=c.lhs_dilation, padding_low=tuple(low), padding_high=tuple(high),
                      lhs_dilation=c.window_strides, rhs_dilation=c.rhs_dilation, lhs_spec=c.out_spec,
                      rhs_spec=canonical, out_spec=c.lhs_spec if c.batch_group_count == 1 else canonical,
                      feature_group_count=groups, batch_group_count=1)
    result = transposed.apply(ops.convert_element_type(ct, rhs.dtype), _regrouped_kernel(rhs, c.rhs_spec, groups))
    if c.batch_group_count > 1:
        result = _ungroup_batch(result, c.batch_group_count, c.lhs_spec)
    return ops.convert_element_type(result, lhs_aval.dtype)


def _swapped(spec):
    return (spec[1], spec[0]) + tuple(spec[2:])


def _conv_transpose_rhs(ct, lhs, rhs_aval, **attrs):
    """A conv of lhs (features as the batch) with the cotangent as the kernel: strides and
    rhs dilation trade places, and feature groups become batch groups and back."""
    c = Conv(**attrs)
    high = []
    for (size, kernel, out), lo, hi, stride, lhs_d, rhs_d in zip(
            c.geometry(lhs.shape, rhs_aval.shape, ct.shape), c.padding_low, c.padding_high, c.window_strides,
            c.lhs_dilation, c.rhs_dilation):
        unused = (size - 1) * lhs_d + 1 + lo + hi - (kernel - 1) * rhs_d - 1 - (out - 1) * stride
        high.append(hi - unused)
    transposed = Conv(window_strides=c.rhs_dilation, padding_low=c.padding_low, padding_high=tuple(high),
                      lhs_dilation=c.lhs_dilation, rhs_dilation=c.window_strides, lhs_spec=_swapped(c.lhs_spec),
                      rhs_spec=_swapped(c.out_spec), out_spec=_swapped(c.rhs_spec),
                      feature_group_count=c.batch_group_count, batch_group_count=c.feature_group_count)
    return ops.convert_element_type(transposed.apply(lhs, ops.convert_element_type(ct, lhs.dtype)), rhs_aval.dtype)


# Batching: the vmapped axis joins the batch, the features or the groups.

def _fold(x, dim, axis, groups):
    """x with its vmapped axis `dim` merged into `axis` (numbered without `dim`), which is
    split as (groups, vmapped, rest)."""
    x = move_axis(x, dim, 0)
    size, shape = x.shape[0], x.shape[1:]
    split = shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1:]
    x = move_axis(ops.reshape(x, (size,) + split), 0, axis + 1)
    return ops.reshape(x, shape[:axis] + (size * shape[axis],) + shape[axis + 1:])


def _unfold(y, axis, groups, size):
    """The inverse of _fold: split `axis` as (groups, vmapped, rest), the vmapped axis first."""
    shape = y.shape
    rest = shape[axis] // (groups * size)
    y = move_axis(ops.reshape(y, shape[:axis] + (groups, size, rest) + shape[axis + 1:]), axis + 1, 0)
    return ops.reshape(y, (size,) + shape[:axis] + (groups * rest,) + shape[axis + 1:])


def _batch_conv(ctx, args, dims, **attrs):
    """lhs alone: the batch grows. rhs alone: the output features grow, group by group.
    Both: one group per example (feature groups, or batch groups when those are in use)."""
    c = Conv(**attrs)
    (lhs, rhs), (lhs_dim, rhs_dim) = args, dims
    groups = c.feature_group_count * c.batch_group_count
    if rhs_dim is None:
        size = lhs.shape[lhs_dim]
        out = c.apply(_fold(lhs, lhs_dim, c.lhs_spec[0], c.batch_group_count), rhs)
        return [_unfold(out, c.out_spec[0], 1, size)], [0]
    size = rhs.shape[rhs_dim]
    if lhs_dim is None:
        out = c.apply(lhs, _fold(rhs, rhs_dim, c.rhs_spec[0], groups))
        return [_unfold(out, c.out_spec[1], groups, size)], [0]
    rhs = _fold(rhs, rhs_dim, c.rhs_spec[0], 1)
    if c.batch_group_count > 1:
        lhs = _fold(lhs, lhs_dim, c.lhs_spec[0], 1)
        c = dataclasses.replace(c, batch_group_count=size * c.batch_group_count)
    else:
        lhs = _fold(lhs, lhs_dim, c.lhs_spec[1], 1)
        c = dataclasses.replace(c, feature_group_count=size * c.feature_group_count)
    return [_unfold(c.apply(lhs, rhs), c.out_spec[1], 1, size)], [0]


conv_general_dilated_p.numpy_ref = _np_conv
defbilinear(conv_general_dilated_p, _conv_transpose_lhs, _conv_transpose_rhs)
conv_general_dilated_p.batch = _batch_conv


# -- reduce_window_sum, reduce_window_max, reduce_window_min ------------------------------

@dataclasses.dataclass(frozen=True)
class Window:
    """The attributes of one reduce_window op."""

    window_dimensions: tuple
    window_strides: tuple
    padding_low: tuple
    padding_high: tuple
    base_dilation: tuple
    window_dilation: tuple

    def out_shape(self, shape):
        return tuple(window_count(*args) for args in zip(shape, *dataclasses.astuple(self)))

    def unpadded(self):
        """The same windows over the operand once padded and dilated."""
        ndim = len(self.window_dimensions)
        return dataclasses.replace(self, padding_low=(0,) * ndim, padding_high=(0,) * ndim, base_dilation=(1,) * ndim)

    def slices(self, shape):
        """For each position in the window: the strided slice (start, limit, stride) of the
        padded, dilated operand that the position visits over all windows."""
        out = self.out_shape(shape)
        for position in itertools.product(*(range(k) for k in self.window_dimensions)):
            starts = [k * d for k, d in zip(position, self.window_dilation)]
            yield starts, [s + (n - 1) * t + 1 for s, n, t in zip(starts, out, self.window_strides)]


def _window_rule(name):
    def rule(x, window_dimensions, window_strides, padding_low, padding_high, base_dilation, window_dilation):
        _check_dtype(name, NUMERIC, x)
        w = Window(window_dimensions, window_strides, padding_low, padding_high, base_dilation, window_dilation)
        for field, values in dataclasses.asdict(w).items():
            if len(values) != x.ndim:
                raise TypeError(f"mlax.{name}: {field} {values} needs {x.ndim} entries for an operand of "
                                f"shape {x.shape}")
        if min(window_dimensions + window_strides + base_dilation + window_dilation, default=1) < 1:
            raise TypeError(f"mlax.{name}: window_dimensions {window_dimensions}, window_strides "
                            f"{window_strides} and the dilations must be positive")
        return x.update(shape=w.out_shape(x.shape))
    return rule


def _covered(x, init, w, shape):
    """x and w, or, where IREE 3.13 fails to compile them, x padded and dilated explicitly
    (stablehlo.pad) and cut to the extent the windows cover (stablehlo.slice), with w's
    padding and base dilation dropped: the same windows. Two bugs of IREE 3.13's lowering:
    - One window position along an axis (output size 1) of a longer padded operand, e.g. a
      (1, 2) window with strides (1, 2) over a (2, 3) array: the pooling linalg.generic reads
      the operand at o * stride + k; iree-dispatch-creation-fold-unit-extent-dims drops the
      unit o, leaving k alone, whose extent linalg then takes from the operand (3) against
      the window's (2): "'linalg.generic' op inferred input/output operand #1 has shape's
      dimension #0 to be 3, but found 2". Cut to the window, the two agree.
    - A window as long as the operand along one axis (1 along the others), stride 1, padded
      n - 1 on one side and not 0 on the other: ScanOpConversion (iree-stablehlo-to-linalg-ext)
      takes it for a cumulative scan, drops the other side's padding and returns the
      operand's size ("type of return operand 0 ('tensor<2xf32>') doesn't match function
      result type ('tensor<4xf32>')"). Without padding attributes it never matches.
    Other windows (most pooling) are left as they are."""
    out = w.out_shape(shape)
    padded = [lo + hi + ((n - 1) * b + 1 if n else 0)
              for n, lo, hi, b in zip(shape, w.padding_low, w.padding_high, w.base_dilation)]
    covered = [(o - 1) * s + (k - 1) * d + 1
               for o, k, s, d in zip(out, w.window_dimensions, w.window_strides, w.window_dilation)]
    one_window = any(o == 1 and c < p for o, c, p in zip(out, covered, padded))
    # (Looser than ScanOpConversion's match: any whole-operand window padded on both sides.)
    scan = any(k == n > 1 and lo and hi for k, n, lo, hi in zip(w.window_dimensions, shape, w.padding_low,
                                                                w.padding_high))
    if 0 in out or not (one_window or scan):
        return x, w
    dtype, unpadded = _hlo.dtype_of(x), w.unpadded()
    if w != unpadded:
        x = _hlo.value("stablehlo.pad", [x, init], mlir.tensor_type(padded, dtype), edge_padding_low=w.padding_low,
                       edge_padding_high=w.padding_high, interior_padding=tuple(b - 1 for b in w.base_dilation))
    if covered != padded:
        x = _hlo.value("stablehlo.slice", [x], mlir.tensor_type(covered, dtype), start_indices=(0,) * len(shape),
                       limit_indices=tuple(covered), strides=(1,) * len(shape))
    return x, unpadded


def _lower_window(kind, combiner):
    def lower(ctx, x, **attrs):
        dtype = ctx.in_avals[0].dtype
        init = _hlo.constant(identity_element(kind, dtype), dtype)
        x, w = _covered(x, init, Window(**attrs), ctx.in_avals[0].shape)
        operation = _hlo.op("stablehlo.reduce_window", [x, init],
                            ctx.out_types, {"window_dimensions": w.window_dimensions,
                                            "window_strides": w.window_strides,
                                            "base_dilations": w.base_dilation,
                                            "window_dilations": w.window_dilation,
                                            "padding": _padding_attr(w.padding_low, w.padding_high)}, regions=1)
        _hlo.scalar_region(operation, 0, [dtype, dtype], _hlo.binary(combiner))
        return operation.result
    return lower


def _np_window(kind, ufunc):
    def reference(x, **attrs):
        w, init = Window(**attrs), np.asarray(identity_element(kind, x.dtype), x.dtype)
        x = structural.pad_p.numpy_ref(x, init, w.padding_low, w.padding_high, [d - 1 for d in w.base_dilation])
        unpadded = w.unpadded()
        out = np.full(unpadded.out_shape(x.shape), init)
        for starts, limits in unpadded.slices(x.shape):
            out = ufunc(out, x[tuple(slice(*s) for s in zip(starts, limits, w.window_strides))])
        return out
    return reference


WINDOW_ATTRS = {"window_dimensions": "ints", "window_strides": "ints", "padding_low": "ints",
                "padding_high": "ints", "base_dilation": "ints", "window_dilation": "ints"}


def _window_reduction(kind, combiner, ufunc):
    """The entry reduce_window_<kind> and its builder: reduce each window by the StableHLO
    op `combiner`, padding with the reduction's identity."""
    name = f"reduce_window_{kind}"
    op = Op(name, ["x"], _window_rule(name), _lower_window(kind, combiner), attrs=WINDOW_ATTRS,
            doc=f"The {kind} of each window of x (padding is {kind}'s identity).\n\n"
                f'    %1 = "mlax.{name}"(%x) {{base_dilation = array<i64: 1, 1>, padding_high = array<i64: 0, 0>,'
                f' padding_low = array<i64: 0, 0>, window_dilation = array<i64: 1, 1>,'
                f' window_dimensions = array<i64: 2, 2>, window_strides = array<i64: 2, 2>}}'
                f' : (tensor<4x4xf32>) -> tensor<2x2xf32>')

    def builder(operand, *, window_dimensions, window_strides, padding_low, padding_high, base_dilation,
                window_dilation):
        return op(operand, window_dimensions=_ints(window_dimensions), window_strides=_ints(window_strides),
                  padding_low=_ints(padding_low), padding_high=_ints(padding_high), base_dilation=_ints(base_dilation),
                  window_dilation=_ints(window_dilation))
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (f"The {kind} of each window of operand, its attributes spelled out; mlax.lax.reduce_window "
                       "takes JAX's arguments and calls this.")

    op.numpy_ref = _np_window(kind, ufunc)
    defbatch_front(op, lambda attrs, size: {attr: (0 if attr.startswith("padding") else 1,) + values
                                            for attr, values in attrs.items()})
    return op, builder


def _window_sum_transpose(ct, x, **attrs):
    """Each input element gets the cotangents of the windows it is in: the cotangent spread
    out by the strides and padded (pad), then summed over windows (reduce_window_sum)."""
    w = Window(**attrs)
    if 0 in ct.shape:  # no windows: no element is in one (and the padding below would not fit)
        return [ops.full(x.aval.shape, 0, x.aval.dtype)]
    config = []
    for size, out, k, stride, lo, base, dilation in zip(x.aval.shape, ct.shape, w.window_dimensions,
                                                        w.window_strides, w.padding_low, w.base_dilation,
                                                        w.window_dilation):
        config.append(((k - 1) * dilation - lo, (size - 1) * base - (out - 1) * stride + lo, stride - 1))
    ones, zeros = (1,) * len(config), (0,) * len(config)
    return [reduce_window_sum_p(ops.pad(ct, 0, config), window_dimensions=w.window_dimensions,
                                window_strides=w.base_dilation, padding_low=zeros, padding_high=zeros,
                                base_dilation=ones, window_dilation=w.window_dilation)]


reduce_window_sum_p, reduce_window_sum = _window_reduction("sum", "stablehlo.add", np.add)
deflinear(reduce_window_sum_p, _window_sum_transpose)


def _patches(x, fill, w):
    """The elements each window position visits, stacked: (window size, *output shape)."""
    padded = ops.pad(x, fill, list(zip(w.padding_low, w.padding_high, [d - 1 for d in w.base_dilation])))
    out_shape = w.out_shape(x.shape)
    unpadded = w.unpadded()
    return ops.concatenate([ops.reshape(ops.slice(padded, starts, limits, w.window_strides), (1,) + out_shape)
                            for starts, limits in unpadded.slices(padded.shape)], 0)


def _window_extremum_jvp(op, kind):
    """The tangent of the element each window picks (the first one on ties): a one-hot
    selection among the window's tangents, built of ops with rules of their own."""
    def jvp(ctx, primals, tangents, **attrs):
        (x,), (t,) = primals, tangents
        ans = op(x, **attrs)
        if t is None or 0 in ans.shape:  # no windows: nothing to pick (nor patches to slice)
            return [ans], [None]
        w = Window(**attrs)
        values = _patches(x, identity_element(kind, x.dtype), w)
        pick = (ops.argmax if kind == "max" else ops.argmin)(values, 0, dtypes.int32)
        chosen = ops.eq(ops.broadcasted_iota(dtypes.int32, values.shape, 0),
                        ops.broadcast_in_dim(pick, values.shape, tuple(range(1, values.ndim))))
        return [ans], [ops.reduce_sum(ops.mul(_patches(t, 0, w), ops.convert_element_type(chosen, t.dtype)), (0,))]
    return jvp


reduce_window_max_p, reduce_window_max = _window_reduction("max", "stablehlo.maximum", np.maximum)
reduce_window_max_p.jvp = _window_extremum_jvp(reduce_window_max_p, "max")

reduce_window_min_p, reduce_window_min = _window_reduction("min", "stablehlo.minimum", np.minimum)
reduce_window_min_p.jvp = _window_extremum_jvp(reduce_window_min_p, "min")
