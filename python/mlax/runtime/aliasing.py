"""Which arguments of a compiled program IREE may overwrite.

IREE 3.13 runs an in-place op (dynamic_update_slice, scatter, sort, a loop's
carried state) in the storage of a function argument whenever, after its own
folding, the op's destination is that argument: `-(-x)`, `x * 1.0`, `x.T.T`,
`maximum(x, x)` and `select(True, x, y)` all fold to `x`, and
`dynamic_update_slice(-(-x), ...)` then writes into the caller's buffer. mlax
arrays are immutable, so the runtime passes such arguments a private copy.

Which ops IREE folds to their operand is IREE's business, so no op is trusted
to cut an argument off from a destination: an argument counts as written when
any chain of ops, through nested regions and calls, leads from it to the
destination operand of an op that writes in place, each step going to a result
no larger than the operand (a view is never larger than the buffer it views).
The only ops named are those destinations, StableHLO's ops whose result IREE
builds in an operand's storage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from iree.compiler import ir

from mlax.core import mlir
from mlax.passes import _walk


def _scatter_inputs(op: ir.Operation) -> range:
    # stablehlo.scatter(inputs..., indices, updates...): as many inputs as updates.
    return range((len(op.operands) - 1) // 2)


def _changed_loop_state(op: ir.Operation) -> list[int]:
    # A loop runs in the storage of the state it changes; state passed through is only read.
    body = op.regions[-1].blocks[0]
    returned = _walk.operations(body)[-1].operands
    return [k for k, arg in enumerate(body.arguments) if returned[k] != arg]


# The StableHLO ops IREE may run in the storage of an operand, and which operands.
DESTINATIONS: dict[str, Callable[[ir.Operation], Sequence[int]]] = {
    "stablehlo.dynamic_update_slice": lambda op: range(1),
    "stablehlo.scatter": _scatter_inputs,
    "stablehlo.select_and_scatter": lambda op: range(1),
    "stablehlo.sort": lambda op: range(len(op.operands)),
    "stablehlo.while": _changed_loop_state,
}


def _nbytes(value_type: ir.Type) -> int | None:
    """Bytes of a statically shaped tensor type; None for anything else."""
    if not isinstance(value_type, ir.RankedTensorType):
        return None
    shape, dtype = mlir.shape_dtype(value_type)
    return None if None in shape else math.prod(shape) * dtype.itemsize


def _sharing(result_type: ir.Type, sources: Sequence[tuple[ir.Type, int]]) -> int:
    """The masks of the sources a result of `result_type` may be a view of: a view is never
    larger than the buffer it views (so an update written into a bigger array, or a
    broadcast, starts a buffer of its own)."""
    size = _nbytes(result_type)
    mask = 0
    for source_type, source_mask in sources:
        source_size = _nbytes(source_type)
        if size is None or source_size is None or size <= source_size:
            mask |= source_mask
    return mask


class _Analysis:
    """Forward propagation of "which arguments may this value share storage with", as bit
    masks (bit i: argument i): every op may hand an operand's storage on to a result no
    larger than it, whatever the op is."""

    def __init__(self, module_op: ir.Operation):
        self.functions = {_walk.function_name(f): f for f in _walk.functions(module_op)}
        self.summaries: dict[tuple[str, tuple[int, ...]], int] = {}

    def written(self, name: str, seeds: tuple[int, ...]) -> int:
        """The bits of `seeds` reaching a destination in function `name` whose arguments carry `seeds`."""
        key = (name, seeds)
        if key not in self.summaries:
            self.summaries[key] = 0  # a recursive call adds nothing new
            block = self.functions[name].regions[0].blocks[0]
            masks = dict(zip(block.arguments, seeds))
            self.summaries[key] = self._block(block, masks)
        return self.summaries[key]

    def _block(self, block: ir.Block, masks: dict) -> int:
        written = 0
        for op in _walk.operations(block):
            written |= self._op(op, masks)
        return written

    def _op(self, op: ir.Operation, masks: dict) -> int:
        operand_masks = [masks.get(value, 0) for value in op.operands]
        sources = [(value.type, mask) for value, mask in zip(op.operands, operand_masks)]
        written = 0
        result_masks = None
        if op.regions:
            written, reached, result_masks = self._regions(op, operand_masks, masks)
            sources += reached
        if op.name in DESTINATIONS:
            for index in DESTINATIONS[op.name](op):
                written |= operand_masks[index]
        if _walk.is_call(op):
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            written |= self.written(callee, tuple(operand_masks))
        for k, result in enumerate(op.results):
            masks[result] = result_masks[k] if result_masks is not None else _sharing(result.type, sources)
        return written

    def _regions(self, op: ir.Operation, operand_masks: list[int], masks: dict):
        """Walk the regions of `op`; return what they write, the values (type, mask) that may
        reach its results and, for a loop (its blocks take its operands and its results have
        their types), each result's own mask."""
        reached = [(value.type, masks[value]) for inner in _walk.post_order(op)
                   for value in inner.operands if value in masks]  # values from outside used inside
        reaching = 0
        for mask in operand_masks + [mask for _, mask in reached]:
            reaching |= mask
        types = [v.type for v in op.operands]
        loop = [r.type for r in op.results] == types and all(
            [a.type for a in block.arguments] == types for region in op.regions for block in region.blocks)
        state = list(operand_masks) if loop else None
        while True:  # a loop's state grows by what its body returns, up to a fixed point
            written, grown = 0, False
            for block in (block for region in op.regions for block in region.blocks):
                masks.update((arg, reaching if state is None else state[k]) for k, arg in enumerate(block.arguments))
                written |= self._block(block, masks)
                terminator = _walk.operations(block)[-1].operands
                returned = [masks.get(v, 0) for v in terminator]
                reached += [(v.type, masks.get(v, 0)) for v in terminator]
                if state is not None and len(returned) == len(state):
                    merged = [a | b for a, b in zip(state, returned)]
                    grown |= merged != state
                    state = merged
            if not grown:
                return written, reached, state


def written_arguments(module_op: ir.Operation, entry: str = "main") -> list[int]:
    """Indices of @entry's arguments whose storage the compiled program may write."""
    analysis = _Analysis(module_op)
    count = len(analysis.functions[entry].regions[0].blocks[0].arguments)
    written = analysis.written(entry, tuple(1 << i for i in range(count)))
    return [i for i in range(count) if written >> i & 1]
