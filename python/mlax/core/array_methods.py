"""The base class that mlax.Array and Tracer share.

It holds no methods of its own: mlax.numpy attaches the NumPy operators and
methods (`x + y`, `x.sum(0)`, `x[1:, None]`, `x.at[...]`) when it is imported,
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

    if TYPE_CHECKING:
        # For type checkers only: mlax.numpy attaches the real method at import.
        def __getitem__(self, index: Any) -> Any: ...
