"""Elementwise ops on the make-up of numbers: floats taken apart and stepped (frexp,
ldexp, modf, nextafter), and the common divisors and multiples of integers (gcd, lcm).

Their lowerings work on a float's bits in integers of its width, or loop in integers,
where IREE's float arithmetic loses what NumPy keeps (see each lowering). Operands of an
op of two operands have equal shapes and dtypes, but for ldexp's integer exponent; every
op batches elementwise.

    %r:2 = "mlax.frexp"(%a) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi32>)
"""

import builtins
import math
from typing import Any, NamedTuple

import numpy as np

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._rules import deflinear, defzero
from mlax.ops._elementwise import (FLOAT, INTEGER, ZERO, Binary, _binary_rule, _bits_dtype, _check_dtype, _entry, _h,
                                   _ir, _like, _sign_bit, _unary_rule, check_same_shapes, define_row)

__all__ = ["frexp", "ldexp", "modf", "gcd", "lcm"]  # and nextafter, added by its row


# -- nextafter: the neighbouring float ----------------------------------------------------

def _lower_nextafter(ctx, x, y):
    """The float next to x toward y (y where they are equal; NaN where either is), stepping in
    integers ordered like the floats. IREE 3.13's chlo.next_after compares floats, which flush
    subnormals to zero on CPU: nextafter(-3e-45, 0) gave 0."""
    int_dtype = _bits_dtype(ctx.in_avals[0].dtype)
    int_type = mlir.tensor_type(_hlo.shape_of(x), int_dtype)
    lowest = _hlo.full_like(_hlo.value("stablehlo.bitcast_convert", [x], int_type), np.iinfo(int_dtype).min)

    def flip_negatives(n):  # float bits <-> their order: -0.0 and 0.0 are 0, -tiny is -1
        return _hlo.select(_hlo.compare(n, _hlo.full_like(n, 0), "LT"), _h("stablehlo.subtract", lowest, n), n)

    key_x, key_y = (flip_negatives(_hlo.value("stablehlo.bitcast_convert", [v], int_type)) for v in (x, y))
    one = _hlo.full_like(key_x, 1)
    step = _hlo.select(_hlo.compare(key_x, key_y, "LT"), _h("stablehlo.add", key_x, one),
                       _h("stablehlo.subtract", key_x, one))
    result = _hlo.value("stablehlo.bitcast_convert", [flip_negatives(step)], x.type)
    is_nan = _h("stablehlo.or", _hlo.compare(x, x, "NE"), _hlo.compare(y, y, "NE"))
    return _hlo.select(is_nan, _h("stablehlo.add", x, y), _hlo.select(_hlo.compare(key_x, key_y, "EQ"), y, result))


# One row, as in the elementwise tables: it steps to the neighbouring float, so, like
# rounding, its derivative is zero.
define_row("nextafter", Binary(_lower_nextafter, FLOAT, np.nextafter, ZERO), globals())


# -- floats taken apart: frexp, ldexp, modf ------------------------------------------------
# frexp and ldexp work on the bits in integers: IREE 3.13 flushes subnormal operands and
# results of float arithmetic to zero on CPU (1e-45 * 2 gives 0), so scaling by powers of
# two in floats loses the subnormals NumPy keeps.

class _Parts(NamedTuple):
    """A float x = sign * significand * 2**(exponent - fraction_bits), as integers of its width."""
    bits: Any             # x's bits
    sign: Any             # x's bits with all but the sign bit cleared
    significand: Any      # in [2**fraction_bits, 2**(fraction_bits + 1)): normalized, for subnormal x too
    exponent: Any         # x's unbiased exponent
    special: Any          # x is ±0, ±inf or NaN (the other parts then mean nothing)


def _float_parts(x, dtype):
    """The _Parts of float x, by integer ops only."""
    info, int_dtype = dtypes.finfo(dtype), _bits_dtype(dtype)
    fraction_bits, bias, width = info.nmant, info.maxexp - 1, 8 * np.dtype(dtype).itemsize
    bits = _hlo.value("stablehlo.bitcast_convert", [x], mlir.tensor_type(_hlo.shape_of(x), int_dtype))
    c = lambda value: _hlo.full_like(bits, value)  # noqa: E731
    magnitude = _h("stablehlo.and", bits, c(np.iinfo(int_dtype).max))
    field = _h("stablehlo.shift_right_logical", magnitude, c(fraction_bits))
    fraction = _h("stablehlo.and", magnitude, c((1 << fraction_bits) - 1))
    is_subnormal = _hlo.compare(field, c(0), "EQ")
    # The leading one of a subnormal's fraction moves to the place of the implicit bit.
    significand = _hlo.select(is_subnormal, fraction, _h("stablehlo.or", fraction, c(1 << fraction_bits)))
    shift = _h("stablehlo.subtract", _h("stablehlo.count_leading_zeros", significand), c(width - 1 - fraction_bits))
    exponent = _h("stablehlo.subtract", _h("stablehlo.subtract", _h("stablehlo.maximum", field, c(1)), c(bias)), shift)
    special = _h("stablehlo.or", _hlo.compare(magnitude, c(0), "EQ"),
                 _hlo.compare(field, c((1 << (width - 1 - fraction_bits)) - 1), "EQ"))
    return _Parts(bits, _h("stablehlo.and", bits, c(np.iinfo(int_dtype).min)),
                  _h("stablehlo.shift_left", significand, shift), exponent, special)


def _lower_frexp(ctx, x):
    """x = mantissa * 2**exponent, mantissa in [0.5, 1); (x, 0) for 0, inf and NaN."""
    dtype = ctx.in_avals[0].dtype
    info, parts = dtypes.finfo(dtype), _float_parts(x, dtype)
    c = lambda value: _hlo.full_like(parts.bits, value)  # noqa: E731
    # The mantissa keeps the sign and fraction, with the biased exponent of [0.5, 1).
    kept = _h("stablehlo.or", parts.sign, _h("stablehlo.and", parts.significand, c((1 << info.nmant) - 1)))
    mantissa_bits = _h("stablehlo.or", kept, c((info.maxexp - 2) << info.nmant))
    mantissa = _hlo.value("stablehlo.bitcast_convert", [mantissa_bits], x.type)
    exponent = _hlo.convert(_hlo.select(parts.special, c(0), _h("stablehlo.add", parts.exponent, c(1))),
                            dtypes.int32)
    return [_hlo.select(parts.special, x, mantissa), exponent]


frexp_p = _entry("frexp", ["x"], lambda x: (_unary_rule("frexp", FLOAT)(x), ShapedArray(x.shape, dtypes.int32)),
                 _lower_frexp, np.frexp, multiple_results=True, results=("mantissa", "exponent"),
                 doc="Mantissa in [0.5, 1) and int32 exponent of x, as numpy.frexp: "
                     + _ir("frexp", ["f32"], ["f32", "i32"]))


def frexp(x):
    """(mantissa, exponent), x = mantissa * 2**exponent with |mantissa| in [0.5, 1) and an int32
    exponent; exact for subnormals. jax.lax has no frexp (it is jax.numpy.frexp's)."""
    mantissa, exponent = frexp_p(x)
    return mantissa, exponent


def _frexp_jvp(ctx, primals, tangents):
    (x,), (t,) = primals, tangents
    mantissa, exponent = frexp_p(x)
    return [mantissa, exponent], [None if t is None else ldexp(t, ops.neg(exponent)), None]


frexp_p.jvp = _frexp_jvp
defbatch_elementwise(frexp_p)


def _ldexp_rule(x, n):
    check_same_shapes("ldexp", x, n)
    _check_dtype("ldexp", FLOAT, x)
    _check_dtype("ldexp", INTEGER, n)
    return x


def _lower_ldexp(ctx, x, n):
    """x * 2**n in integers, rounding subnormal results to nearest even as NumPy does."""
    dtype, n_dtype = ctx.in_avals[0].dtype, ctx.in_avals[1].dtype
    info, parts = dtypes.finfo(dtype), _float_parts(x, dtype)
    c = lambda value: _hlo.full_like(parts.bits, value)  # noqa: E731
    int_dtype, fraction_bits, infinity_field = _bits_dtype(dtype), info.nmant, 2 * info.maxexp - 1
    # 2**(4 * maxexp) takes even the smallest subnormal past the largest float: clamping n there
    # keeps the exponent sums below in range.
    limit, n_info = 4 * info.maxexp, np.iinfo(n_dtype)
    n = _hlo.value("stablehlo.clamp", [_hlo.constant(builtins.max(-limit, n_info.min), n_dtype), n,
                                       _hlo.constant(builtins.min(limit, n_info.max), n_dtype)], n.type)
    field = _h("stablehlo.add", _h("stablehlo.add", parts.exponent, _hlo.convert(n, int_dtype)), c(info.maxexp - 1))
    fraction = _h("stablehlo.and", parts.significand, c((1 << fraction_bits) - 1))
    normal = _h("stablehlo.or", parts.sign, _h("stablehlo.or", _h("stablehlo.shift_left", field, c(fraction_bits)),
                                               fraction))
    infinite = _h("stablehlo.or", parts.sign, c(infinity_field << fraction_bits))
    # A subnormal result is the significand shifted right by 1 - field, rounded half to even.
    shift = _hlo.value("stablehlo.clamp", [_hlo.constant(1, int_dtype), _h("stablehlo.subtract", c(1), field),
                                           _hlo.constant(fraction_bits + 2, int_dtype)], field.type)
    kept = _h("stablehlo.shift_right_logical", parts.significand, shift)
    rest = _h("stablehlo.and", parts.significand,
              _h("stablehlo.subtract", _h("stablehlo.shift_left", c(1), shift), c(1)))
    half = _h("stablehlo.shift_left", c(1), _h("stablehlo.subtract", shift, c(1)))
    odd = _hlo.compare(_h("stablehlo.and", kept, c(1)), c(1), "EQ")
    round_up = _h("stablehlo.or", _hlo.compare(rest, half, "GT"),
                  _h("stablehlo.and", _hlo.compare(rest, half, "EQ"), odd))
    subnormal = _h("stablehlo.or", parts.sign, _h("stablehlo.add", kept, _hlo.convert(round_up, int_dtype)))
    bits = _hlo.select(_hlo.compare(field, c(infinity_field), "GE"), infinite,
                       _hlo.select(_hlo.compare(field, c(1), "GE"), normal, subnormal))
    return _hlo.select(parts.special, x, _hlo.value("stablehlo.bitcast_convert", [bits], x.type))


def _np_ldexp(x, n):
    with np.errstate(over="ignore"):  # overflow to inf is the expected result
        return np.ldexp(x, n)


ldexp_p = _entry("ldexp", ["x", "n"], _ldexp_rule, _lower_ldexp, _np_ldexp,
                 doc="Elementwise x * 2**n for integer n, as numpy.ldexp: " + _ir("ldexp", ["f32", "i32"], ["f32"]))


def ldexp(x, n):
    """x * 2**n elementwise for an integer n, exact (subnormal results too). jax.lax has no ldexp
    (it is jax.numpy.ldexp's)."""
    return ldexp_p(x, n)


deflinear(ldexp_p, lambda ct, x, n: [ldexp(ct, n), None], linear_operands=(0,))
defbatch_elementwise(ldexp_p)


def _lower_modf(ctx, x):
    """(fractional part, integral part), both with x's sign: (-0.5, -0.0) for -0.5,
    (±0.0, ±inf) for ±inf."""
    zero = _hlo.full_like(x, 0)
    integral = _hlo.select(_hlo.compare(x, zero, "LT"), _h("stablehlo.ceil", x), _h("stablehlo.floor", x))
    is_infinite = _hlo.compare(_h("stablehlo.abs", x), _hlo.full_like(x, math.inf), "EQ")
    difference = _hlo.select(is_infinite, zero, _h("stablehlo.subtract", x, integral))
    # |x| < 1 keeps x's bits (a subnormal x survives: IREE 3.13 flushes it to 0 in a subtraction).
    fraction = _hlo.select(_hlo.compare(integral, zero, "EQ"), x, difference)
    negative = _sign_bit(x, ctx.in_avals[0].dtype)
    magnitude = _h("stablehlo.abs", fraction)
    return [_hlo.select(negative, _h("stablehlo.negate", magnitude), magnitude), integral]


modf_p = _entry("modf", ["x"], lambda x: (_unary_rule("modf", FLOAT)(x),) * 2, _lower_modf, np.modf,
                multiple_results=True, results=("fraction", "integral"),
                doc="Fractional and integral parts of x, as numpy.modf: " + _ir("modf", ["f32"], ["f32", "f32"]))


def modf(x):
    """(fractional part, integral part) of x, both with x's sign. jax.lax has no modf (it is
    jax.numpy.modf's)."""
    fraction, integral = modf_p(x)
    return fraction, integral


def _modf_jvp(ctx, primals, tangents):
    (x,), (t,) = primals, tangents
    return list(modf_p(x)), [t, None]  # the integral part is piecewise constant


modf_p.jvp = _modf_jvp
defbatch_elementwise(modf_p)


# -- gcd, lcm ------------------------------------------------------------------------------

def _full_like(v, value):
    """_hlo.full_like, unsigned v included: IREE 3.13 cannot compile some uses of an unsigned
    splat shaped like a dynamically shaped tensor ("failed to legalize operation 'tensor.dim'"),
    so those are made signed and bitcast."""
    dtype = _hlo.dtype_of(v)
    if not dtypes.is_unsigned(dtype):
        return _hlo.full_like(v, value)
    signed = _hlo.value("stablehlo.bitcast_convert", [v], mlir.tensor_type(_hlo.shape_of(v), _bits_dtype(dtype)))
    return _hlo.value("stablehlo.bitcast_convert", [_hlo.full_like(signed, value)], v.type)


def _euclid_steps(bits):
    """Lamé's bound: the most steps Euclid's algorithm takes on magnitudes up to 2**bits, the
    n with F(n + 1) <= 2**bits < F(n + 2) for Fibonacci numbers F (one step may swap a < b)."""
    smaller, larger, n = 1, 1, 0
    while larger <= 2 ** bits:
        smaller, larger, n = larger, smaller + larger, n + 1
    return n


def _gcd(x, y, dtype):
    """Euclid's algorithm on |x|, |y|, unrolled to as many steps as the dtype's width may need
    (46 for int32): elementwise ops only, which fuse into one kernel. IREE 3.13 could not compile
    a stablehlo.while here in every context: until all remainders are 0 it reduces eager kernels'
    dynamically shaped tensors ("failed to legalize unresolved target materialization"), and a
    fixed-count loop started from a computed value that other ops also read failed to partition
    ("circular dependency: input operation uses partition output")."""
    if not dtypes.is_unsigned(dtype):
        x, y = _h("stablehlo.abs", x), _h("stablehlo.abs", y)
    zeros, ones = _full_like(x, 0), _full_like(x, 1)
    a, b = x, y
    for _ in range(_euclid_steps(8 * np.dtype(dtype).itemsize)):
        done = _hlo.compare(b, zeros, "EQ")
        remainder = _h("stablehlo.remainder", a, _hlo.select(done, ones, b))
        a, b = _hlo.select(done, a, b), _hlo.select(done, b, remainder)
    # abs again: |INT_MIN| wraps to INT_MIN, whose remainders may leave a negative gcd (NumPy's 2 for gcd(6, INT_MIN)).
    return a if dtypes.is_unsigned(dtype) else _h("stablehlo.abs", a)


def _lower_lcm(ctx, x, y):
    """|x| / gcd * |y|, wrapping on overflow as NumPy's does (0 when either is 0), computed for
    signed x, y as (x / gcd) * y * sign(x) * sign(y)."""
    dtype = ctx.in_avals[0].dtype
    g = _gcd(x, y, dtype)
    product = _h("stablehlo.multiply", _h("stablehlo.divide", x, _hlo.select(
        _hlo.compare(g, _full_like(g, 0), "EQ"), _full_like(g, 1), g)), y)
    if dtypes.is_unsigned(dtype):
        return product
    return _h("stablehlo.multiply", product, _h("stablehlo.multiply", _h("stablehlo.sign", x), _h("stablehlo.sign", y)))


gcd_p = _entry("gcd", ["lhs", "rhs"], _binary_rule("gcd", INTEGER), lambda ctx, x, y: _gcd(x, y, ctx.in_avals[0].dtype),
               np.gcd, doc="Greatest common divisor of |x| and |y| (0 for two zeros): " + _ir("gcd", ["i32", "i32"],
                                                                                              ["i32"]))
lcm_p = _entry("lcm", ["lhs", "rhs"], _binary_rule("lcm", INTEGER), _lower_lcm, np.lcm,
               doc="Least common multiple of |x| and |y| (0 if either is 0): " + _ir("lcm", ["i32", "i32"], ["i32"]))


def gcd(x, y):
    """Greatest common divisor of |x| and |y| for integers (0 for two zeros). jax.lax has no gcd
    (it is jax.numpy.gcd's)."""
    return gcd_p(*_like((x, y)))


def lcm(x, y):
    """Least common multiple of |x| and |y| for integers (0 if either is 0). jax.lax has no lcm
    (it is jax.numpy.lcm's)."""
    return lcm_p(*_like((x, y)))


for _op in (gcd_p, lcm_p):
    defzero(_op)
    defbatch_elementwise(_op)
