"""mlax.numpy basics: dtypes, array creation, type promotion and broadcasting,
and the elementwise functions (ufuncs).

Promotion follows JAX (weakly typed Python scalars, no silent 64-bit types
without x64); broadcasting follows NumPy.
"""

import builtins

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.runtime.array import Array, device_put
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Tracer, aval_of, current_trace

ndarray = Array
dtype = np.dtype
iinfo = np.iinfo
finfo = dtypes.finfo
issubdtype = np.issubdtype
pi, e, inf, nan, euler_gamma = np.pi, np.e, np.inf, np.nan, np.euler_gamma
newaxis = None

integer, signedinteger, unsignedinteger = np.integer, np.signedinteger, np.unsignedinteger
floating, complexfloating, inexact, number, generic = np.floating, np.complexfloating, np.inexact, np.number, np.generic


class _ScalarType:
    """A dtype name usable as `mnp.float32(x)` (an Array) and as a dtype."""

    def __init__(self, numpy_type):
        self.dtype = np.dtype(numpy_type)
        self.__name__ = self.dtype.name

    def __call__(self, x):
        return asarray(x, dtype=self.dtype)

    def __eq__(self, other):
        try:
            return self.dtype == np.dtype(other)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self.dtype)

    def __repr__(self):
        return f"mlax.numpy.{self.__name__}"


bool_ = _ScalarType(np.bool_)
int8, int16, int32, int64 = (_ScalarType(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (_ScalarType(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
float16, float32, float64 = (_ScalarType(t) for t in (np.float16, np.float32, np.float64))
bfloat16 = _ScalarType(dtypes.bfloat16)
complex64, complex128 = _ScalarType(np.complex64), _ScalarType(np.complex128)
float_, int_, complex_ = float64, int64, complex128


def _dtype_arg(d):
    return None if d is None else dtypes.canonicalize(np.dtype(d.dtype if isinstance(d, _ScalarType) else d))


def result_type(*args):
    """The dtype mlax.numpy gives to an operation mixing `args` (arrays, dtypes, scalars)."""
    return dtypes.promote_types(*[_typed(a) for a in args])[0]


def promote_types(a, b):
    return dtypes.result_type(np.dtype(_dtype_arg(a)), np.dtype(_dtype_arg(b)))


def can_cast(from_, to, casting="safe"):
    return np.can_cast(np.dtype(from_), np.dtype(to), casting)


def _typed(x):
    if isinstance(x, (np.dtype, type, _ScalarType, str)) and not isinstance(x, ArrayMethods):
        return _dtype_arg(x), False
    aval = aval_of(x)
    return aval.dtype, aval.weak_type


# -- creation -------------------------------------------------------------------

def asarray(a, dtype=None, order=None, copy=None):
    """`a` as an mlax array (no copy when it already is one of the dtype)."""
    dtype = _dtype_arg(dtype)
    if isinstance(a, (Array, Tracer)):
        return a if dtype is None else astype(a, dtype)
    if isinstance(a, (list, tuple)) and any(isinstance(x, ArrayMethods) for x in _flat(a)):
        return stack([asarray(x, dtype) for x in a]) if a else array(np.asarray(a), dtype)
    if isinstance(a, (bool, int, float, complex)):
        aval = aval_of(a)
        return lax.full((), a, dtype or aval.dtype, weak_type=dtype is None)
    value = np.asarray(a)
    if value.dtype == object:
        raise TypeError(f"cannot convert {type(a).__name__} to an mlax array")
    target = dtype or dtypes.canonicalize(value.dtype)
    if current_trace() is None:
        return device_put(value.astype(target, copy=False))
    return lax.full(value.shape, 0, target) if value.size == 0 else _traced_constant(value.astype(target))


def _traced_constant(value):
    """A numpy constant inside a trace (large ones are passed in as arguments)."""
    trace = current_trace()
    return Tracer(trace, trace.lift(value), aval_of(value))


def _flat(a):
    for x in a:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def array(object, dtype=None, copy=True, order="K", ndmin=0):  # noqa: A002 - NumPy's name
    """A new mlax array from `object`."""
    out = asarray(object, dtype)
    if ndmin > out.ndim:
        out = lax.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def astype(x, dtype, copy=False):
    return lax.convert_element_type(x, _dtype_arg(dtype))


def _shape_arg(shape):
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)


def zeros(shape, dtype=None):
    return full(shape, 0, dtype or dtypes.default_float())


def ones(shape, dtype=None):
    return full(shape, 1, dtype or dtypes.default_float())


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (weakly typed for a Python scalar without dtype)."""
    shape = _shape_arg(shape)
    dtype = _dtype_arg(dtype)
    if isinstance(fill_value, ArrayMethods) or np.ndim(fill_value):
        return broadcast_to(asarray(fill_value, dtype), shape)
    if dtype is not None:
        return _filled(shape, fill_value, dtype, weak=False)
    if isinstance(fill_value, (bool, int, float, complex)):
        return _filled(shape, fill_value, aval_of(fill_value).dtype, weak=True)
    return _filled(shape, fill_value, dtypes.canonicalize(np.asarray(fill_value).dtype), weak=False)


def _filled(shape, fill_value, dtype, weak):
    if current_trace() is not None:
        return lax.full(shape, fill_value, dtype, weak_type=weak)
    out = device_put(np.full(shape, fill_value, dtype))
    return lax.convert_element_type(out, dtype, weak_type=True) if weak else out


def zeros_like(a, dtype=None, shape=None):
    return full_like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    return full_like(a, 1, dtype, shape)


def empty_like(a, dtype=None, shape=None):
    return zeros_like(a, dtype, shape)


def full_like(a, fill_value, dtype=None, shape=None):
    """An array shaped like `a` (or `shape`) filled with `fill_value`, of a's dtype and weak type unless `dtype`."""
    aval = aval_of(a)
    shape = aval.shape if shape is None else _shape_arg(shape)
    if dtype is not None or isinstance(fill_value, ArrayMethods) or np.ndim(fill_value):
        return full(shape, fill_value, _dtype_arg(dtype) or aval.dtype)
    return _filled(shape, fill_value, aval.dtype, aval.weak_type)


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (all bounds static)."""
    for bound in (start, stop, step):
        if isinstance(bound, Tracer):
            raise bound._concretization_error("a bound of arange")
    values = np.arange(start, stop, step) if step is not None else (
        np.arange(start, stop) if stop is not None else np.arange(start))
    dtype = _dtype_arg(dtype) or (dtypes.default_int() if values.dtype.kind in "iu" else dtypes.default_float())
    if current_trace() is None:
        return device_put(values.astype(dtype))
    if step is None and (stop is None or start == 0):
        return lax.iota(dtype, values.size)
    return asarray(values.astype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced samples from start to stop."""
    dtype = _dtype_arg(dtype) or dtypes.default_float()
    if current_trace() is None:  # eager: NumPy computes the samples, nothing to compile
        samples, step = np.linspace(np.asarray(start), np.asarray(stop), num, endpoint, retstep=True, axis=axis)
        out = device_put(samples.astype(dtype))
        return (out, device_put(np.asarray(step, dtypes.default_float()))) if retstep else out
    start, stop = asarray(start, dtype=dtypes.default_float()), asarray(stop, dtype=dtypes.default_float())
    divisor = (num - 1) if endpoint else num
    steps = lax.iota(dtypes.default_float(), num)
    step = (stop - start) / builtins.max(divisor, 1)
    shape = [num] + [1] * start.ndim
    out = start + reshape(steps, shape) * step
    if endpoint and num > 1:
        out = concatenate([out[:-1], expand_dims(stop, 0)], axis=0)
    out = moveaxis(out, 0, axis) if start.ndim else out
    out = astype(out, dtype)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    return astype(power(base, linspace(start, stop, num, endpoint, axis=axis)), _dtype_arg(dtype) or dtypes.default_float())


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    """Ones on the k-th diagonal of an N x M matrix."""
    M = N if M is None else M
    dtype = _dtype_arg(dtype) or dtypes.default_float()
    if current_trace() is None:
        return device_put(np.eye(N, M, k, dtype))
    rows = lax.broadcasted_iota(dtypes.int32, (N, M), 0)
    cols = lax.broadcasted_iota(dtypes.int32, (N, M), 1)
    return astype(lax.eq(lax.add(rows, k), cols), dtype)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    """Ones at and below the k-th diagonal of an N x M matrix."""
    M = N if M is None else M
    dtype = _dtype_arg(dtype) or dtypes.default_float()
    if current_trace() is None:
        return device_put(np.tri(N, M, k, dtype))
    rows = lax.broadcasted_iota(dtypes.int32, (N, M), 0)
    cols = lax.broadcasted_iota(dtypes.int32, (N, M), 1)
    return astype(lax.ge(lax.add(rows, k), cols), dtype)


def tril(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k, dtype=bool_)
    return where(mask, m, zeros_like(m))


def triu(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k - 1, dtype=bool_)
    return where(mask, zeros_like(m), m)


# -- promotion and broadcasting ---------------------------------------------------

def broadcast_shapes(*shapes):
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ValueError("Incompatible shapes for broadcasting: "
                         + ", ".join(str(tuple(s)) for s in shapes)) from None


def broadcast_to(x, shape):
    """`x` broadcast to `shape` by NumPy's rules."""
    x = asarray(x)
    shape = _shape_arg(shape)
    if x.shape == shape:
        return x
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"Incompatible shapes for broadcasting: {x.shape} and requested shape {shape}")
    lead = len(shape) - x.ndim
    keep = [i for i, d in enumerate(x.shape) if d == shape[lead + i]]
    if len(keep) != x.ndim:
        x = lax.reshape(x, [x.shape[i] for i in keep])
    return lax.broadcast_in_dim(x, shape, [lead + i for i in keep])


def broadcast_arrays(*args):
    shape = broadcast_shapes(*[aval_of(a).shape for a in args])
    return [broadcast_to(a, shape) for a in args]


def promote_args(name, *args):
    """The args converted to their common dtype and broadcast to one shape."""
    converted = promote_dtypes(*args)
    shapes = [c.shape for c in converted]
    if any(s != shapes[0] for s in shapes):
        try:
            shape = tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            raise ValueError(f"{name}: incompatible shapes for broadcasting: "
                             + " and ".join(map(str, shapes))) from None
        converted = [broadcast_to(c, shape) for c in converted]
    return converted


def promote_dtypes(*args):
    """The args converted to their common dtype (shapes untouched)."""
    dtype, weak = dtypes.promote_types(*[_typed(a) for a in args])
    return [_convert(a, dtype, weak) for a in args]


def _full_like(x, value):
    """A constant of x's shape, dtype and weak type."""
    return lax.full(x.shape, value, x.dtype, weak_type=x.weak_type)


def _convert(x, dtype, weak):
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, ArrayMethods):
        return lax.full((), x, dtype, weak_type=weak)
    x = asarray(x)
    if x.dtype == dtype and x.weak_type == weak:
        return x
    return lax.convert_element_type(x, dtype, weak_type=weak)


def inexact_dtype(dtype):
    """The float type an integer or bool dtype computes in: float32 up to 32 bits (even with x64,
    as in JAX), else the default float."""
    if dtypes.is_inexact(dtype):
        return np.dtype(dtype)
    return dtypes.default_float() if np.dtype(dtype).itemsize > 4 else dtypes.float32


def promote_args_inexact(name, *args):
    """Like promote_args, then integers and bools become floats (see inexact_dtype)."""
    args = promote_args(name, *args)
    dtype = inexact_dtype(args[0].dtype)
    return [lax.convert_element_type(a, dtype, weak_type=a.weak_type) for a in args]


# -- elementwise functions ---------------------------------------------------------

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
    "negative": (lax.neg, False), "rint": (lax.round, True),
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
    "left_shift": (lax.shift_left, False),
}

for _name, (_fn, _inexact) in _UNARY_UFUNCS.items():
    globals()[_name] = _unary_ufunc(_name, _fn, _inexact)
for _name, (_fn, _inexact) in _BINARY_UFUNCS.items():
    globals()[_name] = _binary_ufunc(_name, _fn, _inexact)


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


def positive(x, /):
    return asarray(x)


def abs(x, /):  # noqa: A001 - NumPy's name
    """Elementwise absolute value (unsigned and bool inputs are returned as they are)."""
    x = asarray(x)
    if x.dtype == dtypes.bool_ or dtypes.is_unsigned(x.dtype):
        return x
    return lax.abs(x)


absolute = abs


def fabs(x, /):
    (x,) = promote_args_inexact("fabs", x)
    return lax.abs(x)


def _numeric(x):
    """x, with bools turned into the default integer."""
    x = asarray(x)
    return lax.convert_element_type(x, dtypes.default_int(), x.weak_type) if x.dtype == dtypes.bool_ else x


def square(x, /):
    x = _numeric(x)
    return lax.mul(x, x)


def reciprocal(x, /):
    (x,) = promote_args_inexact("reciprocal", x)
    return lax.div(_full_like(x, 1), x)


def log2(x, /):
    (x,) = promote_args_inexact("log2", x)
    return lax.div(lax.log(x), _full_like(x, np.log(2)))


def log10(x, /):
    (x,) = promote_args_inexact("log10", x)
    return lax.div(lax.log(x), _full_like(x, np.log(10)))


def round(a, decimals=0):  # noqa: A001
    """Round half to even at `decimals` places, as numpy.round."""
    (a,) = promote_args("round", a)
    if not dtypes.is_inexact(a.dtype):
        return a
    if decimals == 0:
        return lax.round(a)
    factor = _full_like(a, 10.0 ** decimals)
    return lax.div(lax.round(lax.mul(a, factor)), factor)


around = round


def true_divide(x1, x2, /):
    x1, x2 = promote_args_inexact("true_divide", x1, x2)
    return lax.div(x1, x2)


divide = true_divide


def floor_divide(x1, x2, /):
    """Division rounded toward minus infinity, as numpy.floor_divide."""
    x1, x2 = promote_args("floor_divide", x1, x2)
    if dtypes.is_unsigned(x1.dtype) or x1.dtype == dtypes.bool_:
        return lax.div(x1, x2)
    if dtypes.is_integer(x1.dtype):
        quotient = lax.div(x1, x2)
        zero = _full_like(x1, 0)
        signs_differ = lax.ne(lax.lt(x1, zero), lax.lt(x2, zero))
        inexact_division = lax.ne(lax.rem(x1, x2), zero)
        adjust = lax.bitwise_and(signs_differ, inexact_division)
        return select(adjust, lax.sub(quotient, _full_like(x1, 1)), quotient)
    return lax.floor(lax.div(x1, x2))


def remainder(x1, x2, /):
    """Remainder with the sign of the divisor, as numpy.remainder."""
    x1, x2 = promote_args("remainder", x1, x2)
    rem = lax.rem(x1, x2)
    if dtypes.is_unsigned(x1.dtype) or x1.dtype == dtypes.bool_:
        return rem
    zero = _full_like(x1, 0)
    fix_sign = lax.bitwise_and(lax.ne(rem, zero), lax.ne(lax.lt(rem, zero), lax.lt(x2, zero)))
    return select(fix_sign, lax.add(rem, x2), rem)


mod = remainder


def fmod(x1, x2, /):
    x1, x2 = promote_args("fmod", x1, x2)
    return lax.rem(x1, x2)


def divmod(x1, x2, /):  # noqa: A001
    return floor_divide(x1, x2), remainder(x1, x2)


def power(x1, x2, /):
    """x1 ** x2; a static integer exponent becomes repeated multiplication."""
    if isinstance(x2, int) and not isinstance(x2, bool) and not isinstance(x1, (int, float)):
        x1 = _numeric(x1)
        if 0 <= x2 <= 16 or (dtypes.is_inexact(x1.dtype) and -16 <= x2 < 0):
            return lax.integer_pow(x1, x2)
    x1, x2 = promote_args("power", x1, x2)
    return lax.pow(x1, x2)


def float_power(x1, x2, /):
    x1, x2 = promote_args_inexact("float_power", x1, x2)
    return lax.pow(x1, x2)


def hypot(x1, x2, /):
    x1, x2 = promote_args_inexact("hypot", x1, x2)
    return lax.sqrt(lax.add(lax.mul(x1, x1), lax.mul(x2, x2)))


def logaddexp(x1, x2, /):
    """log(exp(x1) + exp(x2)), computed without overflow."""
    x1, x2 = promote_args_inexact("logaddexp", x1, x2)
    biggest = lax.max(x1, x2)
    diff = lax.neg(lax.abs(lax.sub(x1, x2)))
    out = lax.add(biggest, lax.log1p(lax.exp(diff)))
    return where(lax.eq(x1, x2), lax.add(x1, _full_like(x1, np.log(2))), out)


def logaddexp2(x1, x2, /):
    x1, x2 = promote_args_inexact("logaddexp2", x1, x2)
    ln2 = _full_like(x1, np.log(2))
    return lax.div(logaddexp(lax.mul(x1, ln2), lax.mul(x2, ln2)), ln2)


def deg2rad(x, /):
    (x,) = promote_args_inexact("deg2rad", x)
    return lax.mul(x, _full_like(x, np.pi / 180))


def rad2deg(x, /):
    (x,) = promote_args_inexact("rad2deg", x)
    return lax.mul(x, _full_like(x, 180 / np.pi))


radians, degrees = deg2rad, rad2deg


def sinc(x, /):
    (x,) = promote_args_inexact("sinc", x)
    pix = lax.mul(x, _full_like(x, np.pi))
    is_zero = lax.eq(x, _full_like(x, 0))
    safe = select(is_zero, _full_like(x, 1), pix)
    return select(is_zero, _full_like(x, 1), lax.div(lax.sin(safe), safe))


def copysign(x1, x2, /):
    x1, x2 = promote_args_inexact("copysign", x1, x2)
    return where(signbit(x2), lax.neg(lax.abs(x1)), lax.abs(x1))


def signbit(x, /):
    """True where the sign bit is set (also for -0.0 and negative NaNs)."""
    (x,) = promote_args("signbit", x)
    if dtypes.is_float(x.dtype):
        bits = {2: dtypes.int16, 4: dtypes.int32, 8: dtypes.int64}[x.dtype.itemsize]
        return lax.lt(lax.bitcast_convert_type(x, bits), lax.full(x.shape, 0, bits))
    return lax.lt(x, _full_like(x, 0))


def heaviside(x1, x2, /):
    x1, x2 = promote_args_inexact("heaviside", x1, x2)
    zero = _full_like(x1, 0)
    step = where(lax.lt(x1, zero), zero, where(lax.gt(x1, zero), _full_like(x1, 1), x2))
    return where(lax.ne(x1, x1), x1, step)


def isfinite(x, /):
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return full(x.shape, True, dtypes.bool_)
    return lax.is_finite(x)


def isnan(x, /):
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return full(x.shape, False, dtypes.bool_)
    return lax.ne(x, x)


def isinf(x, /):
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return full(x.shape, False, dtypes.bool_)
    return lax.eq(lax.abs(x), _full_like(x, np.inf))


def isposinf(x, /):
    x = asarray(x)
    return lax.eq(x, _full_like(x, np.inf)) if dtypes.is_inexact(x.dtype) else full(x.shape, False, bool)


def isneginf(x, /):
    x = asarray(x)
    return lax.eq(x, _full_like(x, -np.inf)) if dtypes.is_inexact(x.dtype) else full(x.shape, False, bool)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return x
    info = dtypes.finfo(x.dtype)
    x = where(isnan(x), nan, x)
    x = where(isposinf(x), info.max if posinf is None else posinf, x)
    return where(isneginf(x), info.min if neginf is None else neginf, x)


def logical_and(x1, x2, /):
    x1, x2 = promote_args("logical_and", astype(asarray(x1), bool), astype(asarray(x2), bool))
    return lax.bitwise_and(x1, x2)


def logical_or(x1, x2, /):
    x1, x2 = promote_args("logical_or", astype(asarray(x1), bool), astype(asarray(x2), bool))
    return lax.bitwise_or(x1, x2)


def logical_xor(x1, x2, /):
    x1, x2 = promote_args("logical_xor", astype(asarray(x1), bool), astype(asarray(x2), bool))
    return lax.bitwise_xor(x1, x2)


def logical_not(x, /):
    return lax.bitwise_not(astype(asarray(x), bool))


def _bitwise(name, lax_fn):
    def fn(x1, x2, /):
        x1, x2 = promote_args(name, x1, x2)
        if dtypes.is_inexact(x1.dtype):
            raise TypeError(f"{name} is only defined for boolean and integer arrays, got {x1.dtype.name}")
        return lax_fn(x1, x2)
    fn.__name__ = name
    return fn


bitwise_and = _bitwise("bitwise_and", lax.bitwise_and)
bitwise_or = _bitwise("bitwise_or", lax.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", lax.bitwise_xor)


def invert(x, /):
    x = asarray(x)
    if dtypes.is_inexact(x.dtype):
        raise TypeError(f"invert is only defined for boolean and integer arrays, got {x.dtype.name}")
    return lax.bitwise_not(x)


bitwise_not = bitwise_invert = invert


def fmax(x1, x2, /):
    x1, x2 = promote_args("fmax", x1, x2)
    return where(isnan(x1), x2, where(isnan(x2), x1, lax.max(x1, x2)))


def fmin(x1, x2, /):
    x1, x2 = promote_args("fmin", x1, x2)
    return where(isnan(x1), x2, where(isnan(x2), x1, lax.min(x1, x2)))


def select(condlist_or_pred, on_true, on_false):
    return lax.select(condlist_or_pred, on_true, on_false)


def where(condition, x=None, y=None, /):
    """x where condition else y, with broadcasting; the one-argument form needs concrete input."""
    if x is None and y is None:
        from mlax.numpy._shape import nonzero

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
    x = asarray(x)
    return lax.real(x) if dtypes.is_complex(x.dtype) else x


def imag(x, /):
    x = asarray(x)
    return lax.imag(x) if dtypes.is_complex(x.dtype) else zeros_like(x)


def conj(x, /):
    x = asarray(x)
    return lax.conj(x) if dtypes.is_complex(x.dtype) else x


conjugate = conj


def isscalar(x):
    return np.isscalar(x) or (isinstance(x, ArrayMethods) and x.ndim == 0)


def ndim(x):
    return np.ndim(x) if not isinstance(x, ArrayMethods) else x.ndim


def shape(x):
    return np.shape(x) if not isinstance(x, ArrayMethods) else x.shape


def size(x, axis=None):
    s = shape(x)
    return int(np.prod(s)) if axis is None else s[axis]


def iscomplexobj(x):
    return dtypes.is_complex(aval_of(x).dtype)


def isrealobj(x):
    return not iscomplexobj(x)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    from mlax.numpy._reductions import all as all_

    return all_(isclose(a, b, rtol, atol, equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = promote_args_inexact("isclose", a, b)
    close = lax.le(lax.abs(lax.sub(a, b)), lax.add(_full_like(a, atol),
                                                    lax.mul(_full_like(a, rtol), lax.abs(b))))
    close = logical_or(close, lax.eq(a, b))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def array_equal(a1, a2, equal_nan=False):
    from mlax.numpy._reductions import all as all_

    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all_(eq)


# Names used by the other modules of the package.
from mlax.numpy._shape import concatenate, expand_dims, moveaxis, reshape, stack  # noqa: E402,F401
