"""mlax.Array: an immutable array in a device buffer.

Data stays on the device between calls; it is copied to the host only when
read (np.asarray, print, .item(), .tolist()), and the copy is kept.

Dispatch is asynchronous: a compiled program's call returns once its work is
queued, and its result Arrays are *pending* until the fence the call signals.
Whatever touches the buffer (a read, an eager op, a copy, the next call taking
it) waits for the fence first, through `_buffer`. A failed call raises where
its result is next waited for.
"""

import gc

import numpy as np

from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.aval import ShapedArray
from mlax.core.trace import Tracer
from mlax.runtime.device import default_device, wait_ready


class Array(ArrayMethods):
    """An array on a device; arithmetic, indexing and methods follow NumPy."""

    __slots__ = ("_buffer_view", "aval", "_device", "_host", "_pending", "__weakref__")

    def __init__(self, buffer_view, aval, device, pending=None):
        self._buffer_view = buffer_view
        self.aval = aval
        self._device = device
        self._host = None
        # None once the buffer holds the value; else (the HalFence it is ready at, the Executable
        # whose call signals it).
        self._pending = pending

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def devices(self):
        return {self._device}

    @property
    def device(self):
        return self._device

    @property
    def _buffer(self):
        """The device buffer, once it holds the value; RuntimeError once the array was deleted (donated)."""
        if self._buffer_view is None:
            raise RuntimeError(f"Array has been deleted with shape={self.aval.str_short()}: it was donated to a "
                               "jitted function (donate_argnums/donate_argnames) whose result took its buffer")
        if self._pending is not None:
            self._wait()
        return self._buffer_view

    def _wait(self):
        """Wait for the call computing this array; its failure raises here (and at every later wait)."""
        fence, executable = self._pending
        wait_ready(fence, executable)
        self._pending = None

    def delete(self):
        """Free the device buffer; using the array afterwards raises RuntimeError."""
        self._buffer_view = None
        self._host = None
        self._pending = None

    def is_deleted(self):
        return self._buffer_view is None

    def _value(self):
        if self._buffer_view is None:
            self._buffer  # noqa: B018 - raises the deleted-array error
        if type(self._host) is not np.ndarray:
            started, buffer = self._host, self._buffer  # (waits for the computation)
            self._host = (self._device.fetch(buffer, self.shape, self.dtype) if started is None
                          else self._device.finish_fetch(started, self.shape, self.dtype))
            self._host.flags.writeable = False
        return self._host

    def __array__(self, dtype=None, copy=None):
        value = self._value()
        if dtype is not None:
            return value.astype(dtype)
        return value.copy() if copy else value

    def block_until_ready(self):
        """Wait until the array's value is computed; return the array."""
        if self._pending is not None:
            self._wait()
        return self

    def copy_to_host_async(self):
        """Start copying the value to the host without waiting: on a device whose memory the host
        cannot map (a GPU), a transfer is queued after the computation; host memory needs none."""
        if self._host is None and self._buffer_view is not None:
            self._host = self._device.start_fetch(self._buffer_view, self._pending and self._pending[0])

    def item(self, *args):
        return self._value().item(*args)

    def tolist(self):
        return self._value().tolist()

    def __bool__(self):
        return bool(self._value())

    def __int__(self):
        return int(self._value())

    def __float__(self):
        return float(self._value())

    def __complex__(self):
        return complex(self._value())

    def __index__(self):
        if not dtypes.is_integer(self.dtype):
            raise TypeError(f"only integer arrays can be used as an index, got dtype {self.dtype.name}")
        return int(self._value())

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        raise TypeError("mlax arrays are unhashable")

    def __format__(self, spec):
        return format(self._value(), spec) if self.ndim == 0 else format(str(self), spec)

    def __repr__(self):
        body = np.array2string(self._value(), separator=", ", prefix="Array(")
        weak = ", weak_type=True" if self.weak_type else ""
        return f"Array({body}, dtype={self.dtype.name}{weak})"

    def __str__(self):
        return str(self._value())

    def __reduce__(self):
        return (device_put, (self._value(),))


def device_put(x, device=None):
    """Copy `x` (numpy data, a Python scalar, or an Array) to `device` as an Array."""
    device = device or default_device()
    if isinstance(x, Array):
        if x._device is device:
            return x
        return Array(device.put(x._value()), x.aval, device)
    if isinstance(x, Tracer):
        return x
    weak = isinstance(x, (bool, int, float, complex))
    dtype = dtypes.python_scalar_dtype(x) if weak else dtypes.canonicalize(np.asarray(x).dtype)
    value = np.asarray(x, dtype=dtype)
    return Array(device.put(value), ShapedArray(value.shape, dtype, weak), device)


def drop_fences():
    """Mark every pending array ready, and forget host copies under way, once the devices are idle
    (at exit, before the runtime goes: a fence alive after its Vulkan device crashes the process)."""
    for x in gc.get_objects():
        if isinstance(x, Array):
            x._pending = None
            if type(x._host) is not np.ndarray:
                x._host = None
