"""Convolutions and windowed reductions with JAX's signatures, over the op table's
conv_general_dilated and reduce_window_sum/max/min."""

import collections

import numpy as np

from mlax import ops
from mlax.core.trace import Tracer, aval_of
from mlax.ops.reduction import identity_element

ConvDimensionNumbers = collections.namedtuple("ConvDimensionNumbers", ["lhs_spec", "rhs_spec", "out_spec"])
ConvDimensionNumbers.__doc__ = """Axes of lhs (batch, feature, spatial...), rhs (output feature, input
feature, spatial...) and the output (batch, feature, spatial...)."""


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """(low, high) pairs for 'VALID', 'SAME' (an odd padding's extra at the end) or
    'SAME_LOWER' (at the start): SAME keeps ceil(size / stride) outputs per axis."""
    kind = padding.upper() if isinstance(padding, str) else padding
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise RuntimeError(f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {padding}.")
    pads = []
    for size, window, stride in zip(in_shape, window_shape, window_strides):
        total = max(0, (-(-size // stride) - 1) * stride + window - size)
        pads.append((total // 2, total - total // 2) if kind == "SAME" else (total - total // 2, total // 2))
    return pads


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """ConvDimensionNumbers from None (NCHW, OIHW, NCHW), a ConvDimensionNumbers, or three
    layout strings such as ('NHWC', 'HWIO', 'NHWC'); spatial axes are in the order of rhs's."""
    ndim = len(lhs_shape)
    if len(rhs_shape) != ndim:
        raise TypeError(f"conv_general_dilated: lhs of shape {tuple(lhs_shape)} and rhs of shape "
                        f"{tuple(rhs_shape)} must have the same rank")
    if dimension_numbers is None:
        return ConvDimensionNumbers(*[tuple(range(ndim))] * 3)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return ConvDimensionNumbers(*[tuple(int(a) for a in spec) for spec in dimension_numbers])
    if len(dimension_numbers) != 3 or not all(isinstance(s, str) for s in dimension_numbers):
        raise TypeError(f"conv_general_dilated: dimension_numbers must be None, a ConvDimensionNumbers or "
                        f"three layout strings, got {dimension_numbers!r}")
    lhs, rhs, out = dimension_numbers
    for spec, named in ((lhs, "NC"), (rhs, "OI"), (out, "NC")):
        if len(spec) != ndim or len(set(spec)) != ndim or not set(named) <= set(spec):
            raise ValueError(f"conv_general_dilated: layout {spec!r} must name each of the {ndim} axes of "
                             f"shape {tuple(lhs_shape)} once, {named[0]} and {named[1]} among them")
    spatial = [c for c in rhs if c not in "OI"]
    if set(lhs) - set("NC") != set(spatial) or set(out) - set("NC") != set(spatial):
        raise ValueError(f"conv_general_dilated: layouts {dimension_numbers} name different spatial axes")
    return ConvDimensionNumbers(*[tuple(spec.index(c) for c in named + "".join(spatial))
                                  for spec, named in ((lhs, "NC"), (rhs, "OI"), (out, "NC"))])


def _pairs(padding, where):
    pairs = [tuple(int(v) for v in p) for p in padding]
    if any(len(p) != 2 for p in pairs):
        raise TypeError(f"{where}: padding must be 'VALID', 'SAME', 'SAME_LOWER' or (low, high) pairs, "
                        f"got {padding!r}")
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1, precision=None,
                         preferred_element_type=None):
    """General n-d convolution (a cross-correlation): strided, padded, dilated and grouped."""
    lhs_shape, rhs_shape = aval_of(lhs).shape, aval_of(rhs).shape
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    spatial = len(lhs_shape) - 2
    lhs_dilation = (1,) * spatial if lhs_dilation is None else tuple(lhs_dilation)
    rhs_dilation = (1,) * spatial if rhs_dilation is None else tuple(rhs_dilation)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError("conv_general_dilated: string padding is not implemented with lhs_dilation "
                             f"{lhs_dilation} (a transposed convolution); give (low, high) pairs")
        windows = [(rhs_shape[a] - 1) * d + 1 for a, d in zip(dn.rhs_spec[2:], rhs_dilation)]
        padding = padtype_to_pads([lhs_shape[a] for a in dn.lhs_spec[2:]], windows, window_strides, padding)
    low, high = _pairs(padding, "conv_general_dilated")
    return ops.conv_general_dilated(
        lhs, rhs, window_strides=window_strides, padding_low=low, padding_high=high, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, lhs_spec=dn.lhs_spec, rhs_spec=dn.rhs_spec, out_spec=dn.out_spec,
        feature_group_count=feature_group_count, batch_group_count=batch_group_count,
        preferred_element_type=preferred_element_type)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """conv_general_dilated in the NCHW/OIHW layout, without dilation."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, precision=None,
                              preferred_element_type=None):
    """conv_general_dilated in the NCHW/OIHW layout."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, precision=precision,
                                preferred_element_type=preferred_element_type)


# computation: (reduction kind, the op's builder)
_MONOIDS = {ops.add: ("sum", ops.reduce_window_sum), ops.max: ("max", ops.reduce_window_max),
            ops.min: ("min", ops.reduce_window_min)}


def _is_identity(value, kind, dtype):
    if isinstance(value, Tracer):
        return False
    return bool(np.asarray(value) == np.asarray(identity_element(kind, dtype), dtype))


def reduce_window(operand, init_value, computation, window_dimensions, window_strides=None, padding="VALID",
                  base_dilation=None, window_dilation=None):
    """Reduce each window of operand with computation (lax.add, lax.max or lax.min), starting
    from init_value."""
    kind, reduce = _MONOIDS.get(computation, (None, None))
    if kind is None:
        raise TypeError(f"reduce_window: computation must be lax.add, lax.max or lax.min, got {computation!r}")
    aval = aval_of(operand)
    ones = (1,) * aval.ndim
    window_dimensions = tuple(int(d) for d in window_dimensions)
    window_strides = ones if window_strides is None else tuple(int(s) for s in window_strides)
    base_dilation = ones if base_dilation is None else tuple(int(d) for d in base_dilation)
    window_dilation = ones if window_dilation is None else tuple(int(d) for d in window_dilation)
    if isinstance(padding, str):
        windows = [(k - 1) * d + 1 for k, d in zip(window_dimensions, window_dilation)]
        padding = padtype_to_pads(aval.shape, windows, window_strides, padding)
    low, high = _pairs(padding, "reduce_window")
    init_aval = aval_of(init_value)
    if init_aval.shape != () or (init_aval.dtype != aval.dtype and not init_aval.weak_type):
        raise TypeError(f"reduce_window: init_value must be a scalar of the operand's dtype {aval.dtype.name}, "
                        f"got {init_aval.str_short()}")
    out = reduce(operand, window_dimensions=window_dimensions, window_strides=window_strides, padding_low=low,
                 padding_high=high, base_dilation=base_dilation, window_dilation=window_dilation)
    if _is_identity(init_value, kind, aval.dtype):
        return out
    # As in XLA, padding and holes are left out of each window, so init_value counts once.
    return computation(out, ops.full(out.shape, ops.convert_element_type(init_value, aval.dtype), aval.dtype))
