"""mlax.lax.linalg and the decompositions of mlax.numpy.linalg: results against NumPy,
batched, under jit and vmap; derivatives against finite differences; errors."""

import itertools

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax.lax import linalg

RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _same_draws_whatever_the_order():
    global RNG
    RNG = np.random.default_rng(7)


def _random(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def _spd(*shape):
    m = _random(*shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1], dtype=np.float32)


def _directional_difference(f, x, direction, eps=1e-3):
    """Central difference of f at x along direction, with f evaluated in double precision by NumPy."""
    precision = np.result_type(np.asarray(x).dtype, np.float64)
    x, direction = np.asarray(x, precision), np.asarray(direction, precision)
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


@pytest.mark.gpu
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


def _check_gradient(loss, numpy_loss, x, rtol=2e-3):
    """grad(loss) along a random direction against a float64 central difference of numpy_loss."""
    direction = _random(*np.shape(x))
    gradient = np.asarray(mlax.grad(loss)(x), np.float64)
    expected = _directional_difference(numpy_loss, x, direction, eps=1e-4)
    np.testing.assert_allclose(np.sum(gradient * direction), expected, rtol=rtol, atol=1e-4)


def test_lu_matches_scipy_and_reconstructs():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = _random(3, 5, 5)
    packed, pivots, permutation = (np.asarray(v) for v in linalg.lu(a))
    for i in range(3):
        expected_packed, expected_pivots = scipy_linalg.lu_factor(a[i])
        np.testing.assert_allclose(packed[i], expected_packed, atol=1e-5)
        np.testing.assert_array_equal(pivots[i], expected_pivots)
        lower, upper = np.tril(packed[i], -1) + np.eye(5), np.triu(packed[i])
        np.testing.assert_allclose(lower @ upper, a[i][permutation[i]], atol=1e-5)
    singular = np.array([[1, 2, 3], [2, 4, 6], [1, 0, 1]], np.float32)
    assert np.isfinite(np.asarray(linalg.lu(singular)[0])).all()
    _check_gradient(lambda a: mnp.sum(mnp.sin(linalg.lu(a)[0])),
                    lambda a: sum(np.sum(np.sin(scipy_linalg.lu_factor(m)[0])) for m in a), a)


@pytest.mark.gpu
def test_solve_inv_det_slogdet_match_numpy():
    a, vector, matrices = _random(3, 4, 4), _random(4), _random(3, 4, 2)
    np.testing.assert_allclose(mnp.linalg.solve(a, vector), np.linalg.solve(a, vector), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.solve(a, matrices), np.linalg.solve(a, matrices), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.solve(a[0], matrices), np.linalg.solve(a[0], matrices), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.inv(a), np.linalg.inv(a), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.det(a), np.linalg.det(a), rtol=1e-5)
    sign, logabsdet = mnp.linalg.slogdet(a)
    np.testing.assert_allclose(sign, np.linalg.slogdet(a).sign)
    np.testing.assert_allclose(logabsdet, np.linalg.slogdet(a).logabsdet, rtol=1e-5)
    assert float(mnp.linalg.det(np.zeros((3, 3), np.float32))) == 0.0
    assert tuple(map(float, mnp.linalg.slogdet(np.zeros((2, 2), np.float32)))) == (0.0, -np.inf)
    complex_matrix = np.array([[1 + 1j, 2], [3, 4j]], np.complex64)
    np.testing.assert_allclose(mnp.linalg.det(complex_matrix), np.linalg.det(complex_matrix), rtol=1e-6)
    np.testing.assert_allclose(mnp.linalg.slogdet(complex_matrix).sign, np.linalg.slogdet(complex_matrix).sign,
                               rtol=1e-6)
    np.testing.assert_allclose(mlax.jit(mnp.linalg.inv)(a), np.linalg.inv(a), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mlax.vmap(mnp.linalg.det)(a), np.linalg.det(a), rtol=1e-5)


def test_solve_inv_det_gradients():
    a, rhs = _random(3, 4, 4), _random(3, 4, 2)
    _check_gradient(lambda a: mnp.sum(mnp.linalg.solve(a, rhs) ** 2), lambda a: np.sum(np.linalg.solve(a, rhs) ** 2), a)
    _check_gradient(lambda a: mnp.sum(mnp.sin(mnp.linalg.inv(a))), lambda a: np.sum(np.sin(np.linalg.inv(a))), a)
    _check_gradient(lambda a: mnp.sum(mnp.linalg.det(a)), lambda a: np.sum(np.linalg.det(a)), a)
    _check_gradient(lambda b: mnp.sum(mnp.linalg.solve(a, b) ** 2), lambda b: np.sum(np.linalg.solve(a, b) ** 2), rhs)


@pytest.mark.parametrize("shape", [(5, 5), (6, 4), (4, 6), (2, 6, 3)])
def test_qr_matches_numpy_in_every_mode(shape):
    a = _random(*shape)
    for mode in ("reduced", "complete"):
        q, r = mnp.linalg.qr(a, mode=mode)
        expected_q, expected_r = np.linalg.qr(a, mode=mode)
        np.testing.assert_allclose(q, expected_q, atol=1e-5)
        np.testing.assert_allclose(r, expected_r, atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.qr(a, mode="r"), np.linalg.qr(a, mode="r"), atol=1e-5)


def test_complex_qr_is_unitary_times_triangular():
    a = (_random(5, 3) + 1j * _random(5, 3)).astype(np.complex64)
    q, r = (np.asarray(v) for v in mnp.linalg.qr(a))
    np.testing.assert_allclose(q @ r, a, atol=1e-5)
    np.testing.assert_allclose(q.conj().T @ q, np.eye(3), atol=1e-5)
    assert np.all(np.tril(r, -1) == 0)


def test_qr_derivatives():
    a = _random(6, 4)
    direction = _random(6, 4)
    _, (q_dot, r_dot) = mlax.jvp(lambda a: linalg.qr(a, full_matrices=False), (a,), (direction,))
    for index, tangent in enumerate((q_dot, r_dot)):
        expected = _directional_difference(lambda a: np.linalg.qr(a)[index], a, direction, eps=1e-4)
        np.testing.assert_allclose(tangent, expected, atol=1e-3)
    _check_gradient(lambda a: mnp.sum(mnp.sin(mnp.linalg.qr(a).Q)) + mnp.sum(mnp.linalg.qr(a).R ** 2),
                    lambda a: np.sum(np.sin(np.linalg.qr(a).Q)) + np.sum(np.linalg.qr(a).R ** 2), a)
    # The complete columns are not unique, but the projector onto them is.
    weights = _random(6, 6)
    _check_gradient(lambda a: mnp.sum(mnp.linalg.qr(a, "complete").Q[:, 4:] @ mnp.linalg.qr(a, "complete").Q[:, 4:].T
                                      * weights),
                    lambda a: np.sum(np.linalg.qr(a, "complete").Q[:, 4:] @ np.linalg.qr(a, "complete").Q[:, 4:].T
                                     * weights), a)
    wide = _random(3, 5)
    _check_gradient(lambda a: mnp.sum(mnp.linalg.qr(a).R ** 3), lambda a: np.sum(np.linalg.qr(a).R ** 3), wide)


@pytest.mark.gpu
def test_eigh_matches_numpy_and_its_derivatives():
    m = _random(3, 6, 6)
    a = m + np.swapaxes(m, -1, -2)
    w, v = (np.asarray(x) for x in mnp.linalg.eigh(a))
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), atol=1e-4)
    np.testing.assert_allclose(v @ (w[..., None] * np.swapaxes(v, -1, -2)), a, atol=5e-4)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(6), a.shape), atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.eigvalsh(np.triu(a), UPLO="U", symmetrize_input=False),
                               np.linalg.eigvalsh(a), atol=1e-4)
    np.testing.assert_allclose(mlax.vmap(mnp.linalg.eigvalsh)(a), np.linalg.eigvalsh(a), atol=1e-4)
    single = a[0]
    # Eigenvectors are defined up to sign: the loss uses |v|. eigh symmetrizes its input.
    _check_gradient(lambda a: mnp.sum(mnp.linalg.eigh(a).eigenvalues ** 3)
                    + mnp.sum(mnp.abs(mnp.linalg.eigh(a).eigenvectors[:, 0])),
                    lambda a: np.sum(np.linalg.eigh((a + a.T) / 2)[0] ** 3)
                    + np.sum(np.abs(np.linalg.eigh((a + a.T) / 2)[1][:, 0])), single)
    # Repeated eigenvalues: their gradient is still finite.
    gradient = mlax.grad(lambda a: mnp.sum(mnp.linalg.eigvalsh(a) ** 2))(np.eye(4, dtype=np.float32))
    np.testing.assert_allclose(gradient, 2 * np.eye(4), atol=1e-5)


def test_complex_hermitian_eigh():
    m = (_random(3, 5, 5) + 1j * _random(3, 5, 5)).astype(np.complex64)
    a = m + np.swapaxes(m, -1, -2).conj()
    w, v = (np.asarray(x) for x in mnp.linalg.eigh(a))
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), atol=1e-4)
    np.testing.assert_allclose(v @ (w[..., None] * np.swapaxes(v, -1, -2).conj()), a, atol=1e-4)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2).conj() @ v, np.broadcast_to(np.eye(5), a.shape), atol=1e-5)
    direction = (_random(5, 5) + 1j * _random(5, 5)).astype(np.complex64)
    direction = direction + direction.conj().T
    _, (_, w_dot) = mlax.jvp(linalg.eigh, (a[0],), (direction,))
    np.testing.assert_allclose(w_dot, _directional_difference(np.linalg.eigvalsh, a[0], direction), atol=1e-3)
    # A real loss of complex input: its gradient g gives the derivative Re(sum(g * direction)).
    gradient = np.asarray(mlax.grad(lambda a: mnp.sum(mnp.linalg.eigvalsh(a) ** 2))(a[0]))
    expected = _directional_difference(lambda a: np.sum(np.linalg.eigvalsh(a) ** 2), a[0], direction)
    np.testing.assert_allclose(np.real(np.sum(gradient * direction)), expected, rtol=1e-3)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (2, 5, 3), (3, 3)])
@pytest.mark.gpu
def test_svd_matches_numpy(shape):
    a = _random(*shape)
    k = min(shape[-2:])
    for full in (True, False):
        u, s, vh = (np.asarray(x) for x in mnp.linalg.svd(a, full_matrices=full))
        expected_u, expected_s, expected_vh = np.linalg.svd(a, full_matrices=full)
        assert u.shape == expected_u.shape and vh.shape == expected_vh.shape
        np.testing.assert_allclose(s, expected_s, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], a, atol=1e-5)
        for orthonormal in (np.swapaxes(u, -1, -2) @ u, vh @ np.swapaxes(vh, -1, -2)):
            np.testing.assert_allclose(orthonormal, np.broadcast_to(np.eye(orthonormal.shape[-1]), orthonormal.shape),
                                       atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.svd(a, compute_uv=False), np.linalg.svd(a, compute_uv=False), atol=1e-5)


def test_hermitian_svd_as_jax():
    # JAX decomposes with eigh: S = |eigenvalues| descending, U the eigenvectors, Vh = (U * sign)^H.
    a = np.array([[2.0, 1.0, 0.5], [1.0, -3.0, 0.2], [0.5, 0.2, 1.0]], np.float32)
    u, s, vh = (np.asarray(x) for x in mnp.linalg.svd(a, hermitian=True))
    eigenvalues = np.linalg.eigvalsh(a)
    np.testing.assert_allclose(s, np.sort(np.abs(eigenvalues))[::-1], rtol=1e-5)
    np.testing.assert_allclose((u * s) @ vh, a, atol=1e-5)
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(vh, (u * np.sign(eigenvalues[np.argsort(-np.abs(eigenvalues))])).T, atol=1e-5)
    np.testing.assert_allclose(mnp.linalg.svd(a, compute_uv=False, hermitian=True), s, rtol=1e-6)
    # A matrix that is not symmetric is symmetrized first (as by JAX's eigh), unlike by the general SVD.
    skewed = a + np.triu(a, 1)
    np.testing.assert_allclose(mnp.linalg.svd(skewed, compute_uv=False, hermitian=True),
                               np.linalg.svd((skewed + skewed.T) / 2, compute_uv=False), rtol=1e-5)


def test_complex_svd_and_its_gradients():
    a = (_random(2, 5, 3) + 1j * _random(2, 5, 3)).astype(np.complex64)
    for full in (True, False):
        u, s, vh = (np.asarray(x) for x in mnp.linalg.svd(a, full_matrices=full))
        np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose((u[..., :3] * s[..., None, :]) @ vh, a, atol=1e-5)
        np.testing.assert_allclose(np.swapaxes(u, -1, -2).conj() @ u, np.broadcast_to(np.eye(u.shape[-1]),
                                   a.shape[:1] + (u.shape[-1],) * 2), atol=1e-5)
    wide = np.swapaxes(a[0], 0, 1).conj()
    np.testing.assert_allclose(mnp.linalg.svd(wide, compute_uv=False), np.linalg.svd(wide, compute_uv=False),
                               rtol=1e-5)
    # Losses that do not depend on the singular vectors' phases; derivative = Re(sum(g * direction)).
    weights = _random(5, 3)
    direction = (_random(5, 3) + 1j * _random(5, 3)).astype(np.complex64)
    for loss, numpy_loss in [
            (lambda a: mnp.sum(mnp.linalg.svd(a, compute_uv=False) ** 3),
             lambda a: np.sum(np.linalg.svd(a, compute_uv=False) ** 3)),
            (lambda a: mnp.sum(mnp.abs(mnp.linalg.svd(a, False).U * mnp.linalg.svd(a, False).S) ** 2 * weights),
             lambda a: np.sum(np.abs(np.linalg.svd(a, False)[0] * np.linalg.svd(a, False)[1]) ** 2 * weights))]:
        gradient = np.asarray(mlax.grad(loss)(a[0]))
        expected = _directional_difference(numpy_loss, a[0], direction, eps=1e-4)
        np.testing.assert_allclose(np.real(np.sum(gradient * direction)), expected, rtol=2e-3)


def test_svd_of_rank_deficient_matrix_and_derivatives():
    a = _random(5, 3)
    a[:, 2] = a[:, 0]
    u, s, _ = (np.asarray(x) for x in mnp.linalg.svd(a))
    assert s[2] < 1e-5
    np.testing.assert_allclose(u.T @ u, np.eye(5), atol=1e-5)
    a = _random(5, 4)
    _check_gradient(lambda a: mnp.sum(mnp.linalg.svd(a).S ** 3) + mnp.sum(mnp.abs(mnp.linalg.svd(a, False).U[:, 0])),
                    lambda a: np.sum(np.linalg.svd(a)[1] ** 3) + np.sum(np.abs(np.linalg.svd(a, False)[0][:, 0])), a)
    nuclear_gradient = mlax.grad(lambda a: mnp.linalg.norm(a, "nuc"))(a)
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(nuclear_gradient, u @ vh, atol=1e-5)


@pytest.mark.parametrize("order", [2, -2, "nuc"])
def test_matrix_norms_from_singular_values(order):
    a = _random(3, 4, 5)
    np.testing.assert_allclose(mnp.linalg.norm(a, order, axis=(1, 2)), np.linalg.norm(a, order, axis=(1, 2)),
                               rtol=1e-5)
    np.testing.assert_allclose(mnp.linalg.norm(a, order, axis=(2, 0), keepdims=True),
                               np.linalg.norm(a, order, axis=(2, 0), keepdims=True), rtol=1e-5)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"inv: needs a \(batch of\) square matrices, got shape \(2, 3\)"):
        mnp.linalg.inv(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"det: .*got shape \(3,\)"):
        mnp.linalg.det(np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"solve: a of shape \(3, 3\) and b of shape \(4,\) do not match"):
        mnp.linalg.solve(np.eye(3, dtype=np.float32), np.ones(4, np.float32))
    with pytest.raises(ValueError, match="mode must be 'reduced', 'complete' or 'r', got 'raw'"):
        mnp.linalg.qr(np.eye(3, dtype=np.float32), mode="raw")
    with pytest.raises(TypeError, match="cholesky: needs a floating or complex matrix, got int32"):
        linalg.cholesky(mnp.ones((2, 2), mnp.int32))
    with pytest.raises(TypeError, match=r"triangular_solve: shapes \(3, 3\) and \(2, 1\) do not match"):
        linalg.triangular_solve(np.eye(3, dtype=np.float32), np.ones((2, 1), np.float32), left_side=True)


def test_gaussian_process_likelihood_gradient():
    # Cholesky, a triangular solve and a log-determinant under jit(grad): the composition
    # of a GP's negative log marginal likelihood in its kernel length scale.
    points = _random(12, 2)
    targets = np.sin(points[:, :1])

    def negative_log_likelihood(log_scale):
        distances = mnp.sum((points[:, None, :] - points[None, :, :]) ** 2, -1)
        kernel = mnp.exp(-distances / (2 * mnp.exp(2 * log_scale))) + 1e-2 * mnp.eye(12)
        factor = mnp.linalg.cholesky(kernel)
        alpha = linalg.triangular_solve(factor, targets, left_side=True, lower=True)
        return 0.5 * mnp.sum(alpha ** 2) + mnp.sum(mnp.log(mnp.diagonal(factor)))

    def reference(log_scale):
        distances = np.sum((points[:, None, :] - points[None, :, :]) ** 2, -1).astype(np.float64)
        kernel = np.exp(-distances / (2 * np.exp(2 * log_scale))) + 1e-2 * np.eye(12)
        factor = np.linalg.cholesky(kernel)
        alpha = np.linalg.solve(factor, targets)
        return 0.5 * np.sum(alpha ** 2) + np.sum(np.log(np.diag(factor)))
    gradient = float(mlax.jit(mlax.grad(negative_log_likelihood))(0.3))
    np.testing.assert_allclose(gradient, (reference(0.3 + 1e-5) - reference(0.3 - 1e-5)) / 2e-5, rtol=1e-3)
