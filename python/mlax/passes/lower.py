"""mlax-lower: replace every mlax op by StableHLO/CHLO ops.

1. Walk each function in post-order, so ops nested in regions are lowered
   before the op holding them.
2. For each mlax op, ask the op table for its lowering and call it with the
   op's operands and decoded attributes, inserting before the op.
3. Replace the op's results by the lowering's values and erase the op.
An op whose results all have no elements becomes empty constants whatever it
is (IREE rejects or crashes on some ops over zero-size operands, e.g. a
convolution of an empty batch).
After this pass the module holds no mlax op and passes MLIR's verifier.
"""

from __future__ import annotations

import numpy as np

from iree.compiler import ir

from mlax.core import aval as aval_lib
from mlax.core import mlir, op as op_table
from mlax.ops import _hlo
from mlax.passes import _walk
from mlax.passes._registry import register


class LoweringContext:
    """What a lowering rule may ask about the op it lowers."""

    def __init__(self, operation: ir.Operation) -> None:
        self.op = operation
        self.in_avals = [aval_lib.from_type(v.type) for v in operation.operands]
        self.out_types = [r.type for r in operation.results]
        self.out_avals = [aval_lib.from_type(t) for t in self.out_types]


def _empty_results(operation: ir.Operation) -> list[tuple[tuple[int, ...], np.dtype]] | None:
    """(shape, dtype) of each result when every result is a static shape with no elements."""
    empty = []
    for result in operation.results:
        if not isinstance(result.type, ir.RankedTensorType):
            return None
        shape, dtype = mlir.shape_dtype(result.type)
        static = tuple(d for d in shape if d is not None)
        if len(static) < len(shape) or 0 not in static:
            return None
        empty.append((static, dtype))
    return empty or None


def lower_op(operation: ir.Operation) -> None:
    definition = op_table.lookup(operation.name)
    if definition is None:
        if operation.name.startswith("mlax."):
            raise ValueError(f"mlax-lower: unknown mlax op {operation.name}")
        return
    with operation.location, ir.InsertionPoint(operation):
        empty = _empty_results(operation)
        if empty:
            _walk.replace_op(operation, [_hlo.constant(0, dtype, shape) for shape, dtype in empty])
            return
        lowered = definition.lower(LoweringContext(operation), *operation.operands, **mlir.op_attrs(operation))
    if isinstance(lowered, ir.Value):
        lowered = [lowered]
    _walk.replace_op(operation, list(lowered))


@register("mlax-lower")
def lower(module_op: ir.Operation) -> None:
    for func_op in _walk.functions(module_op):
        for operation in _walk.post_order(func_op):
            lower_op(operation)
