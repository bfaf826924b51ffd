"""mlax.numpy's type promotion and broadcasting: result_type, promote_types,
can_cast, broadcast_to and friends, and promote_args, which every function of
several operands calls to bring them to one dtype and one shape.

Promotion follows JAX (weakly typed Python scalars, no silent 64-bit types
without x64); broadcasting follows NumPy.
"""

import numpy as np

from mlax import errors, lax
from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.aval import concrete_shape
from mlax.core.trace import aval_of
from mlax.numpy._dtypes import _dtype_arg, _ScalarType, asarray


def _typed(x):
    """(dtype, weak type) of an array, scalar or dtype argument."""
    if isinstance(x, (np.dtype, type, _ScalarType, str)) and not isinstance(x, ArrayMethods):
        return _dtype_arg(x), False
    aval = aval_of(x)
    return aval.dtype, aval.weak_type


def result_type(*args):
    """The dtype mlax.numpy gives to an operation mixing `args` (arrays, dtypes, scalars)."""
    return dtypes.promote_types(*[_typed(a) for a in args])[0]


def promote_types(a, b):
    """The dtype two dtypes promote to, by JAX's promotion table (not NumPy's: int32 and float16 give
    float16)."""
    return dtypes.result_type(np.dtype(_dtype_arg(a)), np.dtype(_dtype_arg(b)))


def can_cast(from_, to, casting="safe"):
    """Whether NumPy's casting rule `casting` allows casting from_ to `to`."""
    return np.can_cast(np.dtype(from_), np.dtype(to), casting)


def inexact_dtype(dtype):
    """The float type an integer or bool dtype computes in: float32 up to 32 bits (even with x64,
    as in JAX), else the default float."""
    if dtypes.is_inexact(dtype):
        return np.dtype(dtype)
    return dtypes.default_float() if np.dtype(dtype).itemsize > 4 else dtypes.float32


# -- broadcasting -----------------------------------------------------------------

def _shape_arg(shape):
    """A user's shape argument (an int or a sequence of ints) as a tuple."""
    return concrete_shape(shape)


def broadcast_shapes(*shapes):
    """The shape that arrays of the given shapes broadcast to; ShapeError if they do not."""
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise errors.ShapeError("Incompatible shapes for broadcasting: "
                                + ", ".join(str(tuple(s)) for s in shapes)) from None


def broadcast_to(x, shape):
    """`x` broadcast to `shape` by NumPy's rules."""
    x = asarray(x)
    shape = _shape_arg(shape)
    if x.shape == shape:
        return x
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != shape:
        raise errors.ShapeError(f"Incompatible shapes for broadcasting: {x.shape} and requested shape {shape}")
    lead = len(shape) - x.ndim
    keep = [i for i, d in enumerate(x.shape) if d == shape[lead + i]]
    if len(keep) != x.ndim:
        x = lax.reshape(x, [x.shape[i] for i in keep])
    return lax.broadcast_in_dim(x, shape, [lead + i for i in keep])


def broadcast_arrays(*args):
    """The arguments broadcast to their common shape, as a list."""
    shape = broadcast_shapes(*[aval_of(a).shape for a in args])
    return [broadcast_to(a, shape) for a in args]


# -- promoting the operands of a function ------------------------------------------

def promote_dtypes(*args):
    """The args converted to their common dtype (shapes untouched)."""
    dtype, weak = dtypes.promote_types(*[_typed(a) for a in args])
    return [_convert(a, dtype, weak) for a in args]


def _convert(x, dtype, weak):
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, ArrayMethods):
        return lax.full((), x, dtype, weak_type=weak)
    x = asarray(x)
    if x.dtype == dtype and x.weak_type == weak:
        return x
    return lax.convert_element_type(x, dtype, weak_type=weak)


def promote_args(name, *args):
    """The args converted to their common dtype and broadcast to one shape."""
    if all(isinstance(a, ArrayMethods) and not a.weak_type for a in args) and len({a.aval for a in args}) == 1:
        return list(args)  # strongly typed arrays of one shape and dtype (eager `a + b`): nothing to do
    converted = promote_dtypes(*args)
    shapes = [c.shape for c in converted]
    if any(s != shapes[0] for s in shapes):
        try:
            shape = tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            raise errors.ShapeError(f"{name}: incompatible shapes for broadcasting: "
                                    + " and ".join(map(str, shapes))) from None
        converted = [broadcast_to(c, shape) for c in converted]
    return converted


def promote_args_inexact(name, *args):
    """Like promote_args, then integers and bools become floats (see inexact_dtype)."""
    args = promote_args(name, *args)
    dtype = inexact_dtype(args[0].dtype)
    return [lax.convert_element_type(a, dtype, weak_type=a.weak_type) for a in args]
