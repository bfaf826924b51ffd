"""The interpreter tier: a program's expanded mlax IR run op by op on the kernel library,
so a new jitted function answers while IREE compiles it in the background.

Each op reduces to a canonical kernel whose dimensions are dynamic, so that one
compilation per dtype (and rank or layout pattern) serves every shape. The op's
traits or its `kernel_form` say how:

    elementwise   operands flattened to one dimension
    reduction     the reduced axes made one middle axis of three (transposed
                  there first when they are not adjacent), reduced over it; or the
                  last of two, long rows in two stages
    sum           as reduction, but a float sum of many terms in blocks of 16, then
                  their sums likewise, as the compiled program adds them
    transpose     the permutation with adjacent axes that stay adjacent merged
    broadcast     runs of kept and of new axes merged; the shape an operand
    slice         per rank; the bounds operands
    dynamic_slice per rank and index dtype; the sizes an operand, the starts clamped
    concatenate   (before, along, after) joined along the middle axis
    contraction   a batched matmul over (batch, rows, sum) x (batch, sum, columns),
                  either operand with its last two axes swapped if that is its layout
                  (transposed after all otherwise)
    view          the operand's storage with the result's shape
    literal/host  made once per plan: a constant, an iota
    cond, while_, scan   host loops over the plans of the functions they name (a
                  scan reads its rows with the slice kernel and joins its stacked
                  results pairwise with the concatenate kernel)

A plan is built once per program, its kernels taken from the disk cache only (a
kernel IREE would have to compile makes the program wait for its own
compilation instead). Programs with ops of no form (gathers, scatters,
convolutions, sorts, ...) are compiled as before.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import iree.runtime as rt
from iree.compiler import ir

from mlax import config, errors
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import OPS
from mlax.ops.elementwise import add_p
from mlax.ops.reduction import SUM_BLOCK, SUM_DIRECT
from mlax.ops.structural import concatenate_p, transpose_p
from mlax.passes import _walk
from mlax.runtime import compiler, kernels
from mlax.runtime.array import Array
from mlax.runtime.device import Device
from mlax.runtime.pipeline import INLINE_WORK_LIMIT, CompiledProgram, Program, argument_buffer

Buffers = list[Any]
Step = Callable[[Buffers], Buffers]

# The background compilations under way (their threads), which the process stops at exit, and
# the programs with a plan (whose kernels and buffers must go before the runtime does).
_compiling: set[threading.Thread] = set()
_tiered: weakref.WeakSet = weakref.WeakSet()


class Uninterpretable(Exception):
    """The program holds something the interpreter tier cannot run; the message says what."""


def _view(buffer: Any, shape: Sequence[int]) -> Any:
    return rt.HalBufferView(buffer.get_buffer(), list(shape), buffer.element_type)


class _Builder:
    """Builds the steps of one plan on one device."""

    def __init__(self, device: Device, compile_kernels: bool, functions: dict[str, Any] | None = None) -> None:
        self.device = device
        self.compile_kernels = compile_kernels
        self.functions = functions or {}  # name -> the block of each function of the module
        self.plans: dict[str, Plan] = {}

    def function(self, name: str) -> Plan:
        """The plan of function `name` of the module."""
        if name not in self.plans:
            self.plans[name] = self._block(self.functions[name])
        return self.plans[name]

    def _block(self, block: Any) -> Plan:
        slots = {value: k for k, value in enumerate(block.arguments)}
        steps: list[tuple[Step, list[int], list[int], list[int]]] = []
        outputs: list[int] = []
        last_use: dict[int, int] = {}
        for op in _walk.operations(block):
            if op.name == "func.return":
                outputs = [slots[v] for v in op.operands]
                break
            attrs = mlir.op_attrs(op)
            if op.name == "func.call":  # a function of the module: its own plan
                callee = self.function(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
                step = callee.run
            else:
                entry = OPS.get(op.name[len("mlax."):]) if op.name.startswith("mlax.") else None
                form = entry and kernel_form(entry)
                if form is None:
                    raise Uninterpretable(f"{op.name} has no kernel form")
                ins = [ShapedArray(*mlir.shape_dtype(v.type)) for v in op.operands]
                outs = [ShapedArray(*mlir.shape_dtype(v.type)) for v in op.results]
                if any(None in a.shape or a.size == 0 for a in ins + outs):
                    raise Uninterpretable(f"{op.name} on an array of dynamic or zero size")
                step = getattr(self, form)(entry, attrs, ins, outs)
            operands = [slots[v] for v in op.operands]
            for slot in operands:
                last_use[slot] = len(steps)
            results = [slots.setdefault(value, len(slots)) for value in op.results]
            steps.append((step, operands, results, []))
        for slot, index in last_use.items():
            if slot not in outputs and slot >= len(block.arguments):
                steps[index][3].append(slot)
        return Plan(steps, outputs, len(slots))

    def kernel(self, spec: kernels.OneOp | kernels.Written, work: int) -> kernels.Kernel:
        kernel = kernels.load(spec, self.device, inline=work < INLINE_WORK_LIMIT, cached_only=not self.compile_kernels)
        if kernel is None:
            raise Uninterpretable(f"the kernel library lacks {spec.key} (`mlax warm` compiles it)")
        return kernel

    def transposer(self, shape: Sequence[int], perm: Sequence[int], dtype: np.dtype) -> Callable[[Any], Any]:
        """A function from a buffer of `shape` to one transposed by `perm`."""
        out_shape = [shape[a] for a in perm]
        collapsed, in_view = _collapsed(shape, perm)
        if collapsed == tuple(range(len(collapsed))):
            return lambda buffer: _view(buffer, out_shape)
        kernel = self.kernel(kernels.OneOp(transpose_p, {"permutation": collapsed},
                                           [ShapedArray((None,) * len(collapsed), dtype)]), math.prod(shape))
        return lambda buffer: _view(kernel.run([_view(buffer, in_view)])[0], out_shape)

    # -- one method per form: (entry, attrs, operand avals, result avals) -> step ------------

    def elementwise(self, entry, attrs, ins, outs) -> Step:
        if any(a.shape != outs[0].shape for a in ins):
            raise Uninterpretable(f"{entry.name} of operands of different shapes")
        size, shapes = outs[0].size, [o.shape for o in outs]
        kernel = self.kernel(kernels.OneOp(entry, attrs, [ShapedArray((None,), a.dtype) for a in ins]), size)
        if len(outs[0].shape) == 1:
            return kernel.run
        return lambda buffers: [_view(r, s) for r, s in zip(kernel.run([_view(b, (size,)) for b in buffers]), shapes)]

    def reduction(self, entry, attrs, ins, outs) -> Step:
        shape, axes, dtype, out_shape = ins[0].shape, sorted(attrs["axes"]), ins[0].dtype, outs[0].shape
        if not axes:
            return self.view(entry, attrs, ins, outs)
        kept = [a for a in range(len(shape)) if a not in axes]
        if axes == list(range(axes[0], axes[-1] + 1)):
            front = lambda buffer: buffer  # noqa: E731
            outer, size, inner = (math.prod(shape[:axes[0]]), math.prod(shape[axes[0]:axes[-1] + 1]),
                                  math.prod(shape[axes[-1] + 1:]))
        else:
            front = self.transposer(shape, kept + axes, dtype)
            outer, size, inner = math.prod(shape[a] for a in kept), math.prod(shape[a] for a in axes), 1
        if inner > 1:  # IREE's code runs along the contiguous inner axis
            middle = self.kernel(kernels.OneOp(entry, {**attrs, "axes": (1,)}, [ShapedArray((None,) * 3, dtype)]),
                                 ins[0].size)
            return lambda buffers: [_view(middle.run([_view(front(buffers[0]), (outer, size, inner))])[0], out_shape)]
        # Rows: IREE's code splits the work by rows, so a few long rows reduce in two stages
        # (a sum of 10^6 floats: 32 ms as one row, 0.3 ms as 1000 rows and then one).
        last = self.kernel(kernels.OneOp(entry, {**attrs, "axes": (1,)}, [ShapedArray((None, None), dtype)]),
                           ins[0].size)
        pieces = _pieces(size) if outer < FEW_ROWS else 1  # (float sums take `sum`'s blocks)

        def run(buffers):
            partial = last.run([_view(front(buffers[0]), (outer * pieces, size // pieces))])[0]
            if pieces > 1:
                partial = last.run([_view(partial, (outer, pieces))])[0]
            return [_view(partial, out_shape)]
        return run

    def sum(self, entry, attrs, ins, outs) -> Step:
        """A float sum of more than SUM_DIRECT terms as the compiled program adds them (accurate
        however many): blocks of SUM_BLOCK terms summed, then their sums likewise, the terms left
        over at each level summed apart and added at the end."""
        shape, axes, dtype = ins[0].shape, sorted(attrs["axes"]), ins[0].dtype
        size = math.prod(shape[a] for a in axes)
        if not dtypes.is_inexact(dtype) or size <= SUM_DIRECT:
            return self.reduction(entry, attrs, ins, outs)
        if dtype.itemsize < 4:  # the compiled program sums float16 and bfloat16 in float32
            raise Uninterpretable(f"a sum of {size} {dtype.name} terms")
        kept = [a for a in range(len(shape)) if a not in axes]
        front, rows = self.transposer(shape, kept + axes, dtype), math.prod(shape[a] for a in kept)
        last = self.kernel(kernels.OneOp(entry, {"axes": (1,)}, [ShapedArray((None, None), dtype)]), ins[0].size)
        cut = self.kernel(kernels.strided_slice(2, dtype), ins[0].size)
        add = self.kernel(kernels.OneOp(add_p, {}, [ShapedArray((None,), dtype)] * 2), rows)
        levels, count = [], size  # (blocks, the bounds of the terms left over and of the rest, or None)
        while count > SUM_BLOCK:
            blocks, left = divmod(count, SUM_BLOCK)
            bounds = None
            if left:
                bounds = [self.device.put(np.array(b, np.int64)) for b in
                          ([0, blocks * SUM_BLOCK], [rows, count], [1, 1], [0, 0], [rows, blocks * SUM_BLOCK])]
            levels.append((blocks, bounds))
            count = blocks

        def run(buffers):
            x, parts = _view(front(buffers[0]), (rows, size)), []
            for blocks, bounds in levels:
                if bounds:
                    parts.append(last.run([cut.run([x, *bounds[:3]])[0]])[0])
                    x = cut.run([x, bounds[3], bounds[4], bounds[2]])[0]
                x = _view(last.run([_view(x, (rows * blocks, SUM_BLOCK))])[0], (rows, blocks))
            total = last.run([x])[0]
            for part in parts:
                total = add.run([total, part])[0]
            return [_view(total, outs[0].shape)]
        return run

    def transpose(self, entry, attrs, ins, outs) -> Step:
        move = self.transposer(ins[0].shape, attrs["permutation"], ins[0].dtype)
        return lambda buffers: [move(buffers[0])]

    def broadcast(self, entry, attrs, ins, outs) -> Step:
        shape, out_shape, dims = ins[0].shape, outs[0].shape, list(attrs["broadcast_dimensions"])
        if dims != sorted(dims):
            raise Uninterpretable("a broadcast that reorders axes")
        labels = [("kept" if j in dims and shape[dims.index(j)] == size else "new", size)
                  for j, size in enumerate(out_shape) if size != 1]
        groups: list[list[Any]] = []  # [label, size] of runs of kept or new axes
        for label, size in labels:
            if groups and groups[-1][0] == label:
                groups[-1][1] *= size
            else:
                groups.append([label, size])
        if all(label == "kept" for label, _ in groups):
            return self.view(entry, attrs, ins, outs)
        kept = [g for g, (label, _) in enumerate(groups) if label == "kept"]
        in_view = [groups[g][1] for g in kept]
        kernel = self.kernel(kernels.broadcast(kept, len(groups), ins[0].dtype), outs[0].size)
        extents = self.device.put(np.array([size for _, size in groups], np.int64))
        return lambda buffers: [_view(kernel.run([_view(buffers[0], in_view), extents])[0], out_shape)]

    def contraction(self, entry, attrs, ins, outs) -> Step:
        lhs, rhs = ins
        lhs_batch, rhs_batch = list(attrs["lhs_batch"]), list(attrs["rhs_batch"])
        lhs_sum, rhs_sum = list(attrs["lhs_contracting"]), list(attrs["rhs_contracting"])
        lhs_free = [a for a in range(len(lhs.shape)) if a not in lhs_batch + lhs_sum]
        rhs_free = [a for a in range(len(rhs.shape)) if a not in rhs_batch + rhs_sum]
        batch, rows, total, columns = (math.prod(lhs.shape[a] for a in lhs_batch),
                                       math.prod(lhs.shape[a] for a in lhs_free),
                                       math.prod(lhs.shape[a] for a in lhs_sum),
                                       math.prod(rhs.shape[a] for a in rhs_free))
        # Each operand as (batch, rows, sum) or (batch, sum, rows): whichever its layout already is
        # (a transposed operand, as gradients have them, costs no transpose), else the first.
        lhs_order, lhs_sum_axis = _layout(lhs.shape, (lhs_batch + lhs_free + lhs_sum, 2),
                                          (lhs_batch + lhs_sum + lhs_free, 1))
        rhs_order, rhs_sum_axis = _layout(rhs.shape, (rhs_batch + rhs_sum + rhs_free, 1),
                                          (rhs_batch + rhs_free + rhs_sum, 2))
        left, right = self.transposer(lhs.shape, lhs_order, lhs.dtype), self.transposer(rhs.shape, rhs_order, rhs.dtype)
        left_view = (batch, rows, total) if lhs_sum_axis == 2 else (batch, total, rows)
        right_view = (batch, total, columns) if rhs_sum_axis == 1 else (batch, columns, total)
        canonical = {**attrs, "lhs_batch": (0,), "rhs_batch": (0,), "lhs_contracting": (lhs_sum_axis,),
                     "rhs_contracting": (rhs_sum_axis,)}
        kernel = self.kernel(kernels.OneOp(entry, canonical, [ShapedArray((None,) * 3, lhs.dtype),
                                                              ShapedArray((None,) * 3, rhs.dtype)]),
                             outs[0].size)  # (inline below 65536 results: 32x256x256 ran 3x faster so)
        out_shape = outs[0].shape
        return lambda buffers: [_view(kernel.run([_view(left(buffers[0]), left_view),
                                                  _view(right(buffers[1]), right_view)])[0], out_shape)]

    def slice(self, entry, attrs, ins, outs) -> Step:
        rank, out_shape = len(ins[0].shape), outs[0].shape
        kernel = self.kernel(kernels.strided_slice(rank, ins[0].dtype), outs[0].size)
        bounds = [self.device.put(np.array(attrs[name], np.int64)) for name in ("start_indices", "limit_indices",
                                                                                "strides")]
        return lambda buffers: [_view(kernel.run([buffers[0]] + bounds)[0], out_shape)]

    def dynamic_slice(self, entry, attrs, ins, outs) -> Step:
        x, starts = ins[0], ins[1:]
        if not x.shape or len({a.dtype for a in starts}) != 1:
            raise Uninterpretable("a dynamic_slice of a scalar or with start indices of several dtypes")
        kernel = self.kernel(kernels.dynamic_slice(len(x.shape), x.dtype, starts[0].dtype), outs[0].size)
        sizes, out_shape = self.device.put(np.array(attrs["slice_sizes"], np.int64)), outs[0].shape
        return lambda buffers: [_view(kernel.run([*buffers, sizes])[0], out_shape)]

    def concatenate(self, entry, attrs, ins, outs) -> Step:
        axis, shape = attrs["dimension"], outs[0].shape
        outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
        threes = [(outer, a.shape[axis], inner) for a in ins]
        kernel = self.kernel(kernels.OneOp(entry, {"dimension": 1}, [ShapedArray((None,) * 3, a.dtype) for a in ins]),
                             outs[0].size)
        return lambda buffers: [_view(kernel.run([_view(b, t) for b, t in zip(buffers, threes)])[0], shape)]

    # -- control flow: host loops over the plans of the functions an op names ----------------

    def cond(self, entry, attrs, ins, outs) -> Step:
        branches = [self.function(name) for name in attrs["branches"]]

        def run(buffers):
            index = int(self.device.fetch(buffers[0], (), ins[0].dtype))
            return branches[min(max(index, 0), len(branches) - 1)].run(buffers[1:])
        return run

    def while_(self, entry, attrs, ins, outs) -> Step:
        cond, body = self.function(attrs["cond"]), self.function(attrs["body"])
        carried, cond_consts = attrs["num_carry"], attrs["num_carry"] + attrs["num_cond_consts"]

        def run(buffers):
            carry = list(buffers[:carried])
            while bool(self.device.fetch(cond.run(carry + buffers[carried:cond_consts])[0], (), np.bool_)):
                carry = body.run(carry + buffers[cond_consts:])
            return carry
        return run

    def scan(self, entry, attrs, ins, outs) -> Step:
        body, length, reverse = self.function(attrs["body"]), attrs["length"], attrs["reverse"]
        carried, scanned = attrs["num_carry"], attrs["num_carry"] + attrs["num_xs"]
        xs, ys = ins[carried:scanned], outs[carried:]
        slicers = [self.row_reader(x) for x in xs]
        stackers = [self.stacker(y) for y in ys]

        def run(buffers):
            carry, consts = list(buffers[:carried]), list(buffers[scanned:])
            rows: list[list[Any]] = [[None] * length for _ in ys]
            for i in range(length):
                at = length - 1 - i if reverse else i
                out = body.run(carry + [read(x, at) for read, x in zip(slicers, buffers[carried:scanned])] + consts)
                carry = out[:carried]
                for k, y in enumerate(out[carried:]):
                    rows[k][at] = y
            return carry + [stack(pieces) for stack, pieces in zip(stackers, rows)]
        return run

    def row_reader(self, x: ShapedArray) -> Callable[[Any, int], Any]:
        """A function of a buffer of `x` and a row index: the buffer of that row (x[i])."""
        kernel = self.kernel(kernels.strided_slice(len(x.shape), x.dtype), x.size // x.shape[0])
        limit = list(x.shape)
        ones = self.device.put(np.ones(len(x.shape), np.int64))

        def read(buffer, row):
            start = self.device.put(np.array([row] + [0] * (len(x.shape) - 1), np.int64))
            end = self.device.put(np.array([row + 1] + limit[1:], np.int64))
            return _view(kernel.run([buffer, start, end, ones])[0], x.shape[1:])
        return read

    def stacker(self, stacked: ShapedArray) -> Callable[[list[Any]], Any]:
        """A function of the buffers of each row of `stacked`, in order: their stack, joined
        pairwise (each row copied about log2(rows) times)."""
        row = math.prod(stacked.shape[1:])
        join = self.kernel(kernels.OneOp(concatenate_p, {"dimension": 1},
                                         [ShapedArray((None,) * 3, stacked.dtype)] * 2), stacked.size)

        def stack(pieces):
            runs = [(piece, 1) for piece in pieces]  # (buffer, rows in it)
            while len(runs) > 1:
                joined = [(_view(join.run([_view(a, (1, m, row)), _view(b, (1, n, row))])[0], (m + n, row)), m + n)
                          for (a, m), (b, n) in zip(runs[::2], runs[1::2])]
                runs = joined + runs[len(joined) * 2:]
            return _view(runs[0][0], stacked.shape)
        return stack

    def view(self, entry, attrs, ins, outs) -> Step:
        shape = outs[0].shape
        return lambda buffers: [_view(buffers[0], shape)]

    def literal(self, entry, attrs, ins, outs) -> Step:
        return self._made_once(np.asarray(attrs["value"], outs[0].dtype).reshape(outs[0].shape))

    def host(self, entry, attrs, ins, outs) -> Step:
        return self._made_once(np.asarray(entry.numpy_ref(**attrs), outs[0].dtype))

    def _made_once(self, value: np.ndarray) -> Step:
        buffer = self.device.put(value)  # (np.ascontiguousarray would make a scalar 1-D)
        return lambda buffers: [buffer]


# A reduction into fewer rows than this whose rows are long reduces each row in pieces first.
FEW_ROWS = 64
LONG_ROW = 1 << 14


def _pieces(size: int) -> int:
    """How many pieces to reduce a row of `size` in: a divisor within 4x of sqrt(size) (1 for a
    short row or none)."""
    root = math.isqrt(size)
    divisors = [d for d in range(max(2, root // 4), 4 * root + 1) if size % d == 0] if size >= LONG_ROW else []
    return min(divisors, key=lambda d: abs(d - root)) if divisors else 1


def step(entry, attrs: dict[str, Any], ins: Sequence[ShapedArray], outs: Sequence[ShapedArray],
         device: Device) -> Step | None:
    """The step running one application of op `entry` on `device` (for eager ops), its kernels
    compiled if need be; None when the op has no kernel form or its form does not take these
    operands (the caller compiles a kernel for this application alone)."""
    form = kernel_form(entry)
    if form is None or form in _CONTROL_FLOW or any(None in a.shape or a.size == 0 for a in [*ins, *outs]):
        return None
    try:
        return getattr(_Builder(device, compile_kernels=True), form)(entry, attrs, ins, outs)
    except Uninterpretable:
        return None


# The forms whose ops name functions: their plans come from the module.
_CONTROL_FLOW = frozenset({"cond", "while_", "scan"})


def kernel_form(entry) -> str | None:
    """How the interpreter runs op `entry` (a method of _Builder), or None."""
    if entry.kernel_form is not None:
        return entry.kernel_form
    return next((trait for trait in ("elementwise", "reduction", "literal") if trait in entry.traits), None)


def _collapsed(shape: Sequence[int], perm: Sequence[int]) -> tuple[tuple[int, ...], list[int]]:
    """`perm` of an array of `shape` with unit axes dropped and adjacent axes that stay adjacent
    merged: (that permutation, the merged shape it permutes)."""
    moved = [a for a in perm if shape[a] != 1]  # unit axes go anywhere
    rank = {a: k for k, a in enumerate(sorted(moved))}
    groups: list[list[int]] = []  # runs of input axes that stay together
    for a in (rank[a] for a in moved):
        if groups and a == groups[-1][-1] + 1:
            groups[-1].append(a)
        else:
            groups.append([a])
    by_input = sorted(range(len(groups)), key=lambda g: groups[g][0])
    sizes = [shape[a] for a in sorted(moved)]
    return tuple(by_input.index(g) for g in range(len(groups))), [math.prod(sizes[a] for a in groups[g])
                                                                   for g in by_input]


def _is_view(shape: Sequence[int], perm: Sequence[int]) -> bool:
    """Whether transposing an array of `shape` by `perm` moves no element."""
    collapsed, _ = _collapsed(shape, perm)
    return collapsed == tuple(range(len(collapsed)))


def _layout(shape: Sequence[int], first: tuple[list[int], int], second: tuple[list[int], int]) -> tuple[list[int], int]:
    """Of two (axis order, contracting axis) layouts for a contraction operand of `shape`: the
    second if only it is a view, else the first."""
    return second if _is_view(shape, second[0]) and not _is_view(shape, first[0]) else first


class Plan:
    """A program's steps: `run(buffers of its arguments, then its constants)` returns the
    buffers of its results."""

    def __init__(self, steps: list[tuple[Step, list[int], list[int], list[int]]], outputs: list[int],
                 num_slots: int) -> None:
        self.steps, self.outputs, self.num_slots = steps, outputs, num_slots

    def run(self, buffers: Sequence[Any]) -> Buffers:
        values: list[Any] = list(buffers) + [None] * (self.num_slots - len(buffers))
        for step, operands, results, done in self.steps:
            for slot, value in zip(results, step([values[k] for k in operands])):
                values[slot] = value
            for slot in done:  # the last use of these: free their storage now
                values[slot] = None
        return [values[k] for k in self.outputs]


def plan(program: Program, device: Device, compile_kernels: bool = False) -> Plan:
    """The interpreter's plan for `program` on `device`, its kernels from the disk cache (compiled
    when missing, with `compile_kernels`); Uninterpretable says why there is none."""
    module = program.expand()
    with mlir.lock, mlir.context():
        functions = {_walk.function_name(f): f.regions[0].blocks[0] for f in _walk.functions(module.operation)}
        return _Builder(device, compile_kernels, functions).function(program.name)


class TieredProgram:
    """A jitted program whose calls run on its interpreter plan until IREE, compiling it on a
    background thread, is done; then on the compiled program. A compilation that failed
    raises its error at the next call."""

    def __init__(self, program: Program, interpreted: Plan, backend_name: str, device: Device,
                 on_compiled: Callable[[CompiledProgram, float], Any]) -> None:
        self.device = device
        self.in_avals, self.out_avals, self.out_tree = program.in_avals, program.out_avals, program.out_tree
        self.name = program.name
        self._plan = interpreted
        self._const_buffers = [argument_buffer(c, c.aval, device) for c in program.consts]
        self._compiled: CompiledProgram | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._compile, args=(program, backend_name, on_compiled),
                                         name=f"mlax compile of {program.name}", daemon=True)
        _compiling.add(self._thread)
        _tiered.add(self)
        self._thread.start()

    def _compile(self, program: Program, backend_name: str,
                 on_compiled: Callable[[CompiledProgram, float], Any]) -> None:
        try:
            start = time.perf_counter()
            self._compiled = program.compile(backend_name, self.device)
            on_compiled(self._compiled, time.perf_counter() - start)
        except BaseException as error:  # raised at the next call, on the caller's thread
            self._error = error.with_traceback(None)  # its frames hold the program's MLIR objects
        finally:
            with mlir.lock:  # its MLIR objects go now, while no other thread uses the context
                del program
            _compiling.discard(threading.current_thread())

    @property
    def tier(self) -> str:
        return "compiled" if self._compiled is not None else "interpreted"

    def compiled(self) -> CompiledProgram:
        """The compiled program, waiting for it if need be."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._compiled is not None
        return self._compiled

    def run_buffers(self, buffers: Sequence[Any]) -> Buffers:
        if self._compiled is not None:
            return self._compiled.run_buffers(buffers)
        if self._error is not None:
            raise self._error
        return self._plan.run(list(buffers) + self._const_buffers)

    def call_flat(self, leaves: Sequence[Any]) -> list[Array]:
        if self._compiled is not None:
            return self._compiled.call_flat(leaves)
        buffers = [argument_buffer(x, a, self.device) for x, a in zip(leaves, self.in_avals)]
        return [Array(b, a, self.device) for b, a in zip(self.run_buffers(buffers), self.out_avals)]

    def fast_caller(self) -> Callable[[Sequence[Array]], Any]:
        """A caller taking a tuple of Arrays: the compiled program's own once it is ready."""
        state: dict[str, Any] = {}

        def call(args):
            fast = state.get("fast")
            if fast is None and self._compiled is not None:
                fast = state["fast"] = self._compiled.fast_caller()
            if fast is not None:
                return fast(args)
            return self.out_tree.unflatten(self.call_flat(args))
        return call


# The dtypes `warm` compiles the library for: what models and their random bits compute in.
WARM_DTYPES = tuple(np.dtype(d) for d in ("float32", "int32", "uint32", "bool"))
LARGEST_WARM_RANK = 4


def _collapsed_permutations(rank: int) -> list[tuple[int, ...]]:
    """The permutations `_Builder.transposer` can leave: no axis followed by its successor."""
    return [p for p in itertools.permutations(range(rank))
            if all(b != a + 1 for a, b in zip(p, p[1:]))]


def library(dtypes: Sequence[np.dtype] = WARM_DTYPES) -> list[kernels.OneOp | kernels.Written]:
    """The kernels of the canonical forms for `dtypes`: every elementwise op without attributes
    (and each conversion between them), reduction, transpose, broadcast and slice up to rank
    LARGEST_WARM_RANK, concatenation and contraction (an application an op's shape rule
    rejects, such as sin of an int, is left out)."""
    specs: list[kernels.OneOp | kernels.Written] = []

    def add(entry, attrs, avals):
        try:
            entry.abstract_eval(avals, attrs)
        except (TypeError, ValueError):
            return
        specs.append(kernels.OneOp(entry, attrs, avals))
    for entry in OPS.values():
        form = kernel_form(entry)
        for dtype in dtypes:
            if form == "elementwise" and not entry.attrs:
                add(entry, {}, [ShapedArray((None,), dtype)] * len(entry.operands))
            elif form == "elementwise" and set(entry.attrs) == {"new_dtype", "weak_type"}:
                for new in dtypes:
                    add(entry, {"new_dtype": new}, [ShapedArray((None,), dtype)])
            elif form in ("reduction", "sum"):
                add(entry, {"axes": (1,)}, [ShapedArray((None,) * 3, dtype)])
                add(entry, {"axes": (1,)}, [ShapedArray((None,) * 2, dtype)])
            elif form == "concatenate":
                add(entry, {"dimension": 1}, [ShapedArray((None,) * 3, dtype)] * 2)
            elif form == "contraction":
                for lhs_sum, rhs_sum in itertools.product((2, 1), (1, 2)):  # either operand transposed
                    add(entry, {"lhs_batch": (0,), "rhs_batch": (0,), "lhs_contracting": (lhs_sum,),
                                "rhs_contracting": (rhs_sum,)}, [ShapedArray((None,) * 3, dtype)] * 2)
    for dtype in dtypes:
        for rank in range(1, LARGEST_WARM_RANK + 1):
            specs.append(kernels.strided_slice(rank, dtype))
            specs.append(kernels.dynamic_slice(rank, dtype, np.dtype(np.int32)))
            specs += [kernels.OneOp(transpose_p, {"permutation": p}, [ShapedArray((None,) * rank, dtype)])
                      for p in _collapsed_permutations(rank) if p != tuple(range(rank))]
            for first_kept in (True, False):  # runs alternate between kept and new axes
                kept = [g for g in range(rank) if (g % 2 == 0) == first_kept]
                if len(kept) < rank:
                    specs.append(kernels.broadcast(kept, rank, dtype))
    return specs


def warm(device: Device, report: Callable[[int, int, str], None] = lambda done, total, name: None
         ) -> tuple[int, dict[str, str]]:
    """Compile (or find in the disk cache) every kernel of `library()` for `device`, calling
    `report(done, total, name)` after each; returns how many there are and, by name, why those
    that failed to compile did."""
    specs, failed = library(), {}
    for done, spec in enumerate(specs, 1):
        name = " ".join(map(str, spec.key[:1] + tuple(a for a in spec.key[1:] if a)))
        try:
            kernels.load(spec, device)
        except (errors.CompilationError, ir.MLIRError) as error:
            failed[name] = str(error).splitlines()[0]
        report(done, len(specs), name)
    return len(specs), failed


def stop_compilations() -> None:
    """Stop the background compilations and wait for their threads (at exit: a thread still
    using the compiler as it is torn down would crash the process)."""
    compiler.interrupt()  # a compilation under way fails at once
    for thread in list(_compiling):
        thread.join()
    for tiered in list(_tiered):
        tiered._plan = tiered._const_buffers = None


def first_tier(program: Program, backend_name: str, device: Device | None,
               on_compiled: Callable[[CompiledProgram, float], Any] = lambda compiled, seconds: None
               ) -> TieredProgram | None:
    """`program` running on the interpreter while it compiles (then calling `on_compiled` with the
    compiled program and the seconds lowering and compiling took, on the compiling thread), when
    config jit_tiering is on and the program is interpretable on `device`; else None (the caller
    compiles it)."""
    if not config.jit_tiering.value or device is None:
        return None
    try:
        interpreted = plan(program, device)
    except Uninterpretable:
        return None
    return TieredProgram(program, interpreted, backend_name, device, on_compiled)
