"""The one MLIR context of the process, and conversions between Python and MLIR.

mlax traces into the context owned by the in-process IREE compiler session, so
a traced module is handed to IREE without printing and re-parsing it. The
context allows unregistered dialects: mlax ops are generic operations.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from iree.compiler import ir
from iree.compiler.api import Session, ctypes_dl

from mlax.core import dtypes

# The MLIR bindings look for a Python module for each dialect whose ops they
# wrap (iree.compiler.dialects.<name>) and retry the import every time it is
# missing; an empty module for mlax saves a failed import per op visited.
sys.modules.setdefault("iree.compiler.dialects.mlax", types.ModuleType("iree.compiler.dialects.mlax"))

_session: Session | None = None

# Held while a thread builds, transforms, prints or compiles IR: the process has one MLIR
# context and one IREE compiler session, which threads must not use at once (three threads
# calling jit crashed IREE's compiler). Re-entrant: tracing runs the user's function, which
# may jit and compile an inner function.
lock = threading.RLock()

# Process-wide IREE compiler options (the per-session flags do not reach these).
# Indirect command buffers are off: IREE 3.13 records some programs with loops inside
# loops (eigh's derivative) into command buffers that fail at run time ("indirect
# buffer reference slot 0 is out range of the declared binding capacity"). Mutable
# bindings are aliased into one buffer range: left split, a dispatch writing many results
# (grad(grad(ndtr)) with its value) needs more bindings than the runtime takes ("binding
# count 52 > 32") and every call fails. (IREE's optimization level stays its default, O0: at
# O2 a table of functions of int32 extremes came out wrong, sin of int32 reading other
# elements' values; its aggressive fusion alone made svd's second derivatives wrong.)
GLOBAL_COMPILER_OPTIONS: tuple[str, ...] = ("--iree-hal-indirect-command-buffers=false",
                                            "--iree-stream-resource-alias-mutable-bindings")


@functools.cache
def set_global_compiler_options() -> None:
    """Set them, once per process, before the first compiler session."""
    ctypes_dl._initializeGlobalCL("mlax", *GLOBAL_COMPILER_OPTIONS)


def compiler_session() -> Session:
    """The process's IREE compiler session whose context holds every mlax module."""
    global _session
    if _session is None:
        set_global_compiler_options()
        _session = Session()
        _session.context.allow_unregistered_dialects = True
        # Builders need func, stablehlo, chlo loaded (parsing would load them lazily).
        _session.context.load_all_available_dialects()
    return _session


def context() -> ir.Context:
    return compiler_session().context


def close() -> None:
    """Release the compiler session (at interpreter exit, before the runtime goes)."""
    global _session
    if _session is not None:
        _session.close()
        _session = None


def element_type(dtype: npt.DTypeLike) -> ir.Type:
    return ir.Type.parse(dtypes.MLIR_NAMES[np.dtype(dtype)])


def tensor_type(shape: Sequence[int | None], dtype: npt.DTypeLike) -> ir.RankedTensorType:
    """tensor<...> of `shape` (None marks a dynamic dimension) and `dtype`."""
    dims = [ir.ShapedType.get_dynamic_size() if d is None else d for d in shape]
    return ir.RankedTensorType.get(dims, element_type(dtype))


def shape_dtype(tensor_type: ir.Type) -> tuple[tuple[int | None, ...], np.dtype]:
    """(shape, dtype) of an MLIR ranked tensor type."""
    cached = _shape_dtype_cache.get(tensor_type)
    if cached is None:
        ranked = ir.RankedTensorType(tensor_type)
        shape = tuple(None if ranked.is_dynamic_dim(i) else d for i, d in enumerate(ranked.shape))
        if len(_shape_dtype_cache) >= SHAPE_DTYPE_CACHE_SIZE:  # bounded: a program may meet any number of shapes
            _shape_dtype_cache.clear()
        cached = _shape_dtype_cache[tensor_type] = (shape, dtypes.FROM_MLIR_NAME[str(ranked.element_type)])
    return cached


def dense_attr(value: npt.ArrayLike, dtype: npt.DTypeLike) -> ir.Attribute:
    """A DenseElementsAttr holding the numpy array `value` as `dtype` (a splat
    when all elements are equal, e.g. for np.broadcast_to of a scalar)."""
    value = np.asarray(value)
    dtype = np.dtype(dtype)
    ttype = tensor_type(value.shape, dtype)
    if value.size == 0:
        return ir.Attribute.parse(f"dense<> : {ttype}")
    if value.ndim and not any(value.strides):
        value = value.reshape(-1)[:1]  # a broadcast scalar: no need to look at every element
    value = np.asarray(value, dtype=dtype, order="C")
    if dtype == dtypes.bool_:
        if value.size == 1:
            return ir.DenseElementsAttr.get_splat(ttype, ir.BoolAttr.get(bool(value.reshape(-1)[0])))
        return ir.DenseElementsAttr.get(value, type=ttype)
    element_bytes = value.reshape(-1).view(np.uint8).reshape(value.size, -1)
    if (element_bytes == element_bytes[0]).all():
        value = value.reshape(-1)[:1]  # one element: MLIR reads it as a splat
    # MLIR reads a hex blob of the raw little-endian bytes for any element type.
    return ir.Attribute.parse(f'dense<"0x{value.tobytes().hex().upper()}"> : {ttype}')


def dense_to_numpy(attr: ir.DenseElementsAttr) -> np.ndarray:
    """The numpy array held by a DenseElementsAttr (a broadcast view for splats)."""
    shape, dtype = shape_dtype(attr.type)  # static: the type: ignores below are for its `int | None`
    if attr.is_splat and dtype != dtypes.bfloat16 and not dtypes.is_complex(dtype):
        scalar = attr.get_splat_value()
        return np.broadcast_to(np.asarray(scalar.value, dtype=dtype), shape)  # type: ignore[arg-type]
    if dtype == dtypes.bfloat16:
        # The bindings can't view bf16 data: read the same literals as f32.
        attr = ir.Attribute.parse(str(attr).replace("xbf16>", "xf32>").replace("<bf16>", "<f32>"))
    if dtypes.is_complex(dtype):
        raise NotImplementedError("reading complex constants back from MLIR text")
    return np.array(attr).astype(dtype).reshape(shape)  # type: ignore[arg-type]


SHAPE_DTYPE_CACHE_SIZE = 4096
_shape_dtype_cache: dict[ir.Type, tuple[tuple[int | None, ...], np.dtype]] = {}


class Symbol(str):
    """The name of a function, held in an attribute as a symbol reference (@name)."""


# --- op attributes ---------------------------------------------------------
# Op attributes are plain Python values in the op table and MLIR attributes in
# the IR. The encoding is fixed by the Python type, so decoding needs no schema:
#   int -> i64 IntegerAttr, bool -> BoolAttr, float -> f64 FloatAttr,
#   str -> StringAttr, tuple of ints -> array<i64: ...>, np.dtype -> TypeAttr,
#   np.ndarray -> DenseElementsAttr, Symbol -> FlatSymbolRefAttr,
#   tuple of Symbols -> ArrayAttr of them, ir.Attribute -> itself.

def encode_attr(value: Any) -> ir.Attribute:
    if isinstance(value, ir.Attribute):
        return value
    if isinstance(value, bool):
        return ir.BoolAttr.get(value)
    if isinstance(value, (int, np.integer)):
        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))
    if isinstance(value, float):
        return ir.FloatAttr.get(ir.F64Type.get(), value)
    if isinstance(value, Symbol):
        return ir.FlatSymbolRefAttr.get(value)
    if isinstance(value, str):
        return ir.StringAttr.get(value)
    if isinstance(value, np.dtype):
        return ir.TypeAttr.get(element_type(value))
    if isinstance(value, np.ndarray):
        return dense_attr(value, value.dtype)
    if isinstance(value, tuple) and value and all(isinstance(v, Symbol) for v in value):
        return ir.ArrayAttr.get([ir.FlatSymbolRefAttr.get(v) for v in value])
    if isinstance(value, tuple):
        return ir.DenseI64ArrayAttr.get([int(v) for v in value])
    raise TypeError(f"cannot encode attribute value {value!r}")


def decode_attr(attr: ir.Attribute) -> Any:
    if isinstance(attr, ir.DenseI64ArrayAttr):
        return tuple(attr)
    if isinstance(attr, ir.BoolAttr):
        return attr.value
    if isinstance(attr, ir.IntegerAttr):
        return attr.value
    if isinstance(attr, ir.FloatAttr):
        return attr.value
    if isinstance(attr, ir.FlatSymbolRefAttr):
        return Symbol(attr.value)
    if isinstance(attr, ir.ArrayAttr):
        return tuple(Symbol(ir.FlatSymbolRefAttr(a).value) for a in attr)
    if isinstance(attr, ir.StringAttr):
        return attr.value
    if isinstance(attr, ir.TypeAttr):
        return dtypes.FROM_MLIR_NAME[str(attr.value)]
    if isinstance(attr, ir.DenseElementsAttr):
        return dense_to_numpy(attr)
    return attr


def op_attrs(op: ir.Operation | ir.OpView) -> dict[str, Any]:
    """The decoded attributes of an operation, as a dict."""
    return {name: decode_attr(attr) for name, attr in op.attributes.items()}
