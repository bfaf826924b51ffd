"""Elementwise ops: math functions, arithmetic, comparisons, complex parts, select, clamp.

Operands of an op of several operands have equal shapes (and, but for select's
predicate, equal dtypes): broadcasting and promotion happen in
mlax.numpy, as in jax.lax. Most ops are one row of a table (UNARY, BINARY,
COMPARISONS) that says everything about the op: its StableHLO lowering, the
dtypes it accepts, its NumPy reference, its derivative and, where JAX's lax
name differs from the op's, the builder's name; one loop turns each row into
the entry `<name>_p` and its builder. An op with rules of its own is one
block, top to bottom: entry, builder, differentiation, batching. Every op
batches elementwise.

    %2 = "mlax.mul"(%0, %1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
"""

import builtins
import math
from fractions import Fraction

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._elementwise import (ANY, COMPLEX, FLOAT, INEXACT, INTEGER, INTEGRAL, NUMERIC, SIGNED, ZERO, Binary,
                                   Linear, Unary, _binary_rule, _boolean, _entry, _h, _ir, _like,
                                   _lower_as, _sign_bit, _unary_rule, check_same_dtypes, check_same_shapes,
                                   define_row, exporter)
from mlax.ops._rules import add_tangents, defbilinear, defjvp, deflinear, deftranspose, is_linear
from mlax.ops.conversion import _integer_to_bfloat16

__all__: list[str] = []  # the builders (mlax.ops and mlax.lax re-export them)
_export = exporter(__all__)

# -- unary math ---------------------------------------------------------------------------

def _lower_sign(ctx, x):
    """sign; StableHLO's sign rejects unsigned integers, whose sign is x != 0."""
    dtype = ctx.in_avals[0].dtype
    if dtypes.is_unsigned(dtype):  # clamp to [0, 1], with scalar bounds (any shape, even dynamic)
        return _hlo.value("stablehlo.clamp", [_hlo.constant(0, dtype), x, _hlo.constant(1, dtype)], x.type)
    return _h("stablehlo.sign", x)


def _lower_exp2(ctx, x):
    return _h("stablehlo.exponential", _h("stablehlo.multiply", x, _hlo.full_like(x, math.log(2.0))))


def _lower_digamma(ctx, x):
    """chlo.digamma for x >= 0.5; below, the reflection digamma(1 - x) - pi / tan(pi * x) with
    tan taken of pi r, r being x's distance to the nearest integer (exact), which keeps its
    precision next to the poles (chlo's gave -5.04e7 at -1e-10, not 1e10); NaN at
    the poles 0, -1, -2, ..., as in JAX."""
    half = _hlo.full_like(x, 0.5)
    reflected = _hlo.compare(x, half, "LT")
    direct = _h("chlo.digamma", _hlo.select(reflected, _h("stablehlo.subtract", _hlo.full_like(x, 1.0), x), x))
    r = _h("stablehlo.subtract", x, _h("stablehlo.round_nearest_even", x))
    angle = _h("stablehlo.multiply", r, _hlo.full_like(x, math.pi))
    # (IREE's own f32 sine is off by ~6e-8 absolute next to 0: _lower_trig's tangent is not.)
    pi_cotangent = _h("stablehlo.divide", _hlo.full_like(x, math.pi), _lower_trig(ctx, angle, "tan"))
    result = _hlo.select(reflected, _h("stablehlo.subtract", direct, pi_cotangent), direct)
    pole = _h("stablehlo.and", _hlo.compare(x, _hlo.full_like(x, 0.0), "LE"),
              _hlo.compare(r, _hlo.full_like(x, 0.0), "EQ"))
    return _hlo.select(pole, _hlo.full_like(x, math.nan), result)


def _lower_cbrt(ctx, x):
    """Cube root. IREE 3.13 gives NaN for ±inf and cannot compile float64 cbrt, so
    float64 takes |x|^(1/3) with the sign, refined by one Newton step."""
    if ctx.in_avals[0].dtype != dtypes.float64:
        return _hlo.select(_hlo.value("stablehlo.is_finite", [x], _hlo.compare(x, x, "EQ").type),
                           _h("stablehlo.cbrt", x), x)
    magnitude = _h("stablehlo.abs", x)
    guess = _h("stablehlo.power", magnitude, _hlo.full_like(x, 1 / 3))
    square_ = _h("stablehlo.multiply", guess, guess)
    correction = _h("stablehlo.divide", _h("stablehlo.subtract", _h("stablehlo.multiply", square_, guess), magnitude),
                    _h("stablehlo.multiply", square_, _hlo.full_like(x, 3.0)))
    # Newton's step is undefined at 0 and infinity, where the guess is already exact.
    exact = _h("stablehlo.or", _hlo.compare(magnitude, _hlo.full_like(x, 0), "EQ"),
               _hlo.compare(magnitude, _hlo.full_like(x, math.inf), "EQ"))
    root = _hlo.select(exact, guess, _h("stablehlo.subtract", guess, correction))
    return _hlo.select(_hlo.compare(x, _hlo.full_like(x, 0), "LT"), _h("stablehlo.negate", root), root)


def _np_vectorized(fn):
    vectorized = np.vectorize(fn, otypes=[np.float64])
    return lambda x: vectorized(np.asarray(x, np.float64)).astype(np.asarray(x).dtype)


def _np_scipy_special(name):
    def ref(*args):
        from scipy import special  # tests only: numpy has no erfinv, digamma, polygamma

        return getattr(special, name)(*args)
    return ref


def _one_minus_square(x):
    return ops.sub(ops.full(x.shape, 1, x.dtype), ops.mul(x, x))


_SQRT_PI = math.sqrt(math.pi)

# -- sin, cos, tan of 32-bit and narrower floats ------------------------------------------
# IREE 3.13's float32 sine and cosine lose accuracy away from 0 (sin(1e5) is 8 % off,
# sin(1e30) is -inf) and relative accuracy near their zeros. These reduce x modulo pi/2 in
# float64, evaluate Taylor polynomials on the remainder r in float64 (|r| <= pi/4: error far
# below a float32 ulp) and round once: correctly rounded but where the exact result lies
# within a few float64 ulps of a rounding boundary (about one argument in 2**26).
# Up to 2**20 * pi/2 the reduction is Cody-Waite's with fdlibm's pi/2 in three parts: the
# multiples of the first two are exact. Past it, Payne-Hanek's, exact, in float64
# elementwise ops only (SPIR-V has no float64 sin and no libm): a float32 x is m * 2**e with
# a 24-bit m, so x times each 24-bit chunk of 2/pi is exact in float64; each product less
# its nearest multiple of 4 is exact too, and their sum in double-double (TwoSum) gives
# x * 2/pi modulo 4 within 2**-95, where the closest a float32 comes to a nonzero multiple
# of pi/2 is 2**-29.2 (16367173 * 2**72). Payne-Hanek runs only where some element needs
# it: a 1M-element sin then takes about twice as long (6.5 ms against 3 ms on two CPU
# cores). Infinity and NaN give NaN.
def _pi_bits(bits):
    """pi * 2**bits within a few thousand units (Machin's formula in integers)."""
    def atan_inv(n):  # atan(1/n) * 2**bits, within a unit per term
        total, power, k = 0, (1 << bits) // n, 0
        while power:
            total += (-1) ** k * (power // (2 * k + 1))
            power //= n * n
            k += 1
        return total
    return 16 * atan_inv(5) - 4 * atan_inv(239)


def _split(value, widths):
    """Fraction `value` as floats of `widths` significant bits each, largest first, each
    rounding what the ones before leave of `value`."""
    parts = []
    for width in widths:
        quantum = Fraction(2) ** (math.frexp(float(value))[1] - width)
        parts.append(float(builtins.round(value / quantum) * quantum))
        value -= Fraction(parts[-1])
    return parts


_PI_BITS = 320
_PI = _pi_bits(_PI_BITS)  # pi * 2**320, within 2**-300 of it relatively: an import costs 0.1 ms
# fdlibm's pio2_1, pio2_2 and pio2_2t (33, 33 and 53 bits): multiples below 2**20 of the
# first two are exact.
_PIO2 = _split(Fraction(_PI, 2 << _PI_BITS), (33, 33, 53))
_PIO2_HI, _PIO2_LO = _split(Fraction(_PI, 2 << _PI_BITS), (53, 53))
# 2/pi = sum of _TWO_OVER_PI[i] = d_i * 2**(-24 * (i + 1)), d_i < 2**24 integers (fdlibm's
# ipio2), and less than 2**-240: x < 2**128 times that rest is below 2**-112.
_CHUNKS = 10
_TWO_OVER_PI = [((((1 << (2 * _PI_BITS + 1)) // _PI) >> (_PI_BITS - 24 * (i + 1))) & 0xFFFFFF) * 2.0 ** (-24 * (i + 1))
                for i in range(_CHUNKS)]
_REDUCTION_LIMIT = float(2 ** 20) * math.pi / 2
_SIN_TERMS = [(-1) ** k / math.factorial(2 * k + 1) for k in range(8)]
_COS_TERMS = [(-1) ** k / math.factorial(2 * k) for k in range(9)]


def _lower_trig(ctx, x, kind):
    dtype = ctx.in_avals[0].dtype
    direct = {"sin": "stablehlo.sine", "cos": "stablehlo.cosine", "tan": "stablehlo.tan"}[kind]
    if dtypes.is_complex(dtype) or dtype.itemsize > 4:
        return _h(direct, x)
    wide_type = ctx.in_avals[0].update(dtype=dtypes.float64).mlir_type()
    wide = _hlo.value("stablehlo.convert", [x], wide_type)
    # Payne-Hanek only when some argument is too big for Cody-Waite.
    huge = _hlo.compare(_h("stablehlo.abs", wide), _hlo.full_like(wide, _REDUCTION_LIMIT), "GT")
    any_huge = _hlo.reduce([huge], [_hlo.constant(False, dtypes.bool_)], range(len(ctx.in_avals[0].shape)),
                           _hlo.binary("stablehlo.or"))[0]
    index = _hlo.value("stablehlo.convert", [any_huge], mlir.tensor_type((), dtypes.int32))
    case = _hlo.op("stablehlo.case", [index], [wide_type], regions=2)
    with ir.InsertionPoint(case.regions[0].blocks.append()):
        _hlo.op("stablehlo.return", [_trig_of_reduced(*_cody_waite(wide), kind)], [])
    with ir.InsertionPoint(case.regions[1].blocks.append()):
        (r, quadrant), (big_r, big_quadrant) = _cody_waite(wide), _payne_hanek(wide)
        reduced = _hlo.select(huge, big_r, r), _hlo.select(huge, big_quadrant, quadrant)
        _hlo.op("stablehlo.return", [_trig_of_reduced(*reduced, kind)], [])
    result = case.results[0]
    if dtype == dtypes.float32:
        result = _hlo.value("stablehlo.convert", [result], ctx.out_types[0])
    else:
        result = _to_16_bits(result, ctx.in_avals[0])
    if kind != "cos":
        # sin x and tan x round to x itself where x**2 / 3 is below 2**-(precision + 1): taking
        # x there keeps the sign of a zero (the reduction's subtraction loses it) and subnormals
        # (IREE flushes float32 ones in converting float64 that ops computed).
        tiny = 2.0 ** -((dtypes.finfo(dtype).nmant + 2) // 2 + 1)
        result = _hlo.select(_hlo.compare(_h("stablehlo.abs", wide), _hlo.full_like(wide, tiny), "LT"), x, result)
    return result


def _to_16_bits(wide, aval):
    """The float64 `wide` rounded once to aval's 16-bit float dtype. IREE converts float64 to
    16 bits through float32, rounding twice, and flushes float16 subnormals on the way: so
    this rounds to odd at float32's precision (truncating 29 bits, setting the last kept one
    if any was set), which makes the second rounding right, converts to float32 (exactly)
    and from there to float16, or to bfloat16 by rounding the float32 bits as integers.
    (Results below float32's normal range, which IREE flushes in converting float64
    computed by other ops, are sin x and tan x of tiny x: _lower_trig takes x there.)"""
    bits = _hlo.value("stablehlo.bitcast_convert", [wide], aval.update(dtype=dtypes.int64).mlir_type())
    dropped = _h("stablehlo.and", bits, _hlo.full_like(bits, (1 << 29) - 1))
    sticky = _hlo.select(_hlo.compare(dropped, _hlo.full_like(bits, 0), "NE"), _hlo.full_like(bits, 1 << 29),
                         _hlo.full_like(bits, 0))
    odd = _h("stablehlo.or", _h("stablehlo.and", bits, _hlo.full_like(bits, -(1 << 29))), sticky)
    wide = _hlo.value("stablehlo.bitcast_convert", [odd], wide.type)
    if aval.dtype == dtypes.bfloat16:
        return _integer_to_bfloat16(wide, aval)  # despite its name, from any dtype through float32
    return _hlo.value("stablehlo.convert", [_hlo.value("stablehlo.convert", [wide], aval.update(
        dtype=dtypes.float32).mlir_type())], aval.mlir_type())


def _nearest(y):
    """An integer nearest the float64 y (ties either way), as floor(y + 0.5): IREE 3.13 makes
    float64 round_nearest_even 30 times as slow as floor on the CPU."""
    return _h("stablehlo.floor", _h("stablehlo.add", y, _hlo.full_like(y, 0.5)))


def _mod4(n):
    """n modulo 4 (in 0..3) of the integer-valued float64 n, exactly; NaN for infinity and NaN."""
    four_times = _h("stablehlo.multiply", _h("stablehlo.floor", _h("stablehlo.multiply", n, _hlo.full_like(n, 0.25))),
                    _hlo.full_like(n, 4.0))
    return _h("stablehlo.subtract", n, four_times)


def _cody_waite(wide):
    """(r, quadrant): wide = r + quadrant * pi/2 modulo 2 pi, |r| <= pi/4, for |wide| up to
    _REDUCTION_LIMIT (see above)."""
    turns = _nearest(_h("stablehlo.multiply", wide, _hlo.full_like(wide, 2 / math.pi)))
    r = wide
    for part in _PIO2:
        r = _h("stablehlo.subtract", r, _h("stablehlo.multiply", turns, _hlo.full_like(wide, part)))
    return r, _mod4(turns)


def _payne_hanek(wide):
    """(r, quadrant) as _cody_waite's, for any float32 value `wide` (see above)."""
    def add(a, b):
        return _h("stablehlo.add", a, b)

    def sub(a, b):
        return _h("stablehlo.subtract", a, b)

    def times(a, b):
        return _h("stablehlo.multiply", a, _hlo.full_like(wide, b))
    total = error = _hlo.full_like(wide, 0.0)
    for chunk in reversed(_TWO_OVER_PI):  # the smallest first
        term = times(wide, chunk)  # exact: 24 by 24 bits
        if 2.0 ** 128 * chunk < 2.0 ** -60:  # below 2**-60 for every float32: into the error as it is
            error = add(error, term)
            continue
        if 2.0 ** 128 * chunk >= 2:
            # Less a nearest multiple of 4: within [-2, 2] (or -4 past 2**54), exact (its bits are
            # the product's).
            term = sub(term, times(_nearest(times(term, 0.25)), 4.0))
        # TwoSum (adds and subtracts only: nothing for the compiler to fuse into an FMA).
        new_total = add(total, term)
        term_part = sub(new_total, total)
        rounding = add(sub(total, sub(new_total, term_part)), sub(term, term_part))
        total, error = new_total, add(error, rounding)
    turns = _nearest(total)
    fraction = sub(total, turns)  # exact; x * 2/pi is turns + fraction + error modulo 4
    r = add(times(fraction, _PIO2_HI), add(times(fraction, _PIO2_LO), times(error, _PIO2_HI)))
    return r, _mod4(turns)


def _trig_of_reduced(r, quadrant, kind):
    """sin, cos or tan of r + quadrant * pi/2 (float64, |r| <= pi/4 and quadrant in 0..3, or NaN)."""
    def poly(square, terms):  # sum of terms[k] * square**k, by Horner's rule
        acc = _hlo.full_like(r, terms[-1])
        for term in reversed(terms[:-1]):
            acc = _h("stablehlo.add", _h("stablehlo.multiply", acc, square), _hlo.full_like(r, term))
        return acc
    r2 = _h("stablehlo.multiply", r, r)
    sin_r, cos_r = _h("stablehlo.multiply", r, poly(r2, _SIN_TERMS)), poly(r2, _COS_TERMS)

    def in_quadrant(q):
        return _hlo.compare(quadrant, _hlo.full_like(quadrant, float(q)), "EQ")
    odd = _h("stablehlo.or", in_quadrant(1), in_quadrant(3))
    if kind == "tan":
        return _hlo.select(odd, _h("stablehlo.negate", _h("stablehlo.divide", cos_r, sin_r)),
                           _h("stablehlo.divide", sin_r, cos_r))
    # sin(x) = sin r, cos r, -sin r, -cos r in quadrants 0..3; cos(x) one quadrant on.
    first, second = (sin_r, cos_r) if kind == "sin" else (cos_r, _h("stablehlo.negate", sin_r))
    base = _hlo.select(odd, second, first)
    return _hlo.select(_h("stablehlo.or", in_quadrant(2), in_quadrant(3)), _h("stablehlo.negate", base), base)


UNARY = {
    "neg": Unary("stablehlo.negate", NUMERIC, np.negative, Linear(lambda ct, x: [ops.neg(ct)])),
    "sign": Unary(_lower_sign, NUMERIC, np.sign, ZERO),
    "floor": Unary("stablehlo.floor", FLOAT, np.floor, ZERO),
    "ceil": Unary("stablehlo.ceil", FLOAT, np.ceil, ZERO),
    "round": Unary("stablehlo.round_nearest_even", FLOAT, np.round, ZERO),
    "is_finite": Unary("stablehlo.is_finite", FLOAT, np.isfinite, ZERO, result=_boolean),
    "not": Unary("stablehlo.not", INTEGRAL, lambda x: np.logical_not(x) if x.dtype == bool else np.invert(x), ZERO,
                 builder="bitwise_not"),
    "exp": Unary("stablehlo.exponential", INEXACT, np.exp, lambda x, ans: ans),
    "exp2": Unary(_lower_exp2, INEXACT, np.exp2, lambda x, ans: ops.mul(ans, math.log(2.0))),
    "log": Unary("stablehlo.log", INEXACT, np.log, lambda x, ans: ops.reciprocal(x)),
    "log1p": Unary("stablehlo.log_plus_one", INEXACT, np.log1p, lambda x, ans: ops.reciprocal(ops.add(x, 1.0))),
    "expm1": Unary("stablehlo.exponential_minus_one", INEXACT, np.expm1, lambda x, ans: ops.add(ans, 1.0)),
    "sqrt": Unary("stablehlo.sqrt", INEXACT, np.sqrt, lambda x, ans: ops.div(ops.full(ans.shape, 0.5, ans.dtype), ans)),
    "rsqrt": Unary("stablehlo.rsqrt", INEXACT, lambda x: 1 / np.sqrt(x), lambda x, ans: ops.mul(ops.div(ans, x), -0.5)),
    "cbrt": Unary(_lower_cbrt, FLOAT, np.cbrt,
                  lambda x, ans: ops.div(ops.full(ans.shape, 1 / 3, ans.dtype), ops.mul(ans, ans))),
    "sin": Unary(lambda ctx, x: _lower_trig(ctx, x, "sin"), INEXACT, np.sin, lambda x, ans: ops.cos(x)),
    "cos": Unary(lambda ctx, x: _lower_trig(ctx, x, "cos"), INEXACT, np.cos, lambda x, ans: ops.neg(ops.sin(x))),
    "tan": Unary(lambda ctx, x: _lower_trig(ctx, x, "tan"), INEXACT, np.tan, lambda x, ans: ops.add(ops.mul(ans, ans), 1.0)),
    "asin": Unary("chlo.asin", INEXACT, np.arcsin, lambda x, ans: ops.rsqrt(_one_minus_square(x))),
    "acos": Unary("chlo.acos", INEXACT, np.arccos, lambda x, ans: ops.neg(ops.rsqrt(_one_minus_square(x)))),
    "atan": Unary("chlo.atan", INEXACT, np.arctan, lambda x, ans: ops.reciprocal(ops.add(ops.mul(x, x), 1.0))),
    "sinh": Unary("chlo.sinh", INEXACT, np.sinh, lambda x, ans: ops.cosh(x)),
    "cosh": Unary("chlo.cosh", INEXACT, np.cosh, lambda x, ans: ops.sinh(x)),
    "tanh": Unary("stablehlo.tanh", INEXACT, np.tanh, lambda x, ans: _one_minus_square(ans)),
    "asinh": Unary("chlo.asinh", INEXACT, np.arcsinh, lambda x, ans: ops.rsqrt(ops.add(ops.mul(x, x), 1.0))),
    "acosh": Unary("chlo.acosh", INEXACT, np.arccosh,
                   lambda x, ans: ops.rsqrt(ops.mul(ops.sub(x, 1.0), ops.add(x, 1.0)))),
    "atanh": Unary("chlo.atanh", INEXACT, np.arctanh, lambda x, ans: ops.reciprocal(_one_minus_square(x))),
    "logistic": Unary("stablehlo.logistic", INEXACT, lambda x: 1 / (1 + np.exp(-x)),
                      lambda x, ans: ops.mul(ans, ops.sub(ops.full(ans.shape, 1, ans.dtype), ans))),
    "erf": Unary("chlo.erf", FLOAT, _np_vectorized(math.erf),
                 lambda x, ans: ops.mul(ops.exp(ops.neg(ops.mul(x, x))), 2 / _SQRT_PI)),
    "erf_inv": Unary("chlo.erf_inv", FLOAT, _np_scipy_special("erfinv"),
                     lambda x, ans: ops.mul(ops.exp(ops.mul(ans, ans)), _SQRT_PI / 2)),
    "lgamma": Unary("chlo.lgamma", FLOAT, _np_vectorized(math.lgamma), lambda x, ans: ops.digamma(x)),
    "digamma": Unary(_lower_digamma, FLOAT, _np_scipy_special("digamma"),
                     lambda x, ans: ops.polygamma(ops.full(x.shape, 1, x.dtype), x)),
}

for _name in UNARY:
    define_row(_name, UNARY[_name], globals())


# -- binary arithmetic and bitwise ops --------------------------------------------------

def _trunc(x):
    return ops.select(ops.lt(x, ops.full(x.shape, 0, x.dtype)), ops.ceil(x), ops.floor(x))


def _np_logical_shift_right(x, y):
    unsigned = f"u{x.dtype.itemsize}"
    return (x.view(unsigned) >> y.astype(unsigned)).view(x.dtype)


BINARY = {
    "add": Binary("stablehlo.add", ANY, np.add, Linear(lambda ct, x, y: [ct, ct])),
    "sub": Binary("stablehlo.subtract", NUMERIC, np.subtract, Linear(lambda ct, x, y: [ct, ops.neg(ct)])),
    "rem": Binary("stablehlo.remainder", NUMERIC, np.fmod,
                  (lambda t, ans, x, y: t, lambda t, ans, x, y: ops.neg(ops.mul(t, _trunc(ops.div(x, y)))))),
    "and": Binary("stablehlo.and", INTEGRAL, np.bitwise_and, ZERO, builder="bitwise_and"),
    "or": Binary("stablehlo.or", INTEGRAL, np.bitwise_or, ZERO, builder="bitwise_or"),
    "xor": Binary("stablehlo.xor", INTEGRAL, np.bitwise_xor, ZERO, builder="bitwise_xor"),
    "shift_left": Binary("stablehlo.shift_left", INTEGER, np.left_shift, ZERO),
    "shift_right_logical": Binary("stablehlo.shift_right_logical", INTEGER, _np_logical_shift_right, ZERO),
    "shift_right_arithmetic": Binary("stablehlo.shift_right_arithmetic", INTEGER, np.right_shift, ZERO),
}

for _name in BINARY:
    define_row(_name, BINARY[_name], globals())


# -- comparisons: a boolean result, zero derivative -------------------------------------

# name: (StableHLO comparison direction, NumPy reference)
COMPARISONS = {
    "eq": ("EQ", np.equal), "ne": ("NE", np.not_equal),
    "lt": ("LT", np.less), "le": ("LE", np.less_equal),
    "gt": ("GT", np.greater), "ge": ("GE", np.greater_equal),
}


def _lower_compare(direction):
    return lambda ctx, x, y: _hlo.compare(x, y, direction)


for _name, (_direction, _ref) in COMPARISONS.items():
    define_row(_name, Binary(_lower_compare(_direction), ANY, _ref, ZERO, result=_boolean), globals())


# -- mul: bilinear ---------------------------------------------------------------------------

mul_p = _entry("mul", ["lhs", "rhs"], _binary_rule("mul", ANY), _lower_as("stablehlo.multiply"), np.multiply,
               doc="Elementwise product: " + _ir("mul", ["f32", "f32"], ["f32"]))


@_export
def mul(x, y):
    """x * y elementwise."""
    return mul_p(*_like((x, y)))


defbilinear(mul_p, lambda ct, y, x_aval: ops.mul(ct, y), lambda ct, x, y_aval: ops.mul(x, ct))
defbatch_elementwise(mul_p)


# -- div: linear in the numerator only ------------------------------------------------------

def _np_div(x, y):
    if np.issubdtype(np.asarray(x).dtype, np.integer):  # integers round toward zero, as in C
        return (np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))).astype(np.asarray(x).dtype)
    return np.true_divide(x, y)


div_p = _entry("div", ["lhs", "rhs"], _binary_rule("div", NUMERIC), _lower_as("stablehlo.divide"), _np_div,
               doc="Elementwise quotient (integers round toward zero): " + _ir("div", ["f32", "f32"], ["f32"]))


@_export
def div(x, y):
    """x / y elementwise; integer quotients round toward zero, as in C (NumPy's // rounds down)."""
    return div_p(*_like((x, y)))


def _div_jvp(ctx, primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    ans = div(x, y)
    return [ans], [add_tangents([None if tx is None else div(tx, y),
                                 None if ty is None else ops.neg(ops.mul(ty, div(ans, y)))])]


div_p.jvp = _div_jvp
deftranspose(div_p, lambda ct, x, y: [div(ct, y), None], linear_operands=(0,))
defbatch_elementwise(div_p)


# -- pow --------------------------------------------------------------------------------

def _lower_pow(ctx, x, y):
    """x ** y with C's (and XLA's) special values. IREE 3.13 gives NaN for a negative base
    (even with an integral exponent), for a -inf base, for 0 ** 0 and for 1 ** inf: a
    negative base (or -0) takes |x| ** y, negated for odd integral exponents, and x ** 0,
    1 ** y and (-1) ** +-inf are 1."""
    if not dtypes.is_float(ctx.in_avals[0].dtype):
        return _h("stablehlo.power", x, y)
    zero, one = _hlo.full_like(x, 0), _hlo.full_like(x, 1)

    def power(base):
        unit = _h("stablehlo.or", _hlo.compare(y, zero, "EQ"), _hlo.compare(base, one, "EQ"))
        return _hlo.select(unit, one, _h("stablehlo.power", base, y))
    magnitude = power(_h("stablehlo.abs", x))
    integral = _hlo.compare(_h("stablehlo.floor", y), y, "EQ")
    odd = _hlo.compare(_h("stablehlo.abs", _h("stablehlo.remainder", y, _hlo.full_like(y, 2.0))), one, "EQ")
    signed = _hlo.select(_h("stablehlo.and", integral, odd), _h("stablehlo.negate", magnitude), magnitude)
    negative = _h("stablehlo.or", _hlo.compare(x, zero, "LT"), _hlo.compare(_h("stablehlo.divide", one, x), zero, "LT"))
    use_signed = _h("stablehlo.and", negative,
                    _h("stablehlo.or", integral, _hlo.compare(x, _hlo.full_like(x, -math.inf), "EQ")))
    return _hlo.select(use_signed, signed, power(x))


pow_p = _entry("pow", ["lhs", "rhs"], _binary_rule("pow", NUMERIC), _lower_pow, np.power,
               doc="Elementwise power x ** y: " + _ir("pow", ["f32", "f32"], ["f32"]))


@_export
def pow(x, y):  # noqa: A001 - JAX's name
    """x ** y elementwise for a floating or complex x, as JAX: an integer y is converted to x's
    dtype. Large float32 results are less accurate than JAX's (see docs/compatibility.md)."""
    x, y = _like((x, y))
    x_dtype, y_dtype = aval_of(x).dtype, aval_of(y).dtype
    if not dtypes.is_inexact(x_dtype):
        raise TypeError(f"pow does not accept dtype {x_dtype} at position 0: the base must be floating or complex "
                        "(integer powers: lax.integer_pow, or mlax.numpy.power)")
    if dtypes.is_integer(y_dtype):
        y = ops.convert_element_type(y, x_dtype)
    return pow_p(x, y)


def _pow_dx(t, ans, x, y):
    # y * x ** (y - 1), as JAX's lax.pow: NaN at x = y = 0 (a static integer exponent,
    # through integer_pow, has derivative 0 there).
    return ops.mul(t, ops.mul(y, ops.pow(x, ops.sub(y, ops.full(y.shape, 1, y.dtype)))))


def _pow_dy(t, ans, x, y):
    safe_log = ops.log(ops.select(ops.eq(x, ops.full(x.shape, 0, x.dtype)), ops.full(x.shape, 1, x.dtype), x))
    return ops.mul(t, ops.mul(ans, safe_log))


defjvp(pow_p, _pow_dx, _pow_dy)
defbatch_elementwise(pow_p)


# -- atan2 --------------------------------------------------------------------------------

def _atan2(y, x, dtype):
    """atan2 with IEEE results where y = ±0 or x = ±inf: IREE 3.13 gives NaN at the origin
    and for two infinities, and π for atan2(-0.0, x < 0), atan2(-1, -inf) and atan2(-1e-15, -1e30)
    (where y/x underflows). There the angle is 0, π (or π/4, 3π/4 for two infinities) by the sign
    of x; every angle takes the sign of y."""
    def c(value):
        return _hlo.full_like(y, value)

    x_infinite = _hlo.compare(_h("stablehlo.abs", x), c(math.inf), "EQ")
    y_infinite = _hlo.compare(_h("stablehlo.abs", y), c(math.inf), "EQ")
    corner = _h("stablehlo.and", x_infinite, y_infinite)
    # y = ±0 with x not NaN, or x infinite with y finite (not NaN): on the x axis.
    axis = _h("stablehlo.or", _h("stablehlo.and", _hlo.compare(y, c(0), "EQ"), _hlo.compare(x, x, "EQ")),
              _h("stablehlo.and", x_infinite, _hlo.compare(_h("stablehlo.abs", y), c(math.inf), "LT")))
    negative_x = _sign_bit(x, dtype)
    magnitude = _hlo.select(corner, _hlo.select(negative_x, c(3 * math.pi / 4), c(math.pi / 4)),
                            _hlo.select(axis, _hlo.select(negative_x, c(math.pi), c(0)),
                                        _h("stablehlo.abs", _h("stablehlo.atan2", y, x))))
    return _hlo.select(_sign_bit(y, dtype), _h("stablehlo.negate", magnitude), magnitude)


atan2_p = _entry("atan2", ["lhs", "rhs"], _binary_rule("atan2", FLOAT),
                 lambda ctx, y, x: _atan2(y, x, ctx.in_avals[0].dtype), np.arctan2,
                 doc="Elementwise atan2(y, x), the angle of the point (x, y): " + _ir("atan2", ["f32", "f32"], ["f32"]))


@_export
def atan2(x, y):
    """arctan(x / y) in the quadrant that the signs of x and y give, in [-pi, pi]: numpy.arctan2(x, y)."""
    return atan2_p(*_like((x, y)))


def _atan2_partial(numerator):
    def partial(t, ans, y, x):  # d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)
        return ops.mul(t, ops.div(numerator(y, x), ops.add(ops.mul(x, x), ops.mul(y, y))))
    return partial


defjvp(atan2_p, _atan2_partial(lambda y, x: x), _atan2_partial(lambda y, x: ops.neg(y)))
defbatch_elementwise(atan2_p)


# -- max, min: the tangent of the operand chosen; ties share it equally ------------------

def _lower_extremum(hlo_name, direction):
    """stablehlo.maximum/minimum, except for complex numbers, which IREE 3.13 orders wrongly:
    those compare by real part, then imaginary part, as XLA does (x if it wins, else y)."""
    def lower(ctx, x, y):
        if not dtypes.is_complex(ctx.in_avals[0].dtype):
            return _hlo.value(hlo_name, [x, y], ctx.out_types[0])
        part_type = ctx.in_avals[0].update(dtype=dtypes.real_dtype(ctx.in_avals[0].dtype)).mlir_type()
        (x_re, x_im), (y_re, y_im) = ([_hlo.value(f"stablehlo.{part}", [v], part_type) for part in ("real", "imag")]
                                      for v in (x, y))
        tie_broken = _h("stablehlo.and", _hlo.compare(x_re, y_re, "EQ"), _hlo.compare(x_im, y_im, direction))
        wins = _h("stablehlo.or", _hlo.compare(x_re, y_re, direction), tie_broken)
        return _hlo.select(wins, x, y)
    return lower


max_p = _entry("max", ["lhs", "rhs"], _binary_rule("max", ANY), _lower_extremum("stablehlo.maximum", "GT"),
               np.maximum, doc="Elementwise maximum (NaN if either is NaN; complex numbers by real, then "
                               "imaginary part): " + _ir("max", ["f32", "f32"], ["f32"]))
min_p = _entry("min", ["lhs", "rhs"], _binary_rule("min", ANY), _lower_extremum("stablehlo.minimum", "LT"),
               np.minimum, doc="Elementwise minimum (NaN if either is NaN; complex numbers by real, then "
                               "imaginary part): " + _ir("min", ["f32", "f32"], ["f32"]))


@_export
def max(x, y):  # noqa: A001 - JAX's name
    """Elementwise maximum: NaN if either is NaN; complex numbers compare by real part, then
    imaginary part. Where x == y each operand gets half of the derivative, as in JAX."""
    return max_p(*_like((x, y)))


@_export
def min(x, y):  # noqa: A001 - JAX's name
    """Elementwise minimum: NaN if either is NaN; complex numbers compare by real part, then
    imaginary part. Where x == y each operand gets half of the derivative, as in JAX."""
    return min_p(*_like((x, y)))


def _extremum_jvp(op, x_wins):
    def jvp(ctx, primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        tie = ops.mul(ops.convert_element_type(ops.eq(x, y), x.dtype), 0.5)
        x_share = ops.add(ops.convert_element_type(x_wins(x, y), x.dtype), tie)
        y_share = ops.sub(ops.full(x.shape, 1, x.dtype), x_share)
        return [op(x, y)], [add_tangents([None if tx is None else ops.mul(tx, x_share),
                                          None if ty is None else ops.mul(ty, y_share)])]
    return jvp


max_p.jvp = _extremum_jvp(max_p, lambda x, y: ops.gt(x, y))
min_p.jvp = _extremum_jvp(min_p, lambda x, y: ops.lt(x, y))
defbatch_elementwise(max_p)
defbatch_elementwise(min_p)


# -- abs: a real result, the modulus of complex x -----------------------------------------

abs_p = _entry("abs", ["x"], _unary_rule("abs", SIGNED, dtypes.real_dtype), _lower_as("stablehlo.abs"), np.abs,
               doc="Elementwise absolute value, the modulus of complex x: " + _ir("abs", ["complex<f32>"], ["f32"]))


@_export
def abs(x):  # noqa: A001 - JAX's name
    """|x| elementwise; for complex x the modulus, a real array."""
    return abs_p(x)


def _abs_tangent(t, ans, x):
    if dtypes.is_complex(x.dtype):  # d|z| = Re(conj(z) dz) / |z|
        return ops.real(ops.mul(t, conj(ops.sign(x))))
    # The right derivative at 0 (and -0), as JAX: |x|' = 1 for x >= 0.
    return ops.select(ops.ge(x, ops.full(x.shape, 0, x.dtype)), t, ops.neg(t))


defjvp(abs_p, _abs_tangent)
defbatch_elementwise(abs_p)


# -- polygamma: differentiable in x only (n holds whole numbers, as floats) ---------------

def _lower_polygamma(ctx, n, x):
    """chlo.polygamma, and digamma's lowering where n is 0 (its poles NaN, as in JAX)."""
    zeroth = _hlo.compare(n, _hlo.full_like(n, 0.0), "EQ")
    return _hlo.select(zeroth, _lower_digamma(ctx, x), _h("chlo.polygamma", n, x))


polygamma_p = _entry("polygamma", ["n", "x"], _binary_rule("polygamma", FLOAT), _lower_polygamma,
                     lambda n, x: _np_scipy_special("polygamma")(n.astype(np.int64), x).astype(x.dtype),
                     doc="The n-th derivative of digamma at x: " + _ir("polygamma", ["f32", "f32"], ["f32"]))


@_export
def polygamma(m, x):
    """The m-th derivative of digamma at x (m holds whole numbers in x's float dtype); differentiable
    in x only. For m >= 1 and negative non-integer x the result is NaN, where JAX's is finite
    (docs/compatibility.md)."""
    return polygamma_p(*_like((m, x)))


defjvp(polygamma_p, None, lambda t, ans, n, x: ops.mul(t, polygamma(ops.add(n, 1.0), x)))
defbatch_elementwise(polygamma_p)


# -- complex numbers: complex, real, imag (linear), conj, angle ----------------------------

def _complex_rule(x, y):
    check_same_shapes("complex", x, y)
    check_same_dtypes("complex", x, y)
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"mlax.complex requires float32 or float64 parts, got {x.dtype.name}")
    return ShapedArray(x.shape, dtypes.complex64 if x.dtype == dtypes.float32 else dtypes.complex128)


complex_p = _entry("complex", ["real", "imag"], _complex_rule, _lower_as("stablehlo.complex"), lambda x, y: x + 1j * y,
                   doc="Complex numbers from real and imaginary parts: " + _ir("complex", ["f32", "f32"],
                                                                               ["complex<f32>"]))
real_p = _entry("real", ["x"], _unary_rule("real", COMPLEX, dtypes.real_dtype), _lower_as("stablehlo.real"), np.real,
                doc="The real parts of complex elements: " + _ir("real", ["complex<f32>"], ["f32"]))
imag_p = _entry("imag", ["x"], _unary_rule("imag", COMPLEX, dtypes.real_dtype), _lower_as("stablehlo.imag"), np.imag,
                doc="The imaginary parts of complex elements: " + _ir("imag", ["complex<f32>"], ["f32"]))


@_export
def complex(x, y):  # noqa: A001 - JAX's name
    """The complex array x + i y from float32 or float64 parts."""
    return complex_p(*_like((x, y)))


@_export
def real(x):
    """The real part of complex x (real x is rejected, as in JAX)."""
    return real_p(x)


@_export
def imag(x):
    """The imaginary part of complex x (real x is rejected, as in JAX)."""
    return imag_p(x)


@_export
def conj(x):
    """Complex conjugate."""
    return complex(real(x), ops.neg(imag(x)))


deflinear(complex_p, lambda ct, x, y: [real(ct), ops.neg(imag(ct))])
deflinear(real_p, lambda ct, x: [complex(ct, ops.full(ct.shape, 0, ct.dtype))])
deflinear(imag_p, lambda ct, x: [complex(ops.full(ct.shape, 0, ct.dtype), ops.neg(ct))])
for _op in (complex_p, real_p, imag_p):
    defbatch_elementwise(_op)


def _lower_angle(ctx, z):
    """atan2(imag, real); atan2(0, x) for real x: 0, or π where x's sign bit is set (-0.0 too)."""
    dtype = ctx.out_types[0]
    if dtypes.is_complex(ctx.in_avals[0].dtype):
        y, x = _hlo.value("stablehlo.imag", [z], dtype), _hlo.value("stablehlo.real", [z], dtype)
    else:
        y, x = _hlo.full_like(z, 0), z
    return _atan2(y, x, ctx.out_avals[0].dtype)


angle_p = _entry("angle", ["x"], _unary_rule("angle", INEXACT, dtypes.real_dtype), _lower_angle, np.angle,
                 doc="The argument of complex elements (0 or π for real ones): " + _ir("angle", ["complex<f32>"],
                                                                                        ["f32"]))


@_export
def angle(x):
    """The argument of complex x in radians, in [-pi, pi]; 0 or pi for real x by its sign bit.
    jax.lax has no angle (it is jax.numpy.angle's); mlax.lax exports its op's builder."""
    return angle_p(x)


def _angle_jvp(ctx, primals, tangents):
    (z,), (t,) = primals, tangents
    ans = angle(z)
    if t is None or not dtypes.is_complex(z.dtype):  # piecewise constant on the real line
        return [ans], [None]
    # d angle(z) = Im(dz / z) = Im(conj(z) dz) / |z|^2
    return [ans], [div(imag(mul(t, conj(z))), real(mul(z, conj(z))))]


angle_p.jvp = _angle_jvp
defbatch_elementwise(angle_p)


# -- select, clamp ---------------------------------------------------------------------------

def _select_rule(pred, on_true, on_false):
    if pred.dtype != dtypes.bool_:
        raise TypeError(f"mlax.select requires a boolean predicate, got dtype {pred.dtype.name}")
    check_same_shapes("select", pred, on_true, on_false)
    check_same_dtypes("select", on_true, on_false)
    return on_true.update(weak_type=on_true.weak_type and on_false.weak_type)


select_p = _entry("select", ["pred", "on_true", "on_false"], _select_rule, lambda ctx, p, t, f: _hlo.select(p, t, f),
                  np.where, doc="Elementwise choice, on_true where pred else on_false: "
                  + _ir("select", ["i1", "f32", "f32"], ["f32"]))


@_export
def select(pred, on_true, on_false):
    """on_true where the boolean pred holds, else on_false. pred has the operands' shape, or is
    0-d (one choice for every element)."""
    on_true, on_false = _like((on_true, on_false), broadcast=None)
    shape = aval_of(on_true).shape
    if aval_of(pred).shape == () and shape != ():
        pred = ops.broadcast_in_dim(pred, shape, ())
    return select_p(pred, on_true, on_false)


def _select_transpose(ct, pred, on_true, on_false):
    zeros = ops.full(ct.shape, 0, ct.dtype)
    return [None, select(pred, ct, zeros) if is_linear(on_true) else None,
            select(pred, zeros, ct) if is_linear(on_false) else None]


deflinear(select_p, _select_transpose, linear_operands=(1, 2))
defbatch_elementwise(select_p)


def _clamp_rule(lo, x, hi):
    check_same_shapes("clamp", lo, x, hi)
    check_same_dtypes("clamp", lo, x, hi)
    return x


clamp_p = _entry("clamp", ["min", "x", "max"], _clamp_rule,
                 lambda ctx, lo, x, hi: _h("stablehlo.clamp", lo, x, hi), lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi),
                 doc="Elementwise min(max(x, min), max): " + _ir("clamp", ["f32", "f32", "f32"], ["f32"]))


@_export
def clamp(min, x, max):  # noqa: A002 - JAX's argument names
    """x limited to [min, max] elementwise, i.e. min(max(x, min), max); min and max may be 0-d."""
    return clamp_p(*_like((min, x, max), broadcast="scalars"))


def _clamp_jvp(ctx, primals, tangents):
    lo, x, hi = primals
    # Each operand's tangent passes where that operand alone is the result: lo where lo > x and
    # lo < hi, x strictly inside, hi where hi < max(x, lo). At a tie none does, as in JAX. (JAX
    # passes hi's only where hi < x, so not where x <= hi < lo, where the result is hi.) Chosen,
    # not multiplied by a mask: an infinite tangent elsewhere stays out.
    chosen = [ops.bitwise_and(ops.gt(lo, x), ops.lt(lo, hi)), ops.bitwise_and(ops.gt(x, lo), ops.lt(x, hi)),
              ops.lt(hi, max(x, lo))]
    return [clamp(lo, x, hi)], [add_tangents([None if t is None else select(c, t, ops.full(t.shape, 0, t.dtype))
                                              for t, c in zip(tangents, chosen)])]


clamp_p.jvp = _clamp_jvp
defbatch_elementwise(clamp_p)


# -- builders made of other ops (no entries of their own) -------------------------------------

@_export
def integer_pow(x, y):
    """x ** y for a static integer y, by repeated multiplication (the reciprocal of x ** -y
    for negative y, which integer x cannot take)."""
    shape, dtype = aval_of(x).shape, aval_of(x).dtype
    if y < 0 and not dtypes.is_inexact(dtype):
        raise TypeError(f"mlax.integer_pow: integers cannot be raised to negative powers, got {dtype} ** {y}")
    if y == 0:
        return ops.full(shape, 1, dtype)
    result, base, power = None, x, builtins.abs(y)
    while power:
        if power & 1:
            result = base if result is None else mul(result, base)
        power >>= 1
        if power:
            base = mul(base, base)
    return div(ops.full(shape, 1, dtype), result) if y < 0 else result


@_export
def square(x):
    """x * x elementwise."""
    return mul(x, x)


@_export
def reciprocal(x):
    """1 / x elementwise, for a floating or complex x (integers raise TypeError, as in JAX)."""
    dtype = aval_of(x).dtype
    if not dtypes.is_inexact(dtype):
        raise TypeError(f"reciprocal of {dtype}: integers cannot be raised to the power -1; convert x to a "
                        "floating dtype first")
    return div(ops.full(aval_of(x).shape, 1, dtype), x)
