"""The base class that mlax.Array and Tracer share.

It holds what follows from the aval (shape, dtype, ndim, size, weak_type, len);
mlax.numpy attaches the NumPy operators and methods (`x + y`, `x.sum(0)`, `x[1:, None]`, `x.at[...]`) when it is imported,
so they mean the same traced or eager without core depending on mlax.numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlax.core.aval import ShapedArray


class ArrayMethods:
    """An mlax array value, concrete (mlax.Array) or traced (Tracer): it has an aval."""

    __array_priority__ = 100
    __slots__ = ()
    aval: ShapedArray

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    if TYPE_CHECKING:
        # For type checkers only: mlax.numpy attaches the real method at import.
        def __getitem__(self, index: Any) -> Any: ...
