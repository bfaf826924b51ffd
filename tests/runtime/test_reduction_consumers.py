"""Each user of an elementwise op that reads a reduction's result gets its own copy of it
(runtime/reduction_consumers.py), so IREE does not write the op's full-size result out from
the reduction's dispatch. Checked against NumPy under jit, and on the lowered text."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax.runtime import reduction_consumers


def _layer_norm(lnp, x):
    centred = x - x.mean(-1, keepdims=True)
    return centred / lnp.sqrt((centred * centred).mean(-1, keepdims=True) + 1e-5)


def _log_softmax(lnp, x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - lnp.log(lnp.exp(shifted).sum(-1, keepdims=True))


def _standardized_columns(lnp, x):
    scaled = (x - x.mean(0)) * 0.5
    return scaled / lnp.sqrt((scaled * scaled).sum(0) + 1e-3) + scaled


# (function of one matrix, in NumPy or mlax.numpy): each reads a reduction through an
# elementwise op with several users.
PROGRAMS = {"layer norm": _layer_norm, "log softmax": _log_softmax, "standardized columns": _standardized_columns}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(shape=st.tuples(st.sampled_from([1, 3, 17, 64]), st.sampled_from([2, 5, 40, 1024])))
def test_programs_with_shared_reduction_consumers_agree_with_numpy(name, shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32) * 3 + 1
    got = np.asarray(mlax.jit(lambda a: PROGRAMS[name](mnp, a))(x))
    expected = PROGRAMS[name](np, x.astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5 * (1 + np.abs(expected).max()))


def _stablehlo(fun, *shapes):
    return mlax.jit(fun).lower(*(np.ones(s, np.float32) for s in shapes)).as_text("stablehlo")


def test_layer_norm_centres_once_per_user():
    text = _stablehlo(lambda x: _layer_norm(mnp, x), (8, 16))
    assert text.count("stablehlo.subtract") == 2
    assert text.count("stablehlo.optimization_barrier %arg0") == 1


def test_ops_reading_no_reduction_stay_shared():
    def fun(x):
        doubled = x * 2
        return doubled + mnp.maximum(doubled, 1.0)
    text = _stablehlo(fun, (8, 16))
    assert text.count("stablehlo.multiply") == 1
    assert "optimization_barrier" not in text


def test_contractions_are_not_recomputed():
    # A square matrix product has one shape throughout, like an elementwise op.
    def fun(x):
        product = (x - x.sum(0)) @ x
        return product.sum() + product * 2
    text = _stablehlo(fun, (8, 8))
    assert text.count("stablehlo.dot_general") == 1
    assert text.count("stablehlo.subtract") == 1


def test_long_chains_stay_shared(monkeypatch):
    steps = reduction_consumers.LARGEST_COPY // 2  # two ops or more each

    def fun(x):
        y = x - x.mean(-1, keepdims=True)
        for _ in range(steps):
            y = y * 1.5 + 0.25
        return y.sum(-1, keepdims=True) * y
    assert "optimization_barrier" not in _stablehlo(fun, (4, 8))
    monkeypatch.setattr(reduction_consumers, "LARGEST_COPY", 16 * reduction_consumers.LARGEST_COPY)
    assert "optimization_barrier %arg0" in _stablehlo(lambda x: fun(x), (4, 8))  # a new function: traced again


def test_loop_bodies_keep_their_ops_shared():
    # Copies with barriers on a loop body's arguments (the pivoting steps of an LU solve here)
    # made IREE 3.13 build a program that failed at its first call; only entry functions get them.
    def solves(a, b):
        m = a @ a.T + 3 * mnp.eye(3, dtype=np.float32)
        return [mlax.lax.custom_linear_solve(lambda x: m @ x, b, lambda _, v: mnp.linalg.solve(m, v),
                                             symmetric=symmetric) for symmetric in (False, True)]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    expected = np.linalg.solve(a.astype(np.float64) @ a.T + 3 * np.eye(3), b)
    for got in mlax.jit(solves)(a, b):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
