"""Floating-point sums are accurate however long the reduced axis: a tree of short
blocks (one accumulator stopped growing at 2**24 in float32), and float16/bfloat16
sums, means, variances and dot products accumulate in float32, as JAX's do."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp


def relative_error(got, reference):
    got, reference = np.asarray(got, np.float64), np.asarray(reference, np.float64)
    return np.max(np.abs(got - reference) / np.maximum(np.abs(reference), 1e-30))


@pytest.mark.parametrize("jitted", [False, True])
def test_float32_sums_past_2_to_the_24(jitted):
    count = 20_000_000  # past 2**24: one float32 accumulator stops growing at 16777216
    ones = mnp.ones(count)
    mean = mlax.jit(mnp.mean) if jitted else mnp.mean
    assert float(mean(ones)) == 1.0
    x = np.random.default_rng(0).random(count, dtype=np.float32)
    total = (mlax.jit(mnp.sum) if jitted else mnp.sum)(mnp.asarray(x))
    assert relative_error(total, x.astype(np.float64).sum()) < 1e-6


def test_a_repeated_value_sums_without_drift():
    # The same term a million times is the worst case for one accumulator (100958.34 before).
    assert relative_error(mnp.sum(mnp.full(1_000_000, 0.1)), 1_000_000 * np.float64(np.float32(0.1))) < 1e-6


@pytest.mark.parametrize("axis", [0, 1, 2, (0, 1), (1, 2), (0, 2), None])
def test_every_axis_layout(axis):
    x = np.random.default_rng(1).standard_normal((300, 40, 250)).astype(np.float32)
    reference = x.astype(np.float64).sum(axis=axis)
    for fn in (mnp.sum, mlax.jit(lambda a: mnp.sum(a, axis))):
        got = fn(mnp.asarray(x), axis) if fn is mnp.sum else fn(mnp.asarray(x))
        scale = np.abs(x).astype(np.float64).sum(axis=axis)  # cancellation: compare with the sum of magnitudes
        assert np.max(np.abs(np.asarray(got, np.float64) - reference) / scale) < 1e-6


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 40_000), rows=st.integers(1, 3), along_rows=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_sums_of_any_length_match_float64(length, rows, along_rows, seed):
    x = np.random.default_rng(seed).random((rows, length) if along_rows else (length, rows), dtype=np.float32)
    axis = 1 if along_rows else 0
    got = mlax.jit(lambda a: mnp.sum(a, axis))(mnp.asarray(x))
    assert relative_error(got, x.astype(np.float64).sum(axis=axis)) < 1e-6


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_accumulates_in_float32(dtype):
    ones = mnp.ones(10_000, dtype=dtype)
    assert float(mnp.sum(ones)) == float(np.asarray(10_000, np.float32).astype(mnp.dtype(dtype)))
    assert float(mnp.mean(mnp.ones(100_000, dtype=dtype))) == 1.0  # sum and count overflow float16
    row = mnp.ones((1, 4096), dtype=dtype)
    assert float((row @ row.T)[0, 0]) == 4096.0
    assert (row @ row.T).dtype == mnp.dtype(dtype)


def test_half_precision_mean_and_variance_match_jax_values():
    x = np.random.default_rng(2).random(100_000).astype(np.float32)
    half = mnp.asarray(x).astype("float16")
    exact = x.astype(np.float16).astype(np.float64)
    assert mnp.mean(half).dtype == np.float16 and mnp.var(half).dtype == np.float16
    assert abs(float(mnp.mean(half)) - exact.mean()) < 1e-3
    assert abs(float(mnp.var(half)) - exact.var()) < 1e-3
