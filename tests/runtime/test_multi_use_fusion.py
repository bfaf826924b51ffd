"""A program where IREE 3.13's multi-use fusion wires a consumer to the wrong result of a
two-result elementwise dispatch: the Hessian-vector product of one function in
forward-over-reverse and in reverse-over-forward mode, returned together, comes out wrong in
both (each alone is right; XLA runs mlax's StableHLO right). Since runtime/reduction_consumers.py
gives each user of an elementwise op reading the row sums its own copy, IREE no longer forms
that dispatch and both are right; IREE's fault is still there for a program that makes such a
dispatch another way. (--iree-dispatch-creation-fuse-multi-use=false fixed it too, but broke
reduce_window.)"""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp


def _scaled_cube(v):
    f = mnp.sum(v, axis=1, keepdims=True) * v
    return (f * f * f * 0.5).sum()


def _hessian_vector_products(x, t):
    grad = mlax.grad(_scaled_cube)
    forward_over_reverse = mlax.jvp(grad, (x,), (t,))[1]
    reverse_over_forward = mlax.grad(lambda u: mlax.jvp(_scaled_cube, (u,), (t,))[1])(x)
    return forward_over_reverse, reverse_over_forward


@pytest.mark.parametrize("rows", [3, 8])
def test_hessian_vector_products_in_both_modes_in_one_program(rows):
    rng = np.random.default_rng(rows)
    x, t = rng.standard_normal((2, rows, 2)).astype(np.float32)
    together = mlax.jit(_hessian_vector_products)(x, t)
    # The Hessian of 0.5 * sum(f**3), f = s * v with s the row sums, applied to t, by hand:
    s, ds = x.sum(1, keepdims=True), t.sum(1, keepdims=True)
    f, df = s * x, ds * x + s * t
    first = 1.5 * f * f  # d/df of 0.5 f**3
    second = 3.0 * f * df
    # grad = s * first + sum_j(first * x) along each row; its derivative along t:
    expected = ds * first + s * second + (second * x + first * t).sum(1, keepdims=True)
    for got in together:
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
