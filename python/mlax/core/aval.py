"""Abstract values: what tracing knows about an array (shape, dtype, weak type)."""

import numpy as np

from mlax.core import dtypes, mlir


class ShapedArray:
    """The shape and dtype of an array; `weak_type` marks a Python-scalar origin."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = tuple(None if d is None else int(d) for d in shape)  # None: dynamic
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None):
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
        )

    def strip_weak_type(self):
        return self.update(weak_type=False)

    def mlir_type(self):
        return mlir.tensor_type(self.shape, self.dtype)

    def str_short(self):
        """JAX's short spelling, e.g. f32[3,4] or bool[]."""
        return f"{dtypes.short_name(self.dtype)}[{','.join('?' if d is None else str(d) for d in self.shape)}]"

    def _key(self):
        return (self.shape, self.dtype, self.weak_type)

    def __eq__(self, other):
        return isinstance(other, ShapedArray) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"ShapedArray({self.str_short()}{', weak_type=True' if self.weak_type else ''})"


class ShapeDtypeStruct:
    """A shape and dtype standing in for an array (for export and lowering)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def from_type(tensor_type):
    """The ShapedArray of an MLIR ranked tensor type."""
    shape, dtype = mlir.shape_dtype(tensor_type)
    return ShapedArray(shape, dtype)
