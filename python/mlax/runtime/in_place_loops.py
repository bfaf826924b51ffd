"""Loop-carried arrays pinned to the program's device, so that a loop updates them in place.

IREE 3.13 gives a loop's carried values no device of their own: its stream conversion moves
each one to the device that uses it (stream.async.transfer) at every iteration, and such a
move copies the whole buffer. A scan stacking its outputs in a carried buffer so copied all
of it at every step: 3.2 MB a step for the RNN benchmark's saved states, a third of its time.

`pin_carried_arrays` passes each array a single-device program's loop carries and changes,
starting from a constant (a scan's stacked outputs, a gradient's sums), through a
flow.tensor.transfer to device 0, where it is anyway, at the end of the loop's body: IREE
then knows where the carried value lives, and a step writes only its slice. (RNN forward
and backward, 100 steps of 32x256: 30 -> 25 ms.) Arrays starting from an argument or a computed
value are left alone, so a loop never writes into a buffer something else reads; so are
scalars (the loop's counter must stay recognizable for IREE to run the loop on the host) and
arrays a loop only reads (pinned, they were copied at every iteration).

Once a program holds such a transfer, IREE 3.13 lets two carries that start from equal
constants (two zero-filled gradient sums, merged by its CSE) share one buffer, and one
overwrote the other. So every array carry that starts from a splat constant starts from a
broadcast of its element instead, the elements of a loop's carries passed through one
optimization barrier beside a tag unique to the loop: values IREE cannot merge. A program
with an array carry starting from a constant that is not a splat is left unpinned. (Naming
the entry function's affinity instead of the transfers did the same and had the same fault,
and IREE then failed to convert functions returning a constant or holding a branch.)
"""

from __future__ import annotations

import numpy as np
from iree.compiler import ir

from mlax.ops import _hlo
from mlax.ops.collectives import device_symbol, num_devices
from mlax.passes import _walk
from mlax.runtime.fusion_guard import shape_of


def _carried_arrays(loop: ir.Operation) -> list[int]:
    """The positions of the arrays `loop` (a stablehlo.while) carries and changes."""
    body = loop.regions[1].blocks[0]
    terminator = _walk.operations(body)[-1]
    return [number for number, value in enumerate(loop.operands)
            if shape_of(value) and terminator.operands[number] != body.arguments[number]]


def _splat(value: ir.Value) -> ir.DenseElementsAttr | None:
    """The attribute of `value` when a stablehlo.constant of one repeated element makes it."""
    producer = _hlo.defining_op(value)
    if producer is None or producer.name != "stablehlo.constant":
        return None
    attribute = ir.DenseElementsAttr(producer.attributes["value"])
    element = attribute.type.element_type
    numeric = isinstance(element, (ir.IntegerType, ir.FloatType))
    return attribute if attribute.is_splat and numeric else None


def _fresh_starts(loop: ir.Operation, numbers: list[int], tag: int) -> None:
    """Make each carry of `loop` at `numbers` (each starting from a splat constant) start from
    its own broadcast of the splat's element. The elements pass through one barrier, with
    `tag` (unique in the module) beside them: IREE cannot merge its results, as it merges
    equal constants, equal broadcasts and equal barriers."""
    with ir.InsertionPoint(loop), loop.location:
        scalars = [_hlo.constant(tag, np.int32)]
        for number in numbers:
            attribute = _splat(loop.operands[number])
            scalar_type = ir.RankedTensorType.get([], attribute.type.element_type)
            scalars.append(ir.Operation.create("stablehlo.constant", [scalar_type], [], {
                "value": ir.DenseElementsAttr.get_splat(scalar_type, attribute.get_splat_value())}).result)
        barrier = ir.Operation.create("stablehlo.optimization_barrier", [s.type for s in scalars], scalars)
        for number, barred in zip(numbers, list(barrier.results)[1:]):
            loop.operands[number] = _hlo.broadcast_in_dim(barred, shape_of(loop.operands[number]), [])


def pin_carried_arrays(module_op: ir.Operation) -> int:
    """Pin the arrays each stablehlo.while of a single-device module carries and changes, where
    they start from a splat constant; return how many (none when an array carry starts from a
    constant that is not a splat)."""
    if num_devices(module_op) != 1:
        return 0
    loops = [op for op in _walk.post_order(module_op) if op.name == "stablehlo.while"]
    constant = [[number for number, value in enumerate(loop.operands)
                 if shape_of(value) and (producer := _hlo.defining_op(value)) is not None
                 and producer.name == "stablehlo.constant"] for loop in loops]
    pinned = [[number for number in _carried_arrays(loop) if number in starts] for loop, starts in zip(loops, constant)]
    if not any(pinned):
        return 0
    if any(_splat(loop.operands[number]) is None for loop, starts in zip(loops, constant) for number in starts):
        return 0
    with module_op.context:
        affinity = ir.Attribute.parse(f"#hal.device.affinity<@{device_symbol(0)}>")
        for tag, (loop, starts, numbers) in enumerate(zip(loops, constant, pinned)):
            if starts:
                _fresh_starts(loop, starts, tag)
            terminator = _walk.operations(loop.regions[1].blocks[0])[-1]
            for number in numbers:
                with ir.InsertionPoint(terminator), terminator.location:
                    changed = terminator.operands[number]
                    terminator.operands[number] = ir.Operation.create(
                        "flow.tensor.transfer", [changed.type], [changed], {"target": affinity}).result
    return sum(len(numbers) for numbers in pinned)
