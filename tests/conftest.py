"""Test fixtures: every program a test traces is also verified by MLIR itself
against the IRDL definition of the mlax dialect (iree-opt --irdl-file)."""

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


def verify_with_irdl(texts):
    """Run iree-opt --irdl-file over module texts; return its error output ('' when valid)."""
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write("\n// -----\n".join(texts))
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
