"""From a traced mlax module to a loaded executable: passes, IREE, runtime.

    traced module --mlax-verify, transforms, mlax-simplify, mlax-lower--> StableHLO
        --IREE (compiler.compile_module)--> .vmfb --Executable--> device

`Program` is a traced function with its flat signature; `CompiledProgram`
calls it on device arrays.
"""

import numpy as np

from mlax import config, errors, passes
from mlax.core import mlir
from mlax.core.ir_builder import ModuleBuilder
from mlax.core.trace import Trace, user_frame
from mlax.ops.collectives import num_devices
from mlax.tree_util import tree_flatten
from mlax.runtime.array import Array, device_put
from mlax.runtime import (aliasing, compiler, device as device_lib, fusion_guard, reduction_consumers, small_loops,
                          splat_guard)

# Callables given the text of every traced module (the test suite verifies
# each against the IRDL dialect definition).
trace_observers = []

# Passes that take a traced module to the expanded mlax IR (the interpreter tier runs it), then
# to StableHLO, in order. (mlax-verify is not among them: tracing applies every op's shape rule
# as it builds the op; the pass is for IR from elsewhere, as `mlax opt` gets it.)
EXPANSION_PASSES = ("mlax-expand-transforms", "mlax-simplify")
LOWERING_PASSES = EXPANSION_PASSES + ("mlax-lower",)
# With config enable_checks: every op checked against the op table before and after
# each mlax pass that rewrites mlax ops.
CHECKED_EXPANSION_PASSES = ("mlax-verify", "mlax-expand-transforms", "mlax-verify", "mlax-simplify", "mlax-verify")

# Programs whose traced ops produce fewer elements than this in total run
# inline on the calling thread (IREE local-sync); larger ones use the worker threads.
INLINE_WORK_LIMIT = 1 << 16


def trace_program(fun, in_avals, in_tree, name="main", embed_constants=False, label=None):
    """Trace `fun(*args)` for flat `in_avals` shaped as `in_tree` into a Program
    (whose arrays closed over are constants in the IR with `embed_constants`); `label`
    names it in errors (default: `name`, its function in the IR)."""
    with mlir.lock:
        builder = ModuleBuilder()
        with Trace(builder, name, in_avals, private=False, embed_constants=embed_constants,
                   origin=user_frame()) as trace:
            args, kwargs = in_tree.unflatten(trace.args)
            out = fun(*args, **kwargs)
            out_leaves, out_tree = tree_flatten(out)
            trace.finish(out_leaves)
        return Program(builder, trace, in_tree, out_tree, label or name)


class Program:
    """A traced function: its module and flat signature.

    Arguments are the flattened explicit inputs (the leaves of `in_tree`)
    followed by `consts` (concrete arrays the function closed over)."""

    def __init__(self, builder, trace, in_tree, out_tree, label=None):
        self.builder = builder
        self.module = builder.module
        self.name = trace.name
        self.label = label or trace.name
        self.in_avals = trace.in_avals
        self.in_tree = in_tree
        self.consts = list(trace.captures)
        self.out_avals = trace.out_avals
        self.out_tree = out_tree
        self._stage_texts = {"mlax": str(self.module)}
        self._expanded = False
        for observer in trace_observers:
            observer(self._stage_texts["mlax"])

    def as_text(self, stage="mlax"):
        if stage not in self._stage_texts:
            if stage == "stablehlo":
                self.lower()
            else:
                raise ValueError(f"unknown stage {stage!r}; stages: 'mlax', 'stablehlo'")
        return self._stage_texts[stage]

    def expand(self):
        """Run the mlax passes that expand transformations and simplify: afterwards the module
        holds only mlax ops that lower one by one (the interpreter tier's input)."""
        with mlir.lock:
            if not self._expanded:
                passes.run(self.module, CHECKED_EXPANSION_PASSES if config.enable_checks.value else EXPANSION_PASSES)
                self._expanded = True
            return self.module

    def lower(self):
        """Run the mlax passes; afterwards the module is StableHLO and MLIR-verified."""
        with mlir.lock:
            if "stablehlo" in self._stage_texts:
                return self.module
            self.expand()
            passes.run(self.module, ("mlax-lower",))
            with mlir.context():
                if not self.module.operation.verify():
                    text = str(self.module)
                    raise errors.CompilationError("MLIR verification after mlax-lower", "the module is invalid",
                                                  compiler.save_failed_ir("mlax-lower", text))
                splat_guard.guard(self.module.operation)
                fusion_guard.guard(self.module.operation)
                reduction_consumers.unshare(self.module.operation)
                small_loops.keep_in_one_dispatch(self.module.operation)
            self._stage_texts["stablehlo"] = str(self.module)
            self.written_args = aliasing.written_arguments(self.module.operation, self.name)
            return self.module

    def vmfb(self, backend_name, portable=False, asynchronous=False):
        """The IREE module (.vmfb bytes) for a backend: tuned for this machine, or portable; its
        function called synchronously, or `asynchronous`ly (with fences: CompiledProgram.run_arrays)."""
        self.lower()
        return compiler.compile_module(self.module, backend_name, portable, text=self._stage_texts["stablehlo"],
                                       asynchronous=asynchronous)

    @property
    def num_devices(self):
        """How many devices the program runs on (several for pmap)."""
        return num_devices(self.lower().operation)

    def compile(self, backend_name, device=None):
        """The program loaded on `device` (the backend's first by default)."""
        program_devices = device_lib.devices_for(backend_name, self.num_devices)
        device = device or program_devices[0]
        # A small program runs inline (its call returns when it is done): it keeps the plain ABI, as
        # fences would cost it 1.4 µs a call (x + 1.0 on a scalar: 6.3 -> 7.7 µs) and buy nothing.
        inline = (self.builder.work < INLINE_WORK_LIMIT and device.inline_hal_device is not None
                  and len(program_devices) == 1)
        vmfb = self.vmfb(backend_name, asynchronous=not inline)
        executable = device_lib.Executable(vmfb, device, inline=inline, entry=self.name, label=self.label,
                                           devices=program_devices if len(program_devices) > 1 else None)
        compiled = CompiledProgram(executable, self.in_avals, self.out_avals, self.out_tree, self.consts,
                                   self.written_args, self.builder.largest_elements)
        compiled.from_disk_cache = getattr(vmfb, "from_disk_cache", False)
        compiled.iree_seconds = getattr(vmfb, "iree_seconds", 0.0)
        return compiled


def argument_buffer(x, aval, device):
    """The buffer view of argument `x` (an Array, or anything NumPy takes, as `aval`'s dtype) on `device`."""
    if isinstance(x, Array) and x._device is device:
        return x._buffer
    if isinstance(x, Array):
        return device_put(x, device)._buffer
    return device.put(np.asarray(x, dtype=aval.dtype))


class CompiledProgram:
    """A program loaded on a device; call it with its flat explicit arguments.

    `consts` are the arrays passed after them; the arguments at `written_args`
    are ones IREE may overwrite. `from_disk_cache` and `iree_seconds` say how its
    module was obtained (compiler.Vmfb), for log_compiles."""

    from_disk_cache = False
    iree_seconds = 0.0

    def __init__(self, executable, in_avals, out_avals, out_tree, consts=(), written_args=(), largest_elements=0):
        self.executable = executable
        self.device = executable.device
        self.in_avals = in_avals
        self.out_avals = out_avals
        self.out_tree = out_tree
        self._const_buffers = [argument_buffer(c, c.aval, self.device) for c in consts]
        # Arguments IREE may overwrite get a private copy on each call.
        self._copy_args = set(written_args)
        self._num_results = len(self.out_avals)
        result_bytes = sum(int(np.prod(a.shape, dtype=np.int64)) * a.dtype.itemsize
                           for a in self.out_avals if None not in a.shape)  # eager kernels: sizes vary
        largest = f"; the largest array it traced has {largest_elements} elements" if largest_elements else ""
        self._memory_use = f"running a compiled program (its results take {result_bytes} bytes{largest})"

    def run_buffers(self, buffers):
        """Call on ready device buffer views of the explicit arguments; return the result views, ready."""
        try:
            return self.executable.run(self._operands(buffers), self._num_results)
        except (RuntimeError, ValueError) as error:
            raise device_lib.out_of_memory(error, self.device, self._memory_use)

    def _operands(self, buffers):
        """The program's operands: the arguments' buffers (private copies of those it may write),
        then its constants'."""
        operands = list(buffers) + self._const_buffers if self._const_buffers or self._copy_args else buffers
        for i in self._copy_args:
            operands[i] = self.device.copy(operands[i])
        return operands

    def run_arrays(self, arrays):
        """Call on Arrays on this device; return the result Arrays. A program compiled for
        asynchronous calls returns once its work is queued, its results pending (a program run
        inline is not: its call returns when it is done). Pending arguments are waited for
        first: IREE 3.13's CPU queue fails a program that takes a buffer another queued program
        has not allocated yet ("transient buffer has not been committed"), so calls overlap the
        host's work, not each other."""
        buffers = [x._buffer for x in arrays]
        executable = self.executable
        if not executable.asynchronous:
            return [Array(b, a, self.device) for b, a in zip(self.run_buffers(buffers), self.out_avals)]
        try:
            outs, ready = executable.submit(self._operands(buffers), self._num_results)
        except (RuntimeError, ValueError) as error:
            raise device_lib.execution_error(error, executable, self._memory_use) from None
        pending = (ready, executable)
        return [Array(b, a, self.device, pending) for b, a in zip(outs, self.out_avals)]

    def fast_caller(self):
        """A caller taking a tuple of Arrays already on this device (falls back to call_flat)."""
        device, run, unflatten = self.device, self.run_arrays, self.out_tree.unflatten
        single = self.out_tree.num_leaves == 1 and self.out_tree.node_type is None

        def call(args):
            for a in args:
                if a._device is not device:
                    return unflatten(self.call_flat(args))
            outs = run(args)
            return outs[0] if single else unflatten(outs)
        return call

    def call_flat(self, leaves):
        return self.run_arrays([x if isinstance(x, Array) and x._device is self.device
                                else Array(argument_buffer(x, a, self.device), a, self.device)
                                for x, a in zip(leaves, self.in_avals)])
