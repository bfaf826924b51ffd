"""The lax-level builders over the op table, one small function per op family."""

import builtins

import numpy as np

from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.op import OPS
from mlax.core.aval import ShapedArray
from mlax.core.trace import aval_of, current_trace, device_constant

__all__ = []


def _export(fn):
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
    return [full(aval.shape, a, aval.dtype, weak_type=True) if _is_python_scalar(a) else a for a in args]


# The builders look ops up when called: the op table's rules import this module.

def _unary(name):
    def fn(x):
        return OPS[name](x)
    fn.__name__ = {"not": "bitwise_not"}.get(name, name)
    fn.__doc__ = f"Elementwise mlax.{name} (see the op table)."
    return fn


def _binary(name):
    def fn(x, y):
        x, y = _like((x, y))
        return OPS[name](x, y)
    fn.__name__ = {"and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor"}.get(name, name)
    fn.__doc__ = f"Elementwise mlax.{name} of operands of one shape and dtype."
    return fn


_UNARY_NAMES = ("real", "imag", "neg", "sign", "floor", "ceil", "round", "exp", "exp2", "log", "log1p", "expm1", "sqrt", "rsqrt",
                "cbrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
                "atanh", "logistic", "erf", "erf_inv", "lgamma", "digamma", "not", "abs", "is_finite")
_BINARY_NAMES = ("add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "and", "or", "xor",
                 "shift_left", "shift_right_logical", "shift_right_arithmetic", "complex",
                 "eq", "ne", "lt", "le", "gt", "ge")

for _name in _UNARY_NAMES:
    _fn = _unary(_name)
    globals()[_fn.__name__] = _fn
    __all__.append(_fn.__name__)
for _name in _BINARY_NAMES:
    _fn = _binary(_name)
    globals()[_fn.__name__] = _fn
    __all__.append(_fn.__name__)


@_export
def select(pred, on_true, on_false):
    """on_true where pred else on_false (all of one shape)."""
    on_true, on_false = _like((on_true, on_false))
    return OPS["select"](pred, on_true, on_false)


@_export
def clamp(min, x, max):  # noqa: A002 - JAX's argument names
    """min(max(x, min), max) elementwise."""
    min, x, max = _like((min, x, max))
    return OPS["clamp"](min, x, max)


@_export
def convert_element_type(x, new_dtype, weak_type=False):
    """x converted to `new_dtype` (canonicalized for the x64 setting)."""
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = aval_of(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    if _is_python_scalar(x) or isinstance(x, (np.ndarray, np.generic)):
        return full(np.shape(x), x, new_dtype, weak_type=weak_type)
    return OPS["convert_element_type"](x, new_dtype=new_dtype, weak_type=weak_type or None)


@_export
def full(shape, fill_value, dtype=None, weak_type=False):
    """An array of `shape` filled with `fill_value`."""
    shape = tuple(int(d) for d in shape)
    if dtype is None:
        aval = aval_of(fill_value)
        dtype, weak_type = aval.dtype, aval.weak_type
    dtype = dtypes.canonicalize(dtype)
    if isinstance(fill_value, ArrayMethods):
        value = convert_element_type(fill_value, dtype, weak_type)
        return broadcast_in_dim(value, shape, tuple(range(len(shape) - value.ndim, len(shape))))
    # One splat constant, not a scalar and a broadcast: fewer ops to trace, pass and compile.
    return _constant(np.broadcast_to(np.asarray(fill_value).astype(dtype), shape), weak_type)


def _constant(value, weak_type=False):
    """A constant array holding `value`, typed weak or strong: an op in the current
    trace, or an array on the default device when none is active."""
    trace = current_trace()
    aval = ShapedArray(value.shape, value.dtype, weak_type)
    if trace is None:
        return device_constant(value, aval)
    return trace.constant(value, aval)


@_export
def iota(dtype, size):
    """0, 1, ..., size-1."""
    return OPS["iota"](dtype=dtypes.canonicalize(dtype), shape=(int(size),), dimension=0)


@_export
def broadcasted_iota(dtype, shape, dimension):
    """Counting along `dimension` of an array of `shape`."""
    return OPS["iota"](dtype=dtypes.canonicalize(dtype), shape=tuple(shape), dimension=int(dimension))


@_export
def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Broadcast `operand` to `shape`, its axis i going to broadcast_dimensions[i]."""
    shape, dims = tuple(int(d) for d in shape), tuple(int(d) for d in broadcast_dimensions)
    if aval_of(operand).shape == shape and dims == tuple(range(len(shape))):
        return operand
    return OPS["broadcast_in_dim"](operand, shape=shape, broadcast_dimensions=dims)


@_export
def broadcast(operand, sizes):
    """Add leading axes of `sizes` to operand."""
    ndim = aval_of(operand).ndim
    shape = tuple(sizes) + aval_of(operand).shape
    return broadcast_in_dim(operand, shape, tuple(range(len(sizes), len(sizes) + ndim)))


@_export
def reshape(operand, new_sizes, dimensions=None):
    """Reshape (after transposing by `dimensions` when given)."""
    if dimensions is not None:
        operand = transpose(operand, dimensions)
    new_sizes = tuple(int(d) for d in new_sizes)
    if aval_of(operand).shape == new_sizes:
        return operand
    return OPS["reshape"](operand, new_sizes=new_sizes)


@_export
def transpose(operand, permutation):
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return operand
    return OPS["transpose"](operand, permutation=permutation)


@_export
def expand_dims(operand, dimensions):
    shape = list(aval_of(operand).shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return reshape(operand, shape)


@_export
def squeeze(operand, dimensions):
    shape = aval_of(operand).shape
    dimensions = {d % len(shape) for d in dimensions}
    for d in dimensions:
        if shape[d] != 1:
            raise ValueError(f"cannot squeeze axis {d} of size {shape[d]} in shape {shape}")
    return reshape(operand, [s for i, s in enumerate(shape) if i not in dimensions])


@_export
def rev(operand, dimensions):
    return OPS["rev"](operand, dimensions=tuple(int(d) for d in dimensions))


def _reducer(kind):
    def fn(operand, axes):
        axes = tuple(sorted(int(a) for a in axes))
        return OPS[f"reduce_{kind}"](operand, axes=axes) if axes else operand
    fn.__name__ = f"reduce_{kind}"
    fn.__doc__ = f"Reduce by {kind} over `axes`."
    return fn


for _kind in ("sum", "prod", "max", "min", "and", "or"):
    globals()[f"reduce_{_kind}"] = _reducer(_kind)
    __all__.append(f"reduce_{_kind}")


@_export
def argmax(operand, axis, index_dtype):
    return OPS["argmax"](operand, axis=int(axis), index_dtype=dtypes.canonicalize(index_dtype))


@_export
def argmin(operand, axis, index_dtype):
    return OPS["argmin"](operand, axis=int(axis), index_dtype=dtypes.canonicalize(index_dtype))


@_export
def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """Contract lhs and rhs: dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))."""
    (lc, rc), (lb, rb) = dimension_numbers
    return OPS["dot_general"](
        lhs, rhs, lhs_contracting=tuple(lc), rhs_contracting=tuple(rc), lhs_batch=tuple(lb), rhs_batch=tuple(rb),
        preferred_element_type=None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type))


@_export
def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product of 1-d or 2-d operands."""
    contract = ((aval_of(lhs).ndim - 1,), (0,))
    return dot_general(lhs, rhs, (contract, ((), ())), precision, preferred_element_type)


@_export
def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001 - JAX's name
    """The static slice operand[start:limit:stride] along every axis."""
    ndim = aval_of(operand).ndim
    strides = tuple(strides) if strides is not None else (1,) * ndim
    start, limit = tuple(int(s) for s in start_indices), tuple(int(s) for s in limit_indices)
    if start == (0,) * ndim and limit == aval_of(operand).shape and strides == (1,) * ndim:
        return operand
    return OPS["slice"](operand, start_indices=start, limit_indices=limit, strides=tuple(int(s) for s in strides))


@_export
def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    shape = aval_of(operand).shape
    start = [0] * len(shape)
    limit = list(shape)
    strides = [1] * len(shape)
    start[axis], limit[axis], strides[axis] = start_index, limit_index, stride
    return slice(operand, start, limit, strides)


def _index_scalars(indices):
    """Start indices as scalars of one integer dtype (int32 unless an index needs more)."""
    indices = [convert_element_type(i, dtypes.int32) if _is_python_scalar(i) else i for i in indices]
    dtype = dtypes.result_type(dtypes.int32, *[aval_of(i).dtype for i in indices])
    return [convert_element_type(i, dtype) for i in indices]


@_export
def dynamic_slice(operand, start_indices, slice_sizes):
    """A slice of static `slice_sizes` at run-time `start_indices` (clamped into bounds)."""
    return OPS["dynamic_slice"](operand, *_index_scalars(start_indices),
                                slice_sizes=tuple(int(s) for s in slice_sizes))


@_export
def dynamic_update_slice(operand, update, start_indices):
    """operand with `update` written at run-time `start_indices` (clamped into bounds)."""
    return OPS["dynamic_update_slice"](operand, update, *_index_scalars(start_indices))


@_export
def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    shape = aval_of(operand).shape
    starts = [0] * len(shape)
    starts[axis] = index
    sizes = list(shape)
    sizes[axis] = 1
    out = dynamic_slice(operand, starts, sizes)
    return out if keepdims else squeeze(out, (axis,))


@_export
def concatenate(operands, dimension):
    """Join arrays along `dimension` (as a balanced tree of binary joins)."""
    operands = list(operands)
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return OPS["concatenate"](concatenate(operands[:middle], dimension), concatenate(operands[middle:], dimension),
                              dimension=int(dimension))


@_export
def pad(operand, padding_value, padding_config):
    """Pad with (low, high, interior) per axis; negative low/high crop."""
    low, high, interior = zip(*padding_config) if padding_config else ((), (), ())
    (padding_value,) = [convert_element_type(padding_value, aval_of(operand).dtype)]
    return OPS["pad"](operand, padding_value, low=tuple(low), high=tuple(high), interior=tuple(interior))


@_export
def integer_pow(x, y):
    """x ** y for a static integer y, by repeated multiplication."""
    if y == 0:
        return full(aval_of(x).shape, 1, aval_of(x).dtype)
    base = x if y > 0 else div(full(aval_of(x).shape, 1, aval_of(x).dtype), x)
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
    return div(full(aval_of(x).shape, 1, aval_of(x).dtype), x)


@_export
def conj(x):
    """Complex conjugate."""
    return complex(real(x), neg(imag(x)))


@_export
def bitcast_convert_type(operand, new_dtype):
    """The bits of each element reinterpreted as `new_dtype` (of the same width)."""
    return OPS["bitcast_convert_type"](operand, new_dtype=dtypes.canonicalize(new_dtype))


def _cumulative(kind):
    def fn(operand, axis=0, reverse=False):
        axis = int(axis) % builtins.max(aval_of(operand).ndim, 1)
        return OPS[f"cum{kind}"](operand, axis=axis, reverse=bool(reverse) or None)
    fn.__name__ = f"cum{kind}"
    fn.__doc__ = f"Running {kind} along `axis` (from the end when `reverse`)."
    return fn


for _kind in ("sum", "prod", "max", "min"):
    globals()[f"cum{_kind}"] = _cumulative(_kind)
    __all__.append(f"cum{_kind}")


@_export
def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """operand sorted along `dimension` (NaNs last); a tuple (keys, values) sorts values by keys."""
    if isinstance(operand, (tuple, list)):
        keys, values = operand
        dimension = int(dimension) % aval_of(keys).ndim
        return tuple(OPS["sort_key_val"](keys, values, dimension=dimension))
    dimension = int(dimension) % aval_of(operand).ndim
    return OPS["sort"](operand, dimension=dimension)


@_export
def sort_key_val(keys, values, dimension=-1, is_stable=True):
    dimension = int(dimension) % aval_of(keys).ndim
    return tuple(OPS["sort_key_val"](keys, values, dimension=dimension))


@_export
def top_k(operand, k):
    """The k largest entries along the last axis, and their indices (first occurrence first on ties)."""
    ndim = aval_of(operand).ndim
    indices = broadcasted_iota(dtypes.int32, aval_of(operand).shape, ndim - 1)
    values, order = OPS["sort_key_val"](operand, indices, dimension=ndim - 1, descending=True)
    size = aval_of(operand).shape[-1]
    if not 0 <= k <= size:
        raise ValueError(f"top_k: k={k} must be between 0 and the last axis size {size}")
    return slice_in_dim(values, 0, k, axis=ndim - 1), slice_in_dim(order, 0, k, axis=ndim - 1)
