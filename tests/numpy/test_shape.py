"""Shape functions in mlax.numpy against NumPy, eager and under jit, and their
errors naming the shapes involved."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from numpy_checks import assert_matches

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
V = np.arange(5, dtype=np.int32)

# (description, function of a NumPy-like module and an input)
CASES = [
    ("reshape -1", lambda m, x: m.reshape(x, (4, -1))),
    ("reshape order F", lambda m, x: m.reshape(x, (4, 6), order="F")),
    ("ravel", lambda m, x: m.ravel(x)),
    ("transpose", lambda m, x: m.transpose(x)),
    ("transpose axes", lambda m, x: m.transpose(x, (1, -1, 0))),
    ("moveaxis", lambda m, x: m.moveaxis(x, 0, -1)),
    ("moveaxis several", lambda m, x: m.moveaxis(x, (2, 0), (0, 1))),
    ("swapaxes", lambda m, x: m.swapaxes(x, 0, 2)),
    ("expand_dims", lambda m, x: m.expand_dims(x, 2)),
    ("expand_dims several", lambda m, x: m.expand_dims(x, (0, -1))),
    ("squeeze", lambda m, x: m.squeeze(m.reshape(x, (1, 2, 1, 12)))),
    ("squeeze axis", lambda m, x: m.squeeze(m.reshape(x, (1, 2, 1, 12)), -2)),
    ("broadcast_to", lambda m, x: m.broadcast_to(x[:, :1, :], (2, 3, 4))),
    ("broadcast_to new axes", lambda m, x: m.broadcast_to(x[0, 0], (3, 2, 4))),
    ("concatenate", lambda m, x: m.concatenate([x, x[:, :1]], axis=1)),
    ("concatenate axis None", lambda m, x: m.concatenate([x, x[0]], axis=None)),
    ("stack", lambda m, x: m.stack([x, x + 1], axis=-1)),
    ("stack axis 1", lambda m, x: m.stack([x[0], x[1]], axis=1)),
    ("vstack", lambda m, x: m.vstack([x[0, 0], x[1, 1]])),
    ("hstack", lambda m, x: m.hstack([x, x])),
    ("split sections", lambda m, x: m.split(x, 3, axis=1)),
    ("split indices", lambda m, x: m.split(x, [1, 3], axis=-1)),
    ("array_split", lambda m, x: m.array_split(x, 3, axis=2)),
    ("tile", lambda m, x: m.tile(x[0, 0], 2)),
    ("tile more axes", lambda m, x: m.tile(x[0], (2, 1, 2))),
    ("tile fewer reps", lambda m, x: m.tile(x, (2,))),
    ("repeat flat", lambda m, x: m.repeat(x, 2)),
    ("repeat axis", lambda m, x: m.repeat(x, 2, axis=1)),
    ("repeat counts", lambda m, x: m.repeat(x, np.array([1, 0, 2]), axis=1)),
    ("flip", lambda m, x: m.flip(x)),
    ("flip axis", lambda m, x: m.flip(x, 1)),
    ("flip axes", lambda m, x: m.flip(x, (0, 2))),
    ("roll flat", lambda m, x: m.roll(x, 2)),
    ("roll axis", lambda m, x: m.roll(x, -1, 1)),
    ("roll axes", lambda m, x: m.roll(x, (1, 7), (0, 2))),
    ("pad constant", lambda m, x: m.pad(x[0], ((1, 2), (0, 3)))),
    ("pad value", lambda m, x: m.pad(x[0], 1, constant_values=9)),
    ("pad values per axis", lambda m, x: m.pad(x[0], ((1, 2), (0, 1)), constant_values=((7, 8), (5, 6)))),
    ("pad edge", lambda m, x: m.pad(x[0], ((1, 2), (0, 3)), mode="edge")),
    ("pad reflect", lambda m, x: m.pad(x[0], ((1, 2), (0, 3)), mode="reflect")),
    ("pad symmetric", lambda m, x: m.pad(x[0], ((1, 2), (0, 3)), mode="symmetric")),
    ("pad wrap", lambda m, x: m.pad(x[0], ((1, 2), (0, 3)), mode="wrap")),
    ("pad reflect wide", lambda m, x: m.pad(x[0, 0], (7, 8), mode="reflect")),
    ("pad wrap wide", lambda m, x: m.pad(x[0, 0], (7, 8), mode="wrap")),
]


def assert_results_match(actual, expected):
    """Like assert_matches, also for the lists that split returns."""
    if isinstance(expected, list):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_matches(a, e)
    else:
        assert_matches(actual, expected)


@pytest.mark.parametrize("description, fn", CASES, ids=[c[0] for c in CASES])
def test_shape_function_eager(description, fn):
    assert_results_match(fn(mnp, mnp.asarray(X)), fn(np, X))


def test_shape_functions_under_jit():
    results = mlax.jit(lambda x: [fn(mnp, x) for _, fn in CASES])(X)
    for actual, (description, fn) in zip(results, CASES, strict=True):
        assert_results_match(actual, fn(np, X))


def test_methods_and_integer_inputs():
    x = mnp.asarray(X)
    assert_matches(x.reshape(4, 6), X.reshape(4, 6))
    assert_matches(x.reshape((-1, 2, 3)), X.reshape((-1, 2, 3)))
    assert_matches(x.transpose(2, 0, 1), X.transpose(2, 0, 1))
    assert_matches(x.T, X.T)
    assert_matches(x.mT, np.swapaxes(X, -1, -2))
    assert_matches(x.flatten(), X.flatten())
    assert_matches(x.swapaxes(0, 1), X.swapaxes(0, 1))
    assert_matches(mnp.repeat(V, [1, 0, 2, 1, 1]), np.repeat(V, [1, 0, 2, 1, 1]))
    assert_matches(mnp.roll(V, 7), np.roll(V, 7))
    assert_matches(mnp.pad(V, 2, mode="symmetric"), np.pad(V, 2, mode="symmetric"))


def test_concatenate_and_stack_promote_dtypes():
    floats = np.ones(3, np.float32)
    assert_matches(mnp.concatenate([V, floats]), np.concatenate([V, floats]), dtype=np.float32)
    assert_matches(mnp.concatenate([V, np.int8([1, 2])]), np.concatenate([V, np.int8([1, 2])]))
    assert_matches(mnp.stack([V[:3], floats]), np.stack([V[:3], floats]), dtype=np.float32)
    assert_matches(mnp.stack([V]), np.stack([V]))


def test_shape_mismatch_errors_name_both_shapes():
    x = mnp.asarray(X)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(2, 4, 3\)"):
        mnp.concatenate([x, x.transpose(0, 2, 1)], axis=0)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(3, 4\)"):
        mnp.concatenate([x, x[0]])
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(2, 3, 1\)"):
        mnp.stack([x, x[:, :, :1]])
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, -1\)"):
        mnp.reshape(x, (5, -1))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(4, 5\)"):
        mnp.reshape(x, (4, 5))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(3, 3, 4\)"):
        mnp.broadcast_to(x, (3, 3, 4))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(3, 4\)"):
        mlax.jit(lambda x: mnp.broadcast_to(x, (3, 4)))(X)


def test_other_shape_errors():
    with pytest.raises(ValueError, match=r"axis 0 of shape \(2, 3, 4\)"):
        mnp.squeeze(X, 0)
    with pytest.raises(ValueError, match="equal division"):
        mnp.split(X, 2, axis=1)
    with pytest.raises(ValueError, match="axis 3 is out of bounds"):
        mnp.moveaxis(X, 3, 0)
    with pytest.raises(ValueError, match="don't match"):
        mnp.transpose(X, (0, 1))
    with pytest.raises(NotImplementedError, match="linear_ramp"):
        mnp.pad(V, 1, mode="linear_ramp")


def test_repeat_to_a_total_length_as_jax():
    # Cut short, or continued with the input's last element (whatever its count).
    np.testing.assert_array_equal(mnp.repeat(V[:3], 2, total_repeat_length=3), [0, 0, 1])
    np.testing.assert_array_equal(mnp.repeat(V[:3], np.array([2, 1, 0]), total_repeat_length=5), [0, 0, 1, 2, 2])
    np.testing.assert_array_equal(mnp.repeat(X[0], 2, axis=1, total_repeat_length=9),
                                  np.repeat(X[0], [2, 2, 2, 3], axis=1))


def test_orders_and_meshgrid_arguments_jax_rejects_raise():
    with pytest.raises(NotImplementedError, match="order='A'"):
        mnp.reshape(X, (4, 6), order="A")
    with pytest.raises(NotImplementedError, match="order='K'"):
        mnp.ravel(X, order="K")
    with pytest.raises(ValueError, match="order must be 'C' or 'F'"):
        mnp.reshape(X, (4, 6), order="X")
    with pytest.raises(ValueError, match="not both"):
        mnp.reshape(X, (4, 6), newshape=(6, 4))
    with pytest.raises(ValueError, match="copy=False"):
        mnp.meshgrid(V, V, copy=False)
    with pytest.raises(ValueError, match="indexing must be 'xy' or 'ij'"):
        mnp.meshgrid(V, V, indexing="yx")
