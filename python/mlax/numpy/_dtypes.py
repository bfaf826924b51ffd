"""mlax.numpy's dtypes and the values it turns into arrays: dtype names and scalar
types (`mnp.float32` is a dtype and, called, an array), asarray/array/astype, and
the static queries ndim, shape, size, isscalar, iscomplexobj, isrealobj.

The bottom of the package: every other module converts its inputs with asarray.
"""

import builtins as _builtins

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.runtime.array import Array, device_put
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Tracer, aval_of, current_trace as _current_trace  # (underscored: kept out of mlax.numpy)

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
# NumPy's other spellings of them, the same objects as in JAX (`bool` shadows the builtin
# only in mlax.numpy's namespace: this module refers to the builtin as _builtins.bool).
bool = bool_  # noqa: A001 - NumPy's name
single, double, csingle, cdouble, uint = float32, float64, complex64, complex128, uint64
# The types mlax arrays never hold, NumPy's own (as in JAX).
object_, character, flexible = np.object_, np.character, np.flexible
ComplexWarning = np.exceptions.ComplexWarning
iterable = np.iterable

# isdtype's kinds: the dtypes each names (JAX's sets, less the int4 and float8 types mlax lacks).
_DTYPE_KINDS = {
    "bool": {np.dtype(np.bool_)},
    "signed integer": {np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64)},
    "unsigned integer": {np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64)},
    "real floating": {np.dtype(t) for t in (np.float16, dtypes.bfloat16, np.float32, np.float64)},
    "complex floating": {np.dtype(np.complex64), np.dtype(np.complex128)},
}
_DTYPE_KINDS["integral"] = _DTYPE_KINDS["signed integer"] | _DTYPE_KINDS["unsigned integer"]
_DTYPE_KINDS["numeric"] = _DTYPE_KINDS["integral"] | _DTYPE_KINDS["real floating"] | _DTYPE_KINDS["complex floating"]


def _dtype_arg(d):
    """A user's dtype argument (None, a NumPy dtype or type, a name, a scalar type) as a canonical dtype."""
    return None if d is None else dtypes.canonicalize(np.dtype(d.dtype if isinstance(d, _ScalarType) else d))


# -- conversion -----------------------------------------------------------------

def asarray(a, dtype=None, order=None, copy=None):
    """`a` as an mlax array (no copy when it already is one of the dtype). mlax arrays are
    immutable, so `copy` cannot be observed; `order` must be 'K' (or None), as in JAX."""
    _check_order("asarray", order)
    dtype = _dtype_arg(dtype)
    if isinstance(a, (Array, Tracer)):
        return a if dtype is None else astype(a, dtype)
    if isinstance(a, (list, tuple)) and any(isinstance(x, ArrayMethods) for x in _flat(a)):
        return _stack([asarray(x, dtype) for x in a]) if a else array(np.asarray(a), dtype)
    if isinstance(a, (_builtins.bool, int, float, complex)):
        aval = aval_of(a)
        return lax.full((), a, dtype or aval.dtype, weak_type=dtype is None)
    value = np.asarray(a)
    if value.dtype == object:
        raise TypeError(f"cannot convert {type(a).__name__} to an mlax array")
    target = dtype or dtypes.canonicalize(value.dtype)
    if _current_trace() is None:
        return device_put(value.astype(target, copy=False))
    return lax.full(value.shape, 0, target) if value.size == 0 else _traced_constant(value.astype(target))


def _stack(arrays):
    """Arrays of one shape in their common dtype, stacked along a new first axis: the
    work of mnp.stack(arrays) for asarray([x, y]), done here because stack converts
    its arguments with asarray."""
    dtype, weak = dtypes.promote_types(*[(x.dtype, x.weak_type) for x in arrays])
    arrays = [x if x.dtype == dtype and x.weak_type == weak else lax.convert_element_type(x, dtype, weak_type=weak)
              for x in arrays]
    for x in arrays[1:]:
        if x.shape != arrays[0].shape:
            raise ValueError(f"stack: all input arrays must have the same shape, got {arrays[0].shape} and {x.shape}")
    return lax.concatenate([lax.expand_dims(x, (0,)) for x in arrays], 0)


def _traced_constant(value):
    """A numpy constant inside a trace (large ones are passed in as arguments)."""
    trace = _current_trace()
    return Tracer(trace, trace.lift(value), aval_of(value))


def _flat(a):
    for x in a:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def array(object, dtype=None, copy=True, order="K", ndmin=0):  # noqa: A002 - NumPy's name
    """A new mlax array from `object`."""
    _check_order("array", order)
    out = asarray(object, dtype)
    if ndmin > out.ndim:
        out = lax.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def _check_order(name, order):
    """NotImplementedError for a memory layout other than 'K': mlax arrays have none to choose."""
    if order not in (None, "K"):
        raise NotImplementedError(f"{name}: order={order!r} is not supported; only order='K' is (as in JAX)")


def astype(x, dtype, copy=False):
    """x converted to `dtype`. `copy` is accepted and changes nothing: mlax arrays are immutable."""
    return lax.convert_element_type(x, _dtype_arg(dtype))


# -- static queries ---------------------------------------------------------------

def isscalar(x):
    """Whether x is a scalar: a NumPy or Python scalar, or a 0-d array."""
    return np.isscalar(x) or (isinstance(x, ArrayMethods) and x.ndim == 0)


def isdtype(dtype, kind) -> _builtins.bool:
    """Whether `dtype` is of `kind`: a dtype, one of the array API's kind names ('bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric'), or a tuple of them."""
    the_dtype = np.dtype(dtype.dtype if isinstance(dtype, _ScalarType) else dtype)
    allowed = set()
    for one in kind if isinstance(kind, tuple) else (kind,):
        if isinstance(one, str) and one in _DTYPE_KINDS:
            allowed |= _DTYPE_KINDS[one]
            continue
        try:
            allowed.add(np.dtype(one.dtype if isinstance(one, _ScalarType) else one))
        except TypeError:
            if isinstance(one, str):
                raise ValueError(f"isdtype: unknown kind {one!r}; expected one of {list(_DTYPE_KINDS)} "
                                 "or a dtype") from None
            raise TypeError(f"isdtype: kind must be a dtype, a kind name or a tuple of them, got {one!r}") from None
    return the_dtype in allowed


def ndim(x):
    """The number of axes of x (an array, scalar or nested sequence)."""
    return np.ndim(x) if not isinstance(x, ArrayMethods) else x.ndim


def shape(x):
    """The shape of x (an array, scalar or nested sequence)."""
    return np.shape(x) if not isinstance(x, ArrayMethods) else x.shape


def size(x, axis=None):
    """The number of elements of x, or its length along `axis`."""
    s = shape(x)
    return int(np.prod(s)) if axis is None else s[axis]


def iscomplexobj(x):
    """Whether x's dtype is complex."""
    return dtypes.is_complex(aval_of(x).dtype)


def isrealobj(x):
    """Whether x's dtype is not complex."""
    return not iscomplexobj(x)


def reject_out(name, out):
    """NotImplementedError for NumPy's `out=` argument: mlax arrays are immutable."""
    if out is not None:
        raise NotImplementedError(f"{name}: the 'out' argument is not supported (mlax arrays are immutable); "
                                  "use the returned array")
