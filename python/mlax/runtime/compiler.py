"""IREE compilation, in a worker process, with a persistent on-disk cache.

A lowered (StableHLO) module is handed as MLIR bytecode to IREE's compiler
running in a process of its own (runtime/compile_worker.py), so that a crash,
abort or hang inside IREE raises CompilationError instead of taking the user's
process down; the worker is restarted for the next compilation. The resulting
.vmfb is kept in the checked disk cache (runtime/disk_cache.py), so a second
process skips IREE entirely. A failed compilation raises CompilationError
naming the stage and a file holding the IR it failed on.
"""

import hashlib
import io
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from iree.compiler import ir
from iree.compiler import version as iree_version

from mlax import errors
from mlax._version import __version__
from mlax.core import mlir
from mlax.ops.collectives import num_devices
from mlax.runtime import backends, compile_worker, disk_cache

# Seconds one compilation may take before its worker is stopped (MLAX_COMPILE_TIMEOUT).
DEFAULT_COMPILE_TIMEOUT = 1800.0

# Runs the worker script without putting its folder (which holds array.py) on sys.path,
# with the parent's module search path.
_LAUNCH = "import runpy, sys; sys.path[:0] = sys.argv[2:]; runpy.run_path(sys.argv[1], run_name='__main__')"


def compile_timeout() -> float:
    value = os.environ.get("MLAX_COMPILE_TIMEOUT")
    if value is None:
        return DEFAULT_COMPILE_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"MLAX_COMPILE_TIMEOUT must be a positive number of seconds, got {value!r}")
    return seconds


class _Worker:
    """The compile worker process: started on first use, one compilation at a time,
    restarted after it died or was stopped."""

    def __init__(self, script: str = compile_worker.__file__) -> None:
        self.script = script
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def compile(self, flags: tuple[str, ...], bytecode: bytes, stage: str, text: str) -> bytes:
        timeout = compile_timeout()
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                # A session of its own: Ctrl-C in a terminal reaches this process, which stops the worker.
                self.process = subprocess.Popen([sys.executable, "-c", _LAUNCH, self.script, *sys.path],
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            process = self.process
            try:
                compile_worker.send(process.stdin, (mlir.GLOBAL_COMPILER_OPTIONS, flags, bytecode))
                ready = _wait_readable(process.stdout, timeout)
                reply = compile_worker.receive(process.stdout) if ready else None
            except BrokenPipeError:
                reply = None
            except BaseException:  # KeyboardInterrupt included: the compilation stops with it
                self.stop()
                raise
            if reply is None:
                self.stop()
                cause = (f"it did not finish within {timeout:g} s (MLAX_COMPILE_TIMEOUT)" if not ready
                         else f"the IREE compiler crashed ({_exit_reason(process.returncode)})")
                raise errors.CompilationError(stage, cause, save_failed_ir(stage, text))
        status, payload = reply
        if status != "ok":
            raise errors.CompilationError(stage, payload, save_failed_ir(stage, text))
        return payload

    def interrupt(self) -> None:
        """End the worker process from another thread: the compilation waiting on it (if any)
        sees it die, fails and cleans up after it."""
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None


# Seconds between checks for a signal while waiting for the worker: a SIGINT handled on another
# thread (a driver's) does not interrupt the main thread's select; Python raises
# KeyboardInterrupt when the wait returns to it.
_SIGNAL_CHECK_INTERVAL = 0.2


def _wait_readable(stream, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `stream` to be readable; whether it is."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if select.select([stream], [], [], min(left, _SIGNAL_CHECK_INTERVAL))[0]:
            return True
    return False


def _exit_reason(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            pass
    return f"exit status {returncode}"


_worker = _Worker()


def interrupt():
    """Make the compilation under way on another thread (if any) fail now."""
    _worker.interrupt()


def close_sessions():
    """Stop the compile worker (at interpreter exit)."""
    _worker.stop()


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


# A dot_general contracting over this many elements per output is "large" (packing
# its operands pays off from about here: measured 1024^3 147 -> 184 GFLOP/s, while
# 256x784x512 and 2048x512x512 run as fast or faster unpacked).
LARGE_MATMUL_CONTRACTION = 1024
_TENSOR_SHAPE = re.compile(r"tensor<((?:[\d?]+x)*)[a-z]")
_CONTRACTING = re.compile(r"contracting_dims = \[([\d, ]*)\]")


def _contraction_size(dot_line):
    """Elements summed per output of a printed stablehlo.dot_general (None: not known, dynamic)."""
    lhs_dims = _TENSOR_SHAPE.findall(dot_line.split(":")[-1])[0].rstrip("x").split("x")
    axes = _CONTRACTING.search(dot_line)
    if not axes or not axes.group(1).strip():
        return 1
    sizes = [lhs_dims[int(a)] for a in axes.group(1).split(",")]
    return None if "?" in sizes else int(np.prod([int(size) for size in sizes]))


# float64 ops that IREE's CPU code turns into libm calls (float64 arithmetic and comparisons
# are instructions; sin, cos, tan of float32 reduce in float64 with those alone).
_LIBM_OPS = re.compile(r"(stablehlo\.(sine|cosine|tan|exponential|exponential_minus_one|log|log_plus_one|logistic|"
                       r"power|tanh|atan2|cbrt|rsqrt|sqrt|remainder)\b|chlo\.)")


def module_features(text):
    """Features of a lowered module that backends may compile with extra flags."""
    features = set()
    if any("f64" in line and _LIBM_OPS.search(line) for line in text.splitlines()):
        features.add("float64")
    for line in text.splitlines():
        if "stablehlo.dot_general" in line:
            size = _contraction_size(line)
            if size is None:
                features.add("dynamic_matmul")
            elif size >= LARGE_MATMUL_CONTRACTION:
                features.add("large_matmul")
    return features


def _bytecode(module, device_targets):
    """The module as MLIR bytecode, carrying `device_targets` (its hal.device.targets) when given."""
    operation = module.operation
    if device_targets:
        operation.attributes["hal.device.targets"] = ir.Attribute.parse(device_targets, context=operation.context)
    try:
        stream = io.BytesIO()
        operation.write_bytecode(stream)
        return stream.getvalue()
    finally:
        if device_targets:
            del operation.attributes["hal.device.targets"]


class Vmfb(bytes):
    """The .vmfb bytes of a compiled module, with where they came from (for log_compiles):
    `from_disk_cache`, read from the disk cache without running IREE, and `iree_seconds`,
    the wall time of IREE's compilation in the worker (its start included; 0.0 for a hit)."""

    from_disk_cache: bool
    iree_seconds: float

    def __new__(cls, data: bytes, from_disk_cache: bool = False, iree_seconds: float = 0.0) -> "Vmfb":
        vmfb = super().__new__(cls, data)
        vmfb.from_disk_cache, vmfb.iree_seconds = from_disk_cache, iree_seconds
        return vmfb


def compile_module(module, backend_name, portable=False, text=None, asynchronous=False) -> Vmfb:
    """The .vmfb bytes of a lowered module for `backend_name`, from the disk cache or IREE; with
    `asynchronous`, its functions take a wait and a signal fence (backends.ASYNC_FLAGS)."""
    backend = backends.get(backend_name)
    # The module's MLIR context serves one thread at a time; the compiler runs unlocked.
    with mlir.lock:
        text = str(module) if text is None else text
        count = num_devices(module.operation)
        backend.check_program(text, portable)
        target = backend.compile_target(portable, module_features(text), count, asynchronous)
        if '"mlax.' in text:
            # IREE cannot know mlax ops (it would crash on them): they must be lowered first.
            raise errors.CompilationError("IREE input check", "the module still holds mlax ops; run mlax-lower first",
                                          save_failed_ir("iree-input", text))
        device_targets = target.executable and target.device_targets(backend.device, count)
        key_flags = mlir.GLOBAL_COMPILER_OPTIONS + target.flags + ((device_targets,) if device_targets else ())
        entry = disk_cache.key(text, key_flags, (__version__, str(iree_version.VERSION)))
        if disk_cache.enabled():
            cached = disk_cache.read(entry)
            if cached is not None:
                return Vmfb(cached, from_disk_cache=True)
        bytecode = _bytecode(module, device_targets)
    start = time.perf_counter()
    vmfb = _worker.compile(target.flags, bytecode, f"IREE compilation for backend '{backend_name}'", text)
    seconds = time.perf_counter() - start
    if disk_cache.enabled():
        disk_cache.write(entry, vmfb)
    return Vmfb(vmfb, iree_seconds=seconds)
