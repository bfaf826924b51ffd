"""Test fixtures: every program a test traces is also verified by MLIR itself
against the IRDL definition of the mlax dialect (iree-opt --irdl-file).

IRDL (in this MLIR) binds all operands of a variadic group to one type
(llvm/llvm-project#158085), so it cannot describe transformation ops
(mlax.vjp, mlax.vmap ...), whose operands differ in type: programs holding
them are verified after mlax-expand-transforms has replaced them by the ops
they stand for, each of which IRDL checks.
"""

import os
import subprocess
import tempfile

import numpy as np
import pytest

import mlax
from mlax.runtime import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IRDL_FILE = os.path.join(ROOT, "dialect", "mlax.irdl.mlir")


def iree_opt():
    from iree.compiler.tools.binaries import find_tool

    return find_tool("iree-opt")


def _transform_ops():
    from mlax.core.op import OPS

    return [f'"mlax.{name}"' for name, op in OPS.items() if "transform" in op.traits]


def expanded(text):
    """The module text with its transformation ops expanded (unchanged when it has none)."""
    if not any(name in text for name in _transform_ops()):
        return text
    from iree.compiler import ir

    from mlax import passes
    from mlax.core import mlir

    with mlir.context(), ir.Location.unknown():
        module = ir.Module.parse(text)
    passes.run(module, ["mlax-expand-transforms"])
    return str(module)


def verify_with_irdl(texts):
    """Run iree-opt --irdl-file over module texts; return its error output ('' when valid)."""
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write("\n// -----\n".join(expanded(t) for t in texts))
        path = f.name
    try:
        run = subprocess.run([iree_opt(), f"--irdl-file={IRDL_FILE}", "--split-input-file", path,
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
