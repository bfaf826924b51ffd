"""mlax.numpy's elementwise functions (ufuncs): arithmetic, comparisons, exponentials
and logarithms, trigonometry, rounding, bitwise and logical functions (with bitwise_count
and packbits/unpackbits), spacing, and where/clip; also the array API's aliases (acos, pow ...).

Each promotes its operands with promote_args (promote_args_inexact where integers
compute in floating point), then applies lax ops. The simplest ones are made from
the two tables below, a NumPy name and the lax function it applies.
"""

import operator

import numpy as np

from mlax import lax
from mlax.api.custom_rules import custom_jvp
from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Tracer
from mlax.numpy._dtypes import asarray, astype
from mlax.numpy._promotion import broadcast_shapes, broadcast_to, promote_args, promote_args_inexact
from mlax.numpy._shape import _axis, moveaxis, nonzero, ravel, reshape, stack


def _full_like(x, value):
    """A constant of x's shape, dtype and weak type."""
    return lax.full(x.shape, value, x.dtype, weak_type=x.weak_type)


def _round_even(x):
    """Halfway cases to even, as NumPy rounds (lax.round's default is away from zero)."""
    return lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)


def _unary_ufunc(name, lax_fn, inexact=False):
    def fn(x, /):
        (x,) = promote_args_inexact(name, x) if inexact else promote_args(name, x)
        return lax_fn(x)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as numpy.{name}."
    return fn


def _binary_ufunc(name, lax_fn, inexact=False):
    def fn(x1, x2, /):
        x1, x2 = promote_args_inexact(name, x1, x2) if inexact else promote_args(name, x1, x2)
        return lax_fn(x1, x2)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting, as numpy.{name}."
    return fn


# numpy name: (lax function, promote integers to float?)
_UNARY_UFUNCS = {
    "negative": (lax.neg, False), "rint": (_round_even, True),
    "exp": (lax.exp, True), "exp2": (lax.exp2, True), "expm1": (lax.expm1, True),
    "log": (lax.log, True), "log1p": (lax.log1p, True), "sqrt": (lax.sqrt, True), "cbrt": (lax.cbrt, True),
    "sin": (lax.sin, True), "cos": (lax.cos, True), "tan": (lax.tan, True),
    "arcsin": (lax.asin, True), "arccos": (lax.acos, True), "arctan": (lax.atan, True),
    "sinh": (lax.sinh, True), "cosh": (lax.cosh, True), "tanh": (lax.tanh, True),
    "arcsinh": (lax.asinh, True), "arccosh": (lax.acosh, True), "arctanh": (lax.atanh, True),
}
_BINARY_UFUNCS = {
    "add": (lax.add, False), "subtract": (lax.sub, False), "multiply": (lax.mul, False),
    "maximum": (lax.max, False), "minimum": (lax.min, False), "arctan2": (lax.atan2, True),
    "equal": (lax.eq, False), "not_equal": (lax.ne, False), "less": (lax.lt, False),
    "less_equal": (lax.le, False), "greater": (lax.gt, False), "greater_equal": (lax.ge, False),
    "left_shift": (lax.shift_left, False), "nextafter": (lax.nextafter, True),
}

for _name, (_fn, _inexact) in _UNARY_UFUNCS.items():
    globals()[_name] = _unary_ufunc(_name, _fn, _inexact)
for _name, (_fn, _inexact) in _BINARY_UFUNCS.items():
    globals()[_name] = _binary_ufunc(_name, _fn, _inexact)

# The array API's spellings of the inverse trigonometric functions (more aliases follow their targets).
acos, asin, atan, atan2 = arccos, arcsin, arctan, arctan2  # noqa: F821 - defined by the loops above
acosh, asinh, atanh = arccosh, arcsinh, arctanh  # noqa: F821
bitwise_left_shift = left_shift  # noqa: F821


def _rounding(name, lax_fn):
    def fn(x, /):
        (x,) = promote_args(name, x)
        return lax_fn(x) if dtypes.is_inexact(x.dtype) else x
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, as numpy.{name} (integers and bools are returned unchanged)."
    return fn


floor = _rounding("floor", lax.floor)
ceil = _rounding("ceil", lax.ceil)
trunc = fix = _rounding("trunc", lambda x: where(lax.lt(x, _full_like(x, 0)), lax.ceil(x), lax.floor(x)))


def sign(x, /):
    """-1, 0 or 1 by the sign of each element (NaN for NaN)."""
    (x,) = promote_args("sign", x)
    return lax.sign(x)


def right_shift(x1, x2, /):
    """x1 >> x2: arithmetic for signed integers, logical for unsigned ones."""
    x1, x2 = promote_args("right_shift", x1, x2)
    shift = lax.shift_right_logical if dtypes.is_unsigned(x1.dtype) else lax.shift_right_arithmetic
    return shift(x1, x2)


bitwise_right_shift = right_shift


def bitwise_count(x, /):
    """The number of 1 bits in |x|, as uint8 (bools count as integers; floats raise TypeError)."""
    x = _numeric(x)
    if not dtypes.is_integer(x.dtype):
        raise TypeError(f"bitwise_count is only defined for boolean and integer arrays, got {x.dtype.name}")
    return lax.convert_element_type(lax.population_count(abs(x)), dtypes.uint8)


def positive(x, /):
    """+x: the array itself."""
    return asarray(x)


def abs(x, /):  # noqa: A001 - NumPy's name
    """Elementwise absolute value (unsigned and bool inputs are returned as they are)."""
    x = asarray(x)
    if x.dtype == dtypes.bool_ or dtypes.is_unsigned(x.dtype):
        return x
    return lax.abs(x)


absolute = abs


def fabs(x, /):
    """Elementwise absolute value in floating point (integers are converted first)."""
    (x,) = promote_args_inexact("fabs", x)
    if dtypes.is_complex(x.dtype):
        raise TypeError("fabs does not take complex input (use abs for the modulus)")
    return lax.abs(x)


def _numeric(x):
    """x, with bools turned into the default integer."""
    x = asarray(x)
    return lax.convert_element_type(x, dtypes.default_int(), x.weak_type) if x.dtype == dtypes.bool_ else x


def square(x, /):
    """x * x elementwise (bools count as the default integer)."""
    x = _numeric(x)
    return lax.mul(x, x)


def reciprocal(x, /):
    """1 / x elementwise; integers and bools divide in floating point, as in JAX (NumPy keeps integers)."""
    (x,) = promote_args_inexact("reciprocal", x)
    return lax.div(_full_like(x, 1), x)


def log2(x, /):
    """Base-2 logarithm elementwise (integers and bools in floating point)."""
    (x,) = promote_args_inexact("log2", x)
    return lax.div(lax.log(x), _full_like(x, np.log(2)))


def log10(x, /):
    """Base-10 logarithm elementwise (integers and bools in floating point)."""
    (x,) = promote_args_inexact("log10", x)
    return lax.div(lax.log(x), _full_like(x, np.log(10)))


def round(a, decimals=0):  # noqa: A001
    """Round half to even at `decimals` places, as numpy.round."""
    (a,) = promote_args("round", a)
    if not dtypes.is_inexact(a.dtype):
        return a
    if decimals == 0:
        return _round_even(a)
    factor = _full_like(a, 10.0 ** decimals)
    return lax.div(_round_even(lax.mul(a, factor)), factor)


around = round


def true_divide(x1, x2, /):
    """x1 / x2 elementwise with broadcasting, always in floating point (integers are converted first)."""
    x1, x2 = promote_args_inexact("true_divide", x1, x2)
    return lax.div(x1, x2)


divide = true_divide


def floor_divide(x1, x2, /):
    """Division rounded toward minus infinity, as numpy.floor_divide."""
    x1, x2 = promote_args("floor_divide", x1, x2)
    if dtypes.is_unsigned(x1.dtype) or x1.dtype == dtypes.bool_:
        return lax.div(x1, x2)
    if dtypes.is_integer(x1.dtype):
        # (By zero: lax.div gives -1, one lower where x1 is not 0 itself, as in JAX.)
        quotient = lax.div(x1, x2)
        zero = _full_like(x1, 0)
        signs_differ = lax.ne(lax.sign(x1), lax.sign(x2))
        inexact_division = lax.ne(lax.rem(x1, x2), zero)
        adjust = lax.bitwise_and(signs_differ, inexact_division)
        return lax.select(adjust, lax.sub(quotient, _full_like(x1, 1)), quotient)
    # Floats as NumPy's divmod (and JAX): the exact quotient of x1 less its remainder, one
    # lower where the remainder's sign is not the divisor's, rounded (1 // -inf is -1).
    rem = lax.rem(x1, x2)
    zero = _full_like(x1, 0)
    quotient = lax.div(lax.select(lax.eq(x2, zero), x1, lax.sub(x1, rem)), x2)  # x / 0 stays +-inf or NaN
    fix = lax.bitwise_and(lax.ne(rem, zero), lax.ne(lax.sign(rem), lax.sign(x2)))
    return _round_even(lax.select(fix, lax.sub(quotient, _full_like(x1, 1)), quotient))


def remainder(x1, x2, /):
    """Remainder with the sign of the divisor, as numpy.remainder."""
    x1, x2 = promote_args("remainder", x1, x2)
    x2 = _nonzero_divisor(x2)
    rem = lax.rem(x1, x2)
    if dtypes.is_unsigned(x1.dtype) or x1.dtype == dtypes.bool_:
        return rem
    zero = _full_like(x1, 0)
    fix_sign = lax.bitwise_and(lax.ne(rem, zero), lax.ne(lax.lt(rem, zero), lax.lt(x2, zero)))
    return lax.select(fix_sign, lax.add(rem, x2), rem)


mod = remainder


def fmod(x1, x2, /):
    """Remainder with the sign of the dividend, as numpy.fmod."""
    x1, x2 = promote_args("fmod", x1, x2)
    return lax.rem(x1, _nonzero_divisor(x2))


def _nonzero_divisor(x2):
    """Integer divisors of 0 replaced by 1, so that the remainder by 0 is 0 (NumPy's and
    JAX's; lax.rem gives the dividend)."""
    if not (dtypes.is_integer(x2.dtype) or x2.dtype == dtypes.bool_):
        return x2
    return lax.select(lax.eq(x2, _full_like(x2, 0)), _full_like(x2, 1), x2)


def divmod(x1, x2, /):  # noqa: A001
    """(floor_divide(x1, x2), remainder(x1, x2)): Python's divmod, elementwise."""
    return floor_divide(x1, x2), remainder(x1, x2)


def power(x1, x2, /):
    """x1 ** x2. A concrete integer exponent becomes repeated multiplication (a negative one
    raises TypeError for integer bases); integer arrays by binary exponentiation over the
    exponent's low 6 bits, as JAX (any higher bit overflows every base but 0 and +-1)."""
    exponent = _concrete_int(x2)
    if exponent is not None:
        return lax.integer_pow(_numeric(x1), exponent)
    x1, x2 = promote_args("power", x1, x2)
    if dtypes.is_integer(x1.dtype):
        return _integer_power(x1, x2)
    return lax.pow(x1, x2)


def _concrete_int(x):
    """x as a Python int when it is a concrete integer scalar (a Python or NumPy integer, or
    a 0-d integer array that is not traced); else None."""
    if isinstance(x, (ArrayMethods, np.ndarray, np.generic)) and not isinstance(x, Tracer):
        return operator.index(x) if np.ndim(x) == 0 and dtypes.is_integer(np.dtype(x.dtype)) else None
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _integer_power(base, exponent):
    zero, one = _full_like(exponent, 0), _full_like(exponent, 1)
    # 0 ** n is 0 for n != 0 (the bits of a negative n too) and 1 for n == 0.
    result = lax.select(lax.bitwise_and(lax.eq(base, _full_like(base, 0)), lax.ne(exponent, zero)),
                    _full_like(base, 0), _full_like(base, 1))
    for _ in range(6):
        result = lax.select(lax.ne(lax.bitwise_and(exponent, one), zero), lax.mul(result, base), result)
        base = lax.mul(base, base)
        exponent = lax.shift_right_logical(exponent, one)
    return result


pow = power  # noqa: A001 - the array API's name


def float_power(x1, x2, /):
    """x1 ** x2 in floating point: integers and bools are converted first (to float32 up to 32 bits,
    as in JAX, where NumPy always computes in float64)."""
    x1, x2 = promote_args_inexact("float_power", x1, x2)
    return lax.pow(x1, x2)


def hypot(x1, x2, /):
    """`sqrt(x1**2 + x2**2)` elementwise, scaled by the larger magnitude so that it neither
    overflows nor underflows where the result does not; inf where either is infinite."""
    x1, x2 = promote_args_inexact("hypot", x1, x2)
    if dtypes.is_complex(x1.dtype):
        raise TypeError("hypot does not take complex input")
    a, b = lax.abs(x1), lax.abs(x2)
    large, small = lax.max(a, b), lax.min(a, b)
    zero = lax.eq(large, _full_like(large, 0))
    ratio = lax.div(small, lax.select(zero, _full_like(large, 1), large))
    scaled = lax.mul(large, lax.sqrt(lax.add(_full_like(ratio, 1), lax.mul(ratio, ratio))))
    infinite = lax.bitwise_or(lax.eq(a, _full_like(a, np.inf)), lax.eq(b, _full_like(b, np.inf)))
    return lax.select(infinite, _full_like(a, np.inf), lax.select(zero, large, scaled))


def _log_add_exp(base):
    """log_b(b**x1 + b**x2) for b = e or 2, as JAX defines it: computed without overflow,
    x1 + x2 where x1 - x2 is NaN (NaNs, infinities of one sign), complex results with their
    imaginary part in (-pi, pi] (over ln 2 for base 2), and its own derivative: d/dx1 is
    b**(x1 - out), so ties get half each (softplus'(0) = 1/2) and infinities no NaN."""
    power = lax.exp if base == "e" else lax.exp2
    scale = 1.0 if base == "e" else 1 / np.log(2)

    @custom_jvp
    def log_add_exp(x1, x2):
        biggest = lax.max(x1, x2)
        if dtypes.is_complex(x1.dtype):
            # x1 + x2 - 2 max is the other one less the biggest: its real part is <= 0.
            out = lax.add(biggest, lax.mul(_full_like(x1, scale), lax.log1p(power(
                lax.sub(lax.add(x1, x2), lax.mul(biggest, _full_like(biggest, 2)))))))
            period = _full_like(lax.real(out), 2 * np.pi * scale)
            shifted = lax.rem(lax.add(lax.imag(out), lax.mul(period, _full_like(period, 0.5))), period)
            shifted = where(lax.lt(shifted, _full_like(shifted, 0)), lax.add(shifted, period), shifted)
            return lax.complex(lax.real(out), lax.sub(shifted, lax.mul(period, _full_like(period, 0.5))))
        gap = lax.sub(x1, x2)
        out = lax.add(biggest, lax.mul(_full_like(x1, scale), lax.log1p(power(lax.neg(lax.abs(gap))))))
        return where(isnan(gap), lax.add(x1, x2), out)

    @log_add_exp.defjvp
    def log_add_exp_jvp(primals, tangents):
        x1, x2 = primals
        out = log_add_exp(x1, x2)

        def finite(v):  # +inf counts as 0, so that inf - inf gives no NaN
            return where(lax.eq(v, _full_like(v, np.inf)), _full_like(v, 0), v)
        shares = [lax.mul(t, power(lax.sub(finite(x), finite(out)))) for x, t in zip(primals, tangents)]
        return out, lax.add(*shares)
    return log_add_exp


_logaddexp, _logaddexp2 = _log_add_exp("e"), _log_add_exp("2")


def logaddexp(x1, x2, /):
    """log(exp(x1) + exp(x2)), computed without overflow."""
    return _logaddexp(*promote_args_inexact("logaddexp", x1, x2))


def logaddexp2(x1, x2, /):
    """`log2(2**x1 + 2**x2)`, computed without overflow."""
    return _logaddexp2(*promote_args_inexact("logaddexp2", x1, x2))


def deg2rad(x, /):
    """Angles in degrees converted to radians."""
    (x,) = promote_args_inexact("deg2rad", x)
    return lax.mul(x, _full_like(x, np.pi / 180))


def rad2deg(x, /):
    """Angles in radians converted to degrees."""
    (x,) = promote_args_inexact("rad2deg", x)
    return lax.mul(x, _full_like(x, 180 / np.pi))


radians, degrees = deg2rad, rad2deg


def sinc(x, /):
    """The normalized sinc, sin(pi x) / (pi x), with 1 at x = 0."""
    (x,) = promote_args_inexact("sinc", x)
    pix = lax.mul(x, _full_like(x, np.pi))
    is_zero = lax.eq(x, _full_like(x, 0))
    safe = lax.select(is_zero, _full_like(x, 1), pix)
    return lax.select(is_zero, _full_like(x, 1), lax.div(lax.sin(safe), safe))


def copysign(x1, x2, /):
    """|x1| with the sign bit of x2 (-0.0 and negative NaNs count as negative)."""
    x1, x2 = promote_args_inexact("copysign", x1, x2)
    return where(signbit(x2), lax.neg(lax.abs(x1)), lax.abs(x1))


def signbit(x, /):
    """True where the sign bit is set (also for -0.0 and negative NaNs)."""
    (x,) = promote_args("signbit", x)
    if dtypes.is_float(x.dtype):
        bits = {2: dtypes.int16, 4: dtypes.int32, 8: dtypes.int64}[x.dtype.itemsize]
        return lax.lt(lax.bitcast_convert_type(x, bits), lax.full(x.shape, 0, bits))
    return lax.lt(x, _full_like(x, 0))


def spacing(x, /):
    """The distance from x to the next float away from zero (toward +inf for float16, as NumPy);
    the smallest subnormal where that distance rounds to 0."""
    (x,) = promote_args_inexact("spacing", x)
    if dtypes.is_complex(x.dtype):
        raise ValueError("spacing is not defined for complex inputs")
    if x.dtype == dtypes.float16:
        return lax.sub(lax.nextafter(x, _full_like(x, np.inf)), x)
    gap = lax.sub(lax.nextafter(x, copysign(_full_like(x, np.inf), x)), x)
    tiny = copysign(lax.full(x.shape, dtypes.finfo(x.dtype).smallest_subnormal, x.dtype), x)  # strong, as JAX's
    return where(lax.eq(gap, _full_like(gap, 0)), tiny, gap)


def heaviside(x1, x2, /):
    """The step function: 0 where x1 < 0, 1 where x1 > 0, x2 where x1 == 0, NaN where x1 is NaN."""
    x1, x2 = promote_args_inexact("heaviside", x1, x2)
    zero = _full_like(x1, 0)
    step = where(lax.lt(x1, zero), zero, where(lax.gt(x1, zero), _full_like(x1, 1), x2))
    return where(lax.ne(x1, x1), x1, step)


def isfinite(x, /):
    """Elementwise: neither infinite nor NaN (all True for integers and bools)."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return lax.full(x.shape, True, dtypes.bool_)
    return lax.is_finite(x)


def isnan(x, /):
    """Elementwise: whether x is NaN (all False for integers and bools)."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return lax.full(x.shape, False, dtypes.bool_)
    return lax.ne(x, x)


def isinf(x, /):
    """Elementwise: whether x is +inf or -inf (all False for integers and bools)."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return lax.full(x.shape, False, dtypes.bool_)
    return lax.eq(lax.abs(x), _full_like(x, np.inf))


def isposinf(x, /):
    """Elementwise: whether x is +inf (all False for integers and bools)."""
    x = asarray(x)
    return lax.eq(x, _full_like(x, np.inf)) if dtypes.is_inexact(x.dtype) else lax.full(x.shape, False, dtypes.bool_)


def isneginf(x, /):
    """Elementwise: whether x is -inf (all False for integers and bools)."""
    x = asarray(x)
    return lax.eq(x, _full_like(x, -np.inf)) if dtypes.is_inexact(x.dtype) else lax.full(x.shape, False, dtypes.bool_)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """x with NaN replaced by `nan`, +inf by `posinf` and -inf by `neginf` (by default the dtype's
    largest and most negative finite values). `copy` is accepted and changes nothing: mlax arrays
    are immutable."""
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return x
    info = dtypes.finfo(x.dtype)
    x = where(isnan(x), nan, x)
    x = where(isposinf(x), info.max if posinf is None else posinf, x)
    return where(isneginf(x), info.min if neginf is None else neginf, x)


def logical_and(x1, x2, /):
    """Elementwise AND of the truth values of x1 and x2."""
    x1, x2 = promote_args("logical_and", astype(asarray(x1), bool), astype(asarray(x2), bool))
    return lax.bitwise_and(x1, x2)


def logical_or(x1, x2, /):
    """Elementwise OR of the truth values of x1 and x2."""
    x1, x2 = promote_args("logical_or", astype(asarray(x1), bool), astype(asarray(x2), bool))
    return lax.bitwise_or(x1, x2)


def logical_xor(x1, x2, /):
    """Elementwise exclusive OR of the truth values of x1 and x2."""
    x1, x2 = promote_args("logical_xor", astype(asarray(x1), bool), astype(asarray(x2), bool))
    return lax.bitwise_xor(x1, x2)


def logical_not(x, /):
    """Elementwise NOT of the truth value of x."""
    return lax.bitwise_not(astype(asarray(x), bool))


def _bitwise(name, lax_fn):
    def fn(x1, x2, /):
        x1, x2 = promote_args(name, x1, x2)
        if dtypes.is_inexact(x1.dtype):
            raise TypeError(f"{name} is only defined for boolean and integer arrays, got {x1.dtype.name}")
        return lax_fn(x1, x2)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} of bools or integers, broadcast, as numpy.{name} (floats raise TypeError)."
    return fn


bitwise_and = _bitwise("bitwise_and", lax.bitwise_and)
bitwise_or = _bitwise("bitwise_or", lax.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", lax.bitwise_xor)


def invert(x, /):
    """Bitwise NOT of integers, logical NOT of bools; floats raise TypeError."""
    x = asarray(x)
    if dtypes.is_inexact(x.dtype):
        raise TypeError(f"invert is only defined for boolean and integer arrays, got {x.dtype.name}")
    return lax.bitwise_not(x)


bitwise_not = bitwise_invert = invert


def _bit_axis_last(name, a, axis, bitorder):
    """a with its bit axis last (flattened for axis None), that axis's position, and the bit shifts
    of the positions in a byte, first to last, for `bitorder`."""
    if bitorder not in ("little", "big"):
        raise ValueError(f"{name}: 'bitorder' must be either 'little' or 'big', got {bitorder!r}")
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(operator.index(axis), a.ndim)
    shifts = range(8) if bitorder == "little" else range(7, -1, -1)
    return moveaxis(a, axis, -1), axis, shifts


def packbits(a, axis=None, bitorder="big"):
    """The truth values of a packed into uint8 bytes along `axis` (the flattened array for None),
    eight to a byte, the last byte padded with zeros; the first element is the high bit ("big")."""
    a = asarray(a)
    if not (dtypes.is_integer(a.dtype) or a.dtype == dtypes.bool_):
        raise TypeError(f"packbits: expected an input array of integer or boolean data type, got {a.dtype.name}")
    bits, axis, shifts = _bit_axis_last("packbits", a, axis, bitorder)
    bits = lax.convert_element_type(lax.ne(bits, _full_like(bits, 0)), dtypes.uint8)
    padding = -bits.shape[-1] % 8
    bits = lax.pad(bits, np.uint8(0), [(0, 0, 0)] * (bits.ndim - 1) + [(0, padding, 0)])
    bits = reshape(bits, bits.shape[:-1] + (bits.shape[-1] // 8, 8))
    packed = lax.full(bits.shape[:-1], 0, dtypes.uint8)
    for position, shift in enumerate(shifts):
        bit = lax.slice_in_dim(bits, position, position + 1, axis=bits.ndim - 1)
        packed = lax.bitwise_or(packed, lax.shift_left(reshape(bit, packed.shape), lax.full(packed.shape, shift,
                                                                                           dtypes.uint8)))
    return moveaxis(packed, -1, axis)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """The bits of the uint8 array a as uint8 zeros and ones along `axis` (the flattened array for
    None), the high bit first ("big"); `count` keeps that many (padding with zeros past the end,
    a negative count drops from the end)."""
    a = asarray(a)
    if a.dtype != dtypes.uint8:
        raise TypeError(f"unpackbits: expected an input array of unsigned byte data type, got {a.dtype.name}")
    a, axis, shifts = _bit_axis_last("unpackbits", a, axis, bitorder)
    one = _full_like(a, 1)
    bits = stack([lax.bitwise_and(lax.shift_right_logical(a, _full_like(a, shift)), one) for shift in shifts], -1)
    bits = reshape(bits, bits.shape[:-2] + (bits.shape[-2] * 8,))
    if count is not None:
        count = operator.index(count)
        if count > bits.shape[-1]:
            bits = lax.pad(bits, np.uint8(0), [(0, 0, 0)] * (bits.ndim - 1) + [(0, count - bits.shape[-1], 0)])
        else:
            start, stop, _ = slice(None, count).indices(bits.shape[-1])
            bits = lax.slice_in_dim(bits, start, stop, axis=bits.ndim - 1)
    return moveaxis(bits, -1, axis)


def ldexp(x1, x2, /):
    """x1 * 2**x2 for integer x2, exactly (subnormal results too), as numpy.ldexp."""
    (x1,) = promote_args_inexact("ldexp", x1)
    x2 = asarray(x2)
    if dtypes.is_inexact(x2.dtype):
        raise TypeError(f"ldexp requires integer exponents, got {x2.dtype.name}")
    if x2.dtype == dtypes.bool_:
        x2 = astype(x2, dtypes.int32)
    shape = broadcast_shapes(x1.shape, x2.shape)
    return lax.ldexp(broadcast_to(x1, shape), broadcast_to(x2, shape))


def frexp(x, /):
    """(mantissa in [0.5, 1), int32 exponent) with x = mantissa * 2**exponent, as numpy.frexp."""
    (x,) = promote_args_inexact("frexp", x)
    return lax.frexp(x)


def modf(x, /):
    """(fractional part, integral part), both with the sign of x, as numpy.modf."""
    (x,) = promote_args_inexact("modf", x)
    return lax.modf(x)


def _integer_ufunc(name, lax_fn):
    def fn(x1, x2, /):
        x1, x2 = promote_args(name, x1, x2)
        if not dtypes.is_integer(x1.dtype):
            raise TypeError(f"{name} is only defined for integer arrays, got {x1.dtype.name}")
        return lax_fn(x1, x2)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} of integers with broadcasting, as numpy.{name}."
    return fn


gcd = _integer_ufunc("gcd", lax.gcd)
lcm = _integer_ufunc("lcm", lax.lcm)


def angle(z, deg=False):
    """The argument of complex z in radians (degrees with `deg`); 0 or pi for real z, as numpy.angle."""
    (z,) = promote_args_inexact("angle", z)
    a = lax.angle(z)
    return lax.mul(a, _full_like(a, 180 / np.pi)) if deg else a


def fmax(x1, x2, /):
    """Elementwise maximum that ignores NaN: where one operand is NaN, the other."""
    x1, x2 = promote_args("fmax", x1, x2)
    return where(isnan(x1), x2, where(isnan(x2), x1, lax.max(x1, x2)))


def fmin(x1, x2, /):
    """Elementwise minimum that ignores NaN: where one operand is NaN, the other."""
    x1, x2 = promote_args("fmin", x1, x2)
    return where(isnan(x1), x2, where(isnan(x2), x1, lax.min(x1, x2)))


def select(condlist, choicelist, default=0):
    """Elementwise, the choice of the first condition that holds (`default` where none does),
    as numpy.select; conditions are cast to bool, and everything broadcasts to one shape."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"condlist must have length equal to choicelist ({len(condlist)} vs {len(choicelist)})")
    if not condlist:
        raise ValueError("condlist must be non-empty")
    conditions = [astype(asarray(c), bool) for c in condlist]
    default, *choices = promote_args("select", default, *choicelist)
    shape = broadcast_shapes(default.shape, *(c.shape for c in conditions))
    result = broadcast_to(default, shape)
    for condition, choice in reversed(list(zip(conditions, choices))):  # the first that holds wins
        result = lax.select(broadcast_to(condition, shape), broadcast_to(choice, shape), result)
    return result


def where(condition, x=None, y=None, /):
    """x where condition else y, with broadcasting; the one-argument form needs concrete input."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where takes either one or three arguments")
    condition = astype(asarray(condition), bool)
    x, y = promote_args("where", x, y)
    shape = broadcast_shapes(condition.shape, x.shape, y.shape)
    return lax.select(broadcast_to(condition, shape), broadcast_to(x, shape), broadcast_to(y, shape))


def clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    """a limited to [a_min, a_max] (either bound may be None)."""
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    a = asarray(a)
    if lo is not None:
        a = maximum(a, lo)
    if hi is not None:
        a = minimum(a, hi)
    return a


def real(x, /):
    """The real part of complex x; real x is returned as it is."""
    x = asarray(x)
    return lax.real(x) if dtypes.is_complex(x.dtype) else x


def imag(x, /):
    """The imaginary part of complex x; zeros of x's dtype for real x."""
    x = asarray(x)
    return lax.imag(x) if dtypes.is_complex(x.dtype) else _full_like(x, 0)


def conj(x, /):
    """The complex conjugate; real x is returned as it is."""
    x = asarray(x)
    return lax.conj(x) if dtypes.is_complex(x.dtype) else x


conjugate = conj


def iscomplex(x):
    """Elementwise: whether the imaginary part is nonzero (all False for real x)."""
    i = imag(x)
    return lax.ne(i, _full_like(i, 0))


def isreal(x):
    """Elementwise: whether the imaginary part is zero (all True for real x)."""
    i = imag(x)
    return lax.eq(i, _full_like(i, 0))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise |a - b| <= atol + rtol * |b|; equal infinities are close, NaNs only with `equal_nan`."""
    a, b = promote_args_inexact("isclose", a, b)
    close = lax.le(lax.abs(lax.sub(a, b)), lax.add(_full_like(a, atol),
                                                    lax.mul(_full_like(a, rtol), lax.abs(b))))
    close = logical_or(close, lax.eq(a, b))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close

