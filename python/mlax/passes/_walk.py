"""Helpers the passes share for walking and editing MLIR."""

from __future__ import annotations

from collections.abc import Sequence

from iree.compiler import ir
from iree.compiler.dialects import func as func_dialect


def operations(block: ir.Block) -> list[ir.Operation]:
    """The ops of a block as ir.Operation (an OpView's `.name` may be its symbol)."""
    return [op.operation for op in block.operations]


def functions(module_op: ir.Operation) -> list[ir.Operation]:
    """The func.func operations of a module."""
    return [op for op in operations(module_op.regions[0].blocks[0]) if isinstance(op.opview, func_dialect.FuncOp)]


def function_blocks(module_op: ir.Operation) -> list[ir.Block]:
    """The top-level blocks of every function of a module."""
    return [block for f in functions(module_op) for region in f.regions for block in region.blocks]


def is_call(operation: ir.Operation) -> bool:
    """Whether `operation` is a func.call (of the function its `callee` names)."""
    return isinstance(operation.opview, func_dialect.CallOp)


def function_name(func_op: ir.Operation) -> str:
    return ir.StringAttr(func_op.attributes["sym_name"]).value


def post_order(op: ir.Operation) -> list[ir.Operation]:
    """Every operation nested in `op`, inner ops before the ops holding them. (MLIR's own
    walk: visiting them from Python took 64 ms for a 450-op module, the walk 0.7 ms.)"""
    result: list[ir.Operation] = []

    def visit(inner: ir.Operation) -> ir.WalkResult:
        result.append(inner.operation)
        return ir.WalkResult.ADVANCE
    op.operation.walk(visit)
    return result[:-1]  # the walk ends with `op` itself


def replace_op(op: ir.Operation, new_values: Sequence[ir.Value]) -> None:
    """Replace the results of `op` by `new_values` and erase it."""
    for old, new in zip(op.results, new_values):
        old.replace_all_uses_with(new)
    op.erase()


def referenced_symbols(operation: ir.Operation) -> list[str]:
    """Names of the functions an operation refers to (symbol attributes, or arrays of them)."""
    names: list[str] = []
    for attr in operation.attributes.values():
        if isinstance(attr, ir.FlatSymbolRefAttr):
            names.append(attr.value)
        elif isinstance(attr, ir.ArrayAttr):
            names.extend(a.value for a in attr if isinstance(a, ir.FlatSymbolRefAttr))
    return names


def has_uses(op: ir.Operation) -> bool:
    return any(True for result in op.results for _ in result.uses)
