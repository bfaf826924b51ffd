"""Every traced op carries its name and the user's line as its MLIR location, kept
through the transformations and lowering, so IREE's diagnostics name both."""

import re

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from iree.compiler import ir
from mlax import errors
from mlax.core import mlir
from mlax.runtime import compiler, disk_cache

HERE = __file__


def _located_ops(module):
    """(op name, location) of every op in the module's functions."""
    with mlir.lock:
        text = module.operation.get_asm(enable_debug_info=True)
    aliases = dict(re.findall(r'^(#loc\d*) = loc\("(.*)"\)$', text, re.M))
    return [(op, aliases.get(ref, ref)) for op, ref in re.findall(r'= "?([a-z_]+\.[a-z_]+)"?.* loc\((#loc\d*)\)', text)]


def loss(x):
    y = mnp.tanh(x)  # the line the tanh and its derivatives point at
    return (y * 2.0).sum()


def test_traced_ops_name_themselves_and_the_users_line():
    line = loss.__code__.co_firstlineno + 1
    located = dict(_located_ops(mlax.jit(loss).lower(mnp.ones(3))._program.module))
    assert located["mlax.tanh"] == f"mlax.tanh at {HERE}:{line}"


def test_transformed_and_lowered_ops_keep_the_location_of_the_op_they_stand_for():
    line = loss.__code__.co_firstlineno + 1
    lowered = mlax.jit(mlax.vmap(mlax.grad(loss))).lower(mnp.ones((2, 3)))
    lowered.as_text("stablehlo")
    located = _located_ops(lowered._program.module)
    derivative = {op for op, where in located if where == f"mlax.tanh at {HERE}:{line}"} - {"stablehlo.tanh"}
    assert "stablehlo.multiply" in derivative, located  # tanh's derivative, 1 - tanh**2
    assert all(where.startswith("mlax.") and HERE in where for _, where in located), located


def test_an_iree_error_names_the_op_and_the_line(monkeypatch):
    monkeypatch.setattr(disk_cache, "enabled", lambda: False)
    text = """
    func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {
      %0 = stablehlo.custom_call @no_such_target(%arg0) : (tensor<4xf32>) -> tensor<4xf32> loc("mlax.sin at train.py:12")
      return %0 : tensor<4xf32>
    }"""
    with mlir.lock, mlir.context():
        module = ir.Module.parse(text)
    with pytest.raises(errors.CompilationError, match=r"mlax.sin at train.py:12.*custom_call"):
        compiler.compile_module(module, "cpu")
    np.testing.assert_allclose(mlax.jit(mnp.cos)(mnp.zeros(2)), [1, 1])
