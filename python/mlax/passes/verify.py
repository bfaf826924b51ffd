"""mlax-verify: check every mlax op against the op table.

1. The op name is in the table.
2. The operand count fits the op's signature; attributes are known.
3. The shape rule, applied to the operand types and attributes, gives the
   result types the op declares.
Raises ValueError naming the op and what is wrong.
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.core import aval as aval_lib
from mlax.core import mlir, op as op_table
from mlax.passes import _walk
from mlax.passes._registry import register


def verify_op(operation: ir.Operation) -> None:
    definition = op_table.lookup(operation.name)
    if definition is None:
        if operation.name.startswith("mlax."):
            raise ValueError(f"mlax-verify: unknown op {operation.name}: {operation}")
        return
    if "typed_by_callee" in definition.traits:
        return  # its result types are those of the functions it names
    try:
        in_avals = [aval_lib.from_type(v.type) for v in operation.operands]
        attrs = mlir.op_attrs(operation)
        unknown = set(attrs) - set(definition.attrs)
        if unknown:
            raise TypeError(f"unknown attributes {sorted(unknown)}")
        expected = [a.mlir_type() for a in definition.abstract_eval(in_avals, attrs)]
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"mlax-verify: invalid op {operation}: {error}") from None
    declared = [r.type for r in operation.results]
    if [str(t) for t in expected] != [str(t) for t in declared]:
        raise ValueError(f"mlax-verify: {operation.name} declares result types "
                         f"{[str(t) for t in declared]} but its operands give "
                         f"{[str(t) for t in expected]}: {operation}")


@register("mlax-verify")
def verify(module_op: ir.Operation) -> None:
    for func_op in _walk.functions(module_op):
        for operation in _walk.post_order(func_op):
            verify_op(operation)
