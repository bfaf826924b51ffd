"""Sorting: mnp.sort/argsort/median/quantile/percentile and lax.sort/top_k, against NumPy,
eagerly and under jit, with ties and NaNs; gradients flow through the sort order."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import lax

RNG = np.random.default_rng(7)
X = RNG.standard_normal((4, 7)).astype(np.float32)
TIES = np.array([3.0, np.nan, 1.0, 2.0, 1.0, -np.inf, np.nan, 2.0], np.float32)


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_sort_and_argsort_match_numpy(axis):
    for run in (lambda f: f, mlax.jit):
        np.testing.assert_array_equal(run(lambda a: mnp.sort(a, axis=axis))(X), np.sort(X, axis=axis))
        got = run(lambda a: mnp.argsort(a, axis=axis))(X)
        np.testing.assert_array_equal(got, np.argsort(X, axis=axis, kind="stable"))
        assert np.asarray(got).dtype == np.int32


@pytest.mark.parametrize("axis", [0, 1])
def test_sort_of_300_by_300_compiles(axis):
    # IREE kept the unused positions of a tile of rows in a stack buffer past its 32 KiB
    # limit, and compilation failed.
    big = RNG.standard_normal((300, 300)).astype(np.float32)
    np.testing.assert_array_equal(mnp.sort(big, axis=axis), np.sort(big, axis=axis))


def test_argsort_of_constant_keys_under_jit():
    # Regression: IREE gathered argsort's positions of constant keys wrongly under jit
    # ([0, 0, 0, 0] for argsort(zeros(4)), [3, 3, 3, 3] for argsort([3, 1, 2, 0])).
    x = np.array([5.0, 1.0, 3.0, 0.0], np.float32)
    keys = np.array([3, 1, 2, 0], np.int32)
    got = mlax.jit(lambda v: (mnp.argsort(mnp.zeros(4, "int32")), mnp.argsort(mnp.asarray(keys)),
                              v[mnp.argsort(mnp.asarray(keys))]))(x)
    np.testing.assert_array_equal(got[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(got[1], np.argsort(keys))
    np.testing.assert_array_equal(got[2], x[np.argsort(keys)])


def test_sort_is_stable_with_nans_last():
    np.testing.assert_array_equal(mnp.sort(TIES), np.sort(TIES))
    np.testing.assert_array_equal(mnp.argsort(TIES), np.argsort(TIES, kind="stable"))
    ints = np.array([2, 1, 2, 1, 0, 2], np.int32)
    np.testing.assert_array_equal(mnp.argsort(ints), np.argsort(ints, kind="stable"))


def test_descending_keeps_equal_elements_in_order():
    np.testing.assert_array_equal(mnp.sort(TIES, descending=True), [np.nan, np.nan, 3, 2, 2, 1, 1, -np.inf])
    np.testing.assert_array_equal(mnp.argsort(TIES, descending=True), [1, 6, 0, 3, 7, 2, 4, 5])


def test_lax_sort_key_val_and_top_k():
    keys = np.array([[3.0, 1.0, 2.0, 1.0]], np.float32)
    sorted_keys, values = lax.sort((keys, np.array([[10, 11, 12, 13]], np.int32)))
    np.testing.assert_array_equal(sorted_keys, [[1, 1, 2, 3]])
    np.testing.assert_array_equal(values, [[11, 13, 12, 10]])
    top, where = lax.top_k(np.array([1.0, 5.0, 3.0, 5.0, 2.0], np.float32), 3)
    np.testing.assert_array_equal(top, [5, 5, 3])
    np.testing.assert_array_equal(where, [1, 3, 2])
    with pytest.raises(ValueError, match="k=9"):
        lax.top_k(np.ones(4, np.float32), 9)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), (None, True)])
def test_order_statistics_match_numpy(axis, keepdims):
    np.testing.assert_allclose(mnp.median(X, axis=axis, keepdims=keepdims),
                               np.median(X, axis=axis, keepdims=keepdims), rtol=1e-6)
    np.testing.assert_allclose(mnp.quantile(X, [0.1, 0.5, 0.95], axis=axis, keepdims=keepdims),
                               np.quantile(X, [0.1, 0.5, 0.95], axis=axis, keepdims=keepdims), rtol=1e-5)
    np.testing.assert_allclose(mnp.percentile(X, 30, axis=axis, keepdims=keepdims),
                               np.percentile(X, 30, axis=axis, keepdims=keepdims), rtol=1e-5)
    with pytest.raises(ValueError, match="range"):
        mnp.quantile(X, 1.5)


def test_gradient_of_sorted_values_follows_the_permutation():
    x = np.array([3.0, 0.0, 1.0, 2.0, 5.0, 4.0], np.float32)
    weights = np.arange(6, dtype=np.float32)
    grad = mlax.grad(lambda a: mnp.sum(mnp.sort(a) * weights))(x)
    expected = np.zeros(6, np.float32)
    expected[np.argsort(x)] = weights
    np.testing.assert_array_equal(grad, expected)
    # The median's gradient picks the middle element(s).
    np.testing.assert_allclose(mlax.grad(mnp.median)(x), [0.5, 0, 0, 0.5, 0, 0])


def test_vmap_of_sort():
    np.testing.assert_array_equal(mlax.vmap(mnp.sort)(X), np.sort(X, axis=1))
    np.testing.assert_array_equal(mlax.vmap(mnp.argsort, in_axes=1)(X), np.argsort(X.T, axis=1, kind="stable"))


def test_quantile_methods_match_jax():
    # Positions 0.5, 1.5 and 0.6 between [10, 20, 30]: JAX's 'nearest' takes the lower
    # neighbour on a tie, where NumPy rounds half to even.
    x, q = np.array([10.0, 20.0, 30.0], np.float32), [0.25, 0.75, 0.3]
    expected = {"linear": [15, 25, 16], "lower": [10, 20, 10], "higher": [20, 30, 20],
                "midpoint": [15, 25, 15], "nearest": [10, 20, 20]}
    for method, values in expected.items():
        np.testing.assert_allclose(mnp.quantile(x, q, method=method), values, rtol=1e-6)
    np.testing.assert_allclose(mnp.percentile(X, 40, axis=1, method="higher"), np.percentile(X, 40, 1, method="higher"))
    with pytest.raises(ValueError, match="method must be one of"):
        mnp.quantile(x, 0.5, method="bogus")
    with pytest.raises(NotImplementedError, match="method='inverted_cdf'"):
        mnp.quantile(x, 0.5, method="inverted_cdf")


def test_arguments_jax_rejects_raise():
    for fn in (mnp.sort, mnp.argsort):
        with pytest.raises(TypeError, match="'kind' argument"):
            fn(X, kind="stable")
        with pytest.raises(TypeError, match="'order' argument"):
            fn(X, order="a")
    for call in (lambda: mnp.median(X, overwrite_input=True), lambda: mnp.quantile(X, 0.5, overwrite_input=True),
                 lambda: mnp.percentile(X, 50, overwrite_input=True)):
        with pytest.raises(ValueError, match="overwrite_input=True is not supported"):
            call()
    with pytest.raises(ValueError, match="num_keys=2 must equal 1"):
        lax.sort(X, num_keys=2)
    with pytest.raises(NotImplementedError, match="num_keys=2"):
        lax.sort((X, X), num_keys=2)
