"""dtypes: the supported element types, their MLIR names, and JAX's type promotion.

Promotion follows JAX's lattice: Python scalars are *weakly typed* (they take
the dtype of the array they meet), and the result of mixing two dtypes is the
least upper bound of the two in the lattice below. With x64 disabled, 64-bit
types are canonicalized to their 32-bit counterparts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import ml_dtypes
import numpy as np
import numpy.typing as npt

from mlax import config

bfloat16: np.dtype = np.dtype(ml_dtypes.bfloat16)
bool_: np.dtype = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
float16, float32, float64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)

# dtype -> MLIR element type spelling.
MLIR_NAMES: dict[np.dtype, str] = {
    bool_: "i1",
    int8: "i8", int16: "i16", int32: "i32", int64: "i64",
    uint8: "ui8", uint16: "ui16", uint32: "ui32", uint64: "ui64",
    bfloat16: "bf16", float16: "f16", float32: "f32", float64: "f64",
    complex64: "complex<f32>", complex128: "complex<f64>",
}
FROM_MLIR_NAME: dict[str, np.dtype] = {name: dtype for dtype, name in MLIR_NAMES.items()}


def short_name(dtype: npt.DTypeLike) -> str:
    """f32, i32, u8, bf16, c64, bool: the names JAX prints in shapes."""
    dtype = np.dtype(dtype)
    if dtype == bool_:
        return "bool"
    return {"complex<f32>": "c64", "complex<f64>": "c128"}.get(MLIR_NAMES[dtype], MLIR_NAMES[dtype].replace("ui", "u"))

_CANONICAL_X32: dict[np.dtype, np.dtype] = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}


def canonicalize(dtype: npt.DTypeLike) -> np.dtype:
    """The dtype mlax really uses for `dtype` under the current x64 setting."""
    dtype = np.dtype(dtype)
    if dtype not in MLIR_NAMES:
        raise TypeError(f"mlax does not support dtype {dtype}")
    if not config.x64_enabled():
        return _CANONICAL_X32.get(dtype, dtype)
    return dtype


def default_int() -> np.dtype:
    return canonicalize(int64)


def default_float() -> np.dtype:
    return canonicalize(float64)


def default_complex() -> np.dtype:
    return canonicalize(complex128)


def is_float(dtype: npt.DTypeLike) -> bool:
    return np.dtype(dtype) in (bfloat16, float16, float32, float64)


def is_complex(dtype: npt.DTypeLike) -> bool:
    return np.issubdtype(np.dtype(dtype), np.complexfloating)


def is_inexact(dtype: npt.DTypeLike) -> bool:
    return is_float(dtype) or is_complex(dtype)


def is_integer(dtype: npt.DTypeLike) -> bool:
    return np.issubdtype(np.dtype(dtype), np.integer)


def is_unsigned(dtype: npt.DTypeLike) -> bool:
    return np.issubdtype(np.dtype(dtype), np.unsignedinteger)


def finfo(dtype: npt.DTypeLike) -> np.finfo:
    """Machine limits of a float or complex dtype, as numpy.finfo (bfloat16's from ml_dtypes)."""
    # numpy's stubs take only floating dtypes for np.finfo; complex ones work too.
    return ml_dtypes.finfo(dtype) if np.dtype(dtype) == bfloat16 else np.finfo(dtype)  # type: ignore[arg-type]


def iinfo(dtype: npt.DTypeLike) -> np.iinfo:
    return np.iinfo(dtype)


def real_dtype(dtype: npt.DTypeLike) -> np.dtype:
    """The real counterpart of a complex dtype (identity for real dtypes)."""
    dtype = np.dtype(dtype)
    return {complex64: float32, complex128: float64}.get(dtype, dtype)


# The promotion lattice. Weak (Python scalar) categories are the strings
# "i*", "f*", "c*"; every edge points from a type to the types it promotes to.
# A lattice node: a dtype, or a weak category.
_Node = np.dtype | str

_LATTICE: dict[_Node, list[_Node]] = {
    bool_: ["i*"],
    "i*": [uint8, int8],
    uint8: [uint16, int16], uint16: [uint32, int32], uint32: [uint64, int64], uint64: ["f*"],
    int8: [int16], int16: [int32], int32: [int64], int64: ["f*"],
    "f*": [bfloat16, float16, "c*"],
    bfloat16: [float32], float16: [float32], float32: [float64, complex64], float64: [complex128],
    "c*": [complex64], complex64: [complex128], complex128: [],
}

# With config numpy_dtype_promotion="strict" (JAX's strict lattice): Python scalars
# promote to the arrays of their kind or above it; two different dtypes never promote.
_INTS = [uint8, uint16, uint32, uint64, int8, int16, int32, int64]
_STRICT_LATTICE: dict[_Node, list[_Node]] = {
    "i*": ["f*", *_INTS], "f*": ["c*", bfloat16, float16, float32, float64], "c*": [complex64, complex128],
    **{dtype: [] for dtype in MLIR_NAMES},
}


class TypePromotionError(ValueError):
    """Dtypes that do not promote implicitly (under numpy_dtype_promotion="strict")."""


@functools.cache
def _upper_set(node: _Node, strict: bool = False) -> frozenset[_Node]:
    result = {node}
    for parent in (_STRICT_LATTICE if strict else _LATTICE)[node]:
        result |= _upper_set(parent, strict)
    return frozenset(result)


@functools.cache
def _join(a: _Node, b: _Node, strict: bool = False) -> _Node | None:
    """The least upper bound of a and b: the common element whose upper set holds all
    others; None when there is none."""
    common = _upper_set(a, strict) & _upper_set(b, strict)
    for node in common:
        if _upper_set(node, strict) == common:
            return node
    return None


_WEAK_DEFAULT: dict[str, Callable[[], np.dtype]] = {"i*": default_int, "f*": default_float, "c*": default_complex}


def _node(dtype: npt.DTypeLike, weak: bool) -> _Node:
    if not weak:
        return np.dtype(dtype)
    if np.dtype(dtype) == bool_:
        return bool_
    return "c*" if is_complex(dtype) else "f*" if is_float(dtype) else "i*"


def _spelling(node: _Node) -> str:
    return {"i*": "<class 'int'>", "f*": "<class 'float'>", "c*": "<class 'complex'>"}.get(str(node), str(node))


def promote_types(*typed: tuple[npt.DTypeLike, bool]) -> tuple[np.dtype, bool]:
    """Result (dtype, weak_type) of combining (dtype, weak_type) pairs, by JAX's lattice
    (its strict one under config numpy_dtype_promotion="strict": TypePromotionError)."""
    strict = config.read("mlax_numpy_dtype_promotion") == "strict"
    nodes = [_node(d, w) for d, w in typed]
    node: _Node | None = nodes[0]
    for other in nodes[1:]:
        node = _join(node, other, strict) if node is not None else None
    if node is None:
        if strict:
            raise TypePromotionError(
                f"Input dtypes {tuple(_spelling(n) for n in nodes)} have no available implicit dtype promotion path "
                "when jax_numpy_dtype_promotion=strict. Try explicitly casting inputs to the desired output type, "
                "or set jax_numpy_dtype_promotion=standard.")
        raise TypeError(f"no promotion for {[_spelling(n) for n in nodes]}")
    if isinstance(node, str):
        return canonicalize(_WEAK_DEFAULT[node]()), True
    return canonicalize(node), False


def result_type(*dtypes: npt.DTypeLike) -> np.dtype:
    """Promotion of strong dtypes only, as `jnp.result_type` of dtypes."""
    return promote_types(*[(np.dtype(d), False) for d in dtypes])[0]


def python_scalar_dtype(value: object) -> np.dtype:
    """The weak dtype mlax gives a Python scalar."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        dtype = default_int()
        bounds = np.iinfo(dtype)
        if not bounds.min <= value <= bounds.max:
            # As JAX: no silent wraparound (2**40 became 0); x64 gives int64.
            raise OverflowError(f"Python int {value} too large to convert to {dtype.name}")
        return dtype
    if isinstance(value, float):
        return default_float()
    if isinstance(value, complex):
        return default_complex()
    raise TypeError(f"not a Python scalar: {value!r}")
