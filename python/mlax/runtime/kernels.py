"""The kernel library: small compiled programs that eager ops and the interpreter tier run.

A kernel is one op over operands whose dimensions are mostly dynamic
(`tensor<?x?xf32>`), so one compilation serves every shape: it is keyed by what
the compilation depends on (the op, its attributes, the operands' dtypes and
ranks), never by sizes or index values. Kernels compile through the same
pipeline as jit (an op's own lowering, so both tiers compute with the same
StableHLO) and land in the same disk cache; `mlax warm` fills it ahead of time.
A broadcast to a shape and a slice at bounds known only at run time are written
here in StableHLO: no mlax op takes those as operands.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from iree.compiler import ir
from iree.compiler import version as iree_version

from mlax.core import mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.runtime import compiler, disk_cache
from mlax.runtime.device import Device, Executable
from mlax.runtime.pipeline import trace_program
from mlax.tree_util import tree_structure

# Loaded kernels, least recently used first; the oldest go past this many (each holds a loaded
# executable: without a bound, eager code over ever-new shapes grew for good).
KERNEL_CACHE_SIZE = 2048
_loaded: collections.OrderedDict = collections.OrderedDict()


def _hashable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return (value.dtype, value.shape, value.tobytes())
    return value


def attrs_key(attrs: dict[str, Any]) -> tuple:
    """An op's attributes as a hashable key (array attributes by their bytes)."""
    return tuple(sorted((k, _hashable(v)) for k, v in attrs.items()))


class Kernel:
    """A loaded kernel: `run(buffer views)` returns its results' buffer views. The operands at
    `written` are ones IREE may write in place (runtime/aliasing.py): they get a private copy."""

    def __init__(self, executable: Executable, num_results: int, written: Sequence[int]) -> None:
        self.executable = executable
        self.num_results = num_results
        self.written = tuple(written)
        if self.written:
            self.run = self._run_on_copies  # type: ignore[method-assign]

    def run(self, buffers: Sequence[Any]) -> list[Any]:
        return self.executable.run(buffers, self.num_results)

    def _run_on_copies(self, buffers: Sequence[Any]) -> list[Any]:
        buffers = list(buffers)
        for k in self.written:
            buffers[k] = self.executable.device.copy(buffers[k])
        return self.executable.run(buffers, self.num_results)


class OneOp:
    """`op(*operands, **attrs)` over operands typed `avals` (dimensions None are dynamic)."""

    def __init__(self, op: Op, attrs: dict[str, Any], avals: Sequence[ShapedArray]) -> None:
        self.op, self.attrs, self.avals = op, attrs, [a.strip_weak_type() for a in avals]
        self.key = (op.name, attrs_key(attrs), tuple(self.avals))
        self.num_results = len(op.abstract_eval(self.avals, attrs))

    def vmfb(self, backend: str) -> tuple[bytes, list[int]]:
        """Its IREE module and the operands IREE may write."""
        op, attrs = self.op, self.attrs

        def apply(*xs):
            out = op(*xs, **attrs)
            return list(out) if op.multiple_results else out
        program = trace_program(apply, self.avals, tree_structure((tuple(self.avals), {})))
        return program.vmfb(backend), program.written_args


class Written:
    """A kernel written here in StableHLO (`text`: a module holding @main), for a canonical form
    no mlax op states: a broadcast to a shape, a slice at bounds or of sizes, given at run time."""

    def __init__(self, key: tuple, text: str) -> None:
        self.key, self.text = key, text
        self.num_results = 1

    def vmfb(self, backend: str) -> tuple[bytes, list[int]]:
        """Its IREE module and the operands IREE may write (none: a broadcast and a slice write
        new arrays)."""
        with mlir.lock, mlir.context():
            module = ir.Module.parse(self.text)
        return compiler.compile_module(module, backend, text=self.text), []


def _i64s(values: Sequence[int]) -> str:
    return f"array<i64{': ' if values else ''}{', '.join(map(str, values))}>"


def broadcast(dims: Sequence[int], rank: int, dtype: np.dtype) -> Written:
    """Operand dimension i of a rank-len(dims) array to result dimension dims[i] of a rank-`rank`
    result whose shape is the second operand (int64)."""
    with mlir.context(), ir.Location.unknown():
        x_type, out_type = mlir.tensor_type((None,) * len(dims), dtype), mlir.tensor_type((None,) * rank, dtype)
    # Every operand dimension keeps its size (IREE cannot lower the op otherwise).
    text = (f"func.func @main(%x: {x_type}, %shape: tensor<{rank}xi64>) -> {out_type} {{\n"
            f'  %0 = "stablehlo.dynamic_broadcast_in_dim"(%x, %shape) {{broadcast_dimensions = {_i64s(dims)}, '
            f"known_nonexpanding_dimensions = {_i64s(range(len(dims)))}}} : ({x_type}, tensor<{rank}xi64>)"
            f" -> {out_type}\n"
            f"  return %0 : {out_type}\n}}\n")
    return Written(("broadcast", tuple(dims), rank, np.dtype(dtype)), text)


def dynamic_slice(rank: int, dtype: np.dtype, index_dtype: np.dtype) -> Written:
    """A block of x, its sizes an int64 operand, at run-time start indices (scalars of
    `index_dtype`, one per axis), clamped to keep it in bounds as stablehlo.dynamic_slice does."""
    with mlir.context(), ir.Location.unknown():
        x_type, index = mlir.tensor_type((None,) * rank, dtype), str(mlir.tensor_type((), index_dtype))
    vector = f"tensor<{rank}xi64>"

    def as_vector(name, scalars, scalar_type):
        lines = [f"  %{name}{k}l = stablehlo.convert {s} : ({scalar_type}) -> tensor<i64>\n"
                 f"  %{name}{k} = stablehlo.reshape %{name}{k}l : (tensor<i64>) -> tensor<1xi64>\n"
                 for k, s in enumerate(scalars)]
        parts = ", ".join(f"%{name}{k}" for k in range(rank))
        return "".join(lines) + (f"  %{name} = stablehlo.concatenate {parts}, dim = 0 : "
                                 f"({', '.join(['tensor<1xi64>'] * rank)}) -> {vector}\n")
    starts = ", ".join(f"%i{k}: {index}" for k in range(rank))
    measured, measure = x_type, ""
    if np.issubdtype(dtype, np.unsignedinteger):  # IREE 3.13 cannot measure an unsigned tensor: its signed twin
        with mlir.context(), ir.Location.unknown():
            measured = mlir.tensor_type((None,) * rank, np.dtype(np.dtype(dtype).str.replace("u", "i")))
        measure = f"  %signed = stablehlo.bitcast_convert %x : ({x_type}) -> {measured}\n"
    text = (f"func.func @main(%x: {x_type}, {starts}, %sizes: {vector}) -> {x_type} {{\n" + measure
            + "".join(f"  %d{k}i = stablehlo.get_dimension_size %{'signed' if measure else 'x'}, dim = {k} : "
                      f"({measured}) -> tensor<i32>\n" for k in range(rank))
            + as_vector("start", [f"%i{k}" for k in range(rank)], index)
            + as_vector("dim", [f"%d{k}i" for k in range(rank)], "tensor<i32>")
            + f"  %zero = stablehlo.constant dense<0> : {vector}\n"
            f"  %one = stablehlo.constant dense<1> : {vector}\n"
            f"  %high = stablehlo.subtract %dim, %sizes : {vector}\n"
            f"  %first = stablehlo.clamp %zero, %start, %high : {vector}\n"
            f"  %last = stablehlo.add %first, %sizes : {vector}\n"
            f"  %0 = stablehlo.real_dynamic_slice %x, %first, %last, %one : ({x_type}, {vector}, {vector}, {vector})"
            f" -> {x_type}\n  return %0 : {x_type}\n}}\n")
    return Written(("dynamic_slice", rank, np.dtype(dtype), np.dtype(index_dtype)), text)


def strided_slice(rank: int, dtype: np.dtype) -> Written:
    """x[start:limit:stride] on every axis of a rank-`rank` array, the bounds as int64 operands."""
    with mlir.context(), ir.Location.unknown():
        x_type = mlir.tensor_type((None,) * rank, dtype)
    bounds = f"tensor<{rank}xi64>"
    text = (f"func.func @main(%x: {x_type}, %start: {bounds}, %limit: {bounds}, %stride: {bounds}) -> {x_type} {{\n"
            f"  %0 = stablehlo.real_dynamic_slice %x, %start, %limit, %stride : "
            f"({x_type}, {bounds}, {bounds}, {bounds}) -> {x_type}\n  return %0 : {x_type}\n}}\n")
    return Written(("slice", rank, np.dtype(dtype)), text)


@functools.cache
def _source_digest() -> str:
    """A digest of mlax's own code: kernels found by their spec are those this code compiled."""
    digest = hashlib.sha256()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for folder, subfolders, files in sorted(os.walk(root)):
        subfolders.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(name.encode() + b"\0" + f.read())
    return digest.hexdigest()


def unload_all() -> None:
    """Drop every loaded kernel (at exit, before the runtime goes)."""
    _loaded.clear()


def load(spec: OneOp | Written, device: Device, inline: bool = False, cached_only: bool = False) -> Kernel | None:
    """The kernel `spec` loaded on `device` (on its inline executor with `inline`: the calling
    thread, for small work); compiled if need be, or None with `cached_only` when the disk
    cache's index of kernels does not hold it."""
    key = (spec.key, device.platform, device.id, inline)
    kernel = _loaded.get(key)
    if kernel is not None:
        _loaded.move_to_end(key)
        return kernel
    # Indexed by the spec too (the operands it writes, a line, then the module): finding a kernel
    # by its module's text means lowering it first, 0.4 s for float32 sin's 300 ops.
    entry = disk_cache.key(f"kernel {spec.key!r} for {device.platform}\n{disk_cache.host_cpu()}", (),
                           (_source_digest(), str(iree_version.VERSION)))
    indexed = disk_cache.read(entry) if disk_cache.enabled() else None
    if indexed is not None:
        line, vmfb = indexed.split(b"\n", 1)
        written = json.loads(line)
    elif cached_only:  # (not even by its text: lowering it to find out costs up to 0.4 s)
        return None
    else:
        vmfb, written = spec.vmfb(device.platform)
        if disk_cache.enabled():
            disk_cache.write(entry, json.dumps(written).encode() + b"\n" + vmfb)
    kernel = _loaded[key] = Kernel(Executable(vmfb, device, inline=inline), spec.num_results, written)
    while len(_loaded) > KERNEL_CACHE_SIZE:
        _loaded.popitem(last=False)
    return kernel
