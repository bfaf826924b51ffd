"""Elementwise ops that the tables of ops/elementwise.py cannot state: the Hurwitz zeta
function (differentiable in q only: a rule per operand, so that a derivative in x raises
where JAX's does) and reduce_precision (rounding to a narrower float format given by
attributes; linear, as in JAX: its tangent and cotangent are rounded alike). Both batch
elementwise.

    %r = "mlax.zeta"(%x, %q) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %s = "mlax.reduce_precision"(%x) {exponent_bits = 5 : i64, mantissa_bits = 10 : i64}
           : (tensor<4xf32>) -> tensor<4xf32>
"""

import math
from fractions import Fraction

import numpy as np

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._elementwise import FLOAT, _binary_rule, _bits_dtype, _entry, _h, _ir, _like, _unary_rule, exporter
from mlax.ops._rules import defjvp, deflinear
from mlax.ops.elementwise import _lower_pow

__all__: list[str] = []  # the builders (mlax.ops and mlax.lax re-export them)
_export = exporter(__all__)


# -- zeta -----------------------------------------------------------------------------------

def _np_zeta(x, q):
    from scipy import special  # tests only: numpy has no zeta

    return special.zeta(x, q).astype(x.dtype)


def _bernoulli(n):
    """The Bernoulli number B_n (B_1 = -1/2), exactly."""
    numbers = [Fraction(1)]
    for m in range(1, n + 1):
        numbers.append(-sum(math.comb(m + 1, k) * numbers[k] for k in range(m)) / (m + 1))
    return numbers[n]


# B_2k / (2k)! for k = 1..12: the Euler-Maclaurin correction terms of the zeta sum.
_EULER_MACLAURIN = [float(_bernoulli(2 * k) / math.factorial(2 * k)) for k in range(1, 13)]
_DIRECT_TERMS = 10  # terms summed directly before the Euler-Maclaurin tail


def _lower_zeta(ctx, x, q):
    """XLA's algorithm, so that values agree with JAX's: the first ten terms (q + n)**-x summed,
    then the Euler-Maclaurin tail at a = q + 10 to twelve Bernoulli terms (Horner's rule); NaN
    for x < 1 and for q <= 0 with a non-integer x; at the poles q = 0, -1, ... inf for even x,
    NaN otherwise; inf for x = 1 (the harmonic series), and NaN for infinite x. Powers of
    negative bases take elementwise pow's lowering (IREE 3.13's gives NaN there); float16 and
    bfloat16 are computed in float32."""
    dtype = ctx.in_avals[0].dtype
    if dtype in (dtypes.float16, dtypes.bfloat16):
        wide = [_hlo.convert(v, dtypes.float32) for v in (x, q)]
        return _hlo.convert(_zeta_value(ctx, *wide), dtype)
    return _zeta_value(ctx, x, q)


def _zeta_value(ctx, x, q):
    def c(value):
        return _hlo.full_like(x, value)

    def power(base, exponent):
        return _lower_pow(ctx, base, exponent)
    minus_x = _h("stablehlo.negate", x)
    a, initial = q, power(q, minus_x)
    for _ in range(_DIRECT_TERMS - 1):
        a = _h("stablehlo.add", a, c(1.0))
        initial = _h("stablehlo.add", initial, power(a, minus_x))
    a = _h("stablehlo.add", a, c(1.0))
    last = power(a, minus_x)
    s = _h("stablehlo.add", initial, _h("stablehlo.divide", _h("stablehlo.multiply", last, a),
                                         _h("stablehlo.subtract", x, c(1.0))))
    inverse_square = _h("stablehlo.divide", c(1.0), _h("stablehlo.multiply", a, a))
    horner = c(0.0)
    for k in range(12, 1, -1):  # the rising factorial x (x + 1) ... (x + 2k - 2) grows by two factors a term
        factor = _h("stablehlo.multiply", _h("stablehlo.add", x, c(2.0 * k - 2)), _h("stablehlo.add", x, c(2.0 * k - 3)))
        horner = _h("stablehlo.multiply", _h("stablehlo.multiply", factor, inverse_square),
                    _h("stablehlo.add", horner, c(_EULER_MACLAURIN[k - 1])))
    tail = _h("stablehlo.multiply", _h("stablehlo.divide", x, a), _h("stablehlo.add", c(_EULER_MACLAURIN[0]), horner))
    s = _h("stablehlo.add", s, _h("stablehlo.multiply", last, _h("stablehlo.add", c(0.5), tail)))
    integral_x = _hlo.compare(x, _h("stablehlo.floor", x), "EQ")
    nonpositive_q = _hlo.compare(q, c(0.0), "LE")
    out = _hlo.select(_h("stablehlo.or", _hlo.compare(x, c(1.0), "LT"),
                         _h("stablehlo.and", nonpositive_q, _h("stablehlo.not", integral_x))), c(math.nan), s)
    even_x = _h("stablehlo.and", integral_x, _hlo.compare(_h("stablehlo.remainder", x, c(2.0)), c(0.0), "EQ"))
    pole = _h("stablehlo.and", nonpositive_q, _hlo.compare(q, _h("stablehlo.floor", q), "EQ"))
    out = _hlo.select(pole, _hlo.select(even_x, c(math.inf), c(math.nan)), out)
    return _hlo.select(_hlo.compare(x, c(1.0), "EQ"), c(math.inf), out)  # the harmonic series


zeta_p = _entry("zeta", ["x", "q"], _binary_rule("zeta", FLOAT), _lower_zeta, _np_zeta,
                doc="The Hurwitz zeta function sum_n (n + q)**-x: " + _ir("zeta", ["f32", "f32"], ["f32"]))


@_export
def zeta(x, q):
    """The Hurwitz zeta function: the sum over n >= 0 of (n + q)**-x (NaN for x < 1, inf at x = 1).
    Differentiable in q (-x zeta(x + 1, q)); JAX differentiates it in neither argument."""
    return zeta_p(*_like((x, q)))


def _zeta_x_partial(t, ans, x, q):
    raise NotImplementedError("mlax.lax.zeta: the derivative with respect to x is not implemented")


defjvp(zeta_p, _zeta_x_partial,
       lambda t, ans, x, q: ops.mul(t, ops.neg(ops.mul(x, zeta(ops.add(x, ops.full(x.shape, 1, x.dtype)), q)))))
defbatch_elementwise(zeta_p)


# -- reduce_precision -------------------------------------------------------------------------

def _reduce_precision_rule(x, exponent_bits, mantissa_bits):
    if exponent_bits < 1 or mantissa_bits < 0:
        raise ValueError(f"mlax.reduce_precision: exponent_bits must be at least 1 and mantissa_bits at least 0, "
                         f"got {exponent_bits} and {mantissa_bits}")
    return _unary_rule("reduce_precision", FLOAT)(x)


def _lower_reduce_precision(ctx, x, exponent_bits, mantissa_bits):
    """XLA's algorithm on the bits of x, as integers of its width (IREE 3.13 cannot compile
    stablehlo.reduce_precision of a dynamically shaped tensor): round the mantissa to nearest
    even by adding a bias and truncating (a carry may raise the exponent), then send exponents
    above the narrow format's range to infinity and those at or below its normal range to zero,
    keeping the sign; NaN stays NaN."""
    dtype = ctx.in_avals[0].dtype
    info, int_dtype = dtypes.finfo(dtype), _bits_dtype(dtype)
    fraction, width = info.nmant, 8 * np.dtype(dtype).itemsize
    exponent = width - 1 - fraction
    bits = _hlo.value("stablehlo.bitcast_convert", [x], mlir.tensor_type(_hlo.shape_of(x), int_dtype))

    def c(value):  # an integer of the width of x's bits, given as an unsigned pattern
        return _hlo.full_like(bits, np.array(value, np.uint64).astype(f"u{width // 8}").view(int_dtype))
    if mantissa_bits < fraction:
        dropped = fraction - mantissa_bits
        last = 1 << dropped
        odd = _h("stablehlo.shift_right_logical", _h("stablehlo.and", bits, c(last)), c(dropped))
        bits = _h("stablehlo.add", bits, _h("stablehlo.add", odd, c((last >> 1) - 1)))
        bits = _h("stablehlo.and", bits, c((1 << width) - last))
    if exponent_bits < exponent:
        field_mask = ((1 << exponent) - 1) << fraction
        bias, narrow_bias = (1 << (exponent - 1)) - 1, (1 << (exponent_bits - 1)) - 1
        field = _h("stablehlo.and", bits, c(field_mask))
        sign = _h("stablehlo.and", bits, c(1 << (width - 1)))
        # The field compared as a non-negative integer: it holds no sign bit.
        overflows = _hlo.compare(field, c((bias + narrow_bias) << fraction), "GT")
        underflows = _hlo.compare(field, c((bias - narrow_bias) << fraction), "LE")
        bits = _hlo.select(overflows, _h("stablehlo.or", sign, c(field_mask)), _hlo.select(underflows, sign, bits))
    rounded = _hlo.value("stablehlo.bitcast_convert", [bits], x.type)
    return _hlo.select(_hlo.compare(x, x, "NE"), x, rounded)


def _np_reduce_precision(x, exponent_bits, mantissa_bits):
    """Round to nearest even at mantissa_bits, then overflow to infinity and flush what lies
    below the narrow format's normal range to zero, on the bits of x; NaN stays NaN."""
    info, kind = dtypes.finfo(x.dtype), np.dtype(f"u{x.dtype.itemsize}")
    bits, width = x.view(kind).astype(np.uint64), 8 * x.dtype.itemsize
    fraction, exponent = info.nmant, width - 1 - info.nmant
    if mantissa_bits < fraction:
        dropped = fraction - mantissa_bits
        last = np.uint64(1) << np.uint64(dropped)
        bias = (bits & last) >> np.uint64(dropped)
        bits = (bits + bias + (last >> np.uint64(1)) - np.uint64(1)) & ~(last - np.uint64(1))
    if exponent_bits < exponent:
        field = np.uint64(((1 << exponent) - 1) << fraction)
        largest = ((1 << (exponent - 1)) - 1) + ((1 << (exponent_bits - 1)) - 1)
        smallest = ((1 << (exponent - 1)) - 1) - ((1 << (exponent_bits - 1)) - 1)
        sign = bits & np.uint64(1 << (width - 1))
        bits = np.where((bits & field) > np.uint64(largest << fraction), sign | field,
                        np.where((bits & field) <= np.uint64(smallest << fraction), sign, bits))
    out = (bits & np.uint64((1 << width) - 1)).astype(kind).view(x.dtype)
    return np.where(np.isnan(x), x, out)


reduce_precision_p = _entry("reduce_precision", ["x"], _reduce_precision_rule, _lower_reduce_precision,
                            _np_reduce_precision, attrs={"exponent_bits": "int", "mantissa_bits": "int"},
                            doc="x rounded to a float format of exponent_bits and mantissa_bits: "
                                + _ir("reduce_precision", ["f32"], ["f32"]).replace(
                                    '(%a)', '(%a) {exponent_bits = 5 : i64, mantissa_bits = 10 : i64}'))


@_export
def reduce_precision(operand, exponent_bits, mantissa_bits):
    """operand rounded (to nearest even) to a float format with exponent_bits exponent and
    mantissa_bits mantissa bits, in its own dtype: too large becomes infinity, below the
    format's normal range zero. Linear: tangents and cotangents are rounded alike."""
    return reduce_precision_p(operand, exponent_bits=int(exponent_bits), mantissa_bits=int(mantissa_bits))


deflinear(reduce_precision_p, lambda ct, x, exponent_bits, mantissa_bits: [
    reduce_precision(ct, exponent_bits, mantissa_bits)])
defbatch_elementwise(reduce_precision_p)
