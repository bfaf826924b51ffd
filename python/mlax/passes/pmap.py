"""mlax-pmap: expand pmap ops into SPMD functions over several devices.

    %r = "mlax.pmap"(%xs) {callee = @f, axis_name = "i", axis_size = 2, devices = array<i64: 0, 1>,
           in_axes = array<i64: 0>, out_axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<2x3xf32>

One instance of @f runs on each device of `devices` (mlax device ids; the function
calling the pmap runs on device 0). Device k is `#hal.device.affinity<@__device_k>`
once lowered: "mlax.transfer" {source, target} moves a value between devices
(flow.tensor.transfer), and IREE runs each op on the device its operands are on.

1. Pick a pmap op whose callee holds no unexpanded transformation op.
2. Create @f_pmap taking the op's operands. Split each mapped operand along its
   in_axes into one slice per device and transfer slice k to device k; transfer
   unmapped operands whole to every device.
3. Interpret @f's ops once, in lockstep over the devices: each value is a list of
   per-device values. An op is emitted once per device on that device's operands;
   a collective over the pmap's axis name applies its `spmd` rule from the op table,
   which combines the per-device values with transfers (psum: sum on the first
   device, then send the sum to every device).
4. Transfer each result back to device 0 and stack the devices' results along
   out_axes (out_axes -1: the first device's result); replace the op by a call.
Calls are interpreted inline, and so are custom-rule and checkpoint calls whose
functions hold a collective over the axis; other ops naming functions are emitted
per device as they are, unless their functions hold such a collective: then one op
runs all devices' instances, over functions folded across the devices (the op's
spmd rule, through SpmdContext).
"""

from mlax import ops
from mlax.core import mlir, op as op_table
from mlax.core.aval import ShapedArray
from mlax.core.mlir import Symbol
from mlax.core.trace import Trace
from mlax.ops.collectives import move
from mlax.passes import _walk, register
from mlax.passes._expansion import (CALLS_OF_CALLEE, EXPANDERS, RuleContext, arg_avals, expand, reemit,
                                     replace_by_call)

HOST = 0  # the device the function calling a pmap runs on


class SpmdInterpreter:
    """Runs a function's body once per device, in lockstep; values are per-device lists."""

    def __init__(self, module, axis_name, devices):
        self.module = module
        self.axis_name = axis_name
        self.devices = list(devices)

    def run(self, func_op, args):
        """The results (each a list over the devices) of func_op on `args` (likewise)."""
        block = func_op.regions[0].blocks[0]
        env = dict(zip(block.arguments, args))
        for operation in _walk.operations(block):
            ins = [env[v] for v in operation.operands]
            if operation.name == "func.return":
                return ins
            env.update(zip(operation.results, self._apply(operation, ins)))
        raise ValueError(f"mlax-pmap: @{_walk.function_name(func_op)} has no return")

    def _apply(self, operation, ins):
        attrs = mlir.op_attrs(operation)
        if operation.name == "func.call":
            return self.run(self.module.function(attrs["callee"]), ins)
        definition = op_table.lookup(operation.name)
        if definition is None:
            raise ValueError(f"mlax-pmap: cannot map {operation.name} over devices")
        if self.module.uses_axis(operation, self.axis_name):
            if "collective" in definition.traits:
                return definition.spmd(SpmdContext(self), ins, self.devices, **attrs)
            if operation.name in CALLS_OF_CALLEE:
                return self.run(self.module.function(attrs["callee"]), ins)
            if definition.spmd is None:
                raise NotImplementedError(f"mlax-pmap: {operation.name} names functions holding a collective over "
                                          f"the pmap axis {self.axis_name!r}, and has no spmd rule")
            return definition.spmd(SpmdContext(self), ins, self.devices, **attrs)
        per_device = [reemit(operation, definition, [x[k] for x in ins], attrs) for k in range(len(self.devices))]
        return [list(values) for values in zip(*per_device)]


class SpmdContext(RuleContext):
    """For the spmd rules of ops naming functions: those functions folded over the devices."""

    def __init__(self, interpreter):
        super().__init__(interpreter.module)
        self.interpreter = interpreter

    def folded(self, name, first_device_only=False):
        """Symbol of @name run once per device: it takes each argument once per device
        (argument after argument) and returns each result likewise, or only the first
        device's results."""
        function, n = self.module.function(name), len(self.interpreter.devices)
        trace = Trace(self.module.builder, f"{name}_spmd", [a for a in arg_avals(function) for _ in range(n)])
        with trace:
            per_argument = [trace.args[i:i + n] for i in range(0, len(trace.args), n)]
            outs = self.interpreter.run(function, per_argument)
            trace.finish([values[0] for values in outs] if first_device_only else
                         [value for values in outs for value in values])
        return Symbol(trace.name)


def _shard(x, axis, index, device):
    """Device `device`'s part of x: slice `index` along `axis` (all of x when axis is -1)."""
    if axis >= 0:
        x = ops.squeeze(ops.slice_in_dim(x, index, index + 1, axis=axis), (axis,))
    return move(x, HOST, device)


def _expand(module, operation):
    attrs = mlir.op_attrs(operation)
    callee = module.function(attrs["callee"])
    devices, in_axes, out_axes = list(attrs["devices"]), list(attrs["in_axes"]), list(attrs["out_axes"])
    if len(in_axes) != len(operation.operands) or len(out_axes) != len(operation.results):
        raise ValueError(f"mlax-pmap: in_axes/out_axes of {operation} do not match its operands/results")
    if len(devices) != attrs["axis_size"]:
        raise ValueError(f"mlax-pmap: axis_size {attrs['axis_size']} differs from the number of devices {devices}")
    avals = [ShapedArray(*mlir.shape_dtype(v.type)) for v in operation.operands]
    trace = Trace(module.builder, f"{attrs['callee']}_pmap", avals)
    with trace:
        shards = [[_shard(x, axis, k, device) for k, device in enumerate(devices)]
                  for x, axis in zip(trace.args, in_axes)]
        outs = SpmdInterpreter(module, attrs.get("axis_name"), devices).run(callee, shards)
        results = []
        for values, axis in zip(outs, out_axes):
            if axis < 0:
                results.append(move(values[0], devices[0], HOST))
                continue
            parts = [ops.expand_dims(move(v, device, HOST), (axis,)) for v, device in zip(values, devices)]
            results.append(ops.concatenate(parts, axis))
        trace.finish(results)
    replace_by_call(operation, trace.name)


EXPANDERS["mlax.pmap"] = _expand


@register("mlax-pmap")
def pmap(module_op):
    expand(module_op, {"mlax.pmap"})
