"""mlax.random: JAX's Threefry bit streams (golden values taken from jax.random 0.10),
the same numbers eagerly, under jit and under vmap, and the distributions' statistics."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import random

KEY = random.key(42)


def test_bit_streams_match_jax():
    np.testing.assert_array_equal(KEY, [0, 42])
    np.testing.assert_array_equal(random.split(KEY), [[1832780943, 270669613], [64467757, 2916123636]])
    np.testing.assert_array_equal(random.fold_in(KEY, 7), [2547012911, 1371500959])
    np.testing.assert_array_equal(random.bits(KEY, (4,)), [2098992034, 2919706841, 2646866425, 2409546199])
    np.testing.assert_allclose(random.uniform(KEY, (4,)), [0.48870957, 0.6797972, 0.6162715, 0.5610161], rtol=1e-6)
    np.testing.assert_allclose(random.normal(KEY, (4,)), [-0.02830462, 0.46713185, 0.29570296, 0.15354592],
                               rtol=1e-5)
    np.testing.assert_array_equal(random.randint(KEY, (6,), 0, 10), [4, 4, 1, 9, 9, 9])
    np.testing.assert_array_equal(random.permutation(KEY, 8), [7, 4, 2, 5, 3, 6, 0, 1])


def test_same_numbers_eagerly_under_jit_and_vmap():
    keys = random.split(KEY, 3)
    eager = np.stack([np.asarray(random.normal(k, (5,))) for k in keys])
    np.testing.assert_array_equal(mlax.jit(lambda k: random.normal(k, (5,)))(keys[1]), eager[1])
    np.testing.assert_array_equal(mlax.vmap(lambda k: random.normal(k, (5,)))(keys), eager)
    traced_seed = mlax.jit(lambda s: random.uniform(random.key(s), (3,)))(np.int32(42))
    np.testing.assert_array_equal(traced_seed, random.uniform(KEY, (3,)))


def test_distribution_statistics():
    n = 20000
    keys = random.split(KEY, 8)
    u = np.asarray(random.uniform(keys[0], (n,), minval=-2.0, maxval=4.0))
    assert u.min() >= -2.0 and u.max() < 4.0 and abs(u.mean() - 1.0) < 0.05 and abs(u.var() - 3.0) < 0.1
    z = np.asarray(random.normal(keys[1], (n,)))
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03
    b = np.asarray(random.bernoulli(keys[2], 0.3, (n,)))
    assert b.dtype == bool and abs(b.mean() - 0.3) < 0.02
    r = np.asarray(random.randint(keys[3], (n,), -3, 4))
    assert r.min() == -3 and r.max() == 3 and np.all(np.abs(np.bincount(r + 3) / n - 1 / 7) < 0.02)
    t = np.asarray(random.truncated_normal(keys[4], -1.0, 0.5, (n,)))
    assert t.min() > -1.0 and t.max() < 0.5
    c = np.asarray(random.categorical(keys[5], np.log(np.array([0.2, 0.5, 0.3], np.float32)), shape=(n,)))
    np.testing.assert_allclose(np.bincount(c) / n, [0.2, 0.5, 0.3], atol=0.02)


def test_permutation_and_choice():
    perm = np.asarray(random.permutation(KEY, 50))
    np.testing.assert_array_equal(np.sort(perm), np.arange(50))
    rows = np.arange(12).reshape(6, 2)
    shuffled = np.asarray(random.permutation(KEY, mnp.asarray(rows)))
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, rows))
    picked = np.asarray(random.choice(KEY, 10, (5,), replace=False))
    assert len(set(picked.tolist())) == 5 and picked.max() < 10
    weighted = np.asarray(random.choice(KEY, 3, (4000,), p=np.array([0.0, 0.25, 0.75], np.float32)))
    assert 0 not in weighted and abs((weighted == 2).mean() - 0.75) < 0.03
    with pytest.raises(ValueError, match="without replacement"):
        random.choice(KEY, 3, (5,), replace=False)


def test_independent_permutation_matches_jax():
    # Golden values from jax.random.permutation(PRNGKey(0), arange(12).reshape(3, 4), 0, independent=True).
    rows = random.permutation(random.PRNGKey(0), mnp.arange(12).reshape(3, 4), axis=0, independent=True)
    np.testing.assert_array_equal(rows, [[0, 1, 6, 3], [8, 5, 10, 7], [4, 9, 2, 11]])
    columns = np.asarray(random.permutation(KEY, mnp.arange(12).reshape(3, 4), axis=1, independent=True))
    assert [sorted(r) for r in columns.tolist()] == np.arange(12).reshape(3, 4).tolist()


def test_invalid_keys_and_seeds():
    with pytest.raises(TypeError, match="PRNG key"):
        random.uniform(mnp.ones(3), (2,))
    with pytest.raises(OverflowError, match="x64"):
        random.key(2 ** 40)
