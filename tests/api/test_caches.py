"""Bounded costs: the transformations' caches hold functions weakly, so the programs
compiled for a function and the arrays it closed over go when the function does; a
long training loop runs in flat memory."""

import gc
import operator
import os
import weakref

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax.runtime import compiler

TRANSFORMS = {
    "jit": lambda f, x: mlax.jit(f)(x),
    "vmap": lambda f, x: mlax.vmap(f)(mnp.stack([x, x])),
    "grad": lambda f, x: mlax.grad(lambda v: f(v).sum())(x),
    "value_and_grad": lambda f, x: mlax.value_and_grad(lambda v: f(v).sum())(x),
    "jvp": lambda f, x: mlax.jvp(f, (x,), (x,)),
    "vjp": lambda f, x: mlax.vjp(f, x)[1](x),
    "jacfwd": lambda f, x: mlax.jacfwd(f)(x),
    "pmap": lambda f, x: mlax.pmap(f)(x[None]),
    "nested": lambda f, x: mlax.vmap(mlax.grad(lambda v: f(v).sum()))(mnp.stack([x, x])),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_closed_over_array_is_freed_with_its_function(transform):
    captured = mnp.asarray(np.arange(4.0, dtype=np.float32))
    alive = weakref.ref(captured)

    def f(v):
        return mnp.sin(v) * captured

    TRANSFORMS[transform](f, mnp.ones(4))
    del f, captured
    gc.collect()
    assert alive() is None, f"{transform} kept the arrays a deleted function closed over"


class Model:
    def __init__(self, scale):
        self.weights = mnp.asarray(np.full(3, scale, np.float32))

    def loss(self, x):
        return (self.weights * x * x).sum()


def test_bound_methods_compile_once_and_go_with_their_object(monkeypatch):
    compiles = []
    original = compiler.compile_module
    monkeypatch.setattr(compiler, "compile_module", lambda *a, **k: compiles.append(1) or original(*a, **k))
    model = Model(float(np.random.default_rng().integers(2, 1 << 20)))  # a program no cache holds
    x = mnp.ones(3)
    for _ in range(3):  # a new bound method object each time
        np.testing.assert_allclose(mlax.grad(model.loss)(x), 2 * np.asarray(model.weights))
    assert len(compiles) == 1
    alive = weakref.ref(model.weights)
    del model
    gc.collect()
    assert alive() is None


def test_functions_that_cannot_be_weakly_referenced_are_still_cached():
    negate = operator.methodcaller("__neg__")
    with pytest.raises(TypeError):
        weakref.ref(negate)
    x = mnp.ones(3)
    np.testing.assert_allclose(mlax.vmap(negate)(x), -np.ones(3))
    np.testing.assert_allclose(mlax.vmap(negate)(x), -np.ones(3))


def _resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads resident memory from /proc")
def test_a_3000_step_training_loop_runs_in_flat_memory():
    rng = np.random.default_rng(0)
    data, target = rng.standard_normal((64, 8)).astype(np.float32), rng.standard_normal(64).astype(np.float32)
    params = {"w": mnp.asarray(rng.standard_normal((8, 16)).astype(np.float32) * 0.1), "v": mnp.zeros(16)}

    def loss(params, x, y):
        return mnp.mean((mnp.tanh(x @ params["w"]) @ params["v"] - y) ** 2)

    @mlax.jit
    def step(params, x, y):
        value, grads = mlax.value_and_grad(loss)(params, x, y)
        return {k: params[k] - 0.05 * grads[k] for k in params}, value

    def train(steps):
        nonlocal params
        running = mnp.zeros(())
        for _ in range(steps):
            params, value = step(params, data, target)
            running = 0.9 * running + 0.1 * value  # eager ops in the loop too
        return float(running)

    first = train(500)  # warm: compiled programs, eager kernels, allocator pools
    gc.collect()
    before = _resident_bytes()
    last = train(3000)
    gc.collect()
    grown = _resident_bytes() - before
    assert last < first
    assert grown < 8 << 20, f"resident memory grew by {grown / 2**20:.1f} MiB over 3000 steps"


def test_the_tensor_type_cache_is_bounded():
    from iree.compiler import ir
    from mlax.core import mlir
    with mlir.lock, mlir.context(), ir.Location.unknown():
        for n in range(mlir.SHAPE_DTYPE_CACHE_SIZE + 10):
            mlir.shape_dtype(mlir.tensor_type((n + 1,), np.float32))
    assert len(mlir._shape_dtype_cache) <= mlir.SHAPE_DTYPE_CACHE_SIZE


@pytest.mark.parametrize("transform", ["vjp", "linearize"])
def test_returned_functions_keep_the_function_they_were_built_for(transform):
    # Regression: `_, pullback = vjp(lambda ..., x)` left the lambda to a weak reference only, and the pullback
    # then raised ReferenceError once it was collected.
    x = np.arange(3, dtype=np.float32)
    returned = getattr(mlax, transform)(lambda v: v * v, x)[1]
    gc.collect()
    result = returned(np.ones(3, np.float32))
    np.testing.assert_array_equal(result[0] if transform == "vjp" else result, 2 * x)  # (vjp's: one per primal)
