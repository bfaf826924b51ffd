"""jax.dlpack: arrays to and from other libraries through the DLPack protocol.

`from_dlpack(x)` takes any object with `__dlpack__` and `__dlpack_device__`
(NumPy, PyTorch and CuPy arrays on the host, mlax arrays) and copies its data
into a device buffer; an mlax.Array exports a host copy of itself the same
way (`np.from_dlpack(x)`, `torch.from_dlpack(x)`). Both always copy: an IREE
buffer does not share memory with another library's.
"""

import numpy as np

from mlax.core import dtypes
from mlax.runtime.array import Array
from mlax.api.sharding import device_put

__all__ = ["from_dlpack", "is_supported_dtype"]

_KDLCPU = 1


def is_supported_dtype(dtype):
    """Whether mlax can take an array of `dtype` through DLPack."""
    return np.dtype(dtype) in dtypes.MLIR_NAMES


def from_dlpack(external_array, device=None, copy=None):
    """A new mlax.Array with the data of `external_array` (an object with __dlpack__), on `device`
    (a Device or a Sharding; default: the default device). mlax always copies, so copy=False raises
    NotImplementedError."""
    if not (hasattr(external_array, "__dlpack__") and hasattr(external_array, "__dlpack_device__")):
        raise TypeError("The array passed to from_dlpack must have __dlpack__ and __dlpack_device__ methods.")
    if copy is False:
        raise NotImplementedError("from_dlpack: copy=False is not supported: mlax copies the data into its own "
                                  "device buffer")
    host = np.from_dlpack(external_array)
    if not is_supported_dtype(host.dtype):
        raise TypeError(f"from_dlpack: mlax does not support the dtype {host.dtype} of the DLPack array")
    return device_put(np.asarray(host, dtypes.canonicalize(host.dtype)), device)


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule of a host copy of the array."""
    if stream is not None:
        raise BufferError(f"__dlpack__: stream={stream!r} is not supported: mlax exports a host copy")
    if copy is False:
        raise BufferError("__dlpack__: copy=False is not possible: mlax exports a host copy of the device buffer")
    if dl_device is not None and tuple(dl_device) != (_KDLCPU, 0):
        raise BufferError(f"__dlpack__: dl_device={dl_device!r} is not supported: mlax exports a host copy")
    host = np.array(self._value())
    return host.__dlpack__(max_version=max_version) if max_version is not None else host.__dlpack__()


def _dlpack_device(self):
    """(kDLCPU, 0): where the copy __dlpack__ exports lives."""
    return (_KDLCPU, 0)


# mlax.Array's DLPack faces, defined here beside from_dlpack.
Array.__dlpack__ = _dlpack
Array.__dlpack_device__ = _dlpack_device
