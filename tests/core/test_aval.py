"""ShapedArray: equality and hashing (jit keys its programs by argument avals)."""

import pickle

import numpy as np
from hypothesis import given, strategies as st

from mlax.core.aval import ShapedArray

shapes = st.lists(st.integers(0, 5), max_size=3).map(tuple)
dtypes = st.sampled_from([np.float32, np.int32, np.bool_, np.float16])


@given(shapes, dtypes, st.booleans(), shapes, dtypes, st.booleans())
def test_equal_avals_hash_alike_and_unequal_ones_compare_unequal(shape, dtype, weak, shape2, dtype2, weak2):
    a, b = ShapedArray(shape, dtype, weak), ShapedArray(shape2, dtype2, weak2)
    hash(a)  # the cached hash must not change what equality says
    same = (shape, np.dtype(dtype), weak) == (shape2, np.dtype(dtype2), weak2)
    assert (a == b) == same
    if same:
        assert hash(a) == hash(b)
    assert {a: 1}.get(ShapedArray(shape, dtype, weak)) == 1


def test_a_pickled_aval_rehashes_in_its_new_process():
    a = ShapedArray((2, 3), np.float32, weak_type=True)
    hash(a)
    b = pickle.loads(pickle.dumps(a))
    assert b == a and hash(b) == hash(a)
    # The hash is not carried: a process with another hash seed computes its own.
    assert "_hash" not in repr(pickle.dumps(a))
