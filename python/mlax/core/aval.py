"""Abstract values: what tracing knows about an array (shape, dtype, weak type)."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from iree.compiler import ir

from mlax.core import dtypes, mlir


def concrete_shape(shape: Any) -> tuple[int, ...]:
    """A shape argument (an integer or a sequence of them) as a tuple of ints: TypeError for
    anything else (a float such as 2.5 is not truncated), ValueError for a negative size."""
    entries = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    try:
        dims = tuple(operator.index(d) for d in entries)
    except TypeError:
        raise TypeError(f"shapes must be integers or sequences of integers, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"negative dimensions are not allowed, got shape {shape!r}")
    return dims


class ShapedArray:
    """The shape and dtype of an array; `weak_type` marks a Python-scalar origin."""

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape: Sequence[int | None], dtype: npt.DTypeLike, weak_type: bool = False) -> None:
        self.shape: tuple[int | None, ...] = tuple(None if d is None else operator.index(d)
                                                   for d in shape)  # None: a dynamic size
        self.dtype: np.dtype = np.dtype(dtype)
        self.weak_type: bool = bool(weak_type)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # type: ignore[arg-type]  # TypeError if dynamic

    def update(self, shape: Sequence[int | None] | None = None, dtype: npt.DTypeLike | None = None,
               weak_type: bool | None = None) -> "ShapedArray":
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
        )

    def strip_weak_type(self) -> "ShapedArray":
        return self.update(weak_type=False)

    def mlir_type(self) -> ir.RankedTensorType:
        return mlir.tensor_type(self.shape, self.dtype)

    def str_short(self) -> str:
        """JAX's short spelling, e.g. f32[3,4] or bool[]."""
        return f"{dtypes.short_name(self.dtype)}[{','.join('?' if d is None else str(d) for d in self.shape)}]"

    def _key(self) -> tuple[tuple[int | None, ...], np.dtype, bool]:
        return (self.shape, self.dtype, self.weak_type)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShapedArray) and self._key() == other._key()

    def __hash__(self) -> int:
        # Kept: every jitted call hashes its arguments' avals to find its program (0.2 µs each).
        try:
            return self._hash
        except AttributeError:
            self._hash: int = hash(self._key())
            return self._hash

    def __reduce__(self) -> tuple:
        return (ShapedArray, self._key())  # a hash is valid in its own process only

    def __repr__(self) -> str:
        return f"ShapedArray({self.str_short()}{', weak_type=True' if self.weak_type else ''})"


class ShapeDtypeStruct:
    """A shape and dtype standing in for an array (for export, lowering and eval_shape);
    `weak_type` marks a Python-scalar origin, as an array's does."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape: Sequence[int | None], dtype: npt.DTypeLike, *, weak_type: bool = False) -> None:
        self.shape: tuple[int | None, ...] = tuple(shape)
        self.dtype: np.dtype = np.dtype(dtype)
        self.weak_type: bool = bool(weak_type)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # type: ignore[arg-type]  # TypeError if dynamic

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ShapeDtypeStruct)
                and (self.shape, self.dtype, self.weak_type) == (other.shape, other.dtype, other.weak_type))

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak_type))

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"


def from_type(tensor_type: ir.Type) -> ShapedArray:
    """The ShapedArray of an MLIR ranked tensor type."""
    shape, dtype = mlir.shape_dtype(tensor_type)
    return ShapedArray(shape, dtype)
