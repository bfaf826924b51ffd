"""No silent coercion: Python ints that do not fit the default integer dtype raise
OverflowError (as JAX does) instead of wrapping, and shapes must be integers."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import mlax
import mlax.numpy as mnp
from mlax import lax


@pytest.mark.parametrize("make", [
    lambda: mnp.array(2**40),
    lambda: mnp.asarray(-2**31 - 1),
    lambda: mnp.int32(1) + 2**40,
    lambda: mnp.ones(3) + 2**40,
    lambda: mnp.arange(3) * 2**33,
    lambda: mlax.jit(lambda x: x + 2**40)(mnp.int32(1)),
])
def test_python_ints_past_int32_raise_overflow(make):
    with pytest.raises(OverflowError, match=r"Python int -?\d+ too large to convert to int32"):
        make()


@given(st.integers(-2**31, 2**31 - 1))
def test_python_ints_within_int32_are_exact(value):
    assert int(mnp.array(value)) == value


def test_with_x64_python_ints_are_int64():
    mlax.config.update("mlax_enable_x64", True)
    try:
        assert int(mnp.array(2**40)) == 2**40 and mnp.array(2**40).dtype == np.int64
    finally:
        mlax.config.update("mlax_enable_x64", False)


def test_weak_python_ints_still_wrap_into_narrow_arrays_as_in_jax():
    assert int(mnp.uint8(3) + 300) == 47


@pytest.mark.parametrize("make", [lambda: mnp.zeros((2.5, 3)), lambda: mnp.ones(2.0),
                                  lambda: lax.full((2.5,), 1.0), lambda: mnp.full((3.0,), 1)])
def test_float_shapes_raise_type_error(make):
    with pytest.raises(TypeError, match="shapes must be integers or sequences of integers, got"):
        make()


def test_negative_shapes_raise_value_error():
    with pytest.raises(ValueError, match="negative dimensions are not allowed"):
        mnp.zeros((2, -1))


def test_numpy_integer_shapes_are_accepted():
    assert mnp.zeros((np.int64(2), np.int32(3))).shape == (2, 3)
