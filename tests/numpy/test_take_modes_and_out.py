"""take/take_along_axis out-of-bounds modes as in JAX (its default fills), and arguments
mlax cannot honour (`out=`, checkpoint policies) raise instead of being ignored."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp

INDICES = np.array([-7, -1, 0, 4, 5, 9])
X = np.arange(5.0, dtype=np.float32)


@pytest.mark.parametrize("jitted", [False, True])
def test_take_modes_match_jax(jitted):
    def take(x, mode=None, fill_value=None):
        fn = lambda v: mnp.take(v, INDICES, mode=mode, fill_value=fill_value)  # noqa: E731
        return np.asarray(mlax.jit(fn)(x) if jitted else fn(x))

    np.testing.assert_array_equal(take(X), [np.nan, 4, 0, 4, np.nan, np.nan])
    np.testing.assert_array_equal(take(X, "fill", -1.0), [-1, 4, 0, 4, -1, -1])
    np.testing.assert_array_equal(take(X, "clip"), [0, 0, 0, 4, 4, 4])
    np.testing.assert_array_equal(take(X, "wrap"), [3, 4, 0, 4, 0, 4])
    imin = np.iinfo(np.int32).min
    np.testing.assert_array_equal(take(np.arange(5, dtype=np.int32)), [imin, 4, 0, 4, imin, imin])


def test_default_fill_values_by_dtype():
    assert int(mnp.take(mnp.arange(4, dtype="uint8"), mnp.array([9]))[0]) == 255
    assert bool(mnp.take(mnp.array([True, False]), mnp.array([9]))[0])


def test_take_along_an_axis_of_a_matrix_fills():
    got = np.asarray(mnp.take(mnp.arange(6.0).reshape(2, 3), mnp.array([[0, 5]]), axis=1))
    np.testing.assert_array_equal(got, [[[0, np.nan]], [[3, np.nan]]])


def test_take_along_axis_modes_match_jax():
    np.testing.assert_array_equal(np.asarray(mnp.take_along_axis(X, INDICES, 0)), [np.nan, 4, 0, 4, np.nan, np.nan])
    np.testing.assert_array_equal(np.asarray(mnp.take_along_axis(X, INDICES, 0, mode="clip")), [0, 4, 0, 4, 4, 4])


def test_an_unknown_mode_is_a_value_error():
    with pytest.raises(ValueError, match="Invalid mode 'bogus' for take"):
        mnp.take(X, INDICES, mode="bogus")


@pytest.mark.parametrize("call", [
    lambda: mnp.sum(X, out=np.zeros(())), lambda: mnp.mean(X, out=np.zeros(())), lambda: mnp.max(X, out=np.zeros(())),
    lambda: mnp.argmax(X, out=np.zeros(())), lambda: mnp.cumsum(X, out=np.zeros(5)),
    lambda: mnp.nansum(X, out=np.zeros(())), lambda: mnp.median(X, out=np.zeros(())),
    lambda: mnp.take(X, INDICES, out=np.zeros(6))])
def test_out_arguments_raise(call):
    with pytest.raises(NotImplementedError, match="the 'out' argument is not supported"):
        call()


def test_checkpoint_policies_raise():
    with pytest.raises(NotImplementedError, match="checkpoint: policy=.* is not supported"):
        mlax.checkpoint(lambda x: x, policy=lambda *args, **kwargs: True)


def test_at_get_and_updates_follow_jax_modes():
    x = mnp.arange(5.0)
    i = mnp.array([1, 9, -1, -7])
    np.testing.assert_array_equal(np.asarray(x.at[i].get()), [1, 4, 4, 0])
    np.testing.assert_array_equal(np.asarray(x.at[i].get(mode="fill")), [1, np.nan, 4, np.nan])
    np.testing.assert_array_equal(np.asarray(x.at[i].get(mode="fill", fill_value=-1)), [1, -1, 4, -1])
    np.testing.assert_array_equal(np.asarray(x.at[i].set(10.0)), [0, 10, 2, 3, 10])
    np.testing.assert_array_equal(np.asarray(x.at[i].set(10.0, mode="clip")), [10, 10, 2, 3, 10])
    np.testing.assert_array_equal(np.asarray(x.at[i].add(1.0, mode="clip")), [1, 2, 2, 3, 6])
    m = mnp.arange(6.0).reshape(2, 3)
    got = mlax.jit(lambda m, j: m.at[:, j].get(mode="fill", fill_value=0.0))(m, mnp.array([2, 3]))
    np.testing.assert_array_equal(np.asarray(got), [[2, 0], [5, 0]])
    np.testing.assert_array_equal(np.asarray(m.at[:, mnp.array([0, 7])].set(-1.0, mode="clip")),
                                  [[-1, 1, -1], [-1, 4, -1]])


def test_at_rejects_unknown_modes_and_keywords():
    x = mnp.arange(5.0)
    with pytest.raises(ValueError, match='Unknown gather mode "wrap"'):
        x.at[mnp.array([1])].get(mode="wrap")
    with pytest.raises(ValueError, match='Unknown scatter mode "bogus"'):
        x.at[1].set(1.0, mode="bogus")
    with pytest.raises(TypeError, match="fill_value"):
        x.at[1].set(1.0, fill_value=3)
