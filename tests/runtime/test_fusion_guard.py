"""A value read through two different broadcasts is not fused into its consumer: IREE 3.13
computes such a fusion wrong (a reduction's result read as `s[:, None]` and `s[None, :]`
came out as zeros off the diagonal). Checked against NumPy under jit, where IREE fuses."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax.runtime.pipeline import trace_program
from mlax.core.aval import ShapedArray
from mlax.tree_util import tree_flatten

# (function of one (n, m) matrix, its NumPy value): each reads a reduction two ways.
OUTER = {
    "outer product of column sums": lambda lnp, x: x.sum(0)[:, None] * x.sum(0)[None, :],
    "outer difference of row maxima": lambda lnp, x: x.max(1)[:, None] - x.max(1)[None, :],
    "keepdims sum times its transpose": lambda lnp, x: x.sum(0, keepdims=True) * x.sum(0, keepdims=True).T,
    "pairwise squared distances": lambda lnp, x: ((x * x).sum(1)[:, None] + (x * x).sum(1)[None, :]
                                                  - 2 * x @ x.T),
    "matrix-vector product, outer": lambda lnp, x: (x @ lnp.ones(x.shape[1], x.dtype))[:, None]
                                                   * (x @ lnp.ones(x.shape[1], x.dtype))[None, :],
    "mean through a divide": lambda lnp, x: (x.mean(1) / 3)[:, None] - (x.mean(1) / 3)[None, :],
    "diagonal differences": lambda lnp, x: (lnp.diagonal(x @ x.T)[None, :] - lnp.diagonal(x @ x.T)[:, None]),
}


@pytest.mark.parametrize("name", sorted(OUTER))
@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(shape=st.tuples(st.sampled_from([1, 2, 3, 17, 64]), st.sampled_from([1, 3, 40])))
def test_reductions_read_two_ways_agree_with_numpy(name, shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    got = np.asarray(mlax.jit(lambda a: OUTER[name](mnp, a))(x))
    expected = OUTER[name](np, x.astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * (1 + np.abs(expected).max()))


def test_second_derivatives_of_eigenvectors_agree_with_finite_differences(x64):
    # The bug's first sighting: the eigenvectors' second derivative reads the eigenvalue gaps
    # w[None, :] - w[:, None], and came out as if the eigenvalues did not move.
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3)).astype(np.float64)
    a, t = a + a.T, np.eye(3) + np.diag([1.0, 2.0], 1) + np.diag([1.0, 2.0], -1)
    first = lambda m: mlax.jvp(lambda v: mnp.linalg.eigh(v)[1] ** 2, (m,), (t,))[1]  # noqa: E731
    second = np.asarray(mlax.jvp(first, (a,), (t,))[1])
    step = 1e-5
    numeric = (np.asarray(first(a + step * t)) - np.asarray(first(a - step * t))) / (2 * step)
    np.testing.assert_allclose(second, numeric, rtol=1e-5, atol=1e-7)


def _barriers(fun, *shapes):
    avals = [ShapedArray(s, np.dtype(np.float32)) for s in shapes]
    program = trace_program(fun, avals, tree_flatten((tuple(avals), {}))[1])
    # Barriers on arguments are reduction_consumers' (tests/runtime/test_reduction_consumers.py).
    text = program.as_text("stablehlo")
    return text.count("stablehlo.optimization_barrier") - text.count("stablehlo.optimization_barrier %arg")


def test_values_read_one_way_keep_their_fusion():
    softmax = lambda x: mnp.exp(x - x.max(1, keepdims=True)) / mnp.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)  # noqa: E731
    layer_norm = lambda x: (x - x.mean(1, keepdims=True)) / mnp.sqrt(x.var(1, keepdims=True) + 1e-5)  # noqa: E731
    transposed = lambda x: x @ x + (x @ x).T  # noqa: E731 - a transpose alone is fused right
    for fun in (softmax, layer_norm, transposed):
        assert _barriers(fun, (8, 8)) == 0
    assert _barriers(lambda x: x.sum(0)[:, None] * x.sum(0)[None, :], (8, 8)) == 1
