"""Builders of StableHLO/CHLO operations, used by the op table's lowerings.

Ops are created in MLIR's generic form (the Python bindings ship no StableHLO
op classes); each builder inserts at the current insertion point, which the
lowering pass sets before calling an op's lowering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from iree.compiler import ir

from mlax.core import dtypes, mlir


def op(name: str, operands: Sequence[ir.Value], result_types: ir.Type | Sequence[ir.Type],
       attrs: dict[str, Any] | None = None, regions: int = 0) -> ir.Operation:
    """Create `name` (e.g. "stablehlo.add"); return the operation."""
    if isinstance(result_types, ir.Type):
        result_types = [result_types]
    if name == "stablehlo.add" and operands and dtype_of(operands[0]) == dtypes.bool_:
        name = "stablehlo.or"  # StableHLO defines add on booleans as OR; IREE 3.13 computes XOR
    return ir.Operation.create(
        name, results=list(result_types), operands=list(operands),
        attributes={k: (v if isinstance(v, ir.Attribute) else mlir.encode_attr(v)) for k, v in (attrs or {}).items()},
        regions=regions,
    )


def value(name: str, operands: Sequence[ir.Value], result_type: ir.Type, **attrs: Any) -> ir.Value:
    """Create a single-result op and return its value."""
    return op(name, operands, result_type, attrs).result


def shape_of(v: ir.Value) -> tuple[int | None, ...]:
    """The shape of a tensor value; None marks a dynamic dimension."""
    return mlir.shape_dtype(v.type)[0]


def defining_op(v: ir.Value) -> ir.Operation | None:
    """The operation that makes `v`; None for a block argument."""
    owner = v.owner
    return None if isinstance(owner, ir.Block) else owner.operation


def dtype_of(v: ir.Value) -> np.dtype:
    return mlir.shape_dtype(v.type)[1]


def constant(val: Any, dtype: npt.DTypeLike, shape: Sequence[int] = ()) -> ir.Value:
    """A StableHLO constant: `val` broadcast to `shape`."""
    array = np.broadcast_to(np.asarray(val, dtype=dtype), shape)
    if dtypes.is_complex(dtype):  # the bindings cannot hand complex dense attributes back
        parts = [constant(part, part.dtype, shape) for part in (array.real, array.imag)]
        return value("stablehlo.complex", parts, mlir.tensor_type(shape, dtype))
    return value("stablehlo.constant", [], mlir.tensor_type(shape, dtype), value=mlir.dense_attr(array, dtype))


def full_like(v: ir.Value, val: Any, fill_dtype: npt.DTypeLike | None = None) -> ir.Value:
    """A tensor of v's shape (static or dynamic) filled with `val`, of v's dtype or `fill_dtype`."""
    shape, dtype = shape_of(v), dtype_of(v)
    fill_dtype = dtype if fill_dtype is None else np.dtype(fill_dtype)
    if None not in shape:
        return constant(val, fill_dtype, cast(tuple[int, ...], shape))  # static: no None
    measured = v
    if np.issubdtype(dtype, np.unsignedinteger):
        # IREE 3.13 cannot take the size of an unsigned tensor (tensor.dim on tensor<?xui8>
        # stays illegal); its signed twin has the same shape.
        measured = value("stablehlo.bitcast_convert", [v], mlir.tensor_type(shape, np.dtype(dtype.str.replace("u", "i"))))
    sizes = [reshape(value("stablehlo.get_dimension_size", [measured], mlir.tensor_type((), dtypes.int32),
                           dimension=i), (1,)) for i in range(len(shape))]
    extents = value("stablehlo.concatenate", sizes, mlir.tensor_type((len(shape),), dtypes.int32), dimension=0) \
        if len(sizes) > 1 else sizes[0]
    return value("stablehlo.dynamic_broadcast_in_dim", [constant(val, fill_dtype), extents],
                 mlir.tensor_type(shape, fill_dtype), broadcast_dimensions=())


def convert(v: ir.Value, dtype: npt.DTypeLike) -> ir.Value:
    if dtype_of(v) == np.dtype(dtype):
        return v
    return value("stablehlo.convert", [v], mlir.tensor_type(shape_of(v), dtype))


def broadcast_in_dim(v: ir.Value, shape: Sequence[int | None], dims: Iterable[int]) -> ir.Value:
    return value("stablehlo.broadcast_in_dim", [v], mlir.tensor_type(shape, dtype_of(v)),
                 broadcast_dimensions=tuple(dims))


def reshape(v: ir.Value, shape: Sequence[int | None]) -> ir.Value:
    return value("stablehlo.reshape", [v], mlir.tensor_type(shape, dtype_of(v)))


def transpose(v: ir.Value, permutation: Sequence[int]) -> ir.Value:
    """v with its axis permutation[i] as axis i."""
    shape = shape_of(v)
    return value("stablehlo.transpose", [v], mlir.tensor_type([shape[p] for p in permutation], dtype_of(v)),
                 permutation=tuple(permutation))


def compare_type(dtype: npt.DTypeLike) -> str:
    if dtypes.is_inexact(dtype):
        return "FLOAT"
    if dtype == dtypes.bool_ or dtypes.is_unsigned(dtype):
        return "UNSIGNED"
    return "SIGNED"


def compare(a: ir.Value, b: ir.Value, direction: str) -> ir.Value:
    """Elementwise comparison; direction is EQ, NE, LT, LE, GT or GE."""
    return value(
        "stablehlo.compare", [a, b], mlir.tensor_type(shape_of(a), dtypes.bool_),
        comparison_direction=ir.Attribute.parse(f"#stablehlo<comparison_direction {direction}>"),
        compare_type=ir.Attribute.parse(f"#stablehlo<comparison_type {compare_type(dtype_of(a))}>"),
    )


def select(pred: ir.Value, on_true: ir.Value, on_false: ir.Value) -> ir.Value:
    return value("stablehlo.select", [pred, on_true, on_false], on_true.type)


def scalar_region(operation: ir.Operation, index: int, dtype_list: Sequence[npt.DTypeLike],
                  build: Callable[..., Sequence[ir.Value]]) -> ir.Block:
    """Fill region `index` of `operation` with one block of scalar-tensor
    arguments; `build(*args)` returns the values it yields."""
    types = [mlir.tensor_type((), d) for d in dtype_list]
    block = operation.regions[index].blocks.append(*types)
    with ir.InsertionPoint(block):
        results = build(*block.arguments)
        op("stablehlo.return", results, [])
    return block


def reduce(operands: Sequence[ir.Value], inits: Sequence[ir.Value], dims: Iterable[int],
           body: Callable[..., Sequence[ir.Value]]) -> list[ir.Value]:
    """stablehlo.reduce over `dims`; `body(*accumulators, *elements)` returns
    the combined values (as many as operands)."""
    dims = tuple(sorted(dims))
    in_shape = shape_of(operands[0])
    out_shape = [d for i, d in enumerate(in_shape) if i not in dims]
    result_types = [mlir.tensor_type(out_shape, dtype_of(x)) for x in operands]
    reduce_op = op("stablehlo.reduce", list(operands) + list(inits), result_types,
                   {"dimensions": ir.DenseI64ArrayAttr.get(list(dims))}, regions=1)
    element_dtypes = [dtype_of(x) for x in operands]
    scalar_region(reduce_op, 0, element_dtypes * 2, body)
    return list(reduce_op.results)


def binary(name: str) -> Callable[[ir.Value, ir.Value], list[ir.Value]]:
    """A region body applying the binary StableHLO op `name` to two scalars."""
    return lambda a, b: [value(name, [a, b], a.type)]
