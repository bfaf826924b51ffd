"""Conversions between dtypes: convert_element_type (by value) and bitcast_convert_type
(by bits), elementwise.

    %1 = "mlax.convert_element_type"(%0) {new_dtype = f32} : (tensor<4xi32>) -> tensor<4xf32>
"""

import numpy as np

from mlax import ops
from mlax.core import dtypes
from mlax.core.aval import ShapedArray
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._elementwise import _entry, _h, _is_python_scalar, exporter
from mlax.ops._rules import deftranspose, defzero

__all__: list[str] = []  # the builders (mlax.ops and mlax.lax re-export them)
_export = exporter(__all__)


# -- conversions -----------------------------------------------------------------------------

def _lower_convert(ctx, x, new_dtype, weak_type=False):
    source = ctx.in_avals[0].dtype
    if new_dtype == dtypes.bool_ and source != dtypes.bool_:
        # Converting to bool means "is nonzero", not truncation of the low bit.
        return _hlo.compare(x, _hlo.full_like(x, 0), "NE")
    if dtypes.is_complex(source) and not dtypes.is_complex(new_dtype):
        x = _hlo.value("stablehlo.real", [x], ctx.in_avals[0].update(dtype=dtypes.real_dtype(source)).mlir_type())
    if new_dtype == dtypes.bfloat16 and not dtypes.is_float(source):
        return _integer_to_bfloat16(x, ctx.in_avals[0])
    if source == dtypes.bool_ and dtypes.is_float(new_dtype):
        # As a select of 1 and 0: IREE 3.13's SPIR-V code cannot convert an i1 fused into a
        # matmul (a @ eye(n), one-hot products), and a select is what the conversion means.
        return _hlo.select(x, _hlo.full_like(x, 1, new_dtype), _hlo.full_like(x, 0, new_dtype))
    converted = _hlo.value("stablehlo.convert", [x], ctx.out_types[0])
    if dtypes.is_float(source) and dtypes.is_integer(new_dtype):
        return _saturate(x, converted, new_dtype)
    return converted


def _saturate(x, converted, new_dtype):
    """Float to integer as XLA (and so JAX) converts: NaN is 0, values past the integer
    range are its ends (LLVM's conversion leaves them undefined: INT_MIN on x86)."""
    info = np.iinfo(new_dtype)
    # The range's ends as floats: -2**(bits-1) or 0, and 2**bits or 2**(bits-1), exact powers of two.
    low, high = _hlo.full_like(x, float(info.min)), _hlo.full_like(x, float(info.max) + 1.0)

    def end(value):
        return _hlo.full_like(converted, int(value))
    inside = _hlo.select(_hlo.compare(x, x, "NE"), end(0), converted)
    inside = _hlo.select(_hlo.compare(x, low, "LE"), end(info.min), inside)
    return _hlo.select(_hlo.compare(x, high, "GE"), end(info.max), inside)


def _integer_to_bfloat16(x, aval):
    """Integers (or booleans) to bfloat16 through float32, rounding to nearest even on the
    float32 bits. IREE 3.13 on a CPU without AVX-512 BF16 compiles integer -> bfloat16 (even
    split into two converts, which it folds back) to a call of __truncsfbf2 that it cannot
    link ("undefined symbol")."""
    def typed(dtype):
        return aval.update(dtype=dtype).mlir_type()

    bits = _hlo.value("stablehlo.bitcast_convert", [_hlo.value("stablehlo.convert", [x], typed(dtypes.float32))],
                      typed(dtypes.int32))
    sixteen = _hlo.full_like(bits, 16)
    lowest_kept = _h("stablehlo.and", _h("stablehlo.shift_right_logical", bits, sixteen), _hlo.full_like(bits, 1))
    rounded = _h("stablehlo.add", bits, _h("stablehlo.add", lowest_kept, _hlo.full_like(bits, 0x7FFF)))
    high = _h("stablehlo.shift_right_logical", rounded, sixteen)
    return _hlo.value("stablehlo.bitcast_convert", [_hlo.value("stablehlo.convert", [high], typed(dtypes.int16))],
                      typed(dtypes.bfloat16))


convert_element_type_p = _entry(
    "convert_element_type", ["x"], lambda x, new_dtype, weak_type=False: ShapedArray(x.shape, new_dtype, weak_type),
    _lower_convert, lambda x, new_dtype, weak_type=False: np.asarray(x).astype(new_dtype),
    attrs={"new_dtype": "dtype", "weak_type": "bool"},
    doc="Elementwise conversion to new_dtype (float to int truncates toward zero): "
        '%r = "mlax.convert_element_type"(%a) {new_dtype = i32} : (tensor<4xf32>) -> tensor<4xi32>')


@_export
def convert_element_type(x, new_dtype, weak_type=False):
    """x converted to `new_dtype` (canonicalized for the x64 setting)."""
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = aval_of(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    if _is_python_scalar(x) or isinstance(x, (np.ndarray, np.generic)):
        if dtypes.is_float(np.asarray(x).dtype) and dtypes.is_integer(new_dtype):
            x = _np_saturated(np.asarray(x), new_dtype)  # NumPy's cast leaves NaN and overflow undefined
        return ops.full(np.shape(x), x, new_dtype, weak_type=weak_type)
    return convert_element_type_p(x, new_dtype=new_dtype, weak_type=weak_type or None)


def _np_saturated(x, new_dtype):
    """NumPy floats to integers as the op converts them (_saturate): toward zero, NaN to 0, values
    past the integer range to its ends."""
    info = np.iinfo(new_dtype)
    wide = np.nan_to_num(x.astype(np.float64), nan=0.0)
    low, high = wide <= info.min, wide >= float(info.max) + 1.0
    inside = np.where(low | high, 0.0, wide).astype(new_dtype)
    return np.where(low, info.min, np.where(high, info.max, inside)).astype(new_dtype)


def _convert_jvp(ctx, primals, tangents, new_dtype, weak_type=None):
    (x,), (t,) = primals, tangents
    ans = convert_element_type_p(x, new_dtype=new_dtype, weak_type=weak_type)
    if t is None or not dtypes.is_inexact(new_dtype) or not dtypes.is_inexact(x.dtype):
        return [ans], [None]
    return [ans], [convert_element_type_p(t, new_dtype=new_dtype, weak_type=weak_type)]


convert_element_type_p.jvp = _convert_jvp
deftranspose(convert_element_type_p, lambda ct, x, new_dtype, weak_type=None: [
    convert_element_type(ct, x.aval.dtype)], linear_operands=(0,))
defbatch_elementwise(convert_element_type_p)


def _bitcast_rule(x, new_dtype):
    if np.dtype(new_dtype).itemsize != x.dtype.itemsize:
        raise TypeError(f"mlax.bitcast_convert_type: {x.dtype.name} and {np.dtype(new_dtype).name} differ in width")
    return ShapedArray(x.shape, new_dtype)


bitcast_convert_type_p = _entry(
    "bitcast_convert_type", ["x"], _bitcast_rule,
    lambda ctx, x, new_dtype: _hlo.value("stablehlo.bitcast_convert", [x], ctx.out_types[0]),
    lambda x, new_dtype: np.asarray(x).view(new_dtype), attrs={"new_dtype": "dtype"},
    doc="The bits of each element as new_dtype, of the same width: "
        '%r = "mlax.bitcast_convert_type"(%a) {new_dtype = i32} : (tensor<4xf32>) -> tensor<4xi32>')


@_export
def bitcast_convert_type(operand, new_dtype):
    """The bits of operand's elements as new_dtype. Between dtypes of one width, elementwise; to a
    narrower dtype each element's bits spread over a new last axis (lowest bits first), and to a
    wider one the last axis, whose size must be the width ratio, is joined (as in JAX)."""
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = aval_of(operand)
    old_bits, new_bits = 8 * aval.dtype.itemsize, 8 * np.dtype(new_dtype).itemsize
    if old_bits == new_bits or aval.dtype == np.bool_ or np.dtype(new_dtype) == np.bool_:
        return bitcast_convert_type_p(operand, new_dtype=new_dtype)  # (the shape rule rejects bool of other widths)
    old_unsigned, new_unsigned = np.dtype(f"uint{old_bits}"), np.dtype(f"uint{new_bits}")
    bits = bitcast_convert_type_p(operand, new_dtype=old_unsigned)
    if old_bits > new_bits:
        parts = [ops.convert_element_type(ops.shift_right_logical(bits, ops.full(aval.shape, k * new_bits, old_unsigned)),
                                          new_unsigned) for k in range(old_bits // new_bits)]
        spread = ops.concatenate([ops.reshape(p, aval.shape + (1,)) for p in parts], len(aval.shape))
        return bitcast_convert_type_p(spread, new_dtype=new_dtype)
    ratio = new_bits // old_bits
    if not aval.shape or aval.shape[-1] != ratio:
        raise ValueError(f"bitcast_convert_type from {aval.dtype.name} to {np.dtype(new_dtype).name} needs a last "
                         f"axis of {ratio} elements to join, got shape {aval.shape}")
    shape = aval.shape[:-1]
    joined = ops.full(shape, 0, new_unsigned)
    for k in range(ratio):
        part = ops.convert_element_type(ops.reshape(ops.slice_in_dim(bits, k, k + 1, axis=-1), shape), new_unsigned)
        joined = ops.bitwise_or(joined, ops.shift_left(part, ops.full(shape, k * old_bits, new_unsigned)))
    return bitcast_convert_type_p(joined, new_dtype=new_dtype)


defzero(bitcast_convert_type_p)
defbatch_elementwise(bitcast_convert_type_p)
