"""mlax.numpy.linalg and mlax.lax.linalg against JAX's on the same matrices: values, and the
first derivative with all four second-order mode combinations (jvp of jvp, jvp of vjp, vjp
of jvp, vjp of vjp). A row is one line: a function of the module pair and a matrix; the
lists after the table pick the rows with second derivatives, those whose derivatives share
one program, and those compared by value alone.

Eigenvectors and singular vectors are determined up to sign, so rows read them through
squares; the factors both libraries fix the same way (QR by Householder reflections, LU
with partial pivoting, Cholesky, and JAX's eigenvector signs for lax.linalg.eigh) are
compared directly."""

import jax
import jax.numpy as jnp
import jax.lax.linalg as jax_lax_linalg
import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

import mlax
import mlax.numpy as mnp
import mlax.lax.linalg as mlax_lax_linalg

jax.config.update("jax_platforms", "cpu")

LIBRARIES = {jax: (jnp, jax_lax_linalg), mlax: (mnp, mlax_lax_linalg)}
WEIGHTS = np.arange(1.0, 10.0, dtype=np.float32).reshape(3, 3)
RHS = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]], np.float32)

# name -> f(lnp, lax_linalg, a) for a general 3x3 matrix a (made symmetric or positive
# definite inside the row where the function needs it, so derivatives keep that structure).
ROWS = {
    "inv": lambda lnp, ll, a: lnp.linalg.inv(a),
    "solve matrix": lambda lnp, ll, a: lnp.linalg.solve(a, RHS),
    "solve vector": lambda lnp, ll, a: lnp.linalg.solve(a, RHS[:, 0]),
    "det": lambda lnp, ll, a: lnp.linalg.det(a),
    "slogdet": lambda lnp, ll, a: lnp.linalg.slogdet(a)[1],
    "cholesky": lambda lnp, ll, a: lnp.linalg.cholesky(a @ a.T + 3 * lnp.eye(3)),
    "eigvalsh": lambda lnp, ll, a: lnp.linalg.eigvalsh(a + a.T),
    "eigh vectors": lambda lnp, ll, a: lnp.linalg.eigh(a + a.T)[1] ** 2 * WEIGHTS,
    "eigh upper": lambda lnp, ll, a: lnp.linalg.eigh(a + a.T, UPLO="U")[0],
    "svd values": lambda lnp, ll, a: lnp.linalg.svd(a, compute_uv=False),
    "svd u": lambda lnp, ll, a: lnp.linalg.svd(a)[0] ** 2 * WEIGHTS,
    "svd vh": lambda lnp, ll, a: lnp.linalg.svd(a)[2] ** 2 * WEIGHTS,
    "qr r": lambda lnp, ll, a: lnp.linalg.qr(a)[1],
    "qr q": lambda lnp, ll, a: lnp.linalg.qr(a)[0],
    "norm fro": lambda lnp, ll, a: lnp.linalg.norm(a),
    "norm 2": lambda lnp, ll, a: lnp.linalg.norm(a, 2),
    "norm nuc": lambda lnp, ll, a: lnp.linalg.norm(a, "nuc"),
    "norm 1": lambda lnp, ll, a: lnp.linalg.norm(a, 1),
    "lax triangular_solve": lambda lnp, ll, a: ll.triangular_solve(a + 3 * lnp.eye(3), RHS, left_side=True,
                                                                    lower=True),
    "lax triangular_solve right transposed": lambda lnp, ll, a: ll.triangular_solve(
        a + 3 * lnp.eye(3), RHS.T, left_side=False, lower=False, transpose_a=True),
    "lax lu": lambda lnp, ll, a: ll.lu(a)[0],
    "lax cholesky": lambda lnp, ll, a: ll.cholesky(a @ a.T + 3 * lnp.eye(3)),
    "lax eigh": lambda lnp, ll, a: ll.eigh(a + a.T)[1],
    "lax qr": lambda lnp, ll, a: ll.qr(a, full_matrices=False)[1],
    "cond": lambda lnp, ll, a: lnp.linalg.cond(a),
    "cross": lambda lnp, ll, a: lnp.linalg.cross(a, a[::-1]),
    "diagonal": lambda lnp, ll, a: lnp.linalg.diagonal(a, offset=1),
    "lstsq": lambda lnp, ll, a: lnp.linalg.lstsq(a[:, :2], RHS)[0],
    "matmul": lambda lnp, ll, a: lnp.linalg.matmul(a, lnp.stack([a.T, a])),
    "matrix_norm": lambda lnp, ll, a: lnp.linalg.matrix_norm(a, ord=np.inf, keepdims=True),
    "matrix_power": lambda lnp, ll, a: lnp.linalg.matrix_power(a / 3, 5),
    # rtol is an absolute bound on the singular values (about 6, 3 and 1 here), in JAX too.
    "matrix_rank": lambda lnp, ll, a: lnp.linalg.matrix_rank(lnp.stack([a, a, a]), lnp.array([2.0, 0.1, 9.0])),
    "matrix_transpose": lambda lnp, ll, a: lnp.linalg.matrix_transpose(a) * WEIGHTS,
    "multi_dot": lambda lnp, ll, a: lnp.linalg.multi_dot([RHS[:, 0], a, a.T, RHS]),
    "outer": lambda lnp, ll, a: lnp.linalg.outer(a[0], a[:, 1]),
    "pinv": lambda lnp, ll, a: lnp.linalg.pinv(a),
    "svdvals": lambda lnp, ll, a: lnp.linalg.svdvals(a),
    "tensordot": lambda lnp, ll, a: lnp.linalg.tensordot(a, lnp.stack([a, WEIGHTS]), axes=([1], [2])),
    "tensorinv": lambda lnp, ll, a: lnp.linalg.tensorinv(a.reshape(3, 1, 3), ind=1),
    "tensorsolve": lambda lnp, ll, a: lnp.linalg.tensorsolve(a.reshape(3, 1, 3), RHS[:, :1].T, axes=(0,)),
    "trace": lambda lnp, ll, a: lnp.linalg.trace(lnp.stack([a, a @ a]), offset=-1),
    "vecdot": lambda lnp, ll, a: lnp.linalg.vecdot(a, WEIGHTS[:, :1], axis=0),
    "vector_norm": lambda lnp, ll, a: lnp.linalg.vector_norm(a, ord=3, axis=1, keepdims=True),
}
# Rows whose second derivatives are compared too (the others' values and first derivatives).
SECOND_ORDER = ["inv", "solve matrix", "det", "slogdet", "cholesky", "eigvalsh", "eigh vectors", "svd values",
                "svd u", "qr r", "lax triangular_solve", "lax lu"]
# Rows whose derivatives are compared in one program for all of them: a compilation each would
# cost more than the rest of their tests.
GROUPED = ["cond", "cross", "diagonal", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_transpose",
           "multi_dot", "outer", "pinv", "svdvals", "tensordot", "trace", "vecdot", "vector_norm"]
# Rows whose values are compared alone: integers (no derivative), and inv and solve through
# reshapes (their derivatives are those compared above).
VALUES_ONLY = ["matrix_rank", "tensorinv", "tensorsolve"]

# Near a matrix with well separated eigenvalues and singular values: derivatives of
# decompositions grow as 1/gap, so nearly repeated ones would compare rounding noise.
BASE = np.array([[1.0, 0.3, -0.2], [0.1, -3.0, 0.4], [-0.3, 0.2, 6.0]], np.float32)
matrices = st.lists(st.floats(-1, 1, width=32), min_size=9, max_size=9).map(
    lambda v: BASE + np.float32(0.25) * np.array(v, np.float32).reshape(3, 3))


def _close(got, expected, rtol, atol, what):
    got, expected = np.asarray(got), np.asarray(expected)
    assert (got.shape, got.dtype) == (expected.shape, expected.dtype), what
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=what)


def _derivatives(lib, names, a, t):
    """{row: {mode: derivative}} for the rows `names`, in one program."""
    lnp, ll = LIBRARIES[lib]

    def modes(name):
        scalar = lambda v: (ROWS[name](lnp, ll, v) * 1.0).sum()  # noqa: E731
        grad = lib.grad(scalar)
        first = {"grad": grad, "jvp": lambda v: lib.jvp(scalar, (v,), (t,))[1]}
        if name not in SECOND_ORDER:
            return first
        return {**first,
                "jvp.jvp": lambda v: lib.jvp(lambda u: lib.jvp(scalar, (u,), (t,))[1], (v,), (t,))[1],
                "jvp.vjp": lambda v: lib.jvp(grad, (v,), (t,))[1],
                "vjp.jvp": lib.grad(lambda v: lib.jvp(scalar, (v,), (t,))[1]),
                "vjp.vjp": lib.grad(lambda v: (grad(v) * t).sum())}
    every_mode = lambda v: {name: {mode: f(v) for mode, f in modes(name).items()} for name in names}  # noqa: E731
    # mlax: one program for all the modes (a compilation each would dominate the test's time).
    # JAX's own jit fails on lax.linalg.lu's derivative (TracerArrayConversionError), so JAX
    # runs op by op.
    return mlax.jit(every_mode)(a) if lib is mlax else every_mode(a)


@pytest.mark.parametrize("name", sorted(ROWS))
@settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=(Phase.generate,))
@given(a=matrices)
def test_values(name, a):
    _close(ROWS[name](mnp, mlax_lax_linalg, a), ROWS[name](jnp, jax_lax_linalg, a), 2e-4, 2e-5, f"{name} value")


def _compare_derivatives(names):
    # At one matrix: each program of all the modes compiles once, which is the test's cost.
    a = BASE + np.float32(0.25) * np.sin(np.arange(9, dtype=np.float32)).reshape(3, 3)
    t = np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    expected, got = _derivatives(jax, names, a, t), _derivatives(mlax, names, a, t)
    for name in names:
        scale = max(1.0, max(float(np.abs(np.asarray(v)).max()) for v in expected[name].values()))
        for mode in expected[name]:
            # Second derivatives of decompositions subtract terms of the size of 1/gap**2: float32
            # rounding in another order moves them more than values.
            _close(got[name][mode], expected[name][mode], 1e-3, 1e-4 * scale, f"{name} {mode}")


@pytest.mark.parametrize("name", sorted(set(ROWS) - set(GROUPED) - set(VALUES_ONLY)))
def test_derivatives(name):
    _compare_derivatives([name])


def test_derivatives_of_grouped_rows():
    _compare_derivatives(GROUPED)
