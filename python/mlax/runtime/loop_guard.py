"""Optimization barriers before loops, for IREE's stream partitioner.

IREE 3.13 fails to schedule some programs holding several loops whose starting state comes
from the same values, as gcd and lcm of the same arrays in one program do ("circular
dependency: input operation uses partition output", or "failed to schedule execution
partitions without cyclic dependencies"): it merges the ops computing the shared values
into one partition with ops that need a loop's results. `guard` passes each computed operand of a
loop through a stablehlo.optimization_barrier of its own, which IREE keeps as a boundary and which
costs nothing at run time (a loop cannot fuse with what produces its state anyway).
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.passes import _walk

LOOPS = frozenset({"stablehlo.while"})
CONSTANTS = frozenset({"stablehlo.constant", "stablehlo.iota"})


def guard(module_op: ir.Operation) -> int:
    """Insert the barriers into a lowered StableHLO module; return how many."""
    inserted = 0
    for loop in [op for op in _walk.post_order(module_op) if op.name in LOOPS]:
        # Computed operands only: IREE hoists constants into the module's initializer, where a
        # barrier over them broke the command buffer it records there.
        computed = [k for k, value in enumerate(loop.operands) if not _constant(value)]
        for k in computed:  # a barrier each: one over several would tie their storage together for aliasing.py
            with ir.InsertionPoint(loop), loop.location:
                barrier = ir.Operation.create("stablehlo.optimization_barrier", [loop.operands[k].type],
                                              [loop.operands[k]])
            loop.operands[k] = barrier.result
            inserted += 1
    return inserted


def _constant(value: ir.Value) -> bool:
    owner = value.owner  # a Block for a block argument, else the op (view) making the value
    return not isinstance(owner, ir.Block) and owner.operation.name in CONSTANTS
