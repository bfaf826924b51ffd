"""Optimization barriers that keep IREE from a fusion it gets wrong.

IREE 3.13 fuses a reduction (a sum, a max, a matrix-vector product) into a consumer
that reads its result through two different broadcasts, as in `s[:, None] * s[None, :]`
with `s = x.sum(0)`, or the squared norms of a pairwise distance
`sq[:, None] + sq[None, :] - 2 * x @ x.T`; each tile of the consumer then computes only
its own part of the reduction and reads the rest as zeros: a silently wrong result.

`guard` finds each value made by an op that IREE may fuse into its consumers (any op but
an elementwise one, a layout op or a constant) whose uses reach, through elementwise ops,
more than one distinct chain of layout ops, one of which broadcasts; it passes the value
through a stablehlo.optimization_barrier, which IREE does not fuse across. Values read
one way (softmax's max, layer norm's mean) keep their fusion.
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.passes import _walk

# StableHLO's ops that read their operand at other positions than they write: IREE turns
# them into indexing maps of the consumer they fuse into.
LAYOUT = frozenset({"stablehlo.broadcast_in_dim", "stablehlo.dynamic_broadcast_in_dim", "stablehlo.reshape",
                    "stablehlo.dynamic_reshape", "stablehlo.transpose", "stablehlo.reverse", "stablehlo.slice",
                    "stablehlo.pad"})
BROADCASTS = frozenset({"stablehlo.broadcast_in_dim", "stablehlo.dynamic_broadcast_in_dim"})
SOURCES = frozenset({"stablehlo.constant", "stablehlo.iota", "stablehlo.optimization_barrier"})


def shape_of(value: ir.Value) -> tuple[int, ...] | None:
    return tuple(value.type.shape) if isinstance(value.type, ir.RankedTensorType) else None


def is_elementwise(op: ir.Operation) -> bool:
    """Whether `op` reads each operand where it writes: no regions, no layout change, and
    every operand and result of one shape."""
    if op.regions or op.name in LAYOUT or not op.results:
        return False
    shapes = {shape_of(v) for v in list(op.operands) + list(op.results)}
    return len(shapes) == 1 and None not in shapes


def _describe(op: ir.Operation) -> str:
    attributes = ",".join(f"{name}={op.attributes[name]}" for name in op.attributes)
    return f"{op.name}[{attributes}]:{op.operands[0].type}->{op.results[0].type}"


def _read_ways(value: ir.Value, block: ir.Block) -> set[tuple[str, ...]]:
    """The chains of layout ops (each a tuple of their descriptions) through which the ops of
    `block` that IREE may fuse with `value`'s producer read it."""
    ways: set[tuple[str, ...]] = set()
    pending: list[tuple[ir.Value, tuple[str, ...]]] = [(value, ())]
    seen: set[tuple[ir.Value, tuple[str, ...]]] = set()
    while pending:
        current, chain = pending.pop()
        if (current, chain) in seen:
            continue
        seen.add((current, chain))
        for use in current.uses:
            user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            if user.block != block or user.name == "func.return":
                ways.add(chain)
            elif user.name in LAYOUT:
                pending.append((user.results[0], chain + (_describe(user),)))
            elif is_elementwise(user):
                pending.extend((result, chain) for result in user.results)
            else:
                ways.add(chain)
    return ways


def _needs_barrier(ways: set[tuple[str, ...]]) -> bool:
    broadcast = any(description.startswith(tuple(BROADCASTS)) for chain in ways for description in chain)
    return len(ways) > 1 and broadcast


def guard(module_op: ir.Operation) -> int:
    """Insert the barriers into a lowered StableHLO module; return how many."""
    inserted = 0
    for op in _walk.post_order(module_op):
        if op.name in SOURCES or op.name in LAYOUT or is_elementwise(op) or op.name.startswith("func."):
            continue
        for result in op.results:
            if shape_of(result) is None or not _needs_barrier(_read_ways(result, op.block)):
                continue
            uses = [(use.owner, use.operand_number) for use in result.uses]
            with ir.InsertionPoint(op), op.location:
                barrier = ir.Operation.create("stablehlo.optimization_barrier", [result.type], [result])
            barrier.move_after(op)
            for owner, number in uses:
                owner.operands[number] = barrier.result
            inserted += 1
    return inserted
