"""The names of jax.lax's signatures that are types: Precision (with the strings JAX takes for
it), the PrecisionLike, DotDimensionNumbers and ConvGeneralDilatedDimensionNumbers aliases,
and `dtype`, the canonical dtype of a value or type."""

import enum
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from mlax.core import dtypes
from mlax.lax.convolution import ConvDimensionNumbers


class Precision(enum.Enum):
    """How precisely a product of float32 arrays is computed (dot_general, conv_general_dilated
    and the functions over them): DEFAULT ('default', 'fastest', 'bfloat16'), HIGH ('high',
    'bfloat16_3x', 'tensorfloat32') or HIGHEST ('highest', 'float32'). mlax computes every
    product at HIGHEST, which is what each of them gives on a CPU, as in JAX."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value: object) -> "Precision | None":
        return _PRECISION_NAMES.get(value) if isinstance(value, str) else None

    def __repr__(self) -> str:
        return f"Precision.{self.name}"

    def __str__(self) -> str:
        return self.name


_PRECISION_NAMES = {"default": Precision.DEFAULT, "fastest": Precision.DEFAULT, "bfloat16": Precision.DEFAULT,
                    "high": Precision.HIGH, "bfloat16_3x": Precision.HIGH, "tensorfloat32": Precision.HIGH,
                    "highest": Precision.HIGHEST, "float32": Precision.HIGHEST}

PrecisionLike = Union[None, str, Precision, tuple[str, str], tuple[Precision, Precision]]

# ((lhs contracting axes, rhs contracting axes), (lhs batch axes, rhs batch axes))
DotDimensionNumbers = tuple[tuple[Sequence[int], Sequence[int]], tuple[Sequence[int], Sequence[int]]]

# Three layout strings such as ("NHWC", "HWIO", "NHWC"), a ConvDimensionNumbers, or None.
ConvGeneralDilatedDimensionNumbers = Union[tuple[str, str, str], ConvDimensionNumbers, None]


def canonicalize_precision(precision: Any) -> tuple[Precision, Precision] | None:
    """A PrecisionLike as None or a (lhs, rhs) pair of Precisions; ValueError for anything else."""
    if precision is None:
        return None
    try:
        if isinstance(precision, (str, Precision)):
            return (Precision(precision),) * 2
        if isinstance(precision, (tuple, list)) and len(precision) == 2:
            return tuple(Precision(p) for p in precision)
    except ValueError:
        pass
    raise ValueError(f"precision must be None, a Precision, one of the strings {sorted(_PRECISION_NAMES)} or a "
                     f"pair of them, got {precision!r}")


def dtype(x: Any) -> np.dtype:
    """The dtype of a value or type, canonical: a Python int, float, bool or complex (or its type)
    gives the default dtype of its kind, 64-bit dtypes their 32-bit ones unless x64 is on."""
    if isinstance(x, type) and issubclass(x, (bool, int, float, complex)) and not issubclass(x, np.generic):
        return dtypes.python_scalar_dtype(x(0))
    if isinstance(x, (bool, int, float, complex)):
        return dtypes.python_scalar_dtype(x)
    found = None if isinstance(x, type) else getattr(x, "dtype", None)
    return dtypes.canonicalize(np.dtype(found if found is not None else x))
