"""Comparisons shared by the mlax.numpy tests: NumPy is the oracle for values,
and for dtypes wherever JAX's rules agree with NumPy's."""

import numpy as np

import mlax


def assert_matches(actual, expected, dtype=None, rtol=1e-5, atol=1e-6):
    """`actual` has expected's values and shape, and dtype `dtype` (default: expected's dtype)."""
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    want = np.dtype(dtype or expected.dtype)
    assert actual.dtype == want, f"dtype {actual.dtype} != {want}"
    if actual.dtype == np.bool_ or np.issubdtype(actual.dtype, np.integer):
        np.testing.assert_array_equal(actual, expected)
    else:
        # Compare in double precision; float16/bfloat16 with a tolerance for their precision.
        wide = np.complex128 if np.iscomplexobj(actual) else np.float64
        loose = actual.dtype.itemsize < 4
        np.testing.assert_allclose(actual.astype(wide), expected.astype(wide), equal_nan=True,
                                   rtol=1e-2 if loose else rtol, atol=1e-2 if loose else atol)


def eager_and_jit(fn, *args):
    """fn(*args) run eagerly and under mlax.jit."""
    return [fn(*args), mlax.jit(fn)(*args)]
