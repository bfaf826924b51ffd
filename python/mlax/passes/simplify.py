"""mlax-simplify: inline calls, merge duplicate ops, drop dead ones.

MLIR's own inliner, CSE and DCE leave unregistered ops alone (they cannot know
their effects); mlax ops are all pure, so this pass does the job for them.

1. Inline: every func.call of a function defined in the module is replaced by
   a copy of the callee's body; private functions left uncalled are erased.
2. CSE: within each block, an op equal to an earlier one (same name, operands,
   attributes, result types, no regions) is replaced by it.
3. DCE: mlax ops whose results are unused are erased, last to first.
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.passes import _walk
from mlax.passes._registry import register

# (name, operands, attributes as (name, text), result types as text): ops with equal keys compute the same.
CseKey = tuple[str, tuple[ir.Value, ...], tuple[tuple[str, str], ...], tuple[str, ...]]


def _callee(call_op: ir.Operation) -> str:
    return ir.FlatSymbolRefAttr(call_op.attributes["callee"]).value


def _has_body(func_op: ir.Operation) -> bool:
    return len(func_op.regions[0].blocks) > 0


def _calls(func_op: ir.Operation, bodies: dict[str, ir.Operation]) -> list[ir.Operation]:
    """The func.call ops in func_op whose callee has a body here."""
    return [op for op in _walk.post_order(func_op) if _walk.is_call(op) and _callee(op) in bodies]


def _check_no_recursion(bodies: dict[str, ir.Operation]) -> None:
    """Raise on a call cycle (f calls f, or f calls g calls f): inlining would never end."""
    state: dict[str, str] = {}  # name -> "visiting" | "done"

    def visit(name: str) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError(f"mlax-simplify: recursive call of @{name}")
        state[name] = "visiting"
        for call in _calls(bodies[name], bodies):
            visit(_callee(call))
        state[name] = "done"

    for name in bodies:
        visit(name)


def inline_calls(module_op: ir.Operation) -> None:
    bodies = {_walk.function_name(f): f for f in _walk.functions(module_op) if _has_body(f)}
    _check_no_recursion(bodies)
    changed = True
    while changed:
        changed = False
        for func_op in _walk.functions(module_op):
            for call in _calls(func_op, bodies):
                _inline(call, bodies[_callee(call)])
                changed = True
    _erase_unreferenced_private_functions(module_op)


def _inline(call_op: ir.Operation, callee: ir.Operation) -> None:
    block = callee.regions[0].blocks[0]
    mapping: dict[ir.Value, ir.Value] = {arg: operand for arg, operand in zip(block.arguments, call_op.operands)}
    *body, terminator = _walk.operations(block)
    with ir.InsertionPoint(call_op):
        for operation in body:
            clone = operation.clone()
            for i, operand in enumerate(clone.operands):
                if operand in mapping:
                    clone.operands[i] = mapping[operand]
            _remap_nested(clone, mapping)
            for old, new in zip(operation.results, clone.results):
                mapping[old] = new
    _walk.replace_op(call_op, [mapping.get(v, v) for v in terminator.operands])


def _remap_nested(operation: ir.Operation, mapping: dict[ir.Value, ir.Value]) -> None:
    """Point uses of outer values inside the clone's regions at their copies."""
    for inner in _walk.post_order(operation):
        for i, operand in enumerate(inner.operands):
            if operand in mapping:
                inner.operands[i] = mapping[operand]


def _referenced_symbols(module_op: ir.Operation) -> set[str]:
    names: set[str] = set()
    for func_op in _walk.functions(module_op):
        for operation in _walk.post_order(func_op):
            names.update(_walk.referenced_symbols(operation))
    return names


def _erase_unreferenced_private_functions(module_op: ir.Operation) -> None:
    while True:
        used = _referenced_symbols(module_op)
        dead = [f for f in _walk.functions(module_op)
                if "sym_visibility" in f.attributes
                and ir.StringAttr(f.attributes["sym_visibility"]).value == "private"
                and _walk.function_name(f) not in used]
        if not dead:
            return
        for f in dead:
            f.erase()


def _cse_key(operation: ir.Operation) -> CseKey:
    return (operation.name, tuple(operation.operands),
            tuple(sorted((name, str(attr)) for name, attr in operation.attributes.items())),
            tuple(str(r.type) for r in operation.results))


def eliminate_common_subexpressions(module_op: ir.Operation) -> None:
    for block in _walk.function_blocks(module_op):
        _cse_block(block)


def _cse_block(block: ir.Block) -> None:
    seen: dict[CseKey, ir.Operation] = {}
    for operation in _walk.operations(block):
        for region in operation.regions:
            for inner in region.blocks:
                _cse_block(inner)
        if not operation.name.startswith("mlax.") or len(operation.regions):
            continue
        key = _cse_key(operation)
        if key in seen:
            _walk.replace_op(operation, list(seen[key].results))
        else:
            seen[key] = operation


def eliminate_dead_code(module_op: ir.Operation) -> None:
    for block in _walk.function_blocks(module_op):
        _dce_block(block)


def _dce_block(block: ir.Block) -> None:
    for operation in reversed(_walk.operations(block)):
        if operation.name.startswith("mlax.") and not _walk.has_uses(operation):
            operation.erase()
            continue
        for region in operation.regions:
            for inner in region.blocks:
                _dce_block(inner)


@register("mlax-simplify")
def simplify(module_op: ir.Operation) -> None:
    inline_calls(module_op)
    eliminate_common_subexpressions(module_op)
    eliminate_dead_code(module_op)
