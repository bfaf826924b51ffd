"""lax.pad of an interior-padded value: IREE 3.13 folded the two pads into one without the
interior padding, which also made the gradient of a strided slice of a slice wrong."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
from mlax import lax


def _np_pad(x, value, config):
    """NumPy reference for one axis: interior padding, then edges (negative ones crop)."""
    (low, high, interior), = config
    spread = np.full(len(x) + max(len(x) - 1, 0) * interior, value, x.dtype)
    spread[::interior + 1] = x
    spread = np.concatenate([np.full(max(low, 0), value, x.dtype), spread[max(-low, 0):]])
    spread = np.concatenate([spread[:len(spread) + min(high, 0)], np.full(max(high, 0), value, x.dtype)])
    return spread


@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(size=st.integers(1, 5), interior=st.integers(1, 2), low=st.integers(-1, 2), high=st.integers(-1, 2))
def test_edge_pad_of_an_interior_padded_value_matches_numpy(size, interior, low, high):
    x = np.arange(1, size + 1, dtype=np.float32)
    twice = mlax.jit(lambda v: lax.pad(lax.pad(v, 0.0, [(0, 0, interior)]), 0.0, [(low, high, 0)]))(x)
    np.testing.assert_array_equal(twice, _np_pad(_np_pad(x, 0, [(0, 0, interior)]), 0, [(low, high, 0)]))


@pytest.mark.parametrize("jit", [False, True])
def test_gradient_of_a_strided_slice_of_a_slice(jit):
    weights = np.array([1.0, 2.0, 3.0], np.float32)
    grad = mlax.grad(lambda v: (v[1:7][::2] * weights).sum())
    got = (mlax.jit(grad) if jit else grad)(np.arange(8, dtype=np.float32))
    np.testing.assert_array_equal(got, [0, 1, 0, 2, 0, 3, 0, 0])
