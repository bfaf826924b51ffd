"""Elementwise ops of splats feeding a reduction agree with NumPy under jit: IREE 3.13
reduced a kernel computed from splats alone as if it had one element per row
(`jnp.sum(-jnp.ones((2, 3)), axis=1)` gave [-1, -1])."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax import lax, nn

# (function of a runtime (n, m) matrix, which it only adds at the end so that IREE does not fold the rest away.)
SPLATS = {
    "sum of a negated splat": lambda lnp, x: (-lnp.ones(x.shape, x.dtype)).sum(1)[:, None] + x,
    "sum of exp of a splat": lambda lnp, x: lnp.exp(lnp.zeros(x.shape, x.dtype)).sum(1)[:, None] + x,
    "sum of a negated full": lambda lnp, x: (-lnp.full(x.shape, 2.0, x.dtype)).sum() + x,
    "sum of a select of splats": lambda lnp, x: lnp.where(lnp.ones(x.shape) > 0, -lnp.ones(x.shape, x.dtype),
                                                          0).sum(1)[:, None] + x,
    "min of a negated broadcast": lambda lnp, x: (-lnp.broadcast_to(lnp.asarray(3.0, x.dtype), x.shape)).min(0) + x,
}


@pytest.mark.parametrize("name", sorted(SPLATS))
@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(shape=st.tuples(st.sampled_from([1, 2, 5]), st.sampled_from([1, 3, 33])))
def test_reductions_of_splat_expressions_agree_with_numpy(name, shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    got = np.asarray(mlax.jit(lambda a: SPLATS[name](mnp, a))(x))
    np.testing.assert_allclose(got, SPLATS[name](np, x), rtol=1e-6)


def test_gradients_whose_cotangent_is_a_negated_splat():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    c = np.array([1.0, 2.0, 3.0], np.float32)
    grad = mlax.jit(mlax.grad(lambda v: (mnp.broadcast_to(c, v.shape) - v).sum()))(x)
    np.testing.assert_array_equal(grad, -np.ones_like(x))
    # d/dx sum(log_softmax(x)) = 1 - n * softmax(x) along the normalized axis.
    grad = mlax.jit(mlax.grad(lambda v: nn.log_softmax(v).sum()))(x)
    softmax = np.exp(x - x.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    np.testing.assert_allclose(grad, 1 - 3 * softmax, rtol=1e-5, atol=1e-6)


def test_splats_of_runtime_scalars_and_comparisons_keep_their_dtype():
    x = np.float32(2.5)
    counted = mlax.jit(lambda s: (lax.broadcast(s, (4, 3)) > 1).sum(1))(x)
    assert counted.dtype == np.int32
    np.testing.assert_array_equal(counted, [3, 3, 3, 3])
