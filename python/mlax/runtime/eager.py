"""Eager execution: an op applied outside any trace runs as a compiled kernel.

A kernel is a one-op program compiled by the same pipeline as jit and cached
per (op, attributes, operand types). Elementwise ops on equal-shaped operands
get one kernel per dtype, over flattened operands of dynamic length
(`tensor<?xf32>`), so new shapes cost no new compilation; a view (an op of
kernel_form "view": reshape) compiles nothing, its result reads the operand's
buffer with the new shape. With config
debug_nans/debug_infs, each op's results are read and checked (FloatingPointError
naming the op).
"""

import collections

import numpy as np

import iree.runtime as rt

from mlax import config
from mlax.core import dtypes
from mlax.core.aval import ShapedArray
from mlax.core.trace import install_runtime
from mlax.runtime.array import Array, device_put
from mlax.runtime.device import default_device
from mlax.runtime.pipeline import trace_program
from mlax.tree_util import tree_structure

# Compiled one-op kernels, least recently looked up first; the oldest go past this many (each
# holds a loaded executable: without a bound, eager code over ever-new shapes grew for good).
KERNEL_CACHE_SIZE = 2048
_kernels: collections.OrderedDict = collections.OrderedDict()
# Each application seen, keyed (op, attributes, device, *operand avals): its kernel, result avals and
# the length its operands are flattened to (None: run as they are). One dict lookup spares a repeated
# op its shape rule and the kernel's key, most of an eager op's Python time. Cleared whole when it
# grows past KERNEL_CACHE_SIZE (elementwise ops add one per shape) or _kernels drops a kernel, which
# it must not keep alive.
_applications: dict = {}


def _hashable(value):
    if isinstance(value, np.ndarray):
        return (value.dtype, value.shape, value.tobytes())
    return value


def _polymorphic(op, avals):
    """Can this application use a kernel over flattened dynamic-length operands?"""
    return ("elementwise" in op.traits and all(a.shape == avals[0].shape for a in avals)
            and avals[0].size > 0)


def _kernel(op, attrs_key, attrs, avals, device):
    key = (op.name, attrs_key, tuple(avals), device.platform, device.id)
    kernel = _kernels.get(key)
    if kernel is not None:
        _kernels.move_to_end(key)
        return kernel

    def apply(*xs):
        out = op(*xs, **attrs)
        return list(out) if op.multiple_results else out
    program = trace_program(apply, avals, tree_structure((tuple(avals), {})))
    kernel = _kernels[key] = program.compile(device.platform, device)
    if len(_kernels) > KERNEL_CACHE_SIZE:
        _applications.clear()  # they may hold the kernels about to go
        while len(_kernels) > KERNEL_CACHE_SIZE:
            _kernels.popitem(last=False)
    return kernel


def clear_kernels():
    """Forget every kernel (mlax.clear_caches, and the teardown at exit, which needs them gone)."""
    _applications.clear()
    _kernels.clear()


def _application(op, attrs_key, attrs, avals, device):
    """An entry of _applications: (kernel, result avals, flattened length or None); no kernel for
    a view."""
    out_avals = op.abstract_eval(avals, attrs)
    if op.kernel_form == "view":
        return None, out_avals, None
    if _polymorphic(op, avals):
        # One kernel per dtype: operands flattened to tensor<?xT>, results reshaped back.
        kernel = _kernel(op, attrs_key, attrs, [ShapedArray((None,), a.dtype) for a in avals], device)
        return kernel, out_avals, None if len(avals[0].shape) == 1 else avals[0].size
    return _kernel(op, attrs_key, attrs, [a.strip_weak_type() for a in avals], device), out_avals, None


def _reshaped(buffer_view, shape):
    return rt.HalBufferView(buffer_view.get_buffer(), list(shape), buffer_view.element_type)


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
    attrs_key = tuple(sorted((k, _hashable(v)) for k, v in attrs.items())) if attrs else ()
    key = (op, attrs_key, device, *[a.aval for a in arrays])
    application = _applications.get(key)
    if application is None:
        if len(_applications) >= KERNEL_CACHE_SIZE:
            _applications.clear()
        application = _applications[key] = _application(op, attrs_key, attrs, key[3:], device)
    kernel, out_avals, flat = application
    buffers = [a._buffer for a in arrays]
    if kernel is None:  # the operand's buffer read with the result's shape (arrays are never written)
        outs = [_reshaped(buffers[0], out_avals[0].shape)]
    elif flat is None:
        outs = kernel.run_buffers(buffers)
    else:
        outs = kernel.run_buffers([_reshaped(b, (flat,)) for b in buffers])
        outs = [_reshaped(b, aval.shape) for b, aval in zip(outs, out_avals)]
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
