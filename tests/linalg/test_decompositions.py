"""mlax.lax.linalg and the decompositions of mlax.numpy.linalg: results against NumPy,
batched, under jit and vmap; derivatives against finite differences; errors."""

import itertools

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax.lax import linalg

RNG = np.random.default_rng(7)


def _random(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def _spd(*shape):
    m = _random(*shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1], dtype=np.float32)


def _directional_difference(f, x, direction, eps=1e-3):
    """Central difference of f at x along direction, with f evaluated in float64 by NumPy."""
    x, direction = np.asarray(x, np.float64), np.asarray(direction, np.float64)
    return (f(x + eps * direction) - f(x - eps * direction)) / (2 * eps)


@pytest.mark.parametrize("left_side,lower,transpose_a,unit_diagonal",
                         list(itertools.product([True, False], repeat=4)))
def test_triangular_solve_every_side_triangle_and_transpose(left_side, lower, transpose_a, unit_diagonal):
    a = _random(2, 5, 5) * 0.3 + 2 * np.eye(5, dtype=np.float32)
    b = _random(2, 5, 3) if left_side else _random(2, 3, 5)
    x = linalg.triangular_solve(a, b, left_side=left_side, lower=lower, transpose_a=transpose_a,
                                unit_diagonal=unit_diagonal)
    matrix = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        matrix = matrix - matrix * np.eye(5) + np.eye(5)
    if transpose_a:
        matrix = np.swapaxes(matrix, -1, -2)
    product = matrix @ np.asarray(x) if left_side else np.asarray(x) @ matrix
    np.testing.assert_allclose(product, b, atol=1e-5)


def test_cholesky_matches_numpy_and_its_derivative_finite_differences():
    a = _spd(3, 5, 5)
    np.testing.assert_allclose(linalg.cholesky(a), np.linalg.cholesky(a), atol=1e-5)
    np.testing.assert_allclose(mlax.vmap(linalg.cholesky)(a), np.linalg.cholesky(a), atol=1e-5)
    direction = _random(3, 5, 5)
    direction = direction + np.swapaxes(direction, -1, -2)
    _, tangent = mlax.jvp(linalg.cholesky, (a,), (direction,))
    np.testing.assert_allclose(tangent, _directional_difference(np.linalg.cholesky, a, direction), atol=1e-3)
    loss = lambda a: mnp.sum(mnp.sin(linalg.cholesky(a)))
    gradient = np.asarray(mlax.grad(loss)(a))
    expected = _directional_difference(lambda a: np.sum(np.sin(np.linalg.cholesky(a))), a, direction)
    np.testing.assert_allclose(np.sum(gradient * direction), expected, rtol=1e-3)
    assert np.isnan(np.asarray(linalg.cholesky(-a))).any()  # not positive definite: NaNs, as JAX
