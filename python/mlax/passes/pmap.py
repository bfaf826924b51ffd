"""mlax-pmap: expand pmap ops into SPMD functions over several devices.

    %r = "mlax.pmap"(%xs) {callee = @f, axis_name = "i", axis_size = 2, devices = array<i64: 0, 1>,
           in_axes = array<i64: 0>, out_axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<2x3xf32>

One instance of @f runs on each device of `devices` (mlax device ids; the function
calling the pmap runs on device 0). Device k is `#hal.device.affinity<@__device_k>`
once lowered: "mlax.transfer" {source, target} moves a value between devices
(flow.tensor.transfer), and IREE runs each op on the device its operands are on.

1. Pick a pmap op whose callee holds no unexpanded transformation op.
2. Write @f_pmap taking the op's operands. Split each mapped operand along its
   in_axes into one slice per device and transfer slice k to device k; transfer
   unmapped operands whole to every device.
3. Interpret @f's ops once, in lockstep over the devices: each value is a list of
   per-device values. An op is emitted once per device on that device's operands;
   a collective over the pmap's axis name applies its `spmd` rule from the op table,
   which combines the per-device values with transfers (psum: sum on the first
   device, then send the sum to every device).
4. Transfer each result back to device 0 and stack the devices' results along
   out_axes (out_axes -1: the first device's result); replace the op by a call.
5. Record on the module how many devices its program uses (the `mlax.num_devices`
   attribute, ops/collectives.py), which the runtime compiles it for.
Calls are interpreted inline. Other ops naming functions are emitted per device as
they are, unless their functions hold a collective over the axis: then their spmd
rule applies (control flow: one op runs all devices' instances, over functions
folded across the devices with ctx.folded; custom-rule and checkpoint calls: their
callee inline).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from iree.compiler import ir

from mlax import ops
from mlax.core import mlir, op as op_table
from mlax.core.mlir import Symbol
from mlax.core.trace import Trace
from mlax.ops.collectives import move, note_devices
from mlax.passes._expansion import (Interpreter, Module, RuleContext, arg_avals, expand, mapped_aval, reemit,
                                    result_avals, writer)
from mlax.passes._registry import register

HOST = 0  # the device the function calling a pmap runs on


class Spmd(Interpreter):
    """Runs a function's body once per device, in lockstep; values are per-device lists.
    It is the context the spmd rules get first (`axis_name`, the vmapped axis of batching
    rules, is None here: the pmap's axis is `spmd_axis`)."""

    unknown = "mlax-pmap: cannot map {} over devices"

    def __init__(self, module: Module, axis_name: str | None, devices: Iterable[int]) -> None:
        super().__init__(module)
        self.spmd_axis = axis_name
        self.devices = list(devices)

    def run(self, name: str, args: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """The results (each a list over the devices) of @name on `args` (likewise)."""
        return self.walk(self.module.function(name), args)

    def apply(self, operation: ir.Operation, entry: op_table.Op, ins: list[Any]) -> list[Any]:
        attrs = mlir.op_attrs(operation)
        if self.module.uses_axis(operation, self.spmd_axis):
            if entry.spmd is None:
                raise NotImplementedError(f"mlax-pmap: {operation.name} names functions holding a collective over "
                                          f"the pmap axis {self.spmd_axis!r}, and has no spmd rule")
            return entry.spmd(self, ins, self.devices, **attrs)
        per_device = [reemit(operation, entry, [x[k] for x in ins], attrs) for k in range(len(self.devices))]
        return [list(values) for values in zip(*per_device)]

    def folded(self, name: str, first_device_only: bool = False) -> Symbol:
        """Symbol of @name run once per device: it takes each argument once per device
        (argument after argument) and returns each result likewise, or only the first
        device's results."""
        n = len(self.devices)
        trace = Trace(self.module.builder, f"{name}_spmd", [a for a in self.signature(name)[0] for _ in range(n)])
        with trace:
            per_argument = [trace.args[i:i + n] for i in range(0, len(trace.args), n)]
            outs = self.run(name, per_argument)
            trace.finish([values[0] for values in outs] if first_device_only else
                         [value for values in outs for value in values])
        return Symbol(trace.name)


def _shard(x: Any, axis: int, index: int, device: int) -> Any:
    """Device `device`'s part of x: slice `index` along `axis` (all of x when axis is -1)."""
    if axis >= 0:
        x = ops.squeeze(ops.slice_in_dim(x, index, index + 1, axis=axis), (axis,))
    return move(x, HOST, device)


@writer("pmap")
def pmap_function(ctx: RuleContext, callee: str, in_axes: Sequence[int], out_axes: Sequence[int], axis_size: int,
                  devices: Sequence[int], axis_name: str | None = None) -> Symbol:
    """Write @callee_pmap: @callee run on each of `devices`, on its slice along `in_axes` of
    each argument (-1: all of it), the devices' results joined along `out_axes`."""
    function = ctx.module.function(callee)
    devices = list(devices)
    if len(in_axes) != len(arg_avals(function)) or len(out_axes) != len(result_avals(function)):
        raise ValueError(f"mlax-pmap: in_axes/out_axes of a pmap of @{callee} do not match its arguments/results")
    if len(devices) != axis_size:
        raise ValueError(f"mlax-pmap: axis_size {axis_size} differs from the number of devices {devices}")
    avals = [mapped_aval(a, None if axis < 0 else axis, axis_size) for a, axis in zip(arg_avals(function), in_axes)]
    trace = Trace(ctx.module.builder, f"{callee}_pmap", avals)
    with trace:
        shards = [[_shard(x, axis, k, device) for k, device in enumerate(devices)]
                  for x, axis in zip(trace.args, in_axes)]
        outs = Spmd(ctx.module, axis_name, devices).run(callee, shards)
        results = []
        for values, axis in zip(outs, out_axes):
            if axis < 0:
                results.append(move(values[0], devices[0], HOST))
                continue
            parts = [ops.expand_dims(move(v, device, HOST), (axis,)) for v, device in zip(values, devices)]
            results.append(ops.concatenate(parts, axis))
        trace.finish(results)
    note_devices(ctx.module.module_op, [HOST] + devices)
    return Symbol(trace.name)


@register("mlax-pmap")
def pmap(module_op: ir.Operation) -> None:
    expand(module_op, [pmap_function])
