"""IREE compilation, in process, with a persistent on-disk cache.

A lowered (StableHLO) module is handed to an IREE compiler session as MLIR
bytecode; the resulting .vmfb is kept in the checked disk cache
(runtime/disk_cache.py), so a second process skips IREE entirely. A failed compilation raises CompilationError naming the stage
and a file holding the IR it failed on.
"""

import contextlib
import ctypes
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator

import numpy as np

from iree.compiler import version as iree_version
from iree.compiler.api import Invocation, Output, Session, Source, ctypes_dl

from mlax import errors
from mlax._version import __version__
from mlax.core import mlir
from mlax.ops.collectives import num_devices
from mlax.runtime import backends, disk_cache

_sessions = {}


def _session(flags):
    if flags not in _sessions:
        mlir.set_global_compiler_options()
        session = Session()
        session.set_flags(*flags)
        _sessions[flags] = session
    return _sessions[flags]


def close_sessions():
    for session in _sessions.values():
        session.close()
    _sessions.clear()


def save_failed_ir(stage, text):
    """Write `text` to a file for a failure report; return its path."""
    directory = os.path.join(tempfile.gettempdir(), "mlax-failures")
    os.makedirs(directory, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in stage).strip("-")
    name = f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.mlir"
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# IREE's C API reports an invocation's diagnostics to a callback (severity, message, size,
# user data); its Python API offers only printing them to the process's stderr.
_DIAGNOSTIC_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_enable_callback_diagnostics = ctypes_dl._dylib.ireeCompilerInvocationEnableCallbackDiagnostics
_enable_callback_diagnostics.argtypes = [ctypes.c_void_p, ctypes.c_int, _DIAGNOSTIC_CALLBACK, ctypes.c_void_p]
_enable_callback_diagnostics.restype = None


@contextlib.contextmanager
def _collected_diagnostics(invocation: Invocation) -> Iterator[list[str]]:
    """The diagnostics `invocation` reports meanwhile, as a list of messages (nothing is
    written to the process's stderr, which other threads may be using)."""
    messages: list[str] = []

    def collect(severity, message, size, user_data):
        messages.append(ctypes.string_at(message, size).decode(errors="replace"))
    callback = _DIAGNOSTIC_CALLBACK(collect)
    _enable_callback_diagnostics(invocation._inv_p, 0, callback, None)
    yield messages


# A dot_general contracting over this many elements per output is "large" (packing
# its operands pays off from about here: measured 1024^3 147 -> 184 GFLOP/s, while
# 256x784x512 and 2048x512x512 run as fast or faster unpacked).
LARGE_MATMUL_CONTRACTION = 1024
_TENSOR_SHAPE = re.compile(r"tensor<((?:\d+x)*)[a-z]")
_CONTRACTING = re.compile(r"contracting_dims = \[([\d, ]*)\]")


def _contraction_size(dot_line):
    """Elements summed per output of a printed stablehlo.dot_general."""
    lhs_dims = _TENSOR_SHAPE.findall(dot_line.split(":")[-1])[0].rstrip("x").split("x")
    axes = _CONTRACTING.search(dot_line)
    if not axes or not axes.group(1).strip():
        return 1
    return int(np.prod([int(lhs_dims[int(a)]) for a in axes.group(1).split(",")]))


def module_features(text):
    """Features of a lowered module that backends may compile with extra flags."""
    features = set()
    if "f64" in text:
        features.add("float64")
    for line in text.splitlines():
        if "stablehlo.dot_general" in line and _contraction_size(line) >= LARGE_MATMUL_CONTRACTION:
            features.add("large_matmul")
    return features


def compile_module(module, backend_name, portable=False, text=None):
    """The .vmfb bytes of a lowered module for `backend_name`."""
    backend = backends.get(backend_name)
    # The module's MLIR context and the compiler session serve one thread at a time.
    with mlir.lock:
        text = str(module) if text is None else text
        flags = backend.flags(portable, module_features(text), num_devices(module.operation))
        if '"mlax.' in text:
            # IREE cannot know mlax ops (it would crash on them): they must be lowered first.
            raise errors.CompilationError("IREE input check", "the module still holds mlax ops; run mlax-lower first",
                                          save_failed_ir("iree-input", text))
        entry = disk_cache.key(text, flags, (__version__, str(iree_version.VERSION)))
        if disk_cache.enabled():
            cached = disk_cache.read(entry)
            if cached is not None:
                return cached
        vmfb = _compile(module, backend_name, flags, text)
    if disk_cache.enabled():
        disk_cache.write(entry, vmfb)
    return vmfb


def _compile(module, backend_name, flags, text):
    """Run IREE's compiler on `module` in process; its diagnostics go into the error."""
    buffer = io.BytesIO()
    module.operation.write_bytecode(buffer)
    session = _session(flags)
    invocation = session.invocation()
    try:
        with _collected_diagnostics(invocation) as diagnostics:
            invocation.parse_source(Source.wrap_buffer(session, buffer.getvalue()))
            ok = invocation.execute()
        if not ok:
            stage = f"IREE compilation for backend '{backend_name}'"
            path = save_failed_ir(stage, text)
            raise errors.CompilationError(stage, "\n".join(diagnostics).strip() or "no diagnostics", path)
        output = Output.open_membuffer()
        invocation.output_vm_bytecode(output)
        vmfb = bytes(output.map_memory())
        output.close()
    finally:
        invocation.close()
    return vmfb
