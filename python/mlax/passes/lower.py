"""mlax-lower: replace every mlax op by StableHLO/CHLO ops.

1. Walk each function in post-order, so ops nested in regions are lowered
   before the op holding them.
2. For each mlax op, ask the op table for its lowering and call it with the
   op's operands and decoded attributes, inserting before the op.
3. Replace the op's results by the lowering's values and erase the op.
After this pass the module holds no mlax op and passes MLIR's verifier.
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.core import aval as aval_lib
from mlax.core import mlir, op as op_table
from mlax.passes import _walk
from mlax.passes._registry import register


class LoweringContext:
    """What a lowering rule may ask about the op it lowers."""

    def __init__(self, operation: ir.Operation) -> None:
        self.op = operation
        self.in_avals = [aval_lib.from_type(v.type) for v in operation.operands]
        self.out_types = [r.type for r in operation.results]
        self.out_avals = [aval_lib.from_type(t) for t in self.out_types]


def lower_op(operation: ir.Operation) -> None:
    definition = op_table.lookup(operation.name)
    if definition is None:
        if operation.name.startswith("mlax."):
            raise ValueError(f"mlax-lower: unknown mlax op {operation.name}")
        return
    with operation.location, ir.InsertionPoint(operation):
        lowered = definition.lower(LoweringContext(operation), *operation.operands, **mlir.op_attrs(operation))
    if isinstance(lowered, ir.Value):
        lowered = [lowered]
    _walk.replace_op(operation, list(lowered))


@register("mlax-lower")
def lower(module_op: ir.Operation) -> None:
    for func_op in _walk.functions(module_op):
        for operation in _walk.post_order(func_op):
            lower_op(operation)
