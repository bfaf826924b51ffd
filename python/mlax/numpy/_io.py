"""mlax.numpy's input, output and printing: NumPy reads and writes the data on the host
and mlax arrays come out (as in JAX); fromfunction traces its function over index arrays.

save, savez, array_repr and array_str are NumPy's own functions (they read mlax arrays
through __array__), and the print options are NumPy's, which mlax's array repr follows.
fromfile and fromiter raise, as in JAX: reading a file or an iterator is a side effect
that a traced function would repeat or lose.
"""

import operator

import numpy as np

from mlax.api.vmap import vmap
from mlax.core import dtypes
from mlax.numpy._creation import arange
from mlax.numpy._dtypes import asarray
from mlax.runtime.array import device_put

__all__ = ["array_repr", "array_str", "from_dlpack", "frombuffer", "fromfile", "fromfunction", "fromiter",
           "fromstring", "get_printoptions", "load", "printoptions", "save", "savez", "set_printoptions"]

save, savez, array_repr, array_str = np.save, np.savez, np.array_repr, np.array_str


def printoptions(*args, **kwargs):
    """NumPy's printoptions context manager (mlax arrays print through NumPy)."""
    return np.printoptions(*args, **kwargs)


def get_printoptions():
    """NumPy's current print options."""
    return np.get_printoptions()


def set_printoptions(*args, **kwargs):
    """Set NumPy's print options (mlax arrays print through NumPy)."""
    return np.set_printoptions(*args, **kwargs)


def load(file, *args, **kwargs):
    """numpy.load, with an array result as an mlax array: bfloat16 data, which NumPy saves as
    two-byte voids, comes back as bfloat16; arrays mlax cannot hold (objects, strings) and
    .npz archives come back as NumPy gives them, as in JAX."""
    out = np.load(file, *args, **kwargs)
    if not isinstance(out, np.ndarray):
        return out
    if out.dtype == np.dtype("V2"):
        out = out.view(dtypes.bfloat16)
    try:
        return asarray(out)
    except TypeError:  # a dtype mlax arrays cannot hold
        return out


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    """The 1-D array that `buffer`'s bytes hold (numpy.frombuffer), as an mlax array."""
    return asarray(np.frombuffer(buffer=buffer, dtype=dtype, count=count, offset=offset))


def fromstring(string, dtype=float, count=-1, *, sep):
    """The 1-D array of the numbers in the text `string` separated by `sep` (numpy.fromstring)."""
    return asarray(np.fromstring(string, dtype=dtype, count=count, sep=sep))


def fromfile(*args, **kwargs):
    """Not supported, as in JAX: use mlax.numpy.asarray(numpy.fromfile(...))."""
    raise NotImplementedError("fromfile is not supported: reading a file is a side effect that jit and the other "
                              "transformations would not repeat; use mlax.numpy.asarray(numpy.fromfile(...))")


def fromiter(*args, **kwargs):
    """Not supported, as in JAX: use mlax.numpy.asarray(numpy.fromiter(...))."""
    raise NotImplementedError("fromiter is not supported: consuming an iterator is a side effect that jit and the "
                              "other transformations would not repeat; use mlax.numpy.asarray(numpy.fromiter(...))")


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """function(*indices, **kwargs) over the index grid of `shape`: the function is traced once,
    vmapped over each axis's index vector arange(n, dtype=dtype) (so it sees arrays, as in JAX)."""
    try:
        shape = tuple(operator.index(n) for n in (shape if np.ndim(shape) else (shape,)))
    except TypeError:
        raise TypeError(f"fromfunction: shape must be a sequence of integers, got {shape!r}") from None
    for axis in reversed(range(len(shape))):
        # The last index innermost, so that the outermost vmap's axis (the first) is the first index's.
        in_axes = tuple(0 if other == axis else None for other in range(len(shape)))
        function = vmap(function, in_axes=in_axes)
    return function(*(arange(n, dtype=dtype) for n in shape), **kwargs)


def from_dlpack(x, /, *, device=None, copy=None):
    """An mlax array holding the data of a DLPack producer `x` (an object with __dlpack__), on
    `device` (default: the default device). The data is always copied into mlax's buffer, so
    copy=False is not supported."""
    if copy is False:
        raise NotImplementedError("from_dlpack: copy=False is not supported: mlax always copies the data into its "
                                  "own buffer; pass copy=None or copy=True")
    host = np.from_dlpack(x)
    value = asarray(host)
    return value if device is None else device_put(value, device)
