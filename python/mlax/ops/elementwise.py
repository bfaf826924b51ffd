"""Elementwise ops: math functions, arithmetic, comparisons, select, clamp, conversions.

Operands of an op of several operands have equal shapes (and, but for ldexp and
select's predicate, equal dtypes): broadcasting and promotion happen in
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
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._rules import add_tangents, defbilinear, defjvp, deflinear, deftranspose, defzero, is_linear

__all__: list[str] = []  # the builders (mlax.ops and mlax.lax re-export them)

# Dtype classes: (predicate, description for error messages).
FLOAT = (dtypes.is_float, "floating-point")
INEXACT = (dtypes.is_inexact, "floating-point or complex")
COMPLEX = (dtypes.is_complex, "complex")
NUMERIC = (lambda d: d != dtypes.bool_, "numeric")
INTEGRAL = (lambda d: d == dtypes.bool_ or dtypes.is_integer(d), "boolean or integer")
INTEGER = (dtypes.is_integer, "integer")
ANY = (lambda d: True, "any")


# -- shape rules, lowerings, builders: what the families share -------------------------

def _check_dtype(name, accepts, *avals):
    predicate, description = accepts
    for aval in avals:
        if not predicate(aval.dtype):
            raise TypeError(f"mlax.{name} requires {description} arguments, got dtype {aval.dtype.name}")


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


def _unary_rule(name, accepts, result_dtype=None):
    def rule(x):
        _check_dtype(name, accepts, x)
        dtype = result_dtype(x.dtype) if result_dtype else x.dtype
        return ShapedArray(x.shape, dtype, x.weak_type and dtype != dtypes.bool_)
    return rule


def _binary_rule(name, accepts, result_dtype=None):
    def rule(x, y):
        check_same_shapes(name, x, y)
        check_same_dtypes(name, x, y)
        _check_dtype(name, accepts, x)
        dtype = result_dtype(x.dtype) if result_dtype else x.dtype
        return ShapedArray(x.shape, dtype, x.weak_type and y.weak_type and dtype != dtypes.bool_)
    return rule


def _boolean(dtype):
    return dtypes.bool_


def _lower_as(hlo_name):
    def lower(ctx, *args):
        return _hlo.value(hlo_name, args, ctx.out_types[0])
    return lower


def _h(name, *operands):
    """The StableHLO op `name` applied to operands, typed like the first."""
    return _hlo.value(name, list(operands), operands[0].type)


def _ir(name, operands, results):
    """An op's IR example, from MLIR element type names: _ir("sin", ["f32"], ["f32"])."""
    values = ", ".join(f"%{v}" for v in "abc"[:len(operands)])
    types = ", ".join(f"tensor<4x{t}>" for t in operands)
    outs = ", ".join(f"tensor<4x{t}>" for t in results)
    lhs, outs = ("%r", outs) if len(results) == 1 else (f"%r:{len(results)}", f"({outs})")
    return f'{lhs} = "mlax.{name}"({values}) : ({types}) -> {outs}'


def _entry(name, operands, shape_rule, lower, ref, doc, **kwargs):
    """An elementwise op's entry (registered in OPS), with its NumPy reference."""
    op = Op(name, operands, shape_rule, lower, doc=doc, **kwargs)
    op.traits.add("elementwise")
    op.numpy_ref = ref
    return op


def _export(fn):
    """Make `fn` a builder: exported in __all__, so mlax.ops and mlax.lax re-export it."""
    __all__.append(fn.__name__)
    return fn


def _is_python_scalar(x):
    return isinstance(x, (builtins.bool, builtins.int, builtins.float, builtins.complex))


def _like(args):
    """Turn Python scalars among `args` into weak arrays matching the first array."""
    reference = next((a for a in args if not _is_python_scalar(a)), None)
    if reference is None:
        return list(args)
    aval = aval_of(reference)
    return [ops.full(aval.shape, a, aval.dtype, weak_type=True) if _is_python_scalar(a) else a for a in args]


# -- the tables' rows, and the loop that defines their ops ------------------------------

ZERO = "zero"  # a row's derivative: the op is piecewise constant or integer-valued


class Linear(NamedTuple):
    """A row's derivative: the op is linear; transpose(ct, *operands) -> their cotangents."""
    transpose: Callable


class Unary(NamedTuple):
    lower: str | Callable     # the StableHLO op, or a lowering rule
    accepts: tuple            # a dtype class
    ref: Callable             # the NumPy reference
    derivative: Any           # d/dx as derivative(x, ans), ZERO, or Linear
    builder: str | None = None          # JAX's lax name, where it is not the op's
    result: Callable | None = None      # the result dtype from the operands', where they differ


class Binary(NamedTuple):
    lower: str | Callable
    accepts: tuple
    ref: Callable
    derivative: Any           # one partial(t, ans, x, y) per operand, its term of the tangent; ZERO; or Linear
    builder: str | None = None
    result: Callable | None = None


def _define(name, row):
    """The entry `<name>_p` and the builder that a table row describes, as module globals."""
    unary = isinstance(row, Unary)
    operands = ["x"] if unary else ["lhs", "rhs"]
    shape_rule = (_unary_rule if unary else _binary_rule)(name, row.accepts, row.result)
    example = next(d for d in (dtypes.float32, dtypes.int32, dtypes.bool_, dtypes.complex64) if row.accepts[0](d))
    out = shape_rule(*[ShapedArray((4,), example)] * len(operands)).dtype
    op = _entry(name, operands, shape_rule, _lower_as(row.lower) if isinstance(row.lower, str) else row.lower,
                row.ref, doc=f"Elementwise {name}: " + _ir(name, [dtypes.MLIR_NAMES[example]] * len(operands),
                                                              [dtypes.MLIR_NAMES[out]]))
    if row.derivative is ZERO:
        defzero(op)
    elif isinstance(row.derivative, Linear):
        deflinear(op, row.derivative.transpose)
    elif unary:
        defjvp(op, lambda t, ans, x: ops.mul(t, row.derivative(x, ans)))
    else:
        defjvp(op, *row.derivative)
    defbatch_elementwise(op)

    def unary_builder(x):
        return op(x)

    def binary_builder(x, y):
        return op(*_like((x, y)))
    builder = unary_builder if unary else binary_builder
    builder.__name__ = builder.__qualname__ = row.builder or name
    builder.__doc__ = op.__doc__
    globals()[f"{name}_p"], globals()[builder.__name__] = op, _export(builder)


# -- unary math ---------------------------------------------------------------------------

def _lower_sign(ctx, x):
    """sign; StableHLO's sign rejects unsigned integers, whose sign is x != 0."""
    dtype = ctx.in_avals[0].dtype
    if dtypes.is_unsigned(dtype):  # clamp to [0, 1], with scalar bounds (any shape, even dynamic)
        return _hlo.value("stablehlo.clamp", [_hlo.constant(0, dtype), x, _hlo.constant(1, dtype)], x.type)
    return _h("stablehlo.sign", x)


def _lower_exp2(ctx, x):
    return _h("stablehlo.exponential", _h("stablehlo.multiply", x, _hlo.full_like(x, math.log(2.0))))


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
    "sin": Unary("stablehlo.sine", INEXACT, np.sin, lambda x, ans: ops.cos(x)),
    "cos": Unary("stablehlo.cosine", INEXACT, np.cos, lambda x, ans: ops.neg(ops.sin(x))),
    "tan": Unary("stablehlo.tan", INEXACT, np.tan, lambda x, ans: ops.add(ops.mul(ans, ans), 1.0)),
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
    "digamma": Unary("chlo.digamma", FLOAT, _np_scipy_special("digamma"),
                     lambda x, ans: ops.polygamma(ops.full(x.shape, 1, x.dtype), x)),
}

for _name in UNARY:
    _define(_name, UNARY[_name])


# -- binary arithmetic and bitwise ops --------------------------------------------------

def _trunc(x):
    return ops.select(ops.lt(x, ops.full(x.shape, 0, x.dtype)), ops.ceil(x), ops.floor(x))


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


def _np_logical_shift_right(x, y):
    unsigned = f"u{x.dtype.itemsize}"
    return (x.view(unsigned) >> y.astype(unsigned)).view(x.dtype)


BINARY = {
    "add": Binary("stablehlo.add", ANY, np.add, Linear(lambda ct, x, y: [ct, ct])),
    "sub": Binary("stablehlo.subtract", NUMERIC, np.subtract, Linear(lambda ct, x, y: [ct, ops.neg(ct)])),
    "rem": Binary("stablehlo.remainder", NUMERIC, np.fmod,
                  (lambda t, ans, x, y: t, lambda t, ans, x, y: ops.neg(ops.mul(t, _trunc(ops.div(x, y)))))),
    # nextafter steps to the neighbouring float: treated like rounding, its derivative is zero.
    "nextafter": Binary(_lower_nextafter, FLOAT, np.nextafter, ZERO),
    "and": Binary("stablehlo.and", INTEGRAL, np.bitwise_and, ZERO, builder="bitwise_and"),
    "or": Binary("stablehlo.or", INTEGRAL, np.bitwise_or, ZERO, builder="bitwise_or"),
    "xor": Binary("stablehlo.xor", INTEGRAL, np.bitwise_xor, ZERO, builder="bitwise_xor"),
    "shift_left": Binary("stablehlo.shift_left", INTEGER, np.left_shift, ZERO),
    "shift_right_logical": Binary("stablehlo.shift_right_logical", INTEGER, _np_logical_shift_right, ZERO),
    "shift_right_arithmetic": Binary("stablehlo.shift_right_arithmetic", INTEGER, np.right_shift, ZERO),
}

for _name in BINARY:
    _define(_name, BINARY[_name])


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
    _define(_name, Binary(_lower_compare(_direction), ANY, _ref, ZERO, result=_boolean))


# -- mul: bilinear ---------------------------------------------------------------------------

mul_p = _entry("mul", ["lhs", "rhs"], _binary_rule("mul", ANY), _lower_as("stablehlo.multiply"), np.multiply,
               doc="Elementwise product: " + _ir("mul", ["f32", "f32"], ["f32"]))


@_export
def mul(x, y):
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
    """x ** y. IREE 3.13 gives NaN for a negative base, even with an integral exponent,
    and for a -inf base: take |x| ** y there, negated for odd integral exponents."""
    if not dtypes.is_float(ctx.in_avals[0].dtype):
        return _h("stablehlo.power", x, y)
    magnitude = _h("stablehlo.power", _h("stablehlo.abs", x), y)
    integral = _hlo.compare(_h("stablehlo.floor", y), y, "EQ")
    odd = _hlo.compare(_h("stablehlo.remainder", y, _hlo.full_like(y, 2.0)), _hlo.full_like(y, 0), "NE")
    signed = _hlo.select(_h("stablehlo.and", integral, odd), _h("stablehlo.negate", magnitude), magnitude)
    use_signed = _h("stablehlo.and", _hlo.compare(x, _hlo.full_like(x, 0), "LT"),
                    _h("stablehlo.or", integral, _hlo.compare(x, _hlo.full_like(x, -math.inf), "EQ")))
    return _hlo.select(use_signed, signed, _h("stablehlo.power", x, y))


pow_p = _entry("pow", ["lhs", "rhs"], _binary_rule("pow", NUMERIC), _lower_pow, np.power,
               doc="Elementwise power x ** y: " + _ir("pow", ["f32", "f32"], ["f32"]))


@_export
def pow(x, y):  # noqa: A001 - JAX's name
    return pow_p(*_like((x, y)))


def _pow_dx(t, ans, x, y):
    derivative = ops.mul(y, ops.pow(x, ops.sub(y, ops.full(y.shape, 1, y.dtype))))
    zero = ops.full(y.shape, 0, y.dtype)
    return ops.mul(t, ops.select(ops.eq(y, zero), zero, derivative))  # d(x ** 0) = 0, even at x = 0


def _pow_dy(t, ans, x, y):
    safe_log = ops.log(ops.select(ops.eq(x, ops.full(x.shape, 0, x.dtype)), ops.full(x.shape, 1, x.dtype), x))
    return ops.mul(t, ops.mul(ans, safe_log))


defjvp(pow_p, _pow_dx, _pow_dy)
defbatch_elementwise(pow_p)


# -- atan2 --------------------------------------------------------------------------------

def _atan2(y, x, dtype):
    """atan2 with IEEE results where y = ±0 or x = ±inf: IREE 3.13 gives NaN at the origin
    and for two infinities, and π for atan2(-0.0, x < 0) and atan2(-1, -inf). There the angle
    is 0, π (or π/4, 3π/4 for two infinities) by the sign of x, with the sign of y."""
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
                            _hlo.select(negative_x, c(math.pi), c(0)))
    signed = _hlo.select(_sign_bit(y, dtype), _h("stablehlo.negate", magnitude), magnitude)
    return _hlo.select(_h("stablehlo.or", axis, corner), signed, _h("stablehlo.atan2", y, x))


atan2_p = _entry("atan2", ["lhs", "rhs"], _binary_rule("atan2", FLOAT),
                 lambda ctx, y, x: _atan2(y, x, ctx.in_avals[0].dtype), np.arctan2,
                 doc="Elementwise atan2(y, x), the angle of the point (x, y): " + _ir("atan2", ["f32", "f32"], ["f32"]))


@_export
def atan2(x, y):
    return atan2_p(*_like((x, y)))


def _atan2_partial(numerator):
    def partial(t, ans, y, x):  # d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)
        return ops.mul(t, ops.div(numerator(y, x), ops.add(ops.mul(x, x), ops.mul(y, y))))
    return partial


defjvp(atan2_p, _atan2_partial(lambda y, x: x), _atan2_partial(lambda y, x: ops.neg(y)))
defbatch_elementwise(atan2_p)


# -- max, min: the tangent of the operand chosen; ties share it equally ------------------

max_p = _entry("max", ["lhs", "rhs"], _binary_rule("max", ANY), _lower_as("stablehlo.maximum"), np.maximum,
               doc="Elementwise maximum (NaN if either is NaN): " + _ir("max", ["f32", "f32"], ["f32"]))
min_p = _entry("min", ["lhs", "rhs"], _binary_rule("min", ANY), _lower_as("stablehlo.minimum"), np.minimum,
               doc="Elementwise minimum (NaN if either is NaN): " + _ir("min", ["f32", "f32"], ["f32"]))


@_export
def max(x, y):  # noqa: A001 - JAX's name
    return max_p(*_like((x, y)))


@_export
def min(x, y):  # noqa: A001 - JAX's name
    return min_p(*_like((x, y)))


def _extremum_jvp(op, x_wins):
    def jvp(ctx, primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        tie = ops.mul(convert_element_type(ops.eq(x, y), x.dtype), 0.5)
        x_share = ops.add(convert_element_type(x_wins(x, y), x.dtype), tie)
        y_share = ops.sub(ops.full(x.shape, 1, x.dtype), x_share)
        return [op(x, y)], [add_tangents([None if tx is None else ops.mul(tx, x_share),
                                          None if ty is None else ops.mul(ty, y_share)])]
    return jvp


max_p.jvp = _extremum_jvp(max_p, lambda x, y: ops.gt(x, y))
min_p.jvp = _extremum_jvp(min_p, lambda x, y: ops.lt(x, y))
defbatch_elementwise(max_p)
defbatch_elementwise(min_p)


# -- abs: a real result, the modulus of complex x -----------------------------------------

abs_p = _entry("abs", ["x"], _unary_rule("abs", NUMERIC, dtypes.real_dtype), _lower_as("stablehlo.abs"), np.abs,
               doc="Elementwise absolute value, the modulus of complex x: " + _ir("abs", ["complex<f32>"], ["f32"]))


@_export
def abs(x):  # noqa: A001 - JAX's name
    return abs_p(x)


def _abs_tangent(t, ans, x):
    if dtypes.is_complex(x.dtype):  # d|z| = Re(conj(z) dz) / |z|
        return ops.real(ops.mul(t, conj(ops.sign(x))))
    return ops.mul(t, ops.sign(x))


defjvp(abs_p, _abs_tangent)
defbatch_elementwise(abs_p)


# -- polygamma: differentiable in x only (n holds whole numbers, as floats) ---------------

polygamma_p = _entry("polygamma", ["n", "x"], _binary_rule("polygamma", FLOAT), _lower_as("chlo.polygamma"),
                     lambda n, x: _np_scipy_special("polygamma")(n.astype(np.int64), x).astype(x.dtype),
                     doc="The n-th derivative of digamma at x: " + _ir("polygamma", ["f32", "f32"], ["f32"]))


@_export
def polygamma(m, x):
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
    return complex_p(*_like((x, y)))


@_export
def real(x):
    return real_p(x)


@_export
def imag(x):
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
    on_true, on_false = _like((on_true, on_false))
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
    return clamp_p(*_like((min, x, max)))


def _clamp_jvp(ctx, primals, tangents):
    lo, x, hi = primals
    # The result is min(max(x, lo), hi): hi wins whenever it is below lo too.
    chosen = [ops.bitwise_and(ops.lt(x, lo), ops.le(lo, hi)), ops.bitwise_and(ops.ge(x, lo), ops.le(x, hi)),
              ops.gt(max(x, lo), hi)]
    return [clamp(lo, x, hi)], [add_tangents([None if t is None else mul(t, convert_element_type(c, x.dtype))
                                              for t, c in zip(tangents, chosen)])]


clamp_p.jvp = _clamp_jvp
defbatch_elementwise(clamp_p)


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
    return _hlo.value("stablehlo.convert", [x], ctx.out_types[0])


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
        return ops.full(np.shape(x), x, new_dtype, weak_type=weak_type)
    return convert_element_type_p(x, new_dtype=new_dtype, weak_type=weak_type or None)


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
    return bitcast_convert_type_p(operand, new_dtype=dtypes.canonicalize(new_dtype))


defzero(bitcast_convert_type_p)
defbatch_elementwise(bitcast_convert_type_p)


# -- builders made of other ops (no entries of their own) -------------------------------------

@_export
def integer_pow(x, y):
    """x ** y for a static integer y, by repeated multiplication."""
    shape, dtype = aval_of(x).shape, aval_of(x).dtype
    if y == 0:
        return ops.full(shape, 1, dtype)
    base = x if y > 0 else div(ops.full(shape, 1, dtype), x)
    result, power = None, builtins.abs(y)
    while power:
        if power & 1:
            result = base if result is None else mul(result, base)
        power >>= 1
        if power:
            base = mul(base, base)
    return result


@_export
def square(x):
    return mul(x, x)


@_export
def reciprocal(x):
    return div(ops.full(aval_of(x).shape, 1, aval_of(x).dtype), x)


# -- floats taken apart: frexp, ldexp, modf ------------------------------------------------
# frexp and ldexp work on the bits in integers: IREE 3.13 flushes subnormal operands and
# results of float arithmetic to zero on CPU (1e-45 * 2 gives 0), so scaling by powers of
# two in floats loses the subnormals NumPy keeps.

def _bits_dtype(dtype):
    return {1: dtypes.int8, 2: dtypes.int16, 4: dtypes.int32, 8: dtypes.int64}[np.dtype(dtype).itemsize]


def _sign_bit(x, dtype):
    """Is the sign bit of float x set (true for -0.0 and negative NaNs too)?"""
    bits = _hlo.value("stablehlo.bitcast_convert", [x], mlir.tensor_type(_hlo.shape_of(x), _bits_dtype(dtype)))
    return _hlo.compare(bits, _hlo.full_like(bits, 0), "LT")


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


@_export
def frexp(x):
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


@_export
def ldexp(x, n):
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


@_export
def modf(x):
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
    """Euclid's algorithm on |x|, |y|, as many steps as the dtype's width may need (46 for
    int32) in a stablehlo.while. A loop until all remainders are 0 would reduce a dynamically
    shaped tensor in the loop, which IREE 3.13 cannot compile for eager kernels' tensor<?x...>
    ("failed to legalize unresolved target materialization")."""
    if not dtypes.is_unsigned(dtype):
        x, y = _h("stablehlo.abs", x), _h("stablehlo.abs", y)
    zeros, ones = _full_like(x, 0), _full_like(x, 1)
    step = _hlo.constant(0, dtypes.int32)
    types = [step.type, x.type, y.type]
    loop = _hlo.op("stablehlo.while", [step, x, y], types, regions=2)
    cond_block, body_block = loop.regions[0].blocks.append(*types), loop.regions[1].blocks.append(*types)
    with mlir.ir.InsertionPoint(cond_block):
        steps = _hlo.constant(_euclid_steps(8 * np.dtype(dtype).itemsize), dtypes.int32)
        _hlo.op("stablehlo.return", [_hlo.compare(cond_block.arguments[0], steps, "LT")], [])
    with mlir.ir.InsertionPoint(body_block):
        i, a, b = body_block.arguments
        done = _hlo.compare(b, zeros, "EQ")
        remainder = _h("stablehlo.remainder", a, _hlo.select(done, ones, b))
        _hlo.op("stablehlo.return", [_h("stablehlo.add", i, _hlo.constant(1, dtypes.int32)),
                                     _hlo.select(done, a, b), _hlo.select(done, b, remainder)], [])
    # abs again: |INT_MIN| wraps to INT_MIN, whose remainders may leave a negative gcd (NumPy's 2 for gcd(6, INT_MIN)).
    return loop.results[1] if dtypes.is_unsigned(dtype) else _h("stablehlo.abs", loop.results[1])


def _lower_lcm(ctx, x, y):
    """|x| / gcd * |y|, wrapping on overflow as NumPy's does (0 when either is 0). For signed x, y
    that is (x / gcd) * y * sign(x) * sign(y): IREE 3.13 cannot compile a use of |x| after a loop
    that starts from it ("circular dependency: input operation uses partition output")."""
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


@_export
def gcd(x, y):
    return gcd_p(*_like((x, y)))


@_export
def lcm(x, y):
    return lcm_p(*_like((x, y)))


for _op in (gcd_p, lcm_p):
    defzero(_op)
    defbatch_elementwise(_op)
