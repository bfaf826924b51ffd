"""mlax-vmap: expand vmap ops into batched functions.

    %r = "mlax.vmap"(%xs, %w) {callee = @f, in_axes = array<i64: 0, -1>, out_axes = array<i64: 0>,
           axis_size = 8} : (tensor<8x3xf32>, tensor<3xf32>) -> tensor<8xf32>

in_axes/out_axes give the mapped axis of each operand/result (-1: not mapped).

1. Pick a vmap op whose callee holds no unexpanded transformation op.
2. Create @f_batched taking the op's operands; interpret @f's ops, each value
   paired with its batch axis (or None). An op with no batched operand is
   applied as it is; otherwise its batching rule from the op table gives the
   batched result and where its batch axis is.
3. Move each result's batch axis to its out_axes position (broadcasting
   results that do not depend on the mapped axis), return them, and replace
   the op by a call of @f_batched.
Calls are interpreted inline; custom-rule and checkpoint ops get batched
callee and rule functions, so differentiating the batched function later
still uses the rules.
"""

from mlax.core import mlir, op as op_table
from mlax.core.aval import ShapedArray
from mlax.core.mlir import Symbol
from mlax.core.trace import Trace, current_trace
from mlax.ops._batching import move_axis, to_front
from mlax.passes import _walk, register
from mlax.passes._expansion import (CALLS_OF_CALLEE, EXPANDERS, RuleContext, arg_avals, expand, reemit,
                                     replace_by_call, result_avals)


def _batched_aval(aval, dim, size):
    if dim is None:
        return aval
    shape = list(aval.shape)
    shape.insert(dim, size)
    return ShapedArray(shape, aval.dtype)


class BatchInterpreter:
    """Runs a function's body on batched values, applying batching rules; collectives
    over `axis_name` work across the batch."""

    def __init__(self, module, size, axis_name=None):
        self.module = module
        self.size = size
        self.axis_name = axis_name

    def run(self, func_op, args, dims):
        """(results, their batch axes) of func_op on `args` batched along `dims`."""
        block = func_op.regions[0].blocks[0]
        env = dict(zip(block.arguments, args))
        dim_env = dict(zip(block.arguments, dims))
        for operation in _walk.operations(block):
            ins = [env[v] for v in operation.operands]
            in_dims = [dim_env[v] for v in operation.operands]
            if operation.name == "func.return":
                return ins, in_dims
            outs, out_dims = self._apply(operation, ins, in_dims)
            env.update(zip(operation.results, outs))
            dim_env.update(zip(operation.results, out_dims))
        raise ValueError(f"mlax-vmap: @{_walk.function_name(func_op)} has no return")

    def _apply(self, operation, ins, dims):
        attrs = mlir.op_attrs(operation)
        if operation.name == "func.call":
            return self.run(self.module.function(attrs["callee"]), ins, dims)
        definition = op_table.lookup(operation.name)
        if definition is None:
            raise ValueError(f"mlax-vmap: cannot batch {operation.name}")
        collective = "collective" in definition.traits
        if all(d is None for d in dims):
            if not self.module.uses_axis(operation, self.axis_name):
                outs = reemit(operation, definition, ins, attrs)
                return outs, [None] * len(outs)
            if not collective:  # it reaches a collective over the batch: batch an operand
                if not ins:
                    raise NotImplementedError(f"mlax-vmap: cannot batch {operation.name} (it has no operands) over "
                                              f"the axis {self.axis_name!r} its functions' collectives name")
                ins, dims = [to_front(ins[0], None, self.size)] + list(ins[1:]), [0] + list(dims[1:])
        if operation.name in CALLS_OF_CALLEE:
            return self._batch_call_op(definition, attrs, ins, dims)
        if definition.batch is None:
            raise NotImplementedError(f"batching rule for mlax.{definition.name} is not implemented")
        return definition.batch(RuleContext(self.module, self.axis_name, self.size), ins, dims, **attrs)

    def _batch_call_op(self, definition, attrs, ins, dims):
        """custom_jvp_call / custom_vjp_call / checkpoint: the same op over batched functions."""
        front = [to_front(x, d, self.size) for x, d in zip(ins, dims)]
        new_attrs = {}
        for name, value in attrs.items():
            function = self.module.function(value)
            count = len(arg_avals(function))
            # Rule functions take tangents/cotangents after the arguments: all batched first.
            new_attrs[name] = batched_function(self.module, function, [0] * count, self.size,
                                               axis_name=self.axis_name)[0]
        callee = self.module.function(attrs["callee"])
        out_avals = [_batched_aval(a, 0, self.size) for a in result_avals(callee)]
        outs = current_trace().emit(definition, front, new_attrs, out_avals)
        return outs, [0] * len(outs)


def batched_function(module, func_op, dims, size, front=True, axis_name=None):
    """Write a version of func_op batched along `dims` (the axis `axis_name`); return (its
    Symbol, its results' batch axes). `front` (one flag, or one per result) says which
    results are batched along their first axis; the others keep the axis the rules gave
    (None if unbatched)."""
    avals = [_batched_aval(a, d, size) for a, d in zip(arg_avals(func_op), dims)]
    trace = Trace(module.builder, f"{_walk.function_name(func_op)}_batched", avals)
    with trace:
        outs, out_dims = BatchInterpreter(module, size, axis_name).run(func_op, trace.args, list(dims))
        flags = [front] * len(outs) if isinstance(front, bool) else list(front)
        moved = [(to_front(o, d, size), 0) if f else (o, d) for o, d, f in zip(outs, out_dims, flags)]
        outs, out_dims = [o for o, _ in moved], [d for _, d in moved]
        trace.finish(outs)
    return Symbol(trace.name), out_dims


def _expand(module, operation):
    attrs = mlir.op_attrs(operation)
    callee = module.function(attrs["callee"])
    size = attrs["axis_size"]
    in_dims = [None if a < 0 else a for a in attrs["in_axes"]]
    out_axes = list(attrs["out_axes"])
    if len(in_dims) != len(operation.operands) or len(out_axes) != len(operation.results):
        raise ValueError(f"mlax-vmap: in_axes/out_axes of {operation} do not match its operands/results")
    avals = [ShapedArray(*mlir.shape_dtype(v.type)) for v in operation.operands]
    trace = Trace(module.builder, f"{attrs['callee']}_vmap", avals)
    with trace:
        outs, out_dims = BatchInterpreter(module, size, attrs.get("axis_name")).run(callee, trace.args, in_dims)
        results = []
        for i, (out, dim, axis) in enumerate(zip(outs, out_dims, out_axes)):
            if axis < 0:
                if dim is not None:
                    raise ValueError(f"vmap: output {i} depends on the mapped axis, but its out_axes is None")
                results.append(out)
            else:
                results.append(move_axis(to_front(out, dim, size), 0, axis))
        trace.finish(results)
    replace_by_call(operation, trace.name)


EXPANDERS["mlax.vmap"] = _expand


@register("mlax-vmap")
def vmap(module_op):
    expand(module_op, {"mlax.vmap"})
