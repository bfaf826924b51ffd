"""mlax.numpy.linalg.eig and eigvals against JAX's (LAPACK's geev): eigenvalues, eigenvectors,
dtypes, batches, vmap and jit, derivatives (eigvals' JVP and gradient; eig's JVP against JAX's
jax.lax.linalg.eig with enable_eigvec_derivs=True), special matrices (a cycle that needs an
exceptional shift, defective and diagonal ones, 0 x 0 and 1 x 1, NaN); and
mlax.scipy.linalg.solve_sylvester, which is built on the same Schur decomposition.

The order of the eigenvalues is the order of each library's Schur form, so the results are
compared after matching mlax's eigenvalues to JAX's (nearest first); eigenvectors are fixed only
up to a phase per column (LAPACK leaves a real eigenvector's sign to its algorithm), so each of
mlax's columns is compared after turning it to the phase of JAX's, and so is its derivative."""

import itertools

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import mlax
import mlax.numpy as mnp
import mlax.scipy.linalg as msl
import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

jax.config.update("jax_platforms", "cpu")

EXAMPLES = settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=(Phase.generate,))
# Real 3 x 3 matrices with distinct eigenvalues: one with a complex pair, one with real ones.
ROTATING = np.array([[1.0, -2.0, 0.5], [2.0, 1.0, 0.3], [0.1, 0.2, -3.0]], np.float32)
SPREAD = np.array([[4.0, 1.0, -0.5], [0.3, -2.0, 1.0], [0.5, 0.2, 1.0]], np.float32)
SPECIAL = {
    "cycle (needs an exceptional shift)": np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], np.float32),
    "diagonal": np.diag([3.0, -1.0, 2.0]).astype(np.float32),
    "upper triangular": np.triu(SPREAD),
    "zero": np.zeros((3, 3), np.float32),
    "symmetric": SPREAD + SPREAD.T,
}
DEFECTIVE = np.array([[2.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.0, 0.0, 2.0]], np.float32)
noise = st.lists(st.floats(-1, 1, width=32), min_size=18, max_size=18).map(lambda v: np.array(v, np.float32))


def _matching(got, expected):
    """The permutation p (of the last axis) with got[p] nearest expected, over all permutations."""
    return min(itertools.permutations(range(len(got))),
               key=lambda p: np.abs(np.asarray(got)[list(p)] - expected).sum())


def _check_eig(w, v, w_jax, v_jax, what, tol=2e-4):
    """mlax's eigenpairs (w, v) of one matrix against JAX's, up to order and each column's phase."""
    w, v, w_jax, v_jax = (np.asarray(x) for x in (w, v, w_jax, v_jax))
    assert (w.dtype, v.dtype, w.shape, v.shape) == (w_jax.dtype, v_jax.dtype, w_jax.shape, v_jax.shape), what
    order = list(_matching(w, w_jax))
    np.testing.assert_allclose(w[order], w_jax, rtol=tol, atol=tol, err_msg=what)
    v = v[:, order]
    phase = np.sum(np.conj(v) * v_jax, axis=0)
    phase = phase / np.abs(phase)
    np.testing.assert_allclose(v * phase, v_jax, rtol=tol, atol=tol, err_msg=what)
    np.testing.assert_allclose(np.linalg.norm(v, axis=0), 1, rtol=tol, err_msg=what)
    # LAPACK's convention for complex eigenvectors, which mlax applies to all: largest entry real, positive.
    # (Of entries of equal magnitude, rounding decides which is the largest.)
    magnitude = np.abs(v)
    largest = (magnitude >= magnitude.max(axis=0) * (1 - 1e-5)) & (v.imag == 0) & (v.real > 0)
    assert largest.any(axis=0).all(), what
    return order, phase


@EXAMPLES
@given(noise=noise)
def test_eig_and_eigvals_real_and_complex(noise):
    real = np.stack([ROTATING + 0.2 * noise[:9].reshape(3, 3), SPREAD + 0.2 * noise[9:].reshape(3, 3)])
    complex_ = (real + 1j * np.roll(real, 1, axis=0)).astype(np.complex64)
    for a in (real, complex_):
        (w, v), values = mnp.linalg.eig(a), mnp.linalg.eigvals(a)
        (w_jax, v_jax), values_jax = jnp.linalg.eig(a), jnp.linalg.eigvals(a)
        assert np.asarray(values).dtype == np.asarray(values_jax).dtype == np.complex64
        for i in range(len(a)):
            _check_eig(w[i], v[i], w_jax[i], v_jax[i], f"{a.dtype} matrix {i}")
            order = list(_matching(np.asarray(values[i]), np.asarray(values_jax[i])))
            np.testing.assert_allclose(np.asarray(values[i])[order], values_jax[i], rtol=2e-4, atol=2e-4)
            np.testing.assert_allclose(np.asarray(values[i]), np.asarray(w[i]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_special_matrices(name):
    a = SPECIAL[name]
    _check_eig(*mnp.linalg.eig(a), *jnp.linalg.eig(a), name)


def test_defective_matrix():
    # A Jordan block: one eigenvalue three times, whose computed eigenvectors are all (nearly) e_1.
    w, v = mnp.linalg.eig(DEFECTIVE)
    w_jax, v_jax = jnp.linalg.eig(DEFECTIVE)
    np.testing.assert_allclose(np.asarray(w), w_jax, atol=3e-2)
    np.testing.assert_allclose(np.abs(np.asarray(v)), np.abs(np.asarray(v_jax)), atol=3e-2)


def test_small_empty_nan_and_integer_matrices():
    for a in (np.zeros((0, 0), np.float32), np.array([[-2.5]], np.float32), np.zeros((2, 0, 0), np.complex64)):
        for got, expected in zip(mnp.linalg.eig(a) + (mnp.linalg.eigvals(a),),
                                 jnp.linalg.eig(a) + (jnp.linalg.eigvals(a),)):
            got, expected = np.asarray(got), np.asarray(expected)
            assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
            np.testing.assert_array_equal(got, expected)
    w, v = mnp.linalg.eig(np.full((3, 3), np.nan, np.float32))
    assert np.isnan(np.asarray(w)).all() and np.isnan(np.asarray(v)).all()
    integers = np.array([[2, 1, 0], [1, 3, 1], [0, 1, 4]])
    _check_eig(*mnp.linalg.eig(integers), *jnp.linalg.eig(integers), "integers")


def test_vmap_and_jit():
    batch = np.stack([ROTATING, SPREAD, SPECIAL["cycle (needs an exceptional shift)"]])
    w, v = mlax.jit(mlax.vmap(mnp.linalg.eig))(batch)
    w_jax, v_jax = jax.jit(jax.vmap(jnp.linalg.eig))(batch)
    for i in range(len(batch)):
        _check_eig(w[i], v[i], w_jax[i], v_jax[i], f"vmap {i}")


def _jax_eig_with_derivatives(a):
    return tuple(jax.lax.linalg.eig(a, compute_left_eigenvectors=False, enable_eigvec_derivs=True))


@EXAMPLES
@given(noise=noise)
def test_derivatives(noise):
    a = ROTATING + 0.2 * noise[:9].reshape(3, 3)
    t = noise[9:].reshape(3, 3)
    symmetric = lambda np_, w: np_.sum(np_.abs(w) ** 2 + np_.real(w) ** 3)  # noqa: E731

    def mlax_all(a, t):
        return (mlax.jvp(mnp.linalg.eig, (a,), (t,)), mlax.jvp(mnp.linalg.eigvals, (a,), (t,)),
                mlax.grad(lambda a: symmetric(mnp, mnp.linalg.eigvals(a)))(a))

    (eig_out, eig_dot), (values, values_dot), grad = mlax.jit(mlax_all)(a, t)
    eig_out_jax, eig_dot_jax = jax.jvp(_jax_eig_with_derivatives, (a,), (t,))
    values_jax, values_dot_jax = jax.jvp(jnp.linalg.eigvals, (a,), (t,))
    order, phase = _check_eig(*eig_out, *eig_out_jax, "eig")
    np.testing.assert_allclose(np.asarray(eig_dot[0])[order], eig_dot_jax[0], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(np.asarray(eig_dot[1])[:, order] * phase, eig_dot_jax[1], rtol=1e-3, atol=1e-3)
    order = list(_matching(np.asarray(values), np.asarray(values_jax)))
    np.testing.assert_allclose(np.asarray(values_dot)[order], values_dot_jax, rtol=1e-3, atol=1e-3)
    grad_jax = jax.grad(lambda a: symmetric(jnp, jnp.linalg.eigvals(a)))(a)
    np.testing.assert_allclose(np.asarray(grad), grad_jax, rtol=1e-3, atol=1e-3)
    assert np.asarray(grad).dtype == grad_jax.dtype


def test_errors_name_the_problem():
    for f in (mnp.linalg.eig, mnp.linalg.eigvals):
        with pytest.raises(ValueError, match="square"):
            f(np.ones((2, 3), np.float32))
        with pytest.raises(ValueError, match="square"):
            f(np.ones(3, np.float32))


# -- mlax.scipy.linalg.solve_sylvester ---------------------------------------------------------------

SYLVESTER_A = np.array([[3.0, 1.0, 0.0], [-1.0, 2.0, 0.5], [0.2, 0.0, 4.0]], np.float32)
SYLVESTER_B = np.array([[1.0, -0.5], [0.25, 2.0]], np.float32)


@EXAMPLES
@given(noise=noise)
def test_solve_sylvester(noise):
    a = SYLVESTER_A + 0.3 * noise[:9].reshape(3, 3)
    b = SYLVESTER_B + 0.3 * noise[9:13].reshape(2, 2)
    c = noise[12:18].reshape(3, 2)
    complex_c = (c + 1j * c[::-1]).astype(np.complex64)
    rows = lambda sl: (sl.solve_sylvester(a, b, c), sl.solve_sylvester(a, b, c, method="eigen"),  # noqa: E731
                       sl.solve_sylvester(np.stack([a, a.T]), b, complex_c))  # a batch broadcast, complex
    for got, expected in zip(rows(msl), rows(jsl)):
        got = np.asarray(got)
        assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
        np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)


def test_solve_sylvester_derivative_and_singular_equation():
    # JAX cannot differentiate its Schur decomposition; the derivative solves the equation with
    # dC - dA X - X dB on the right, which JAX's solve_sylvester gives for comparison.
    a, b, c = SYLVESTER_A, SYLVESTER_B, np.arange(6.0, dtype=np.float32).reshape(3, 2) - 2
    da, db, dc = a.T / 3, b[::-1] / 2, c[::-1]
    x, dx = mlax.jvp(lambda a, b, c: msl.solve_sylvester(a, b, c), (a, b, c), (da, db, dc))
    x_jax = jsl.solve_sylvester(a, b, c)
    np.testing.assert_allclose(np.asarray(x), x_jax, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(np.asarray(dx), jsl.solve_sylvester(a, b, dc - da @ x_jax - x_jax @ db),
                               rtol=1e-3, atol=1e-3)
    singular = (np.diag([1.0, 2.0, 3.0]).astype(np.float32), np.diag([-2.0, 5.0]).astype(np.float32), c)
    for tol in (1e-8, 0.5):
        got, expected = msl.solve_sylvester(*singular, tol=tol), jsl.solve_sylvester(*singular, tol=tol)
        np.testing.assert_array_equal(np.isnan(np.asarray(got)), np.isnan(expected))
    near = (singular[0], singular[1] + 0.75 * np.eye(2, dtype=np.float32), c)  # 1 - 1.25: NaN only for tol 0.5
    for tol in (1e-8, 0.5):
        got, expected = msl.solve_sylvester(*near, tol=tol), jsl.solve_sylvester(*near, tol=tol)
        np.testing.assert_allclose(np.asarray(got), expected, rtol=2e-4, atol=2e-4)


def test_solve_sylvester_errors():
    with pytest.raises(ValueError, match="method"):
        msl.solve_sylvester(SYLVESTER_A, SYLVESTER_B, np.ones((3, 2)), method="bartels")
    with pytest.raises(ValueError, match="incompatible shapes"):
        msl.solve_sylvester(SYLVESTER_A, SYLVESTER_B, np.ones((2, 3)))
