"""Reductions in mlax.numpy against NumPy: axis/keepdims, accumulation dtypes,
argmax/argmin with NaN and ties, cumulative sums and products."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from numpy_checks import assert_matches

X = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7.5) / 4
REDUCTIONS = ["sum", "prod", "mean", "var", "std", "max", "min", "all", "any"]
AXES = [None, 0, -1, (0, 2)]


def test_reductions_over_axes_with_keepdims_eager():
    for name in REDUCTIONS:
        for axis in (None, 1):
            for keepdims in (False, True):
                assert_matches(getattr(mnp, name)(X, axis=axis, keepdims=keepdims),
                               getattr(np, name)(X, axis=axis, keepdims=keepdims))


def test_reductions_over_axes_with_keepdims_under_jit():
    # (A list: a dict keyed by (name, axis, keepdims) would mix None and ints in its keys, which
    # pytrees cannot sort, in JAX too.)
    cases = [(name, axis, keepdims) for name in REDUCTIONS for axis in AXES for keepdims in (False, True)]

    def reduce_all(x):
        return [getattr(mnp, name)(x, axis=axis, keepdims=keepdims) for name, axis, keepdims in cases]

    for (name, axis, keepdims), actual in zip(cases, mlax.jit(reduce_all)(X)):
        assert_matches(actual, getattr(np, name)(X, axis=axis, keepdims=keepdims))


def test_methods_forward_to_the_reductions():
    x = mnp.asarray(X)
    assert_matches(x.sum(0), X.sum(0))
    assert_matches(x.mean(axis=(1, 2), keepdims=True), X.mean(axis=(1, 2), keepdims=True))
    assert_matches(x.max(-1), X.max(-1))
    assert_matches(x.argmin(), X.argmin(), dtype=np.int32)
    assert_matches(x.std(), X.std())


def test_accumulation_dtypes_follow_jax():
    ints = np.array([[3, -1, 2], [0, 5, -4]], np.int32)
    # Integers and bools sum in the default integer (int32 without x64; NumPy uses int64).
    for dtype in (np.int8, np.int16, np.int32, np.bool_):
        assert_matches(mnp.sum(ints.astype(dtype), axis=0), ints.astype(dtype).sum(0), dtype=np.int32)
        assert_matches(mnp.prod(ints.astype(dtype)), ints.astype(dtype).prod(), dtype=np.int32)
    assert_matches(mnp.sum(np.abs(ints).astype(np.uint8)), np.abs(ints).sum(), dtype=np.uint32)
    assert_matches(mnp.sum(X.astype(np.float16), 1), X.astype(np.float16).sum(1))
    assert_matches(mnp.mean(ints, 0), ints.mean(0), dtype=np.float32)
    assert_matches(mnp.var(ints), ints.var(), dtype=np.float32)
    assert_matches(mnp.mean(X.astype(mnp.bfloat16.dtype), 1), X.mean(1), dtype=mnp.bfloat16.dtype)
    assert_matches(mnp.sum(ints, dtype=mnp.float32), ints.sum(), dtype=np.float32)
    assert_matches(mnp.max(ints.astype(np.int8), 1), ints.astype(np.int8).max(1))


def test_var_and_std_with_ddof():
    assert_matches(mnp.var(X, 1, ddof=1), np.var(X, 1, ddof=1))
    assert_matches(mnp.std(X, ddof=1), np.std(X, ddof=1))
    assert_matches(mnp.var(X, (0, 2), keepdims=True, ddof=2), np.var(X, (0, 2), keepdims=True, ddof=2))


def test_initial_and_where():
    selected = X > -1.5  # at least one element in every row
    assert_matches(mnp.sum(X, initial=5.0), np.sum(X, initial=5.0))
    assert_matches(mnp.max(X, axis=0, initial=1.0), np.max(X, axis=0, initial=1.0))
    assert_matches(mnp.sum(X, axis=1, where=selected), np.sum(X, axis=1, where=selected))
    assert_matches(mnp.prod(X, axis=2, where=selected), np.prod(X, axis=2, where=selected))
    assert_matches(mnp.min(X, axis=1, where=selected, initial=9.0), np.min(X, axis=1, where=selected, initial=9.0))
    assert_matches(mnp.mean(X, axis=2, where=selected), np.mean(X, axis=2, where=selected))


def test_nan_propagates_through_reductions():
    x = X.copy()
    x[0, 1, 2] = np.nan
    for name in ("sum", "max", "min", "mean"):
        assert_matches(getattr(mnp, name)(x, axis=2), getattr(np, name)(x, axis=2))


def test_argmax_argmin_take_the_first_nan_and_the_first_tie():
    with_nan = X.copy()
    with_nan[0, 1, 2] = with_nan[0, 1, 3] = np.nan
    ties = np.round(X / 2)
    for name in ("argmax", "argmin"):
        for x in (with_nan, ties):
            for axis in (None, 0, 1, -1):
                assert_matches(getattr(mnp, name)(x, axis=axis), getattr(np, name)(x, axis=axis), dtype=np.int32)
            assert_matches(getattr(mnp, name)(x, axis=None, keepdims=True),
                           getattr(np, name)(x, axis=None, keepdims=True), dtype=np.int32)
            assert_matches(getattr(mnp, name)(x, axis=1, keepdims=True),
                           getattr(np, name)(x, axis=1, keepdims=True), dtype=np.int32)
    ints = np.array([[3, 7, 7, -2], [-2, 1, 3, -2]], np.int32)
    assert_matches(mnp.argmax(ints, 1), np.argmax(ints, 1), dtype=np.int32)
    assert_matches(mnp.argmin(ints, 1), np.argmin(ints, 1), dtype=np.int32)


def test_arg_reductions_under_jit():
    x = X.copy()
    x[1, 2, 0] = np.nan

    def args(x):
        return [mnp.argmax(x), mnp.argmin(x, 1), mnp.argmax(x, -1, keepdims=True), mnp.argmin(x[0] * 0.0, 0)]

    expected = [np.argmax(x), np.argmin(x, 1), np.argmax(x, -1, keepdims=True), np.argmin(x[0] * 0.0, 0)]
    for actual, want in zip(mlax.jit(args)(x), expected, strict=True):
        assert_matches(actual, want, dtype=np.int32)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative(name):
    ints = np.array([[3, 1, -3], [0, 2, -2]], np.int32)
    flags = ints > 0
    for axis in (None, 0, -1):
        assert_matches(getattr(mnp, name)(X, axis=axis), getattr(np, name)(X, axis=axis))
        assert_matches(getattr(mnp, name)(ints, axis=axis), getattr(np, name)(ints, axis=axis), dtype=np.int32)
        # Bools count in the default integer.
        assert_matches(getattr(mnp, name)(flags, axis=axis), getattr(np, name)(flags, axis=axis), dtype=np.int32)
    # Unlike NumPy, JAX keeps narrow integer types.
    assert_matches(getattr(mnp, name)(ints.astype(np.int8), 1), getattr(np, name)(ints, 1), dtype=np.int8)
    assert_matches(getattr(mnp, name)(ints, 0, dtype=mnp.float32), getattr(np, name)(ints, 0), dtype=np.float32)
    traced = mlax.jit(lambda x, i: (getattr(mnp, name)(x, 1), getattr(mnp, name)(i)))(X, ints)
    assert_matches(traced[0], getattr(np, name)(X, 1))
    assert_matches(traced[1], getattr(np, name)(ints), dtype=np.int32)


def test_reduction_errors():
    with pytest.raises(ValueError, match="zero-size array"):
        mnp.max(np.zeros((0, 3), np.float32), axis=0)
    with pytest.raises(ValueError, match="empty sequence"):
        mnp.argmin(np.zeros((2, 0), np.float32), axis=1)
    with pytest.raises(ValueError, match="axis 3 is out of bounds"):
        mnp.sum(X, axis=3)
    with pytest.raises(ValueError, match="repeated axis"):
        mnp.sum(X, axis=(1, -2))


@pytest.mark.parametrize("axis", [None, (0, 2), (1, 2)])
def test_weighted_sums_over_several_axes_compile(axis):
    # IREE 3.13 turns reduce(broadcast(w) * x) over several axes into a contraction it cannot
    # compile; the lowering merges the reduced axes into one.
    x = np.arange(48, dtype=np.float32).reshape(2, 3, 8) / 10
    weights = np.linspace(-1, 1, 8, dtype=np.float32)
    reduced = mlax.jit(lambda x, w: ((w * x).sum(axis=axis), (w * x).max(axis=axis)))(x, weights)
    assert_matches(reduced[0], (weights * x).sum(axis=axis), rtol=1e-5)
    assert_matches(reduced[1], (weights * x).max(axis=axis))


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [0, 1])
def test_complex_cumulative_sums_and_products(name, axis):
    # IREE 3.13 failed to compile a complex scan; the lowering scans the parts.
    z = np.array([[1 + 1j, 2 - 1j, 3j, 0.5], [0.5, -1j, 2, 1 + 2j]], dtype=np.complex64)
    np.testing.assert_allclose(np.asarray(getattr(mnp, name)(mnp.asarray(z), axis=axis)), getattr(np, name)(z, axis=axis),
                               rtol=1e-5, atol=1e-5)
    reversed_ = getattr(mlax.lax, name)(mnp.asarray(z[0]), reverse=True)
    np.testing.assert_allclose(np.asarray(reversed_), getattr(np, name)(z[0][::-1])[::-1], rtol=1e-5, atol=1e-5)


def test_nan_reductions_take_jax_arguments():
    x = np.array([[1.0, np.nan, 2.0], [np.nan, 4.0, 8.0]], np.float32)
    mean = mnp.nanmean(x, axis=1, dtype=np.float16)
    assert mean.dtype == np.float16
    np.testing.assert_array_equal(mean, [1.5, 6.0])
    assert mnp.nanmean(np.array([1, 2, 4], np.int32), dtype=np.int32).dtype == np.int32
    assert mnp.nansum(x, 1, np.float16).dtype == np.float16
    # nanmax and nanmin have no dtype: their third parameter is out, as in JAX.
    np.testing.assert_array_equal(mnp.nanmax(x, 1, None, True), [[2.0], [8.0]])
    np.testing.assert_array_equal(mnp.nanmin(x, axis=0, where=x > 1, initial=100.0), [100.0, 4.0, 2.0])
    assert float(mnp.nanprod(x, initial=2.0)) == 128.0
