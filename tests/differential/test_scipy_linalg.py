"""mlax.scipy.linalg against jax.scipy.linalg on the same inputs: values, shapes and dtypes
(real and complex, single matrices and batches, the special matrices), errors, the
deprecation warning of batched 1-D solves, first derivatives of everything JAX
differentiates and the four second-order modes of expm, solve_triangular and cho_solve,
signatures and docstrings. A row is one line: a function of the module pair and the inputs.

Each value row is one program per library, run at derandomized hypothesis points (the same
shapes, so one compilation) near a matrix with well separated eigenvalues and singular values (decompositions' derivatives grow as 1 / gap). Factors fixed only up to
signs (eigenvectors, singular vectors) are read through |x|^2; those JAX fixes (LAPACK's
Householder and pivoting conventions, the polar factors, the principal square root) are
compared directly."""

import functools
import inspect
import warnings

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

from ._oracle import marked

jax.config.update("jax_platforms", "cpu")

LIBRARIES = {jax: (jsl, jnp), mlax: (msl, mnp)}
BASE = np.array([[1.0, 0.3, -0.2], [0.1, -3.0, 0.4], [-0.3, 0.2, 6.0]], np.float32)
RHS = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]], np.float32)
WEIGHTS = np.arange(1.0, 10.0, dtype=np.float32).reshape(3, 3)
# A real Schur form (from JAX) of a matrix with a complex pair, for rsf2csf.
_ROTATING = np.array([[1.0, -2.0, 0.5, 0.1], [2.0, 1.0, 0.3, -0.2], [0.1, 0.2, 3.0, 0.4], [0.0, -0.3, 0.5, -2.0]],
                     np.float32)
SCHUR_T, SCHUR_Z = (np.asarray(x) for x in jsl.schur(_ROTATING))


def _spd(np_, a):
    return a @ np_.conj(a.T) + 3 * np_.eye(a.shape[-1], dtype=a.dtype)


def _square_magnitude(np_, x):
    return np_.real(x * np_.conj(x))


# name -> f(sl, np_, x): x holds "a" (a general 3x3 matrix), "c" (a complex one) and "v" (a vector).
ROWS = {
    # special matrices
    "toeplitz": lambda sl, np_, x: sl.toeplitz(x["v"], x["a"][0]),
    "toeplitz complex default r": lambda sl, np_, x: sl.toeplitz(x["c"][0]),
    "toeplitz batched": lambda sl, np_, x: sl.toeplitz(x["a"], x["a"][:, :2]),
    "hankel": lambda sl, np_, x: sl.hankel(x["v"], x["a"][0, :2]),
    "hankel default r": lambda sl, np_, x: sl.hankel(x["a"]),
    "circulant": lambda sl, np_, x: sl.circulant(x["a"]),
    "leslie": lambda sl, np_, x: sl.leslie(x["v"], x["a"][:, :2]),
    "companion": lambda sl, np_, x: sl.companion(x["a"]),
    "fiedler": lambda sl, np_, x: sl.fiedler(x["a"]),
    "fiedler_companion": lambda sl, np_, x: sl.fiedler_companion(np_.concatenate([x["a"][0], x["a"][1], x["v"]])),
    "fiedler_companion short": lambda sl, np_, x: (sl.fiedler_companion(x["v"][:2]), sl.fiedler_companion(x["v"][:1])),
    "convolution_matrix full": lambda sl, np_, x: sl.convolution_matrix(x["v"], 4),
    "convolution_matrix same": lambda sl, np_, x: sl.convolution_matrix(x["a"], 5, mode="same"),
    "convolution_matrix valid": lambda sl, np_, x: sl.convolution_matrix(x["c"][0], 2, "valid"),
    "block_diag": lambda sl, np_, x: sl.block_diag(x["a"], x["v"], x["a"][0, 0], x["a"][:2, :1]),
    "block_diag complex": lambda sl, np_, x: sl.block_diag(x["a"][:1], x["c"]),
    "hilbert invhilbert": lambda sl, np_, x: (sl.hilbert(4), sl.invhilbert(4), sl.invhilbert(1)),
    "pascal": lambda sl, np_, x: (sl.pascal(4), sl.pascal(3, "lower"), sl.pascal(3, kind="upper")),
    "invpascal": lambda sl, np_, x: (sl.invpascal(4), sl.invpascal(3, "lower"), sl.invpascal(3, kind="upper")),
    "helmert": lambda sl, np_, x: (sl.helmert(4), sl.helmert(3, full=True), sl.helmert(1, True)),
    "hadamard": lambda sl, np_, x: (sl.hadamard(4), sl.hadamard(2, dtype=np.float32), sl.hadamard(1)),
    "dft": lambda sl, np_, x: (sl.dft(5), sl.dft(4, "sqrtn"), sl.dft(3, scale="n")),
    # factorizations and solvers
    "cholesky": lambda sl, np_, x: sl.cholesky(_spd(np_, x["a"])),
    "cholesky lower": lambda sl, np_, x: sl.cholesky(_spd(np_, x["a"]), lower=True),
    "cholesky reads one triangle": lambda sl, np_, x: (sl.cholesky(np_.triu(_spd(np_, x["a"])) + np_.tril(x["a"], -1)),
                                                       sl.cholesky(np_.tril(_spd(np_, x["a"])), lower=True)),
    "cholesky complex batched": lambda sl, np_, x: sl.cholesky(np_.stack([_spd(np_, x["c"]), _spd(np_, x["a"])])),
    "cho_solve": lambda sl, np_, x: sl.cho_solve(sl.cho_factor(_spd(np_, x["a"])), RHS),
    "cho_solve lower vector": lambda sl, np_, x: sl.cho_solve(sl.cho_factor(_spd(np_, x["a"]), lower=True), x["v"]),
    "cho_solve complex": lambda sl, np_, x: sl.cho_solve(sl.cho_factor(_spd(np_, x["c"]), True), x["c"]),
    "cho_solve broadcast": lambda sl, np_, x: sl.cho_solve((np_.stack([sl.cholesky(_spd(np_, x["a"]))] * 2), False),
                                                          RHS),
    "lu": lambda sl, np_, x: sl.lu(x["a"]),
    "lu permute_l": lambda sl, np_, x: sl.lu(x["a"], permute_l=True),
    "lu complex": lambda sl, np_, x: sl.lu(x["c"]),
    "lu_factor": lambda sl, np_, x: sl.lu_factor(x["a"]),
    "lu_solve": lambda sl, np_, x: sl.lu_solve(sl.lu_factor(x["a"]), RHS),
    "lu_solve trans=1": lambda sl, np_, x: sl.lu_solve(sl.lu_factor(x["a"]), x["v"], trans=1),
    "lu_solve complex trans=2": lambda sl, np_, x: sl.lu_solve(sl.lu_factor(x["c"]), x["c"], 2),
    "lu_solve batched": lambda sl, np_, x: sl.lu_solve(sl.lu_factor(np_.stack([x["a"], x["a"].T])), RHS),
    "solve": lambda sl, np_, x: sl.solve(x["a"], RHS),
    "solve sym vector": lambda sl, np_, x: sl.solve(x["a"], x["v"], assume_a="sym"),
    "solve pos": lambda sl, np_, x: sl.solve(_spd(np_, x["a"]), RHS, assume_a="pos"),
    "solve pos lower reads one triangle": lambda sl, np_, x: sl.solve(np_.tril(_spd(np_, x["a"])), RHS, lower=True,
                                                                      assume_a="pos"),
    # (With one axis fewer than a, b is a batch of vectors: JAX's reading.)
    "solve pos complex batched": lambda sl, np_, x: (sl.solve(np_.stack([_spd(np_, x["c"])] * 2), x["c"][:2],
                                                              assume_a="pos"),
                                                     sl.solve(np_.stack([_spd(np_, x["c"])] * 2),
                                                              np_.stack([x["c"], x["c"].T]), assume_a="pos")),
    "solve_triangular": lambda sl, np_, x: sl.solve_triangular(x["a"], RHS),
    "solve_triangular lower unit": lambda sl, np_, x: sl.solve_triangular(x["a"], x["v"], lower=True,
                                                                          unit_diagonal=True),
    "solve_triangular trans": lambda sl, np_, x: (sl.solve_triangular(x["a"], RHS, trans=1),
                                                  sl.solve_triangular(x["a"], RHS, "T", lower=True)),
    "solve_triangular complex trans=C": lambda sl, np_, x: (sl.solve_triangular(x["c"] + 3, x["c"], trans="C"),
                                                            sl.solve_triangular(x["c"] + 3, x["c"], 2, lower=True)),
    "solve_triangular broadcast": lambda sl, np_, x: sl.solve_triangular(np_.stack([x["a"], 2 * x["a"]]), RHS),
    "det inv": lambda sl, np_, x: (sl.det(x["a"]), sl.inv(x["a"]), sl.det(x["c"]), sl.inv(np_.stack([x["c"]] * 2))),
    # decompositions
    "eigh": lambda sl, np_, x: _eigh_invariants(np_, sl.eigh(x["a"] + x["a"].T)),
    "eigh complex upper": lambda sl, np_, x: _eigh_invariants(np_, sl.eigh(_spd(np_, x["c"]), lower=False)),
    "eigh eigvals_only batched": lambda sl, np_, x: sl.eigh(np_.stack([x["a"] + x["a"].T, _spd(np_, x["a"])]),
                                                            eigvals_only=True),
    "svd": lambda sl, np_, x: _svd_invariants(np_, sl.svd(x["a"])),
    "svd tall reduced": lambda sl, np_, x: _svd_invariants(np_, sl.svd(x["a"][:, :2], full_matrices=False)),
    "svd complex values": lambda sl, np_, x: sl.svd(x["c"], compute_uv=False),
    "qr": lambda sl, np_, x: sl.qr(x["a"]),
    "qr economic": lambda sl, np_, x: sl.qr(x["a"][:, :2], mode="economic"),
    "qr full tall": lambda sl, np_, x: sl.qr(x["a"][:, :2]),
    "qr r": lambda sl, np_, x: sl.qr(x["a"][:2], mode="r"),
    "qr pivoting": lambda sl, np_, x: sl.qr(x["a"], pivoting=True),
    "qr pivoting wide": lambda sl, np_, x: sl.qr(np_.concatenate([x["a"][:2], x["a"][:2] * 2], axis=1),
                                                 pivoting=True, mode="economic"),
    "qr pivoting r tall": lambda sl, np_, x: sl.qr(np_.concatenate([x["a"], x["a"][:2]]), pivoting=True, mode="r"),
    "qr batched": lambda sl, np_, x: sl.qr(np_.stack([x["a"], x["a"].T]), mode="economic"),
    "qr complex reconstructs": lambda sl, np_, x: _qr_invariants(np_, x["c"], sl.qr(x["c"])),
    "qr complex": lambda sl, np_, x: sl.qr(x["c"]),
    "qr_multiply": lambda sl, np_, x: sl.qr_multiply(x["a"], RHS.T),
    "qr_multiply left": lambda sl, np_, x: sl.qr_multiply(x["a"][:, :2], RHS[:2], mode="left"),
    "qr_multiply vectors": lambda sl, np_, x: (sl.qr_multiply(x["a"], x["v"]),
                                               sl.qr_multiply(x["a"], x["v"], "left", conjugate=True)),
    "qr_multiply pivoting": lambda sl, np_, x: sl.qr_multiply(x["a"], RHS.T, pivoting=True),
    "hessenberg": lambda sl, np_, x: sl.hessenberg(np_.stack([x["a"], x["a"].T]), calc_q=True),
    "hessenberg 4x4": lambda sl, np_, x: sl.hessenberg(_ROTATING + x["a"][0, 0]),
    "hessenberg complex": lambda sl, np_, x: sl.hessenberg(x["c"], calc_q=True),
    "polar": lambda sl, np_, x: sl.polar(x["a"]),
    "polar tall": lambda sl, np_, x: sl.polar(x["a"][:, :2]),
    "polar wide left": lambda sl, np_, x: sl.polar(x["a"][:2], side="left"),
    # JAX's polar fails for any eps (it hands a traced eps to QDWH as a static argument): mlax's
    # polar with a tolerance of its own against JAX's with the default.
    "polar eps": lambda sl, np_, x: sl.polar(x["a"], **({"eps": 1e-5} if sl is msl else {})),
    "polar svd": lambda sl, np_, x: (sl.polar(x["a"], method="svd"), sl.polar(x["a"][:, :2], "left", method="svd")),
    "polar complex": lambda sl, np_, x: sl.polar(x["c"]),
    "polar batched": lambda sl, np_, x: sl.polar(np_.stack([x["a"], x["a"] @ x["a"]])),
    "eigh_tridiagonal": lambda sl, np_, x: _eigh_invariants(np_, sl.eigh_tridiagonal(x["a"][:, 0] * 2, x["v"][:2])),
    "eigh_tridiagonal eigvals_only": lambda sl, np_, x: sl.eigh_tridiagonal(x["a"][0], x["a"][1, :2],
                                                                            eigvals_only=True),
    "eigh_tridiagonal select": lambda sl, np_, x: _eigh_invariants(np_, sl.eigh_tridiagonal(
        x["v"], x["a"][0, :2], select="i", select_range=(1, 2))),
    "eigh_tridiagonal complex": lambda sl, np_, x: _eigh_invariants(np_, sl.eigh_tridiagonal(x["c"][0], x["c"][1, :2])),
    "eigh_tridiagonal tol": lambda sl, np_, x: sl.eigh_tridiagonal(x["a"][0], x["a"][1, :2], eigvals_only=True,
                                                                   tol=0.1),
    # functions of matrices
    "expm": lambda sl, np_, x: sl.expm(x["a"]),
    "expm pade 3 and 5": lambda sl, np_, x: (sl.expm(x["a"] / 20), sl.expm(x["a"] / 5)),
    "expm squarings": lambda sl, np_, x: sl.expm(3 * x["a"]),
    "expm batched": lambda sl, np_, x: sl.expm(np_.stack([x["a"], x["a"] / 10])),
    "expm upper_triangular": lambda sl, np_, x: sl.expm(np_.triu(x["a"]), upper_triangular=True),
    "expm max_squarings": lambda sl, np_, x: (sl.expm(3 * x["a"], max_squarings=1), sl.expm(x["a"], max_squarings=3)),
    "expm complex": lambda sl, np_, x: sl.expm(x["c"]),
    "expm_frechet": lambda sl, np_, x: sl.expm_frechet(x["a"], WEIGHTS),
    "expm_frechet derivative only": lambda sl, np_, x: sl.expm_frechet(x["a"] / 4, x["c"].real, compute_expm=False),
    "sqrtm": lambda sl, np_, x: sl.sqrtm(_spd(np_, x["a"])),
    "sqrtm complex eigenvalues": lambda sl, np_, x: sl.sqrtm(_spd(np_, x["a"]) + 2 * (x["a"] - x["a"].T)),
    "sqrtm complex": lambda sl, np_, x: sl.sqrtm(_spd(np_, x["c"])),
    "rsf2csf": lambda sl, np_, x: sl.rsf2csf(SCHUR_T, SCHUR_Z),
}


def _eigh_invariants(np_, result):
    values, vectors = result
    return values, _square_magnitude(np_, vectors)


def _svd_invariants(np_, result):
    u, s, vh = result
    return _square_magnitude(np_, u), s, _square_magnitude(np_, vh)


def _qr_invariants(np_, a, result):
    """What a complex QR fixes whatever the phases: q^H q, q @ r and |r|."""
    q, r = result
    return np_.conj(q.T) @ q, q @ r, np_.abs(r)


# Known differences: name -> reason (strict xfails).
XFAIL = {
    "qr complex": "mlax.lax.linalg.qr makes R's diagonal -phase * norm, LAPACK (so JAX) makes it real: the fix "
                  "belongs in _householder, python/mlax/lax/linalg/householder.py",
    "lu complex": "mlax.lax.linalg.lu pivots on the largest modulus, LAPACK (so JAX) on the largest |re| + |im|: "
                  "the fix belongs in _lu_steps, python/mlax/lax/linalg/triangular.py",
}

matrices = st.lists(st.floats(-1, 1, width=32), min_size=18, max_size=18).map(lambda v: np.array(v, np.float32))
EXAMPLES = settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=(Phase.generate,))


def _inputs(noise):
    """The row inputs from 18 numbers in [-1, 1]: BASE perturbed, a complex matrix, a vector."""
    real, imaginary = noise[:9].reshape(3, 3), noise[9:].reshape(3, 3)
    a = BASE + np.float32(0.25) * real
    return {"a": a, "c": (a + 1j * (0.5 + imaginary)).astype(np.complex64), "v": a[2] + np.float32(1)}


@functools.cache
def _compiled_row(lib, name):
    """The row as one program of `lib` (one compilation per row: mlax's compile time grows
    faster than linearly with a program's size, so the rows are not joined)."""
    sl, np_ = LIBRARIES[lib]
    return lib.jit(lambda x: ROWS[name](sl, np_, x))


def _row(lib, name, noise):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", FutureWarning)
        return _compiled_row(lib, name)(_inputs(noise))


TOLERANCE = {  # iterations that stop at their tolerance, and float32 rounding of large entries
    "polar eps": {"rtol": 1e-3, "atol": 1e-3}, "eigh_tridiagonal tol": {"rtol": 0, "atol": 0.1},
    "expm squarings": {"rtol": 1e-3, "atol": 1e-2}, "hilbert invhilbert": {"rtol": 1e-3, "atol": 2e-3},
}


def _close(got, expected, what, rtol=2e-4, atol=2e-4):
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected), what
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        g, e = np.asarray(g), np.asarray(e)
        assert (g.shape, g.dtype) == (e.shape, e.dtype), f"{what}: {g.shape} {g.dtype} != {e.shape} {e.dtype}"
        scale = max(1.0, float(np.abs(e[np.isfinite(e)]).max(initial=0)))
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol * scale, err_msg=what)


@pytest.mark.parametrize("name", marked(sorted(ROWS), XFAIL))
@EXAMPLES
@given(noise=matrices)
def test_values(name, noise):
    _close(_row(mlax, name, noise), _row(jax, name, noise), name, **TOLERANCE.get(name, {}))


# -- special points: empty matrices, zero, NaN, the squaring limit ---------------------------------

SPECIAL = {
    "empty toeplitz hankel circulant": lambda sl, np_: (sl.toeplitz(np_.zeros(0), np_.zeros(2)),
                                                        sl.hankel(np_.zeros(2), np_.zeros(0)),
                                                        sl.circulant(np_.zeros((2, 0)))),
    "hessenberg empty": lambda sl, np_: sl.hessenberg(np_.zeros((0, 0)), calc_q=True),
    "expm zero, nan, too many squarings": lambda sl, np_: sl.expm(np_.stack([np_.zeros((2, 2)), np_.full((2, 2), np.nan),
                                                                             1e6 * np_.eye(2)]), max_squarings=4),
    "eigh_tridiagonal one": lambda sl, np_: (sl.eigh_tridiagonal(np_.ones(1), np_.zeros(0)),
                                             sl.eigh_tridiagonal(np_.ones(1, np.complex64), np_.zeros(0, np.complex64),
                                                                 eigvals_only=True)),
    "eigh_tridiagonal zero off-diagonal": lambda sl, np_: sl.eigh_tridiagonal(np_.array([3.0, 1.0, 2.0]), np_.zeros(2),
                                                                              eigvals_only=True),
    "rsf2csf triangular and 1x1": lambda sl, np_: (sl.rsf2csf(np_.triu(np_.ones((3, 3))), np_.eye(3)),
                                                   sl.rsf2csf(np_.ones((1, 1)), np_.ones((1, 1)))),
    "integer inputs": lambda sl, np_: (sl.toeplitz(np_.arange(3)), sl.fiedler(np_.arange(3)),
                                       sl.companion(np_.arange(1, 4)), sl.convolution_matrix(np_.arange(3), 2)),
}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_special_points(name):
    # (Each row as one program: eagerly, each call would be one.)
    with np.errstate(all="ignore"):
        _close(mlax.jit(lambda: SPECIAL[name](msl, mnp))(), jax.jit(lambda: SPECIAL[name](jsl, jnp))(), name)


# -- derivatives ------------------------------------------------------------------------------------

# name -> f(sl, np_, a) of one real 3x3 matrix a (made positive definite or triangular inside the row).
DERIVATIVES = {
    "toeplitz hankel circulant": lambda sl, np_, a: (sl.toeplitz(a[0], a[1]) + sl.hankel(a[2], a[0])
                                                     + sl.circulant(a[1])),
    "leslie companion fiedler": lambda sl, np_, a: (sl.leslie(a[0], a[1, :2]), sl.companion(a[2]),
                                                    sl.fiedler_companion(a[1]), sl.fiedler(a[0] * np_.arange(3))),
    "block_diag convolution_matrix": lambda sl, np_, a: (sl.block_diag(a, a[0]), sl.convolution_matrix(a[1], 2)),
    "cholesky": lambda sl, np_, a: sl.cholesky(_spd(np_, a)),
    "cho_solve": lambda sl, np_, a: sl.cho_solve(sl.cho_factor(_spd(np_, a), lower=True), RHS + a[:, :2]),
    "lu": lambda sl, np_, a: sl.lu(a)[1:],
    "lu_solve": lambda sl, np_, a: (sl.lu_solve(sl.lu_factor(a), RHS), sl.lu_solve(sl.lu_factor(a), a[0], trans=1)),
    "solve": lambda sl, np_, a: (sl.solve(a, RHS), sl.solve(_spd(np_, a), RHS, assume_a="pos")),
    "solve_triangular": lambda sl, np_, a: sl.solve_triangular(a + 3 * np_.eye(3), RHS + a[:, 1:], trans=1),
    "det inv": lambda sl, np_, a: (sl.det(a), sl.inv(a)),
    "eigh": lambda sl, np_, a: _eigh_invariants(np_, sl.eigh(a + a.T)),
    "svd": lambda sl, np_, a: sl.svd(a, compute_uv=False),
    "qr": lambda sl, np_, a: sl.qr(a),
    "polar svd": lambda sl, np_, a: sl.polar(a, method="svd"),
    "expm": lambda sl, np_, a: sl.expm(a / 2),
    "expm_frechet": lambda sl, np_, a: sl.expm_frechet(a / 4, WEIGHTS / 10, compute_expm=False),
}
SECOND_ORDER = ["expm", "solve_triangular", "cho_solve"]


def _derivatives(lib, name, a, t):
    """{mode: derivative} of the row, in one program of `lib`."""
    sl, np_ = LIBRARIES[lib]
    scalar = lambda v: sum((leaf * 1.0).sum() for leaf in jax.tree_util.tree_leaves(
        DERIVATIVES[name](sl, np_, v)))
    grad = lib.grad(scalar)
    modes = {"grad": grad, "jvp": lambda v: lib.jvp(scalar, (v,), (t,))[1]}
    if name in SECOND_ORDER:
        modes.update({"jvp.jvp": lambda v: lib.jvp(lambda u: lib.jvp(scalar, (u,), (t,))[1], (v,), (t,))[1],
                      "jvp.vjp": lambda v: lib.jvp(grad, (v,), (t,))[1],
                      "vjp.jvp": lib.grad(lambda v: lib.jvp(scalar, (v,), (t,))[1]),
                      "vjp.vjp": lib.grad(lambda v: (grad(v) * t).sum())})
    every_mode = lambda v: {mode: f(v) for mode, f in modes.items()}
    return lib.jit(every_mode)(a)


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_derivatives(name):
    a = BASE + np.float32(0.25) * np.sin(np.arange(9, dtype=np.float32)).reshape(3, 3)
    t = np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    got, expected = _derivatives(mlax, name, a, t), _derivatives(jax, name, a, t)
    scale = max(1.0, max(float(np.abs(np.asarray(v)).max()) for v in expected.values()))
    for mode in expected:
        _close(got[mode], expected[mode], f"{name} {mode}", rtol=1e-3, atol=1e-4 * scale)


def test_polar_qdwh_jvp():
    # JAX's QDWH ends in a while loop, which JAX differentiates forward only.
    a, t = BASE + np.float32(0.1), np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    got = mlax.jit(lambda x, dx: mlax.jvp(lambda y: msl.polar(y), (x,), (dx,)))(a, t)
    expected = jax.jvp(lambda y: jsl.polar(y), (a,), (t,))
    _close(got, expected, "polar jvp", rtol=1e-3, atol=1e-3)


# -- errors, warnings, signatures -------------------------------------------------------------------

SQUARE, TALL = np.eye(3, dtype=np.float32), np.ones((3, 2), np.float32)
ERRORS = {  # name -> (call(sl), exception, a word the message must hold)
    "block_diag 3-D": (lambda sl: sl.block_diag(np.ones((1, 1, 1))), ValueError, "dimensions"),
    "hankel scalar": (lambda sl: sl.hankel(np.float32(1)), ValueError, "1-dimensional"),
    "leslie short f": (lambda sl: sl.leslie(np.ones(1), np.ones(0)), ValueError, "at least 2"),
    "leslie s length": (lambda sl: sl.leslie(np.ones(3), np.ones(3)), ValueError, "shorter"),
    "companion short": (lambda sl: sl.companion(np.ones(1)), ValueError, "at least 2"),
    "fiedler_companion empty": (lambda sl: sl.fiedler_companion(np.ones(0)), ValueError, "empty"),
    "convolution_matrix n": (lambda sl: sl.convolution_matrix(np.ones(3), 0), ValueError, "positive"),
    "convolution_matrix mode": (lambda sl: sl.convolution_matrix(np.ones(3), 2, "wrap"), ValueError, "mode"),
    "convolution_matrix scalar": (lambda sl: sl.convolution_matrix(np.float32(1), 2), ValueError, "1-dimensional"),
    "convolution_matrix empty": (lambda sl: sl.convolution_matrix(np.ones(0), 2), ValueError, "empty"),
    "helmert n": (lambda sl: sl.helmert(0), ValueError, "positive"),
    "hadamard n": (lambda sl: sl.hadamard(3), ValueError, "power of 2"),
    "dft scale": (lambda sl: sl.dft(3, "ortho"), ValueError, "scale"),
    "dft dtype": (lambda sl: sl.dft(3, dtype=np.float32), ValueError, "complex"),
    "pascal kind": (lambda sl: sl.pascal(3, "both"), ValueError, "kind"),
    "invpascal kind": (lambda sl: sl.invpascal(3, "both"), ValueError, "kind"),
    "eigh b": (lambda sl: sl.eigh(SQUARE, SQUARE), NotImplementedError, "b"),
    "eigh type": (lambda sl: sl.eigh(SQUARE, type=2), NotImplementedError, "type"),
    "eigh eigvals": (lambda sl: sl.eigh(SQUARE, eigvals=(0, 1)), NotImplementedError, "eigvals"),
    "qr mode": (lambda sl: sl.qr(SQUARE, mode="reduced"), ValueError, "mode"),
    "qr_multiply mode": (lambda sl: sl.qr_multiply(SQUARE, SQUARE, mode="up"), ValueError, "mode"),
    "qr_multiply right shape": (lambda sl: sl.qr_multiply(TALL, TALL), ValueError, "columns"),
    "qr_multiply left shape": (lambda sl: sl.qr_multiply(TALL, SQUARE, mode="left"), ValueError, "rows"),
    "solve assume_a": (lambda sl: sl.solve(SQUARE, SQUARE, assume_a="tri"), ValueError, "assume_a"),
    "solve_triangular trans": (lambda sl: sl.solve_triangular(SQUARE, SQUARE, trans=3), ValueError, "trans"),
    "solve_triangular shapes": (lambda sl: sl.solve_triangular(SQUARE, TALL.T), ValueError, "rows"),
    "cho_solve shapes": (lambda sl: sl.cho_solve((SQUARE, True), np.ones(2)), ValueError, "rows"),
    "lu_solve trans": (lambda sl: sl.lu_solve(sl.lu_factor(SQUARE), SQUARE, trans=3), ValueError, "trans"),
    "polar 1-D": (lambda sl: sl.polar(np.ones(3)), ValueError, "2-D"),
    "polar side": (lambda sl: sl.polar(SQUARE, "up"), ValueError, "side"),
    "polar method": (lambda sl: sl.polar(SQUARE, method="newton"), ValueError, "method"),
    "polar qdwh left square": (lambda sl: sl.polar(SQUARE, "left"), NotImplementedError, "qdwh"),
    "eigh_tridiagonal dtypes": (lambda sl: sl.eigh_tridiagonal(np.ones(3, np.float32), np.ones(2, np.complex64)),
                                TypeError, "dtype"),
    "eigh_tridiagonal integers": (lambda sl: sl.eigh_tridiagonal(np.ones(3, np.int32), np.ones(2, np.int32)),
                                  TypeError, "float32"),
    "eigh_tridiagonal no range": (lambda sl: sl.eigh_tridiagonal(np.ones(3), np.ones(2), select="i"), ValueError,
                                  "select_range"),
    "eigh_tridiagonal empty range": (lambda sl: sl.eigh_tridiagonal(np.ones(3), np.ones(2), select="i",
                                                                    select_range=(2, 1)), ValueError, "range"),
    "eigh_tridiagonal select v": (lambda sl: sl.eigh_tridiagonal(np.ones(3), np.ones(2), select="v"),
                                  NotImplementedError, "select"),
    "eigh_tridiagonal select": (lambda sl: sl.eigh_tridiagonal(np.ones(3), np.ones(2), select="x"), ValueError,
                                "select"),
    "expm not square": (lambda sl: sl.expm(TALL), ValueError, "square"),
    "expm float16": (lambda sl: sl.expm(SQUARE.astype(np.float16)), TypeError, "float16"),
    "expm_frechet shapes": (lambda sl: sl.expm_frechet(SQUARE, SQUARE[:2, :2]), ValueError, "shape"),
    "expm_frechet E": (lambda sl: sl.expm_frechet(SQUARE, TALL), ValueError, "E"),
    "sqrtm blocksize": (lambda sl: sl.sqrtm(SQUARE, blocksize=2), NotImplementedError, "blocksize"),
    "rsf2csf T": (lambda sl: sl.rsf2csf(TALL, SQUARE), ValueError, "T"),
    "rsf2csf shapes": (lambda sl: sl.rsf2csf(SQUARE, SQUARE[:2, :2]), ValueError, "shapes"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_jaxs(name):
    call, error, word = ERRORS[name]
    with pytest.raises(error):
        call(jsl)
    with pytest.raises(error, match=word):
        call(msl)


def test_eigh_tridiagonal_key_is_not_supported():
    # JAX's eigenvectors come from inverse iteration from a random start; mlax's do not.
    with pytest.raises(NotImplementedError, match="key"):
        msl.eigh_tridiagonal(np.ones(3), np.ones(2), key=mlax.random.PRNGKey(0))


@pytest.mark.parametrize("solver", ["cho_solve", "lu_solve", "solve_triangular"])
def test_batched_vector_solves_warn_as_jax(solver):
    a = np.stack([BASE + 4 * np.eye(3, dtype=np.float32)] * 2)
    b = np.ones((2, 3), np.float32)
    calls = {"cho_solve": lambda sl: sl.cho_solve((a, True), b), "lu_solve": lambda sl: sl.lu_solve((a, np.zeros(
        (2, 3), np.int32)), b), "solve_triangular": lambda sl: sl.solve_triangular(a, b)}
    for sl in (jsl, msl):
        with pytest.warns(FutureWarning, match="deprecated"):
            result = calls[solver](sl)
        assert result.shape == (2, 3)


# The names of jax.scipy.linalg that mlax does not have: the Schur decomposition of a general matrix.
MISSING = {"schur", "funm"}


def test_names_and_signatures_are_jaxs():
    public = {n for n in dir(jsl) if not n.startswith("_")}
    ours = {n for n in dir(msl) if not n.startswith("_") and inspect.isfunction(getattr(msl, n))}
    assert ours <= public, sorted(ours - public)
    assert public - ours == MISSING, ("update MISSING", sorted((public - ours) ^ MISSING))
    assert sorted(msl.__all__) == sorted(ours)
    for name in sorted(ours):
        expected = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(jsl, name)).parameters.values()]
        got = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(msl, name)).parameters.values()]
        assert got == expected, name
        assert (getattr(msl, name).__doc__ or "").strip(), f"{name} has no docstring"
