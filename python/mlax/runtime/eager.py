"""Eager execution: an op applied outside any trace runs as a kernel of the library.

An op with a kernel form runs as the interpreter tier runs it (runtime/interpreter.py):
on shape-polymorphic kernels, one compilation per dtype (and rank or layout
pattern) whatever the shapes; a view (reshape) compiles nothing, its result reads
the operand's buffer with the new shape. Other ops, and zero-size arrays, run as a
one-op kernel per (op, attributes, operand types). Kernels live in
runtime/kernels.py's cache and the disk cache. With config debug_nans/debug_infs,
each op's results are read and checked (FloatingPointError naming the op).
"""

import numpy as np

from mlax import config
from mlax.core import dtypes
from mlax.core.trace import install_runtime
from mlax.runtime import interpreter, kernels
from mlax.runtime.array import Array, device_put
from mlax.runtime.device import default_device
from mlax.runtime.pipeline import INLINE_WORK_LIMIT

# Each application seen, keyed (op, attributes, device, *operand avals): its step (buffers ->
# result buffers) and result avals. One dict lookup spares a repeated op its shape rule and the
# kernel's key, most of an eager op's Python time. Cleared whole when it grows past this many
# (elementwise ops add one per shape).
APPLICATIONS = 2048
_applications: dict = {}


def clear_kernels():
    """Forget every kernel (mlax.clear_caches, and the teardown at exit, which needs them gone)."""
    _applications.clear()
    kernels.unload_all()


def _application(op, attrs, avals, device):
    """An entry of _applications: (step, result avals)."""
    out_avals = op.abstract_eval(avals, attrs)
    strong = [a.strip_weak_type() for a in avals]
    step = interpreter.step(op, attrs, strong, [a.strip_weak_type() for a in out_avals], device)
    if step is None:
        kernel = kernels.load(kernels.OneOp(op, attrs, strong), device,
                              inline=sum(a.size for a in out_avals) < INLINE_WORK_LIMIT)
        step = kernel.run
    return step, out_avals


def apply_eagerly(op, operands, attrs):
    """Run `op` on concrete operands now; return its results as Arrays."""
    if "literal" in op.traits:  # its result is its `value` attribute: nothing to compute
        return [device_put(attrs["value"])]
    # The op runs where its first strongly typed array is (else its first array, else the default
    # device); operands elsewhere (a Python scalar's constant, an array on another backend) are
    # copied there.
    placed = [x for x in operands if isinstance(x, Array)]
    device = next((x.device for x in placed if not x.weak_type), placed[0].device if placed else default_device())
    arrays = [device_put(x, device) for x in operands]
    key = (op, kernels.attrs_key(attrs) if attrs else (), device, *[a.aval for a in arrays])
    application = _applications.get(key)
    if application is None:
        if len(_applications) >= APPLICATIONS:
            _applications.clear()
        application = _applications[key] = _application(op, attrs, key[3:], device)
    step, out_avals = application
    outs = step([a._buffer for a in arrays])
    results = [Array(b, aval, device) for b, aval in zip(outs, out_avals)]
    if config.debug_nans.value or config.debug_infs.value:
        found = invalid_value(results)
        if found is not None:
            raise FloatingPointError(f"invalid value ({found}) encountered in {op.name}")
    return results


def invalid_value(arrays):
    """"nan" or "inf" when debug_nans or debug_infs is on and a floating-point array among
    `arrays` holds one (read to the host); else None."""
    for array in arrays:
        if not dtypes.is_inexact(array.dtype) or not array.size:
            continue
        value = np.asarray(array)
        if config.debug_nans.value and np.isnan(value).any():
            return "nan"
        if config.debug_infs.value and np.isinf(value).any():
            return "inf"
    return None


def _device_constant(value, aval):
    """`value` on the default device, typed `aval` (weak or strong)."""
    device = default_device()
    return Array(device.put(np.asarray(value, aval.dtype, order="C")), aval, device)


install_runtime(apply_eagerly, _device_constant)
