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
from mlax.runtime import backends, pipeline

# Hypothesis draws the same examples on every machine and reports a failing one as it was
# drawn: shrinking it, and tracing the test's lines to explain it, re-run the test many times
# (a differential test compiles and runs two programs each time) and took CI past its limit.
# Settings given to a test override these.
settings.register_profile("mlax", deadline=None, derandomize=True, database=None,
                          phases=(Phase.explicit, Phase.reuse, Phase.generate))
settings.load_profile("mlax")

# A jitted function's first calls run on the interpreter tier only when its kernels are in the
# disk cache, which other tests warm as they run: left on, which tier a test meets would depend
# on the order tests ran in. tests/runtime/test_interpreter.py turns it on where it tests it.
mlax.config.update("mlax_jit_tiering", False)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IRDL_FILE = os.path.join(ROOT, "dialect", "mlax.irdl.mlir")

# The suite every GPU backend runs, selected by `-m gpu`: CI runs it on Vulkan (Mesa's lavapipe)
# with `MLAX_PLATFORM=vulkan python -m pytest -n 2 -q -m gpu`, tools/gpu_check.py on CUDA and ROCm.
# These files whole (every op family, transfers, targets, export and the CLI on the device,
# gathers and scatters, long reductions, sorting, random bits); elsewhere single tests carry
# @pytest.mark.gpu (transformations, control flow, linalg).
GPU_FILES = {
    "tests/ops/test_op_table.py", "tests/runtime/test_gpu_backends.py", "tests/runtime/test_gpu_check.py",
    "tests/lax/test_gather_scatter.py", "tests/numpy/test_accurate_reductions.py", "tests/numpy/test_sorting.py",
    "tests/random/test_random.py", "tests/runtime/test_async_dispatch.py",
}
# Tests that cannot pass on a backend, and why: strict xfails there, so one that starts passing
# fails the run and leaves this table.
BACKEND_LIMITS = {
    "vulkan": {
        "tests/ops/test_op_table.py::test_eager_op_matches_numpy_ref[angle(float32)-edges]":
            "SPIR-V's atan2 (GLSL.std.450 Atan2) leaves NaN operands undefined: angle(NaN) is pi on lavapipe",
        "tests/ops/test_op_table.py::test_eager_op_matches_numpy_ref[conv_general_dilated(int32,int32)-nhwc-groups]":
            "grouped convolutions are refused on vulkan (IREE's SPIR-V code writes zeros)",
        "tests/ops/test_op_table.py::test_eager_op_matches_numpy_ref[conv_general_dilated(int32,int32)-batch-groups]":
            "grouped convolutions are refused on vulkan (IREE's SPIR-V code writes zeros)",
        "tests/numpy/test_sorting.py::test_sort_of_300_by_300_compiles[0]":
            "sorts along an axis longer than 256 are refused on vulkan (IREE's SPIR-V sort misorders them)",
        "tests/numpy/test_sorting.py::test_sort_of_300_by_300_compiles[1]":
            "sorts along an axis longer than 256 are refused on vulkan (IREE's SPIR-V sort misorders them)",
    },
}


def pytest_collection_modifyitems(items):
    limits = BACKEND_LIMITS.get(backends.default_name(), {})
    for item in items:
        if item.nodeid.split("::")[0] in GPU_FILES:
            item.add_marker(pytest.mark.gpu)
        if item.nodeid in limits:
            item.add_marker(pytest.mark.xfail(reason=limits[item.nodeid], strict=True))


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


def both_tiers(fun, args):
    """`fun` traced for `args` (NumPy arrays), run on the interpreter tier (its kernels compiled
    if need be) and as a compiled program: (interpreted results, compiled results) as NumPy."""
    from mlax.core.aval import ShapedArray
    from mlax.runtime import interpreter
    from mlax.runtime.array import device_put
    from mlax.runtime.device import default_device
    from mlax.tree_util import tree_structure

    avals = [ShapedArray(np.shape(a), np.asarray(a).dtype) for a in args]
    program = pipeline.trace_program(fun, avals, tree_structure((tuple(avals), {})))
    device = default_device()
    plan = interpreter.plan(program, device, compile_kernels=True)
    buffers = [device.put(np.asarray(a)) for a in args] + [device_put(c, device)._buffer for c in program.consts]
    interpreted = [device.fetch(b, a.shape, a.dtype) for b, a in zip(plan.run(buffers), program.out_avals)]
    compiled = [np.asarray(x) for x in program.compile(backends.default_name(), device).call_flat(args)]
    return interpreted, compiled
