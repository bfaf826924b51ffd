"""jax.dtypes for mlax: dtype canonicalization and promotion, the special dtypes
(float0, bfloat16) and the abstract classes of extended dtypes.

mlax's PRNG keys are raw uint32 key data, so no dtype of mlax's is a `prng_key`
or `extended` one; the classes are here for issubdtype tests written for JAX.
"""

import ml_dtypes
import numpy as np

from mlax.core import dtypes as _dtypes
from mlax.core.dtypes import TypePromotionError  # noqa: F401
from mlax.core.trace import aval_of

# The tangent (and cotangent) dtype of integer and boolean values: zero bytes per element.
float0 = np.dtype([("float0", np.void, 0)])
bfloat16 = ml_dtypes.bfloat16
finfo = ml_dtypes.finfo
iinfo = ml_dtypes.iinfo


class extended(np.generic):  # noqa: N801 - JAX's name
    """The abstract class of JAX's extended dtypes (none in mlax)."""


class prng_key(extended):  # noqa: N801 - JAX's name
    """The abstract class of typed PRNG key dtypes (none in mlax: keys are uint32 data)."""


def canonicalize_dtype(dtype, allow_extended_dtype=False):
    """The dtype mlax uses for `dtype`: 64-bit types become 32-bit ones unless x64 is on;
    Python types give their default dtypes (int -> int32 without x64). float0 is kept."""
    if allow_extended_dtype:
        raise NotImplementedError("canonicalize_dtype: allow_extended_dtype=True is not supported (mlax has no "
                                  "extended dtypes)")
    if isinstance(dtype, type) and dtype in (bool, int, float, complex):
        return _dtypes.python_scalar_dtype(dtype(0))
    dtype = np.dtype(dtype)
    return dtype if dtype == float0 else _dtypes.canonicalize(dtype)


def issubdtype(a, b):
    """Whether dtype `a` is `b` or below it in NumPy's hierarchy (bfloat16 is a floating
    type; float0 is no number type)."""
    if a is None or b is None:
        return a is b
    if isinstance(b, type) and issubclass(b, extended):
        return False
    a = np.dtype(a)
    if a == float0:
        return isinstance(b, np.dtype) and np.dtype(b) == float0
    if a == _dtypes.bfloat16 and isinstance(b, type) and b in (np.floating, np.inexact, np.number, np.generic):
        return True
    return bool(np.issubdtype(a, b))


def result_type(*args, return_weak_type_flag=False):
    """The dtype JAX's promotion gives `args` (arrays, dtypes, Python scalars); with
    return_weak_type_flag, (dtype, whether it is weak)."""
    if not args:
        raise ValueError("at least one array or dtype is required")
    dtype, weak = _dtypes.promote_types(*[_typed(a) for a in args])
    return (dtype, weak) if return_weak_type_flag else dtype


def _typed(x):
    """(dtype, weak type) of a dtype-like (strong) or a value (an array, a Python scalar)."""
    if isinstance(x, (np.dtype, str)) or (isinstance(x, type) and not isinstance(x, np.ndarray)):
        return canonicalize_dtype(x), False
    if not hasattr(x, "shape") and hasattr(x, "dtype"):  # a dtype name of mlax.numpy (mnp.float32)
        return canonicalize_dtype(x.dtype), False
    aval = aval_of(x)
    return aval.dtype, aval.weak_type


def scalar_type_of(x):
    """The Python scalar type (bool, int, float or complex) of `x`'s dtype."""
    dtype = np.dtype(getattr(x, "dtype", None) or _dtypes.python_scalar_dtype(x))
    if dtype == np.bool_:
        return bool
    if np.issubdtype(dtype, np.integer):
        return int
    if _dtypes.is_float(dtype):
        return float
    if np.issubdtype(dtype, np.complexfloating):
        return complex
    raise TypeError(f"invalid scalar value {x!r}")


def itemsize_bits(dtype):
    """The size of one element of `dtype`, in bits (bool: 8)."""
    return np.dtype(dtype).itemsize * 8
