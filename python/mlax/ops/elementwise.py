"""Elementwise ops: unary math, binary arithmetic, comparisons, select, clamp, convert.

Operands of a binary op have equal shapes and dtypes (broadcasting and
promotion happen in mlax.numpy, as in jax.lax). Each family is a table, one
row per op: its name, the StableHLO op it lowers to, the dtypes it accepts and
the NumPy function tests compare it with.

    %2 = "mlax.mul"(%0, %1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
"""

import math

import numpy as np

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import OPS, Op
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._rules import defbilinear, defjvp, deflinear, defzero, is_linear

__all__: list[str] = []  # the builders this family exports (mlax.lax re-exports them)

# Dtype classes: (predicate, description for error messages).
FLOAT = (dtypes.is_float, "floating-point")
INEXACT = (dtypes.is_inexact, "floating-point or complex")
NUMERIC = (lambda d: d != dtypes.bool_, "numeric")
INTEGRAL = (lambda d: d == dtypes.bool_ or dtypes.is_integer(d), "boolean or integer")
INTEGER = (dtypes.is_integer, "integer")
ANY = (lambda d: True, "any")


def _check_dtype(name, accepts, *avals):
    predicate, description = accepts
    for aval in avals:
        if not predicate(aval.dtype):
            raise TypeError(f"mlax.{name} requires {description} arguments, got dtype {aval.dtype.name}")


def _unary_rule(name, accepts, result_dtype=None):
    def rule(x):
        _check_dtype(name, accepts, x)
        dtype = result_dtype(x.dtype) if result_dtype else x.dtype
        return ShapedArray(x.shape, dtype, x.weak_type and dtype != dtypes.bool_)
    return rule


def check_same_shapes(name, *avals):
    shapes = [a.shape for a in avals]
    if any(s != shapes[0] for s in shapes):
        raise TypeError(f"mlax.{name} requires arguments of equal shapes, got shapes "
                        + " and ".join(map(str, shapes)))


def check_same_dtypes(name, *avals):
    kinds = [a.dtype for a in avals]
    if any(k != kinds[0] for k in kinds):
        raise TypeError(f"mlax.{name} requires arguments of equal dtypes, got "
                        + " and ".join(k.name for k in kinds))


def _binary_rule(name, accepts, result_dtype=None):
    def rule(x, y):
        check_same_shapes(name, x, y)
        check_same_dtypes(name, x, y)
        _check_dtype(name, accepts, x)
        dtype = result_dtype if result_dtype is not None else x.dtype
        return ShapedArray(x.shape, dtype, x.weak_type and y.weak_type and dtype != dtypes.bool_)
    return rule


def _lower_as(hlo_name):
    def lower(ctx, *args):
        return _hlo.value(hlo_name, args, ctx.out_types[0])
    return lower


def _lower_exp2(ctx, x):
    ln2 = _hlo.full_like(x, math.log(2.0))
    return _hlo.value("stablehlo.exponential", [_hlo.value("stablehlo.multiply", [x, ln2], x.type)], x.type)


def _lower_cbrt(ctx, x):
    """Cube root. IREE gives NaN for ±inf and cannot compile float64 cbrt, so
    float64 takes |x|^(1/3) with the sign, refined by one Newton step."""
    if ctx.in_avals[0].dtype != dtypes.float64:
        root = _hlo.value("stablehlo.cbrt", [x], x.type)
        return _hlo.select(_hlo.value("stablehlo.is_finite", [x], _hlo.compare(x, x, "EQ").type), root, x)
    magnitude = _hlo.value("stablehlo.abs", [x], x.type)
    guess = _hlo.value("stablehlo.power", [magnitude, _hlo.full_like(x, 1 / 3)], x.type)
    square = _hlo.value("stablehlo.multiply", [guess, guess], x.type)
    correction = _hlo.value("stablehlo.divide", [
        _hlo.value("stablehlo.subtract", [_hlo.value("stablehlo.multiply", [square, guess], x.type), magnitude],
                   x.type),
        _hlo.value("stablehlo.multiply", [square, _hlo.full_like(x, 3.0)], x.type)], x.type)
    refined = _hlo.value("stablehlo.subtract", [guess, correction], x.type)
    # Newton's step is undefined at 0 and infinity, where the guess is already exact.
    exact = _hlo.value("stablehlo.or", [_hlo.compare(magnitude, _hlo.full_like(x, 0), "EQ"),
                                        _hlo.compare(magnitude, _hlo.full_like(x, math.inf), "EQ")],
                       _hlo.compare(x, x, "EQ").type)
    root = _hlo.select(exact, guess, refined)
    negative = _hlo.compare(x, _hlo.full_like(x, 0), "LT")
    return _hlo.select(negative, _hlo.value("stablehlo.negate", [root], x.type), root)


def _lower_sign(ctx, x):
    """sign; StableHLO's sign rejects unsigned integers, whose sign is x != 0."""
    dtype = ctx.in_avals[0].dtype
    if dtypes.is_unsigned(dtype):  # clamp to [0, 1], with scalar bounds (any shape, even dynamic)
        return _hlo.value("stablehlo.clamp", [_hlo.constant(0, dtype), x, _hlo.constant(1, dtype)], x.type)
    return _hlo.value("stablehlo.sign", [x], x.type)


def _lower_pow(ctx, x, y):
    """x ** y. IREE gives NaN for a negative base, even with an integral exponent,
    and for a -inf base: take |x| ** y there, negated for odd integral exponents."""
    if not dtypes.is_float(ctx.in_avals[0].dtype):
        return _hlo.value("stablehlo.power", [x, y], x.type)
    magnitude = _hlo.value("stablehlo.power", [_hlo.value("stablehlo.abs", [x], x.type), y], x.type)
    bool_type = _hlo.compare(x, x, "EQ").type
    integral = _hlo.compare(_hlo.value("stablehlo.floor", [y], y.type), y, "EQ")
    odd = _hlo.compare(_hlo.value("stablehlo.remainder", [y, _hlo.full_like(y, 2.0)], y.type),
                       _hlo.full_like(y, 0), "NE")
    negative_base = _hlo.compare(x, _hlo.full_like(x, 0), "LT")
    signed = _hlo.select(_hlo.value("stablehlo.and", [integral, odd], bool_type),
                         _hlo.value("stablehlo.negate", [magnitude], x.type), magnitude)
    power = _hlo.value("stablehlo.power", [x, y], x.type)
    minus_infinity = _hlo.compare(x, _hlo.full_like(x, -math.inf), "EQ")
    use_signed = _hlo.value("stablehlo.and", [
        negative_base, _hlo.value("stablehlo.or", [integral, minus_infinity], bool_type)], bool_type)
    return _hlo.select(use_signed, signed, power)


def _np_vectorized(fn):
    vectorized = np.vectorize(fn, otypes=[np.float64])
    return lambda x: vectorized(np.asarray(x, np.float64)).astype(np.asarray(x).dtype)


def _np_erf_inv(x):
    from scipy import special  # tests only: numpy has no erfinv

    return special.erfinv(x)


def _np_digamma(x):
    from scipy import special

    return special.digamma(x)


# name: (StableHLO op, accepted dtypes, NumPy reference)
UNARY = {
    "neg": ("stablehlo.negate", NUMERIC, np.negative),
    "sign": (_lower_sign, NUMERIC, np.sign),
    "floor": ("stablehlo.floor", FLOAT, np.floor),
    "ceil": ("stablehlo.ceil", FLOAT, np.ceil),
    "round": ("stablehlo.round_nearest_even", FLOAT, np.round),
    "exp": ("stablehlo.exponential", INEXACT, np.exp),
    "exp2": (_lower_exp2, INEXACT, np.exp2),
    "log": ("stablehlo.log", INEXACT, np.log),
    "log1p": ("stablehlo.log_plus_one", INEXACT, np.log1p),
    "expm1": ("stablehlo.exponential_minus_one", INEXACT, np.expm1),
    "sqrt": ("stablehlo.sqrt", INEXACT, np.sqrt),
    "rsqrt": ("stablehlo.rsqrt", INEXACT, lambda x: 1 / np.sqrt(x)),
    "cbrt": (_lower_cbrt, FLOAT, np.cbrt),
    "sin": ("stablehlo.sine", INEXACT, np.sin),
    "cos": ("stablehlo.cosine", INEXACT, np.cos),
    "tan": ("stablehlo.tan", INEXACT, np.tan),
    "asin": ("chlo.asin", INEXACT, np.arcsin),
    "acos": ("chlo.acos", INEXACT, np.arccos),
    "atan": ("chlo.atan", INEXACT, np.arctan),
    "sinh": ("chlo.sinh", INEXACT, np.sinh),
    "cosh": ("chlo.cosh", INEXACT, np.cosh),
    "tanh": ("stablehlo.tanh", INEXACT, np.tanh),
    "asinh": ("chlo.asinh", INEXACT, np.arcsinh),
    "acosh": ("chlo.acosh", INEXACT, np.arccosh),
    "atanh": ("chlo.atanh", INEXACT, np.arctanh),
    "logistic": ("stablehlo.logistic", INEXACT, lambda x: 1 / (1 + np.exp(-x))),
    "erf": ("chlo.erf", FLOAT, _np_vectorized(math.erf)),
    "erf_inv": ("chlo.erf_inv", FLOAT, _np_erf_inv),
    "lgamma": ("chlo.lgamma", FLOAT, _np_vectorized(math.lgamma)),
    "digamma": ("chlo.digamma", FLOAT, _np_digamma),
    "not": ("stablehlo.not", INTEGRAL, lambda x: np.logical_not(x) if x.dtype == bool else np.invert(x)),
}

for _name, (_lowering, _accepts, _ref) in UNARY.items():
    _op = Op(_name, ["x"], _unary_rule(_name, _accepts),
             _lower_as(_lowering) if isinstance(_lowering, str) else _lowering,
             doc=f"Elementwise {_name}.")
    _op.traits.add("elementwise")
    _op.numpy_ref = _ref

# Ops whose result dtype differs from the operand's.
abs_ = Op("abs", ["x"], _unary_rule("abs", NUMERIC, dtypes.real_dtype), _lower_as("stablehlo.abs"),
          doc="Elementwise absolute value (the modulus for complex inputs).")
abs_.traits.add("elementwise")
abs_.numpy_ref = np.abs
is_finite = Op("is_finite", ["x"], _unary_rule("is_finite", FLOAT, lambda d: dtypes.bool_),
               _lower_as("stablehlo.is_finite"), doc="Elementwise test for finite values.")
is_finite.traits.add("elementwise")
is_finite.numpy_ref = np.isfinite


def _lower_atan2(ctx, y, x):
    """atan2 with IEEE results at the origin, where IREE gives NaN: ±0 or ±π by the operands' signs."""
    result = _hlo.value("stablehlo.atan2", [y, x], y.type)
    zero = _hlo.full_like(y, 0)
    at_origin = _hlo.value("stablehlo.and", [_hlo.compare(y, zero, "EQ"), _hlo.compare(x, zero, "EQ")],
                           _hlo.compare(y, zero, "EQ").type)
    bits = {2: dtypes.int16, 4: dtypes.int32, 8: dtypes.int64}[ctx.in_avals[0].dtype.itemsize]

    def sign_bit_set(v):
        as_int = _hlo.value("stablehlo.bitcast_convert", [v], mlir.tensor_type(_hlo.shape_of(v), bits))
        return _hlo.compare(as_int, _hlo.full_like(as_int, 0), "LT")

    magnitude = _hlo.select(sign_bit_set(x), _hlo.full_like(y, math.pi), zero)
    signed = _hlo.select(sign_bit_set(y), _hlo.value("stablehlo.negate", [magnitude], y.type), magnitude)
    return _hlo.select(at_origin, signed, result)


def _np_rem(x, y):
    return np.fmod(x, y)


def _np_int_div(x, y):
    if np.issubdtype(np.asarray(x).dtype, np.integer):
        return (np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))).astype(np.asarray(x).dtype)
    return np.true_divide(x, y)


# name: (StableHLO op, accepted dtypes, NumPy reference)
BINARY = {
    "add": ("stablehlo.add", ANY, np.add),
    "sub": ("stablehlo.subtract", NUMERIC, np.subtract),
    "mul": ("stablehlo.multiply", ANY, np.multiply),
    "div": ("stablehlo.divide", NUMERIC, _np_int_div),
    "rem": ("stablehlo.remainder", NUMERIC, _np_rem),
    "pow": (_lower_pow, NUMERIC, np.power),
    "max": ("stablehlo.maximum", ANY, np.maximum),
    "min": ("stablehlo.minimum", ANY, np.minimum),
    "atan2": (_lower_atan2, FLOAT, np.arctan2),
    "and": ("stablehlo.and", INTEGRAL, np.bitwise_and),
    "or": ("stablehlo.or", INTEGRAL, np.bitwise_or),
    "xor": ("stablehlo.xor", INTEGRAL, np.bitwise_xor),
    "shift_left": ("stablehlo.shift_left", INTEGER, np.left_shift),
    "shift_right_logical": ("stablehlo.shift_right_logical", INTEGER,
                            lambda x, y: (x.view(f"u{x.dtype.itemsize}") >> y.astype(f"u{x.dtype.itemsize}")).view(x.dtype)),
    "shift_right_arithmetic": ("stablehlo.shift_right_arithmetic", INTEGER, np.right_shift),
}

for _name, (_lowering, _accepts, _ref) in BINARY.items():
    _op = Op(_name, ["lhs", "rhs"], _binary_rule(_name, _accepts),
             _lower_as(_lowering) if isinstance(_lowering, str) else _lowering,
             doc=f"Elementwise {_name} of two arrays of equal shape and dtype.")
    _op.traits.add("elementwise")
    _op.numpy_ref = _ref


def _lower_compare(direction):
    return lambda ctx, x, y: _hlo.compare(x, y, direction)


# name: (StableHLO comparison direction, NumPy reference)
COMPARISONS = {
    "eq": ("EQ", np.equal), "ne": ("NE", np.not_equal),
    "lt": ("LT", np.less), "le": ("LE", np.less_equal),
    "gt": ("GT", np.greater), "ge": ("GE", np.greater_equal),
}

for _name, (_direction, _ref) in COMPARISONS.items():
    _op = Op(_name, ["lhs", "rhs"], _binary_rule(_name, ANY, dtypes.bool_), _lower_compare(_direction),
             doc=f"Elementwise comparison ({_direction}); the result is boolean.")
    _op.traits.add("elementwise")
    _op.numpy_ref = _ref


def _select_rule(pred, on_true, on_false):
    if pred.dtype != dtypes.bool_:
        raise TypeError(f"mlax.select requires a boolean predicate, got dtype {pred.dtype.name}")
    check_same_shapes("select", pred, on_true, on_false)
    check_same_dtypes("select", on_true, on_false)
    return on_true.update(weak_type=on_true.weak_type and on_false.weak_type)


select = Op("select", ["pred", "on_true", "on_false"], _select_rule,
            lambda ctx, p, t, f: _hlo.select(p, t, f),
            doc="Elementwise choice: on_true where pred, else on_false.")
select.traits.add("elementwise")
select.numpy_ref = np.where


def _clamp_rule(lo, x, hi):
    check_same_shapes("clamp", lo, x, hi)
    check_same_dtypes("clamp", lo, x, hi)
    return x


clamp = Op("clamp", ["min", "x", "max"], _clamp_rule,
           lambda ctx, lo, x, hi: _hlo.value("stablehlo.clamp", [lo, x, hi], x.type),
           doc="Elementwise min(max(x, min), max).")
clamp.traits.add("elementwise")
clamp.numpy_ref = lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi)


def _convert_rule(x, new_dtype, weak_type=False):
    return ShapedArray(x.shape, new_dtype, weak_type)


def _lower_convert(ctx, x, new_dtype, weak_type=False):
    out_type = ctx.out_types[0]
    source = ctx.in_avals[0].dtype
    if new_dtype == dtypes.bool_ and source != dtypes.bool_:
        # Converting to bool means "is nonzero", not truncation of the low bit.
        return _hlo.compare(x, _hlo.full_like(x, 0), "NE")
    if dtypes.is_complex(source) and not dtypes.is_complex(new_dtype):
        x = _hlo.value("stablehlo.real", [x], ctx.in_avals[0].update(dtype=dtypes.real_dtype(source)).mlir_type())
    if new_dtype == dtypes.bfloat16 and not dtypes.is_float(source):
        return _integer_to_bfloat16(x, ctx.in_avals[0])
    return _hlo.value("stablehlo.convert", [x], out_type)


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
    lowest_kept = _hlo.value("stablehlo.and", [_hlo.value("stablehlo.shift_right_logical", [bits, sixteen],
                                                          bits.type), _hlo.full_like(bits, 1)], bits.type)
    rounded = _hlo.value("stablehlo.add", [bits, _hlo.value("stablehlo.add", [lowest_kept, _hlo.full_like(bits, 0x7FFF)],
                                                             bits.type)], bits.type)
    high = _hlo.value("stablehlo.shift_right_logical", [rounded, sixteen], bits.type)
    return _hlo.value("stablehlo.bitcast_convert", [_hlo.value("stablehlo.convert", [high], typed(dtypes.int16))],
                      typed(dtypes.bfloat16))


convert_element_type = Op(
    "convert_element_type", ["x"], _convert_rule, _lower_convert,
    attrs={"new_dtype": "dtype", "weak_type": "bool"},
    doc="Elementwise conversion to new_dtype (float to int truncates toward zero).")
convert_element_type.traits.add("elementwise")
convert_element_type.numpy_ref = lambda x, new_dtype, weak_type=False: np.asarray(x).astype(new_dtype)


def _bitcast_rule(x, new_dtype):
    if np.dtype(new_dtype).itemsize != x.dtype.itemsize:
        raise TypeError(f"mlax.bitcast_convert_type: {x.dtype.name} and {np.dtype(new_dtype).name} differ in width")
    return ShapedArray(x.shape, new_dtype)


bitcast_convert_type = Op(
    "bitcast_convert_type", ["x"], _bitcast_rule,
    lambda ctx, x, new_dtype: _hlo.value("stablehlo.bitcast_convert", [x], ctx.out_types[0]),
    attrs={"new_dtype": "dtype"}, doc="Reinterpret the bits of each element as new_dtype (same width).")
bitcast_convert_type.traits.add("elementwise")
bitcast_convert_type.numpy_ref = lambda x, new_dtype: np.asarray(x).view(new_dtype)

# Complex parts: name -> (StableHLO op, NumPy reference).
for _name, (_lowering, _ref) in {"real": ("stablehlo.real", np.real), "imag": ("stablehlo.imag", np.imag)}.items():
    _op = Op(_name, ["x"], _unary_rule(_name, (dtypes.is_complex, "complex"), dtypes.real_dtype),
             _lower_as(_lowering), doc=f"The {_name} part of complex elements.")
    _op.traits.add("elementwise")
    _op.numpy_ref = _ref


def _complex_rule(x, y):
    check_same_shapes("complex", x, y)
    check_same_dtypes("complex", x, y)
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"mlax.complex requires float32 or float64 parts, got {x.dtype.name}")
    return ShapedArray(x.shape, dtypes.complex64 if x.dtype == dtypes.float32 else dtypes.complex128)


complex_ = Op("complex", ["real", "imag"], _complex_rule, _lower_as("stablehlo.complex"),
              doc="Complex numbers from real and imaginary parts.")
complex_.traits.add("elementwise")
complex_.numpy_ref = lambda x, y: x + 1j * y


def _np_polygamma(n, x):
    from scipy import special

    return special.polygamma(n.astype(np.int64), x).astype(x.dtype)


polygamma = Op("polygamma", ["n", "x"], _binary_rule("polygamma", FLOAT),
               lambda ctx, n, x: _hlo.value("chlo.polygamma", [n, x], x.type),
               doc="The n-th derivative of digamma at x (n holds whole numbers, as floats).")
polygamma.traits.add("elementwise")
polygamma.numpy_ref = _np_polygamma


# -- differentiation rules ---------------------------------------------------------------
# d(op)/dx as a function of (x, ans): the JVP is t * derivative.
_SQRT_PI = math.sqrt(math.pi)
UNARY_DERIVATIVES = {
    "exp": lambda x, ans: ans,
    "exp2": lambda x, ans: ops.mul(ans, math.log(2.0)),
    "log": lambda x, ans: ops.reciprocal(x),
    "log1p": lambda x, ans: ops.reciprocal(ops.add(x, 1.0)),
    "expm1": lambda x, ans: ops.add(ans, 1.0),
    "sqrt": lambda x, ans: ops.div(ops.full(ans.shape, 0.5, ans.dtype), ans),
    "rsqrt": lambda x, ans: ops.mul(ops.div(ans, x), -0.5),
    "cbrt": lambda x, ans: ops.div(ops.full(ans.shape, 1 / 3, ans.dtype), ops.mul(ans, ans)),
    "sin": lambda x, ans: ops.cos(x),
    "cos": lambda x, ans: ops.neg(ops.sin(x)),
    "tan": lambda x, ans: ops.add(ops.mul(ans, ans), 1.0),
    "asin": lambda x, ans: ops.rsqrt(ops.sub(ops.full(x.shape, 1, x.dtype), ops.mul(x, x))),
    "acos": lambda x, ans: ops.neg(ops.rsqrt(ops.sub(ops.full(x.shape, 1, x.dtype), ops.mul(x, x)))),
    "atan": lambda x, ans: ops.reciprocal(ops.add(ops.mul(x, x), 1.0)),
    "sinh": lambda x, ans: ops.cosh(x),
    "cosh": lambda x, ans: ops.sinh(x),
    "tanh": lambda x, ans: ops.sub(ops.full(ans.shape, 1, ans.dtype), ops.mul(ans, ans)),
    "asinh": lambda x, ans: ops.rsqrt(ops.add(ops.mul(x, x), 1.0)),
    "acosh": lambda x, ans: ops.rsqrt(ops.mul(ops.sub(x, 1.0), ops.add(x, 1.0))),
    "atanh": lambda x, ans: ops.reciprocal(ops.sub(ops.full(x.shape, 1, x.dtype), ops.mul(x, x))),
    "logistic": lambda x, ans: ops.mul(ans, ops.sub(ops.full(ans.shape, 1, ans.dtype), ans)),
    "erf": lambda x, ans: ops.mul(ops.exp(ops.neg(ops.mul(x, x))), 2 / _SQRT_PI),
    "erf_inv": lambda x, ans: ops.mul(ops.exp(ops.mul(ans, ans)), _SQRT_PI / 2),
    "lgamma": lambda x, ans: ops.digamma(x),
    "digamma": lambda x, ans: OPS["polygamma"](ops.full(x.shape, 1, x.dtype), x),
}

for _name, _derivative in UNARY_DERIVATIVES.items():
    defjvp(OPS[_name], (lambda d: lambda t, ans, x: ops.mul(t, d(x, ans)))(_derivative))


def _abs_tangent(t, ans, x):
    if dtypes.is_complex(x.dtype):  # d|z| = Re(conj(z) dz) / |z|
        return ops.real(ops.mul(t, ops.conj(ops.sign(x))))
    return ops.mul(t, ops.sign(x))


defjvp(OPS["abs"], _abs_tangent)

for _name in ("sign", "floor", "ceil", "round", "not", "is_finite", "bitcast_convert_type",
              "and", "or", "xor", "shift_left", "shift_right_logical", "shift_right_arithmetic",
              *COMPARISONS):
    defzero(OPS[_name])

deflinear(OPS["neg"], lambda ct, x: [ops.neg(ct)])
deflinear(OPS["add"], lambda ct, x, y: [ct, ct])
deflinear(OPS["sub"], lambda ct, x, y: [ct, ops.neg(ct)])
deflinear(OPS["real"], lambda ct, x: [ops.complex(ct, ops.full(ct.shape, 0, ct.dtype))])
deflinear(OPS["imag"], lambda ct, x: [ops.complex(ops.full(ct.shape, 0, ct.dtype), ops.neg(ct))])
deflinear(OPS["complex"], lambda ct, x, y: [ops.real(ct), ops.neg(ops.imag(ct))])
deflinear(OPS["select"], lambda ct, pred, a, b: [
    None,
    ops.select(pred, ct, ops.full(ct.shape, 0, ct.dtype)) if is_linear(a) else None,
    ops.select(pred, ops.full(ct.shape, 0, ct.dtype), ct) if is_linear(b) else None,
], linear_operands=(1, 2))
defbilinear(OPS["mul"], lambda ct, y, x_aval: ops.mul(ct, y), lambda ct, x, y_aval: ops.mul(x, ct))


def _div_jvp(ctx, primals, tangents):
    x, y = primals
    tx, ty = tangents
    ans = ops.div(x, y)
    parts = []
    if tx is not None:
        parts.append(ops.div(tx, y))
    if ty is not None:
        parts.append(ops.neg(ops.mul(ty, ops.div(ans, y))))
    return [ans], [None if not parts else parts[0] if len(parts) == 1 else ops.add(*parts)]


OPS["div"].jvp = _div_jvp
OPS["div"].traits.add("linear")  # in the numerator, which is all the JVP above needs
OPS["div"].transpose = lambda ctx, cts, x, y: [ops.div(cts[0], y), None]


def _trunc(x):
    return ops.select(ops.lt(x, ops.full(x.shape, 0, x.dtype)), ops.ceil(x), ops.floor(x))


def _pow_dx(t, ans, x, y):
    y_minus_one = ops.sub(y, ops.full(y.shape, 1, y.dtype))
    derivative = ops.mul(y, ops.pow(x, y_minus_one))
    is_zero_power = ops.eq(y, ops.full(y.shape, 0, y.dtype))
    return ops.mul(t, ops.select(is_zero_power, ops.full(y.shape, 0, y.dtype), derivative))


def _pow_dy(t, ans, x, y):
    safe_log = ops.log(ops.select(ops.eq(x, ops.full(x.shape, 0, x.dtype)), ops.full(x.shape, 1, x.dtype), x))
    return ops.mul(t, ops.mul(ans, safe_log))


def _extremum_jvp(comparison):
    """max/min: the tangent of the operand chosen; ties share it equally."""
    def jvp(ctx, primals, tangents):
        x, y = primals
        ans = OPS["max" if comparison == "gt" else "min"](x, y)
        one = ops.full(x.shape, 1, x.dtype)
        tie = ops.mul(ops.convert_element_type(ops.eq(x, y), x.dtype), 0.5)
        x_wins = ops.add(ops.convert_element_type(OPS[comparison](x, y), x.dtype), tie)
        parts = [ops.mul(tangents[0], x_wins) if tangents[0] is not None else None,
                 ops.mul(tangents[1], ops.sub(one, x_wins)) if tangents[1] is not None else None]
        parts = [p for p in parts if p is not None]
        return [ans], [None if not parts else parts[0] if len(parts) == 1 else ops.add(*parts)]
    return jvp


defjvp(OPS["rem"], lambda t, ans, x, y: t, lambda t, ans, x, y: ops.neg(ops.mul(t, _trunc(ops.div(x, y)))))
defjvp(OPS["pow"], _pow_dx, _pow_dy)
defjvp(OPS["atan2"],
       lambda t, ans, x, y: ops.mul(t, ops.div(y, ops.add(ops.mul(x, x), ops.mul(y, y)))),
       lambda t, ans, x, y: ops.mul(t, ops.neg(ops.div(x, ops.add(ops.mul(x, x), ops.mul(y, y))))))
defjvp(OPS["polygamma"], None,
       lambda t, ans, n, x: ops.mul(t, OPS["polygamma"](ops.add(n, 1.0), x)))
OPS["max"].jvp = _extremum_jvp("gt")
OPS["min"].jvp = _extremum_jvp("lt")


def _clamp_jvp(ctx, primals, tangents):
    lo, x, hi = primals
    ans = OPS["clamp"](lo, x, hi)
    # The result is min(max(x, lo), hi): hi wins whenever it is below lo too.
    masks = [ops.bitwise_and(ops.lt(x, lo), ops.le(lo, hi)), ops.bitwise_and(ops.ge(x, lo), ops.le(x, hi)),
             ops.gt(ops.max(x, lo), hi)]
    parts = [ops.mul(t, ops.convert_element_type(m, x.dtype)) for t, m in zip(tangents, masks) if t is not None]
    return [ans], [None if not parts else parts[0] if len(parts) == 1 else ops.add(parts[0], parts[1])
                   if len(parts) == 2 else ops.add(ops.add(parts[0], parts[1]), parts[2])]


OPS["clamp"].jvp = _clamp_jvp


def _convert_jvp(ctx, primals, tangents, new_dtype, weak_type=None):
    (x,), (t,) = primals, tangents
    ans = OPS["convert_element_type"](x, new_dtype=new_dtype, weak_type=weak_type)
    if t is None or not dtypes.is_inexact(new_dtype) or not dtypes.is_inexact(x.dtype):
        return [ans], [None]
    return [ans], [OPS["convert_element_type"](t, new_dtype=new_dtype, weak_type=weak_type)]


OPS["convert_element_type"].jvp = _convert_jvp
OPS["convert_element_type"].traits.add("linear")
OPS["convert_element_type"].transpose = lambda ctx, cts, x, new_dtype, weak_type=None: [
    ops.convert_element_type(cts[0], x.aval.dtype)]


# -- batching rules -------------------------------------------------------------------
for _op in list(OPS.values()):
    if "elementwise" in _op.traits:
        defbatch_elementwise(_op)
