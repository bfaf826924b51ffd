"""Test fixtures: every program a test traces is also verified by MLIR itself
against the IRDL definition of the mlax dialect (iree-opt --irdl-file).

IRDL (in this MLIR) binds all operands of a variadic group to one type
(llvm/llvm-project#158085), so it cannot describe ops whose operand lists mix
types: transformation ops (mlax.vjp, mlax.vmap ...) and control flow
(mlax.cond, mlax.while, mlax.scan). Programs holding transformation ops are
verified after mlax-expand-transforms has replaced them by the ops they stand
for; control-flow ops are renamed out of the mlax dialect, so IRDL checks
everything else, the functions they name included.
"""

import ctypes
import ctypes.util
import gc
import os
import subprocess
import tempfile

import numpy as np
import pytest
from hypothesis import Phase, settings

import mlax
from mlax.runtime import pipeline

# Hypothesis draws the same examples on every machine and reports a failing one as it was
# drawn: shrinking it, and tracing the test's lines to explain it, re-run the test many times
# (a differential test compiles and runs two programs each time) and took CI past its limit.
# Settings given to a test override these.
settings.register_profile("mlax", deadline=None, derandomize=True, database=None,
                          phases=(Phase.explicit, Phase.reuse, Phase.generate))
settings.load_profile("mlax")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IRDL_FILE = os.path.join(ROOT, "dialect", "mlax.irdl.mlir")


def iree_opt():
    from iree.compiler.tools.binaries import find_tool

    return find_tool("iree-opt")


def _ops_with(trait):
    from mlax.core.op import OPS

    return [f'"mlax.{name}"' for name, op in OPS.items() if trait in op.traits]


def expanded(text):
    """The module text with its transformation ops expanded and its control-flow ops
    renamed out of the mlax dialect; None when expanding fails (the error a test checks)."""
    if any(name in text for name in _ops_with("transform")):
        from iree.compiler import ir

        from mlax import passes
        from mlax.core import mlir

        with mlir.context(), ir.Location.unknown():
            module = ir.Module.parse(text)
        try:
            passes.run(module, ["mlax-expand-transforms"])
        except (TypeError, ValueError, NotImplementedError):
            return None
        text = str(module)
    for name in _ops_with("control_flow"):
        text = text.replace(name, name.replace('"mlax.', '"unverified.'))
    return text


def verify_with_irdl(texts):
    """Run iree-opt --irdl-file over module texts; return its error output ('' when valid)."""
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write("\n// -----\n".join(filter(None, map(expanded, texts))))
        path = f.name
    try:
        run = subprocess.run([iree_opt(), f"--irdl-file={IRDL_FILE}", "--split-input-file",
                              "--allow-unregistered-dialect", path,
                              "-o", os.devnull], capture_output=True, text=True)
        return run.stderr if run.returncode else ""
    finally:
        os.unlink(path)


@pytest.fixture(autouse=True)
def irdl_verified_traces():
    """Collect the mlax modules a test traces and verify them with MLIR's IRDL verifier."""
    texts = []
    pipeline.trace_observers.append(texts.append)
    try:
        yield texts
    finally:
        pipeline.trace_observers.remove(texts.append)
    if texts:
        errors = verify_with_irdl(texts)
        assert not errors, f"traced mlax IR failed IRDL verification:\n{errors}"


# JAX, the oracle, keeps every program it compiles (about 1.7 MB each, eager ops included): over
# the whole suite a worker would grow past 8 GB and a small CI machine would swap. Past this
# resident size a test's end forgets JAX's programs and hands the freed memory back.
RESIDENT_LIMIT_MIB = 1536
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if os.path.exists("/proc/self/statm") else None


def resident_mib():
    """This process's resident memory in MiB (Linux; 0 elsewhere)."""
    if _LIBC is None:
        return 0
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(autouse=True)
def bounded_oracle_memory():
    yield
    if resident_mib() > RESIDENT_LIMIT_MIB:
        import jax

        jax.clear_caches()
        gc.collect()
        if hasattr(_LIBC, "malloc_trim"):  # (glibc: freed arenas go back to the system)
            _LIBC.malloc_trim(0)


@pytest.fixture
def x64():
    """Enable float64 for one test."""
    mlax.config.update("mlax_enable_x64", True)
    try:
        yield
    finally:
        mlax.config.update("mlax_enable_x64", False)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
