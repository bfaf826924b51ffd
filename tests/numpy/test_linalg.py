"""Products and norms in mlax.numpy against NumPy: dot, matmul/@, tensordot,
einsum, inner, outer, linalg.norm, eager and under jit."""

from types import SimpleNamespace

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from numpy_checks import assert_matches

_rng = np.random.default_rng(0)
A = _rng.standard_normal((3, 4)).astype(np.float32)
B = _rng.standard_normal((4, 5)).astype(np.float32)
V = _rng.standard_normal(4).astype(np.float32)
T = _rng.standard_normal((2, 3, 4)).astype(np.float32)
U = _rng.standard_normal((2, 4, 5)).astype(np.float32)
INPUTS = {"A": A, "B": B, "V": V, "T": T, "U": U}
INTS = np.arange(12, dtype=np.int32).reshape(3, 4)

# (description, function of a NumPy-like module m and the inputs x)
PRODUCTS = [
    ("dot vector vector", lambda m, x: m.dot(x.V, x.V)),
    ("dot matrix vector", lambda m, x: m.dot(x.A, x.V)),
    ("dot vector matrix", lambda m, x: m.dot(x.V, x.B)),
    ("dot matrix matrix", lambda m, x: m.dot(x.A, x.B)),
    ("dot scalar", lambda m, x: m.dot(np.float32(2), x.A)),
    ("dot 3d 2d", lambda m, x: m.dot(x.T, x.B)),
    ("dot 2d 3d", lambda m, x: m.dot(x.A, x.U)),
    ("matmul", lambda m, x: m.matmul(x.A, x.B)),
    ("matmul batched", lambda m, x: m.matmul(x.T, x.U)),
    ("matmul batch broadcast", lambda m, x: m.matmul(x.T, x.B)),
    ("matmul batch broadcast left", lambda m, x: m.matmul(x.A, x.U)),
    ("matmul size-1 batch axes", lambda m, x: m.matmul(x.T[:, None], x.U[None])),
    ("matmul vector batch", lambda m, x: m.matmul(x.V, x.U)),
    ("matmul batch vector", lambda m, x: m.matmul(x.T, x.V)),
    ("matmul vector vector", lambda m, x: m.matmul(x.V, x.V)),
    ("tensordot axis lists", lambda m, x: m.tensordot(x.T, x.U, axes=([0, 2], [0, 1]))),
    ("tensordot 1", lambda m, x: m.tensordot(x.A, x.B, 1)),
    ("tensordot 0", lambda m, x: m.tensordot(x.V, x.V, 0)),
    ("tensordot all", lambda m, x: m.tensordot(x.T, x.T, 3)),
    ("tensordot int pair", lambda m, x: m.tensordot(x.A, x.B, axes=(1, 0))),
    ("inner", lambda m, x: m.inner(x.A, x.A)),
    ("inner vectors", lambda m, x: m.inner(x.V, x.V)),
    ("inner 3d 2d", lambda m, x: m.inner(x.T, x.A)),
    ("outer", lambda m, x: m.outer(x.V, x.A)),
    ("vdot", lambda m, x: m.vdot(x.A, x.A)),
    ("trace", lambda m, x: m.trace(x.T, 1, 1, 2)),
]
# (subscripts, the operands taken from the inputs x)
EINSUMS = [
    ("ij,jk->ik", lambda x: (x.A, x.B)), ("ij,jk", lambda x: (x.A, x.B)), ("ii->i", lambda x: (x.A[:, :3],)),
    ("ii", lambda x: (x.A[:, :3],)), ("ij->ji", lambda x: (x.A,)), ("ij->", lambda x: (x.A,)),
    ("bij,bjk->bik", lambda x: (x.T, x.U)), ("...ij,...jk->...ik", lambda x: (x.T, x.U)),
    ("...ij,jk->...ik", lambda x: (x.T, x.B)), ("i,i->", lambda x: (x.V, x.V)), ("i,j->ij", lambda x: (x.V, x.V)),
    ("ij,j->i", lambda x: (x.A, x.V)), ("bij->bj", lambda x: (x.T,)), ("ij,ij->ij", lambda x: (x.A, x.A)),
    ("ij,kj->ik", lambda x: (x.A, x.A)), ("ij,jk,kl->il", lambda x: (x.A, x.B, x.B.T)),
    ("i...->...", lambda x: (x.T,)), ("bij,bij->b", lambda x: (x.T, x.T)),
    ("ijk,jil->kl", lambda x: (x.T, x.T.transpose(1, 0, 2))),
]
VECTOR_ORDS = [None, 1, 2, np.inf, -np.inf, 0, 3, -1, 0.5]
MATRIX_ORDS = [None, "fro", 1, -1, np.inf, -np.inf]


def inputs(arrays=INPUTS):
    return SimpleNamespace(**arrays)


@pytest.mark.parametrize("description, fn", PRODUCTS, ids=[c[0] for c in PRODUCTS])
def test_products_eager(description, fn):
    assert_matches(fn(mnp, inputs()), fn(np, inputs()))


@pytest.mark.parametrize("subscripts, operands", EINSUMS, ids=[c[0] for c in EINSUMS])
def test_einsum_eager(subscripts, operands):
    assert_matches(mnp.einsum(subscripts, *operands(inputs())), np.einsum(subscripts, *operands(inputs())))


def test_products_and_einsum_under_jit():
    def products(arrays):
        x = inputs(arrays)
        return [fn(mnp, x) for _, fn in PRODUCTS], [mnp.einsum(s, *operands(x)) for s, operands in EINSUMS]

    dots, einsums = mlax.jit(products)(INPUTS)
    for actual, (description, fn) in zip(dots, PRODUCTS, strict=True):
        assert_matches(actual, fn(np, inputs()))
    for actual, (subscripts, operands) in zip(einsums, EINSUMS, strict=True):
        assert_matches(actual, np.einsum(subscripts, *operands(inputs())))


def test_matmul_operator_and_dtypes():
    a, b = mnp.asarray(A), mnp.asarray(B)
    assert_matches(a @ b, A @ B)
    assert_matches(A @ b, A @ B)
    assert_matches(a @ V, A @ V)
    assert_matches(mnp.dot(INTS, INTS.T), INTS @ INTS.T)
    assert_matches(mnp.matmul(INTS, B), INTS.astype(np.float32) @ B)
    assert_matches(mnp.einsum("ij,kj->ik", INTS, INTS), np.einsum("ij,kj->ik", INTS, INTS))
    assert_matches(mnp.einsum("ij,jk->ik", INTS, B), np.einsum("ij,jk->ik", INTS.astype(np.float32), B))
    assert_matches(mnp.outer(INTS[0], V), np.outer(INTS[0], V), dtype=np.float32)
    assert_matches(mnp.dot(A.astype(np.float16), B.astype(np.float16)), A.astype(np.float16) @ B.astype(np.float16))


CHAIN = "ij,jk,kl,lm->im"
CHAIN_OPERANDS = [_rng.standard_normal(s).astype(np.float32) for s in [(6, 7), (7, 8), (8, 9), (9, 2)]]


@pytest.mark.parametrize("optimize", ["auto", "greedy", "optimal", "dp", True, False, [(2, 3), (1, 2), (0, 1)]])
def test_einsum_gives_the_same_product_on_every_path(optimize):
    expected = np.einsum(CHAIN, *CHAIN_OPERANDS)
    assert_matches(mnp.einsum(CHAIN, *CHAIN_OPERANDS, optimize=optimize), expected)


def _dot_shapes(optimize):
    text = mlax.make_mlir(lambda *xs: mnp.einsum(CHAIN, *xs, optimize=optimize))(*CHAIN_OPERANDS)
    return [line.split("->")[-1].strip() for line in str(text).splitlines() if "dot_general" in line]


def test_einsum_contracts_in_the_order_of_the_path():
    # From the right, every product has 2 columns; left to right, the first is 6x8.
    assert [shape[-7:] for shape in _dot_shapes("auto")] == ["x2xf32>"] * 3
    assert _dot_shapes(False)[0].endswith("tensor<6x8xf32>")


def test_einsum_path_matches_jax():
    jnp = pytest.importorskip("jax.numpy")
    for optimize in ("auto", "greedy", False):
        assert mnp.einsum_path(CHAIN, *CHAIN_OPERANDS, optimize=optimize)[0] == \
            jnp.einsum_path(CHAIN, *CHAIN_OPERANDS, optimize=optimize)[0]


def test_einsum_rejects_a_path_that_names_three_operands_at_once():
    with pytest.raises(NotImplementedError, match="contracts 3 operands at once"):
        mnp.einsum(CHAIN, *CHAIN_OPERANDS, optimize=[(0, 1, 2), (0, 1)])


def test_norms():
    for ord in VECTOR_ORDS:
        assert_matches(mnp.linalg.norm(V, ord=ord), np.linalg.norm(V, ord=ord))
    for ord in MATRIX_ORDS:
        assert_matches(mnp.linalg.norm(A, ord=ord), np.linalg.norm(A, ord=ord))
    assert_matches(mnp.linalg.norm(INTS), np.linalg.norm(INTS), dtype=np.float32)


def test_norms_over_axes_under_jit():
    def norms(t):
        return ([mnp.linalg.norm(t, ord=ord, axis=1) for ord in VECTOR_ORDS],
                [mnp.linalg.norm(t, ord=ord, axis=(2, 0), keepdims=True) for ord in MATRIX_ORDS],
                [mnp.linalg.norm(t), mnp.linalg.norm(t, keepdims=True), mnp.linalg.norm(t, 1, axis=-1, keepdims=True)])

    vectors, matrices, whole = mlax.jit(norms)(T)
    for actual, ord in zip(vectors, VECTOR_ORDS, strict=True):
        assert_matches(actual, np.linalg.norm(T, ord=ord, axis=1))
    for actual, ord in zip(matrices, MATRIX_ORDS, strict=True):
        assert_matches(actual, np.linalg.norm(T, ord=ord, axis=(2, 0), keepdims=True))
    for actual, want in zip(whole, [np.linalg.norm(T), np.linalg.norm(T, keepdims=True),
                                    np.linalg.norm(T, 1, axis=-1, keepdims=True)], strict=True):
        assert_matches(actual, want)
    assert_matches(mnp.linalg.norm(mnp.asarray(T), keepdims=True), np.linalg.norm(T, keepdims=True))


def test_shape_mismatches_name_both_shapes():
    a = mnp.asarray(A)
    cases = [
        (lambda: a @ a, r"\(3, 4\).*\(3, 4\)"),
        (lambda: mnp.matmul(T, np.ones((3, 4, 5), np.float32)), r"\(2, 3, 4\).*\(3, 4, 5\)"),
        (lambda: mnp.dot(A, A), r"\(3, 4\).*\(3, 4\)"),
        (lambda: mnp.dot(V, np.ones(3, np.float32)), r"\(4,\).*\(3,\)"),
        (lambda: mnp.tensordot(A, A, 1), r"\(3, 4\).*\(3, 4\)"),
        (lambda: mnp.einsum("ij,jk->ik", A, A), r"\(3, 4\).*\(3, 4\)"),
        (lambda: mnp.einsum("ij,j->i", A, np.ones(3, np.float32)), r"\(3, 4\).*\(3,\)"),
        (lambda: mnp.inner(A, B), r"\(3, 4\).*\(4, 5\)"),
        (lambda: mlax.jit(lambda x, y: x @ y)(A, A), r"\(3, 4\).*\(3, 4\)"),
    ]
    for fn, pattern in cases:
        with pytest.raises((TypeError, ValueError), match=pattern):
            fn()


def test_einsum_errors():
    with pytest.raises(ValueError, match="do not match an operand of shape"):
        mnp.einsum("ijk->i", A)
    with pytest.raises(ValueError, match="2 operand subscripts for 1 operands"):
        mnp.einsum("ij,jk->ik", A)


def test_preferred_element_type_without_a_contraction():
    # A scalar operand and a single einsum operand meet no dot_general; JAX still honours the type.
    product = mnp.dot(np.int32(2), INTS, preferred_element_type=np.float32)
    assert product.dtype == np.float32
    assert_matches(product, 2 * INTS.astype(np.float32))
    sums = mnp.einsum("ij->i", INTS, preferred_element_type=np.float32)
    assert sums.dtype == np.float32
    assert_matches(sums, INTS.sum(1).astype(np.float32))


def test_second_derivative_of_solve_matches_finite_differences(x64):
    a = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    t = np.array([[0.1, -0.2, 0.3], [0.0, 0.1, -0.1], [0.2, 0.0, 0.1]])
    b = np.array([1.0, 2.0, 3.0])
    first = lambda m: mlax.jvp(lambda v: mnp.linalg.solve(v, b), (m,), (t,))[1]  # noqa: E731
    second = np.asarray(mlax.jvp(first, (a,), (t,))[1])
    numeric = (np.asarray(first(a + 1e-6 * t)) - np.asarray(first(a - 1e-6 * t))) / 2e-6
    np.testing.assert_allclose(second, numeric, rtol=1e-6)
