"""Array creation in mlax.numpy against NumPy, eager and under jit."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors
from numpy_checks import assert_matches


def test_array_and_asarray_pick_jax_default_dtypes():
    # Without x64, Python ints and 64-bit NumPy arrays become 32-bit.
    assert_matches(mnp.array([1, 2, 3]), np.array([1, 2, 3]), dtype=np.int32)
    assert_matches(mnp.array([[1.0, 2], [3, 4]]), np.array([[1.0, 2], [3, 4]]), dtype=np.float32)
    assert_matches(mnp.array([True, False]), np.array([True, False]))
    assert_matches(mnp.asarray(np.arange(3.0)), np.arange(3.0), dtype=np.float32)
    assert_matches(mnp.asarray((1, 2.5)), np.array([1, 2.5]), dtype=np.float32)
    assert_matches(mnp.asarray(np.float16(2)), np.float16(2))
    assert_matches(mnp.asarray(np.arange(4, dtype=np.uint8)), np.arange(4, dtype=np.uint8))


def test_array_with_dtype_and_ndmin():
    assert_matches(mnp.array([1.7, -2.5], dtype=mnp.int32), np.array([1.7, -2.5]).astype(np.int32))
    assert_matches(mnp.asarray([[1, 2]], dtype=mnp.float16), np.array([[1, 2]], np.float16))
    assert_matches(mnp.asarray([1, 0], dtype=bool), np.array([True, False]))
    assert_matches(mnp.array(3.0, ndmin=2), np.array(3.0, ndmin=2), dtype=np.float32)
    assert_matches(mnp.float32(3), np.float32(3))
    assert_matches(mnp.int8(np.array([1.9, -1.9])), np.array([1, -1], np.int8))
    existing = mnp.asarray([1.5, 2.5])
    assert mnp.asarray(existing) is existing
    assert_matches(mnp.array(existing, dtype=mnp.int32), np.array([1, 2], np.int32))
    assert_matches(existing.astype(mnp.bfloat16), np.array([1.5, 2.5]), dtype=mnp.bfloat16.dtype)


def test_array_of_objects_is_a_type_error():
    with pytest.raises(TypeError, match="cannot convert"):
        mnp.array([object()])


def test_zeros_ones_full():
    assert_matches(mnp.zeros((2, 3)), np.zeros((2, 3), np.float32))
    assert_matches(mnp.zeros(3, dtype=int), np.zeros(3, np.int32))
    assert_matches(mnp.ones((2,), mnp.int8), np.ones(2, np.int8))
    empty = mnp.empty((1, 2), mnp.int8)
    assert (empty.shape, empty.dtype) == ((1, 2), np.int8)
    assert_matches(mnp.full((2, 2), 3), np.full((2, 2), 3, np.int32))
    assert_matches(mnp.full((2, 2), True), np.full((2, 2), True))
    assert_matches(mnp.full(3, np.float16(2)), np.full(3, 2, np.float16))
    assert_matches(mnp.full((2, 3), np.int8([1, 2, 3])), np.full((2, 3), np.int8([1, 2, 3])))
    assert_matches(mnp.full((2, 3), mnp.array([1.0, 2.0, 3.0])), np.full((2, 3), np.float32([1, 2, 3])))
    assert_matches(mnp.full((2,), 7, dtype=mnp.float16), np.full(2, 7, np.float16))


def test_full_of_a_python_scalar_is_weakly_typed():
    # A weak float takes the dtype of the array it meets, as jnp.full does.
    for shape in ((2,), (2, 3)):
        filled = mnp.full(shape, 2.5)
        assert filled.weak_type and filled.dtype == np.float32
        assert (filled * np.float16(2)).dtype == np.float16
        assert (mlax.jit(lambda: mnp.full(shape, 2.5))() + np.ones(shape[-1], np.float16)).dtype == np.float16
    assert not mnp.full((2,), 2.5, dtype=mnp.float32).weak_type
    assert not mnp.zeros(2).weak_type


def test_arange():
    assert_matches(mnp.arange(5), np.arange(5), dtype=np.int32)
    assert_matches(mnp.arange(2, 10, 3), np.arange(2, 10, 3), dtype=np.int32)
    assert_matches(mnp.arange(5, -3, -2), np.arange(5, -3, -2), dtype=np.int32)
    assert_matches(mnp.arange(0, 1, 0.25), np.arange(0, 1, 0.25), dtype=np.float32)
    assert_matches(mnp.arange(3.0), np.arange(3.0), dtype=np.float32)
    assert_matches(mnp.arange(4, dtype=mnp.float16), np.arange(4, dtype=np.float16))
    assert_matches(mnp.arange(3, 3), np.arange(3, 3), dtype=np.int32)


def test_linspace():
    assert_matches(mnp.linspace(0, 1, 5), np.linspace(0, 1, 5, dtype=np.float32))
    assert_matches(mnp.linspace(-1, 1, 4, endpoint=False), np.linspace(-1, 1, 4, endpoint=False, dtype=np.float32))
    assert_matches(mnp.linspace(2, 3, 1), np.linspace(2, 3, 1, dtype=np.float32))
    assert_matches(mnp.linspace(0, 10, 4, dtype=mnp.int32), np.linspace(0, 10, 4).astype(np.int32))
    samples, step = mnp.linspace(2, 3, 5, retstep=True)
    assert_matches(samples, np.linspace(2, 3, 5, dtype=np.float32))
    assert float(step) == 0.25
    starts, stops = np.float32([0, 1]), np.float32([1, 3])
    assert_matches(mnp.linspace(starts, stops, 3), np.linspace(starts, stops, 3))
    assert_matches(mnp.linspace(starts, stops, 3, axis=1), np.linspace(starts, stops, 3, axis=1))


def test_eye():
    assert_matches(mnp.eye(3), np.eye(3, dtype=np.float32))
    assert_matches(mnp.eye(3, 4, k=1, dtype=mnp.int32), np.eye(3, 4, k=1, dtype=np.int32))
    assert_matches(mnp.eye(4, 3, k=-2, dtype=bool), np.eye(4, 3, k=-2, dtype=bool))
    assert_matches(mnp.identity(2), np.identity(2, np.float32))


def test_like_functions():
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    floats = mnp.asarray(ints, dtype=mnp.float32)
    assert_matches(mnp.zeros_like(ints), np.zeros_like(ints))
    assert_matches(mnp.ones_like(floats, dtype=mnp.int8), np.ones((2, 3), np.int8))
    assert_matches(mnp.full_like(ints, 2.7), np.full_like(ints, 2.7))
    assert_matches(mnp.full_like(floats, 2.5, shape=(4,)), np.full(4, 2.5, np.float32))
    assert_matches(mnp.ones_like(ints, shape=(2, 2)), np.ones((2, 2), np.int32))
    assert mnp.zeros_like(mnp.asarray(2.0)).weak_type


def test_creation_under_jit():
    def create(x):
        return [mnp.zeros((2, 3)) + x, mnp.ones(3, mnp.int32), mnp.full((2,), 2.5), mnp.full((2, 3), x[1, 2]),
                mnp.arange(4), mnp.arange(1, 7, 2), mnp.arange(0.0, 1.0, 0.25), mnp.arange(5, 1, -1),
                mnp.linspace(0, 1, 5), mnp.linspace(x[0, 0], x[1, 2], 4), mnp.eye(3, k=-1), mnp.eye(2, 3, 1, mnp.int32),
                mnp.zeros_like(x), mnp.ones_like(x, dtype=bool), mnp.full_like(x, 7),
                mnp.array([x[0, 0], 2.0, x[1, 1]]), mnp.asarray([[1, 2], [3, 4]]), mnp.array(np.arange(3.0)),
                mnp.asarray([x, x + 1])]

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = [np.zeros((2, 3), np.float32) + x, np.ones(3, np.int32), np.full(2, 2.5, np.float32),
                np.full((2, 3), x[1, 2]), np.arange(4, dtype=np.int32), np.arange(1, 7, 2, dtype=np.int32),
                np.arange(0, 1, 0.25, dtype=np.float32), np.arange(5, 1, -1, dtype=np.int32),
                np.linspace(0, 1, 5, dtype=np.float32), np.linspace(0, 5, 4, dtype=np.float32),
                np.eye(3, k=-1, dtype=np.float32), np.eye(2, 3, 1, dtype=np.int32), np.zeros_like(x),
                np.ones((2, 3), bool), np.full_like(x, 7), np.float32([0, 2, 4]), np.int32([[1, 2], [3, 4]]),
                np.arange(3, dtype=np.float32), np.stack([x, x + 1])]
    for actual, want in zip(mlax.jit(create)(x), expected, strict=True):
        assert_matches(actual, want)


def test_traced_arange_bound_is_a_concretization_error():
    with pytest.raises(errors.ConcretizationTypeError):
        mlax.jit(lambda n: mnp.arange(n))(3)


def test_only_order_k_is_supported():
    with pytest.raises(NotImplementedError, match="order='F'"):
        mnp.array([1.0, 2.0], order="F")
    with pytest.raises(NotImplementedError, match="order='C'"):
        mnp.asarray(np.ones(2), order="C")
    assert_matches(mnp.asarray(np.ones(2), order="K"), np.ones(2, np.float32))
