"""A copy, for each of its users, of an elementwise op that reads a reduction's result.

IREE 3.13 puts an elementwise op that reads a reduction's result (through broadcasts) in
the reduction's dispatch. When that op has several users, its full-size result is then
written to memory by that dispatch and read back by each user's: layer norm's `x - mean`
is written by the mean's dispatch, then read by the variance's and by the output's. XLA
recomputes it in each user's fusion instead, reading x.

`unshare` gives each user but the first its own copy of the op, and of the elementwise and
layout ops between it and the values that are in memory anyway (arguments, results of
contractions and reductions), so that each user's dispatch computes it from those. A copy
reads one such value through a stablehlo.optimization_barrier: identical copies would be
merged back by IREE's common subexpression elimination. The copies compute what the op
computed, bit for bit. (Layer norm over 4096x1024 float32: 3.4 -> 1.1 ms.)
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.ops._hlo import defining_op
from mlax.passes import _walk
from mlax.runtime.fusion_guard import LAYOUT, is_elementwise, shape_of

# Reductions whose dispatch takes in the elementwise ops reading their results.
REDUCTIONS = frozenset({"stablehlo.reduce"})
# The StableHLO ops a copy may recompute besides layout ops: elementwise arithmetic (an op
# of one shape throughout may still be a contraction, as a square matrix product is).
ELEMENTWISE = frozenset("stablehlo." + name for name in (
    "abs add and atan2 cbrt ceil clamp compare complex convert cosine count_leading_zeros divide exponential "
    "exponential_minus_one floor imag is_finite log log_plus_one logistic maximum minimum multiply negate not or "
    "popcnt power real remainder round_nearest_afz round_nearest_even rsqrt select shift_left "
    "shift_right_arithmetic shift_right_logical sign sine sqrt subtract tan tanh xor").split())
# At most this many ops are copied for one user (a longer chain stays shared).
LARGEST_COPY = 64


def _in_memory(value: ir.Value) -> bool:
    """Whether `value` is an argument or the result of an op that writes it out (not a constant)."""
    producer = defining_op(value)
    return producer is None or producer.name not in ("stablehlo.constant", "stablehlo.iota")


def _copied(op: ir.Operation) -> bool:
    """Whether a copy of the chain recomputes `op` (else it reads op's results as they are)."""
    return op.name in LAYOUT or (op.name in ELEMENTWISE and is_elementwise(op))


def _chain(op: ir.Operation) -> tuple[list[ir.Operation], list[ir.Value]] | None:
    """The ops a copy of `op` recomputes (operands before users) and the full-size values in
    memory it reads, or None when the chain is longer than LARGEST_COPY ops."""
    ops: list[ir.Operation] = []
    stored: list[ir.Value] = []
    seen: set[ir.Operation] = set()

    def visit(current: ir.Operation) -> bool:
        if current in seen:
            return True
        seen.add(current)
        for operand in current.operands:
            producer = defining_op(operand)
            if producer is not None and producer.block == op.block and _copied(producer):
                if not visit(producer):
                    return False
            elif _in_memory(operand) and shape_of(operand) == shape_of(op.results[0]) and operand not in stored:
                stored.append(operand)
        ops.append(current)
        return len(ops) <= LARGEST_COPY

    return (ops, stored) if visit(op) else None


def _copy_for(user: ir.Operation, op: ir.Operation, ops: list[ir.Operation], barred: ir.Value) -> None:
    """Recompute `ops` just before `user`, reading `barred` through a barrier, and make `user`
    read the copy of `op` in place of op's result."""
    with ir.InsertionPoint(user), user.location:
        barrier = ir.Operation.create("stablehlo.optimization_barrier", [barred.type], [barred])
    replaced = {barred: barrier.result}
    for original in ops:
        copy = original.clone(ir.InsertionPoint(user))
        for number, operand in enumerate(original.operands):
            if operand in replaced:
                copy.operands[number] = replaced[operand]
        for old, new in zip(original.results, copy.results):
            replaced[old] = new
    for number, operand in enumerate(user.operands):
        if operand in replaced and defining_op(operand) == op:
            user.operands[number] = replaced[operand]


def _entry_blocks(module_op: ir.Operation) -> list[ir.Block]:
    """The top-level blocks of the module's public functions. (Private functions are loop
    bodies and callees; with barriers on their arguments, IREE 3.13 made a program whose
    initializer failed: "indirect buffer reference slot 0 is out range".)"""
    return [block for function in _walk.functions(module_op)
            if "sym_visibility" not in function.attributes for region in function.regions for block in region.blocks]


def _reading_reductions(block: ir.Block) -> list[ir.Operation]:
    """The elementwise ops of `block` that read a reduction's result through layout and
    elementwise ops (layer norm's mean is a sum, divided, reshaped, broadcast), in order."""
    reading: set[ir.Operation] = set()
    found = []
    for op in _walk.operations(block):
        if not _copied(op):
            continue
        producers = [defining_op(operand) for operand in op.operands]
        if any(p is not None and (p.name in REDUCTIONS or p in reading) for p in producers):
            reading.add(op)
            if op.name in ELEMENTWISE:
                found.append(op)
    return found


def unshare(module_op: ir.Operation) -> int:
    """Give the users of reduction-reading elementwise ops their own copies; return how many."""
    copies = 0
    for op in [op for block in _entry_blocks(module_op) for op in _reading_reductions(block)]:
        users: list[ir.Operation] = []
        for use in op.results[0].uses:
            user = use.owner.operation
            if user not in users:
                users.append(user)
        if len(users) < 2 or any(user.block != op.block or user.name == "func.return" for user in users):
            continue
        chain = _chain(op)
        if chain is None or not chain[1]:
            continue
        ops, stored = chain
        for user in users[1:]:
            _copy_for(user, op, ops, stored[0])
            copies += 1
    return copies
