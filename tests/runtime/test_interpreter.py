"""The interpreter tier: programs run op by op on shape-polymorphic kernels give the compiled
program's results, and a jitted function's first calls run there while IREE compiles it."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors, lax
from mlax.runtime import interpreter, kernels, pipeline
from mlax.runtime.device import default_device

from conftest import both_tiers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _data(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(dtype)


def _mlp_step(params, x, y):
    def loss(params):
        h = x
        for w, b in params[:-1]:
            h = mnp.maximum(h @ w + b, 0.0)
        logits = h @ params[-1][0] + params[-1][1]
        return -mnp.mean(mnp.sum(mlax.nn.log_softmax(logits) * mlax.nn.one_hot(y, 10), axis=-1))
    value, grads = mlax.value_and_grad(loss)(params)
    return [(w - 0.1 * gw, b - 0.1 * gb) for (w, b), (gw, gb) in zip(params, grads)], value


def _mlp_args():
    sizes = [32, 24, 10]
    params = [(_data(m, n, seed=i), _data(n, seed=i)) for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))]
    return params, _data(16, 32), (np.arange(16) % 10).astype(np.int32)


def _flat_mlp_step(*leaves):
    tree = mlax.tree_util.tree_structure(_mlp_args())
    return mlax.tree_util.tree_leaves(_mlp_step(*mlax.tree_util.tree_unflatten(tree, leaves)))


def _chain(x):
    """34 elementwise ops and reductions (the issue's first-call example)."""
    y = x
    for k in range(6):
        y = mnp.tanh(y * 0.5 + k) - mnp.exp(-mnp.abs(y)) * 0.25
        y = mnp.maximum(y, -0.5) / (1.0 + y * y)
    return y.sum(axis=0), (y - y.mean(axis=1, keepdims=True)).max()


PROGRAMS = {
    "reduce non-adjacent axes": (lambda x: (x.sum(axis=(0, 2)), x.max(axis=(1, 3)), x.min(axis=(0, 3))),
                                 [_data(2, 3, 4, 5)]),
    # Few long rows reduce in two stages (rows of 20000: 160 pieces of 125); the int sum is exact.
    "long rows": (lambda x, i: (x.sum(axis=1), x.max(), x.mean(), i.sum(axis=1), i.min()),
                  [_data(3, 20000), np.arange(60000, dtype=np.int32).reshape(3, 20000) % 1009 - 500]),
    # Float sums of more than 1024 terms add in blocks of 16, as the compiled program does.
    "long float sums": (lambda x: (x.sum(), x.sum(axis=0), x.T.sum(axis=1), x.mean(axis=(0, 1))),
                        [np.full((1000, 1037), 0.1, np.float32)]),
    "transposes that collapse": (lambda x: (x.transpose(2, 3, 0, 1), x.transpose(0, 2, 1, 3), x.transpose(3, 2, 1, 0)),
                                 [_data(2, 3, 4, 5)]),
    "broadcasts": (lambda v, m: (v[:, None] + m, m + v[None, :4],
                                 mnp.broadcast_to(v[None, :, None, None], (2, 4, 3, 5)),
                                 mnp.broadcast_to(np.float32(2.0), (3, 3)) * m[:3, :3]),
                   [_data(4), _data(4, 4)]),
    "contractions": (lambda a, b, v: (a @ b, b.T @ a[0].T, a[0] @ b[:, :3].T.T, mnp.einsum("ij,kj->ik", b, b), mnp.einsum("bij,bkj->bik", a, a), mnp.einsum("bij,jk->bik", a, b),
                                      v @ v, mnp.einsum("bij,b->ij", a, v[:2]), a.T @ v[:2]),
                     [_data(2, 3, 4), _data(4, 5), _data(4)]),
    "dynamic slices, clamped": (lambda x, i: (lax.dynamic_slice(x, (i, i - 2), (2, 3)), lax.dynamic_slice(x, (i * 3, 0),
                                                                                                 (3, 6)),
                                              lax.dynamic_slice_in_dim(x, -i, 2, axis=1)),
                                [_data(5, 6), np.int32(2)]),
    # (IREE cannot measure an unsigned tensor: the kernel measures its signed twin.)
    "dynamic slices of unsigned ints": (lambda x, i: lax.dynamic_slice(x, (i, i - 3), (2, 3)),
                                        [np.arange(30, dtype=np.uint32).reshape(5, 6), np.int32(4)]),
    "slices and joins": (lambda x: (x[1:, ::2], x[::2, 1::3], x[:, 1:3], mnp.concatenate([x, x[:, :2]], axis=1),
                                    mnp.concatenate([x[:1], x], axis=0)),
                         [_data(5, 6)]),
    "constants, iotas, reshapes": (lambda x: (mnp.arange(12.0).reshape(3, 4) + x, (x.reshape(2, 6) * 2).reshape(12),
                                              mnp.ones((3, 4)) * np.pi),
                                   [_data(3, 4)]),
    "integers and booleans": (lambda i, x: ((i * 3 + 1) % 7, i.sum(axis=1), (x > 0).sum(), mnp.where(x > 0, i, -i),
                                            (i >> 1) ^ i, (x > 0) & (i > 0)),
                              [np.arange(12, dtype=np.int32).reshape(3, 4) - 5, _data(3, 4)]),
    "elementwise chain": (_chain, [_data(64, 32)]),
    "scan RNN, value and gradient": (lambda wx, wh, xs: mlax.value_and_grad(
        lambda wx, wh: mnp.sum(lax.scan(lambda h, x: (mnp.tanh(x @ wx + h @ wh), h.sum()), mnp.zeros((2, 4)), xs,
                                        reverse=False)[0] ** 2), (0, 1))(wx, wh),
                                     [_data(3, 4) * 0.5, _data(4, 4) * 0.5, _data(5, 2, 3)]),
    "scan stacking in reverse": (lambda xs: lax.scan(lambda c, x: (c * 0.5 + x, (c, x.sum())), mnp.zeros(3), xs,
                                                     reverse=True), [_data(7, 3)]),
    "while, fori and cond": (lambda x, n: (lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 1.5 + 1),
                                                          (0, x))[1],
                                           lax.fori_loop(0, 5, lambda i, v: v + i * v, x),
                                           lax.cond(n > 2, lambda v: v.sum(), lambda v: v.max(), x),
                                           lax.switch(n, [mnp.sin, mnp.cos, mnp.tanh, mnp.exp], x)),
                             [_data(3), np.int32(3)]),
    "MLP training step": (_flat_mlp_step, mlax.tree_util.tree_leaves(_mlp_args())),
    "hessian": (lambda x: mlax.hessian(lambda v: mnp.sum(mnp.tanh(v) ** 2 * mnp.arange(1.0, 7.0)))(x), [_data(6)]),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_programs_give_the_compiled_results(name):
    fun, args = PROGRAMS[name]
    interpreted, compiled = both_tiers(fun, args)
    assert len(interpreted) == len(compiled) > 0
    for got, expected in zip(interpreted, compiled):
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape)
        if np.issubdtype(got.dtype, np.inexact):
            np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(got, expected)


# -- tiered jit ---------------------------------------------------------------------------------

@pytest.fixture
def tiering():
    with mlax.config.jit_tiering(True):
        yield


def _warm(fun, *args):
    """Compile the kernels `fun` needs for `args`, as `mlax warm` would."""
    interpreter.plan(mlax.jit(fun).lower(*args)._program, default_device(), compile_kernels=True)


def _tanh_matmul(x, w):
    return mnp.tanh(x @ w).sum(axis=0)


def test_first_calls_run_on_the_interpreter_then_on_the_compiled_program(tiering):
    x, w = _data(8, 16), _data(16, 4)
    _warm(_tanh_matmul, x, w)
    f = mlax.jit(_tanh_matmul)
    first = np.asarray(f(x, w))
    (program,) = f._cache.values()
    assert isinstance(program, interpreter.TieredProgram)
    program.compiled()  # wait for the background compilation
    assert program.tier == "compiled"
    np.testing.assert_allclose(np.asarray(f(x, w)), first, rtol=1e-6)
    np.testing.assert_allclose(first, np.tanh(x @ w).sum(axis=0), rtol=1e-5)
    for _ in range(3):  # the fast path switches over too
        np.testing.assert_allclose(np.asarray(f(mnp.asarray(x), mnp.asarray(w))), first, rtol=1e-6)


def test_interpreted_calls_give_the_compiled_results_of_an_mlp_step(tiering):
    params, x, y = _mlp_args()
    _warm(_mlp_step, params, x, y)
    step = mlax.jit(_mlp_step)
    (new_params, value), (program,) = step(params, x, y), step._cache.values()
    assert isinstance(program, interpreter.TieredProgram)
    expected = mlax.tree_util.tree_leaves(program.compiled().out_tree.unflatten(
        program.compiled().call_flat(mlax.tree_util.tree_leaves((params, x, y)))))
    for got, want in zip(mlax.tree_util.tree_leaves((new_params, value)), expected):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-5, atol=1e-6)


def test_calls_from_threads_while_compiling_agree(tiering):
    x, w = _data(8, 16), _data(16, 4)
    _warm(_tanh_matmul, x, w)
    f, results = mlax.jit(_tanh_matmul), []
    threads = [threading.Thread(target=lambda: results.append(np.asarray(f(x, w)))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for result in results:
        np.testing.assert_allclose(result, np.tanh(x @ w).sum(axis=0), rtol=1e-5)


def test_programs_the_interpreter_cannot_run_compile_first(tiering, monkeypatch):
    x = _data(8, 16)
    sorted_ = mlax.jit(lambda x: mnp.sort(x, axis=1) * 2)  # sort has no kernel form
    sorted_(x)
    assert isinstance(next(iter(sorted_._cache.values())), pipeline.CompiledProgram)
    monkeypatch.setattr(kernels, "load", lambda *args, **kwargs: None)  # a kernel missing from the library
    cold = mlax.jit(lambda x: x * 3.0 + 1.0)
    np.testing.assert_allclose(np.asarray(cold(x)), x * 3 + 1, rtol=1e-5, atol=1e-6)
    assert isinstance(next(iter(cold._cache.values())), pipeline.CompiledProgram)


def test_tiering_off_compiles_before_the_first_call():
    x, w = _data(8, 16), _data(16, 4)
    _warm(_tanh_matmul, x, w)
    with mlax.config.jit_tiering(False):
        f = mlax.jit(_tanh_matmul)
        f(x, w)
    assert isinstance(next(iter(f._cache.values())), pipeline.CompiledProgram)
    with mlax.config.jit_tiering(True):  # lower().compile() compiles now, whatever the setting
        compiled = mlax.jit(_tanh_matmul).lower(x, w).compile()
    assert isinstance(compiled._compiled, pipeline.CompiledProgram)


def test_a_failed_background_compilation_raises_at_the_next_call(tiering, monkeypatch):
    x, w = _data(8, 16), _data(16, 4)
    _warm(_tanh_matmul, x, w)

    first_call_done = threading.Event()

    def fail(self, backend_name, device=None, cached_only=False):
        first_call_done.wait(60)
        raise errors.CompilationError("IREE compilation for backend 'cpu'", "injected failure")
    monkeypatch.setattr(pipeline.Program, "compile", fail)
    f = mlax.jit(_tanh_matmul)
    np.testing.assert_allclose(np.asarray(f(x, w)), np.tanh(x @ w).sum(axis=0), rtol=1e-5)
    first_call_done.set()
    with pytest.raises(errors.CompilationError, match="injected failure"):
        next(iter(f._cache.values())).compiled()
    with pytest.raises(errors.CompilationError, match="injected failure"):
        f(x, w)


def test_exiting_during_a_background_compilation_is_clean(tiering):
    # The process left while IREE compiled the program: it crashed in its final cleanup.
    x, w = _data(8, 16), _data(16, 4)
    _warm(_tanh_matmul, x, w)
    script = ("import numpy as np, mlax, mlax.numpy as mnp\n"
              "mlax.config.update('mlax_jit_tiering', True)\n"
              "f = mlax.jit(lambda x, w: mnp.tanh(x @ w).sum(axis=0))\n"
              "x, w = np.full((8, 16), 0.1, np.float32), np.full((16, 4), 0.2, np.float32)\n"
              "print(np.asarray(f(x, w))[0], type(next(iter(f._cache.values()))).__name__)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))
    assert done.returncode == 0, done.stderr
    assert "TieredProgram" in done.stdout


def test_the_library_holds_the_kernels_of_an_mlp_step(monkeypatch):
    needed = []
    load = kernels.load
    monkeypatch.setattr(kernels, "load", lambda spec, *args, **kwargs: needed.append(spec.key) or load(
        spec, *args, **kwargs))
    interpreter.plan(mlax.jit(_mlp_step).lower(*_mlp_args())._program, default_device(), compile_kernels=True)
    library = {spec.key for spec in interpreter.library()}
    assert needed and [key for key in needed if key not in library] == []


def test_warm_reports_each_kernel(monkeypatch, capsys):
    from mlax import cli

    specs = interpreter.library()[:2]
    monkeypatch.setattr(interpreter, "library", lambda: specs)
    assert cli.main(["warm"]) == 0
    out, err = capsys.readouterr()
    assert f"2 of 2 kernels for {default_device()}" in out and "[2/2]" in err


def test_log_compiles_names_the_tier(tiering, caplog):
    x, w = _data(8, 16), _data(16, 4)
    _warm(_tanh_matmul, x, w)
    f = mlax.jit(_tanh_matmul)
    with mlax.config.log_compiles(True), caplog.at_level("WARNING", logger="mlax"):
        f(x, w)
        next(iter(f._cache.values())).compiled()
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith(f"Running _tanh_matmul for [f32[8,16], f32[16,4]] on {default_device()} on the "
                               "interpreter tier") for line in lines), lines
    assert any(line.startswith("Compiled _tanh_matmul for [f32[8,16], f32[16,4]]") and "IREE:" in line
               for line in lines), lines
