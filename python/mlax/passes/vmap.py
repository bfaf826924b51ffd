"""mlax-vmap: expand vmap ops into batched functions.

    %r = "mlax.vmap"(%xs, %w) {callee = @f, in_axes = array<i64: 0, -1>, out_axes = array<i64: 0>,
           axis_size = 8} : (tensor<8x3xf32>, tensor<3xf32>) -> tensor<8xf32>

in_axes/out_axes give the mapped axis of each operand/result (-1: not mapped).

1. Pick a vmap op whose callee holds no unexpanded transformation op.
2. Write @f_vmap taking the op's operands; interpret @f's ops, each value
   paired with its batch axis (or None). An op with no batched operand is
   applied as it is; otherwise its batching rule from the op table gives the
   batched result and where its batch axis is.
3. Move each result's batch axis to its out_axes position (broadcasting
   results that do not depend on the mapped axis), return them, and replace
   the op by a call of @f_vmap.
Calls are interpreted inline; ops naming functions (control flow, custom-rule
and checkpoint calls) batch those functions through the batching writer here, so
differentiating the batched function later still uses their rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iree.compiler import ir

from mlax.core import mlir, op as op_table
from mlax.core.mlir import Symbol
from mlax.core.trace import Trace
from mlax.ops._batching import move_axis, to_front
from mlax.passes._expansion import (Interpreter, Module, RuleContext, arg_avals, expand, mapped_aval, reemit,
                                    result_avals, writer)
from mlax.passes._registry import register


class Batch(Interpreter):
    """Runs a function's body on values paired with their batch axes (None: unbatched),
    applying batching rules; collectives over `axis_name` work across the batch. It is
    the context the rules get first."""

    unknown = "mlax-vmap: cannot batch {}"

    def __init__(self, module: Module, size: int, axis_name: str | None = None) -> None:
        super().__init__(module, axis_name, size)

    def run(self, name: str, args: Sequence[Any],
            dims: Sequence[int | None]) -> tuple[list[Any], list[int | None]]:
        """(results, their batch axes) of @name on `args` batched along `dims`."""
        pairs = self.walk(self.module.function(name), list(zip(args, dims)))
        return [x for x, _ in pairs], [d for _, d in pairs]

    def apply(self, operation: ir.Operation, entry: op_table.Op, ins: list[Any]) -> list[Any]:
        attrs = mlir.op_attrs(operation)
        args, dims = [x for x, _ in ins], [d for _, d in ins]
        if all(d is None for d in dims):
            if not self.module.uses_axis(operation, self.axis_name):
                return [(out, None) for out in reemit(operation, entry, args, attrs)]
            if "collective" not in entry.traits:  # it reaches a collective over the batch: batch an operand
                if not args:
                    raise NotImplementedError(f"mlax-vmap: cannot batch {operation.name} (it has no operands) over "
                                              f"the axis {self.axis_name!r} its functions' collectives name")
                args, dims = [to_front(args[0], None, self.axis_size)] + args[1:], [0] + dims[1:]
        if entry.batch is None:
            raise NotImplementedError(f"batching rule for mlax.{entry.name} is not implemented")
        outs, out_dims = entry.batch(self, args, dims, **attrs)
        return list(zip(outs, out_dims))


@writer("batched")
def batched_function(ctx: RuleContext, callee: str, dims: Sequence[int | None], size: int,
                     front: bool | Sequence[bool] = True) -> tuple[Symbol, list[int | None]]:
    """Write a version of @callee batched along `dims` (the axis ctx.axis_name); return (its
    Symbol, its results' batch axes). `front` (one flag, or one per result) says which
    results are batched along their first axis; the others keep the axis the rules gave
    (None if unbatched)."""
    all_front = front is True
    key = ("batched", callee, tuple(dims), size, ctx.axis_name)
    if all_front and key in ctx.module.written:
        return ctx.module.written[key]
    function = ctx.module.function(callee)
    avals = [mapped_aval(a, d, size) for a, d in zip(arg_avals(function), dims)]
    trace = Trace(ctx.module.builder, f"{callee}_batched", avals)
    if all_front:  # its results' axes are known before it is written
        ctx.module.written[key] = (Symbol(trace.name), [0] * len(result_avals(function)))
    with trace:
        outs, out_dims = Batch(ctx.module, size, ctx.axis_name).run(callee, trace.args, list(dims))
        flags = [front] * len(outs) if isinstance(front, bool) else list(front)
        moved = [(to_front(o, d, size), 0) if f else (o, d) for o, d, f in zip(outs, out_dims, flags)]
        outs, out_dims = [o for o, _ in moved], [d for _, d in moved]
        trace.finish(outs)
    return Symbol(trace.name), out_dims


@writer("vmap")
def vmap_function(ctx: RuleContext, callee: str, in_axes: Sequence[int], out_axes: Sequence[int], axis_size: int,
                  axis_name: str | None = None) -> Symbol:
    """Write @callee_vmap: @callee mapped along `in_axes` of its arguments (-1: not mapped),
    its results along `out_axes`."""
    function = ctx.module.function(callee)
    in_dims = [None if a < 0 else a for a in in_axes]
    if len(in_dims) != len(arg_avals(function)) or len(out_axes) != len(result_avals(function)):
        raise ValueError(f"mlax-vmap: in_axes/out_axes of a vmap of @{callee} do not match its arguments/results")
    avals = [mapped_aval(a, d, axis_size) for a, d in zip(arg_avals(function), in_dims)]
    trace = Trace(ctx.module.builder, f"{callee}_vmap", avals)
    with trace:
        outs, out_dims = Batch(ctx.module, axis_size, axis_name).run(callee, trace.args, in_dims)
        results = []
        for i, (out, dim, axis) in enumerate(zip(outs, out_dims, out_axes)):
            if axis < 0:
                if dim is not None:
                    raise ValueError(f"vmap: output {i} depends on the mapped axis, but its out_axes is None")
                results.append(out)
            else:
                results.append(move_axis(to_front(out, dim, axis_size), 0, axis))
        trace.finish(results)
    return Symbol(trace.name)


@register("mlax-vmap")
def vmap(module_op: ir.Operation) -> None:
    expand(module_op, [vmap_function])
