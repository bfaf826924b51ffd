"""Indexing against NumPy: x[...] with basic and advanced indices, boolean masks,
x.at[...] updates, take and take_along_axis, eager and under jit."""

import collections

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors, lax
from mlax.runtime import eager, kernels
from numpy_checks import assert_matches

X = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
I = np.array([2, 0, -1])
J = np.array([[1], [2]])

INDICES = {
    "int": 1, "negative int": -1, "slice": np.s_[1:], "step": np.s_[:, ::2], "negative step": np.s_[::-1],
    "strided negative step": np.s_[..., 3:0:-2], "negative step and int": np.s_[:, -1::-3, 1],
    "None": np.s_[None, 1, None], "Ellipsis": np.s_[..., 2], "int Ellipsis None": np.s_[1, ..., None],
    "None Ellipsis None int": np.s_[None, ..., None, 0], "empty slice": np.s_[2:1], "clipped slice": np.s_[-10:10:3],
    "array": I, "array and int": np.s_[I, 1], "slice then array": np.s_[:, I[:2]],
    # Advanced indices (arrays, and ints beside them) apart from each other: their axes go first.
    "arrays around a slice": np.s_[I, :, I], "broadcast arrays around a slice": np.s_[J, 1:3, I],
    "int slice array": np.s_[1, :, I], "array None slice int": np.s_[I, None, :, 0],
    # Adjacent advanced indices: their axes stay in place.
    "adjacent arrays": np.s_[:, J, np.array([0, 4])], "Ellipsis array": np.s_[..., I],
    "None slice arrays": np.s_[None, :, I, I],
    "list": [0, 2], "numpy int": np.int32(2), "0-d array": np.s_[np.array(1), :, 2],
    "unsigned array": np.array([2, 0], np.uint8),
}
MASKS = {"mask axis 0": X[:, 0, 0] > 10, "mask first two axes": X[..., 0] % 15 == 0,
         "mask middle axis": np.s_[:, X[0, :, 0] > 6], "mask then array": np.s_[X[:, 0, 0] > 10, :, I[:2]]}
# Index positions without duplicates, so that .at[].set has one answer.
UPDATE_INDICES = {name: INDICES[name] for name in (
    "int", "step", "strided negative step", "int Ellipsis None", "array", "arrays around a slice",
    "broadcast arrays around a slice", "adjacent arrays", "0-d array")}


@pytest.mark.parametrize("name", list(INDICES) + list(MASKS))
def test_getitem_eager(name):
    index = {**INDICES, **MASKS}[name]
    assert_matches(mnp.asarray(X)[index], X[index])


def test_getitem_under_jit():
    results = mlax.jit(lambda x: {name: x[index] for name, index in INDICES.items()})(X)
    for name, index in INDICES.items():
        assert_matches(results[name], X[index])


def test_traced_indices():
    def index_with(x, i, row):
        return x[i], x[i, ::-2], x[row], x[1:, row], x[row, :, row]

    row = np.array([2, 0, -1, 1], np.int32)
    for actual, want in zip(mlax.jit(index_with)(X, -1, row), [X[-1], X[-1, ::-2], X[row], X[1:, row], X[row, :, row]],
                            strict=True):
        assert_matches(actual, want)


def test_out_of_bounds_array_indices_are_clamped_on_read():
    # As in JAX: reads through array indices clamp into bounds.
    assert_matches(mnp.asarray(X)[np.array([5, -7])], X[np.array([2, 0])])
    assert_matches(mlax.jit(lambda x, i: x[i])(X, 9), X[2])


def test_boolean_masks():
    x = mnp.asarray(X)
    assert_matches(x[mnp.asarray(X[:, 0, 0] > 10)], X[X[:, 0, 0] > 10])
    with pytest.raises(IndexError, match=r"\(4, 5\).*\(3, 4\)"):
        x[X[0] > 3]
    with pytest.raises(errors.NonConcreteBooleanIndexError):
        mlax.jit(lambda x: x[x > 3])(X)


def test_static_out_of_bounds_ints_read_clamped_and_write_nothing():
    # As in JAX (NumPy raises): reads take the nearest element, writes are dropped.
    x = mnp.asarray(X)
    assert_matches(x[0, 4], X[0, 3])
    assert_matches(x[-9, 1], X[0, 1])
    assert_matches(x.at[0, 4].set(-1.0), X)
    assert_matches(x.at[-9].add(1.0), X)
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 0"):
        mnp.zeros((0, 2))[0]


ROWS = np.arange(24 * 12, dtype=np.float32).reshape(24, 12)
# Each form of eager index, applied for 20 distinct i (from -10 to 9; its slices start at i + 10):
# (mlax, NumPy, the kernels it needs).
INDEX_FORMS = {
    "x[i]": (lambda x, i: x[i], lambda i: ROWS[i], 1),
    "x[i, j]": (lambda x, i: x[i, i * 5 % 12 - 6], lambda i: ROWS[i, i * 5 % 12 - 6], 1),
    "x[k:k + 3]": (lambda x, i: x[i + 10:i + 13], lambda i: ROWS[i + 10:i + 13], 1),
    "x[k - 24:k - 21]": (lambda x, i: x[i - 14:i - 11], lambda i: ROWS[i - 14:i - 11], 1),
    "x[i, 1:9:3]": (lambda x, i: x[i, 1:9:3], lambda i: ROWS[i, 1:9:3], 2),  # a dynamic slice, then a strided one
    "x.at[i].set(v)": (lambda x, i: x.at[i].set(ROWS[i] * 2), lambda i: expected_rows("set", i, ROWS[i] * 2), 1),
    "x.at[k:k + 2, i].add(v)": (lambda x, i: x.at[i + 10:i + 12, i].add(np.float32([1, 2])),  # read, add, write
                                lambda i: expected_rows("add", np.s_[i + 10:i + 12, i], np.float32([1, 2])), 3),
}


def expected_rows(op, index, values):
    out = ROWS.copy()
    if op == "set":
        out[index] = values
    else:
        out[index] += values
    return out


@pytest.mark.parametrize("form", list(INDEX_FORMS))
def test_eager_integer_indices_are_operands_of_one_kernel(monkeypatch, form):
    # Ints are run-time operands of the kernel, not constants in it: 20 indices cost what one
    # does, and not 20 compilations.
    monkeypatch.setattr(kernels, "_loaded", collections.OrderedDict())
    monkeypatch.setattr(eager, "_applications", {})
    index, expected, count = INDEX_FORMS[form]
    x = mnp.asarray(ROWS)
    for i in range(-10, 10):
        assert_matches(index(x, i), expected(i))
    assert len(kernels._loaded) == count


def test_integer_indices_under_jit_are_static_slices():
    # Traced, a static index stays a static slice (it fuses with its neighbours), and an update
    # a scatter at constant coordinates.
    text = mlax.jit(lambda x: (x[3], x[-2, 4], x[2:5], x.at[1, 2:4].get(), x.at[1].set(0.0))).lower(ROWS).as_text()
    assert "mlax.slice" in text and "mlax.scatter" in text and "dynamic" not in text


def test_eager_out_of_bounds_ints_read_clamped_write_nothing_and_raise_on_empty_axes():
    # As in JAX: clamped reads and dropped writes; IndexError on an axis of size 0, which holds no
    # element to clamp to.
    x = mnp.asarray(ROWS)
    assert_matches(x[25], ROWS[23])
    assert_matches(x[-30, 12], ROWS[0, 11])
    assert_matches(x.at[3, -13].set(0.0), ROWS)
    with pytest.raises(IndexError, match="index 0 is out of bounds for axis 1 with size 0"):
        x[:, :0][1, 0]
    with pytest.raises(IndexError, match="index -1 is out of bounds for axis 0 with size 0"):
        x[:0].at[-1].set(1.0)


def test_index_errors():
    x = mnp.asarray(X)
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="integer"):
        x[np.array([0.5])]
    with pytest.raises(IndexError, match="invalid index"):
        x["a"]


def expected_update(op, index, values):
    """NumPy's answer to x.at[index].op(values) (ufunc.at applies every duplicate)."""
    out = X.copy()
    if op == "set":
        out[index] = values
    else:
        {"add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}[op].at(out, index, values)
    return out


@pytest.mark.parametrize("op", ["set", "add", "mul", "min", "max"])
def test_at_updates_eager(op):
    # A few index kinds; test_at_updates_under_jit covers them all.
    for name in ("int", "strided negative step", "broadcast arrays around a slice"):
        index = UPDATE_INDICES[name]
        assert_matches(getattr(mnp.asarray(X).at[index], op)(30.0), expected_update(op, index, 30.0))


def test_at_updates_under_jit():
    def update(x, values):
        return {(op, name): getattr(x.at[index], op)(values if op == "set" else 30.0)
                for op in ("set", "add", "mul", "min", "max") for name, index in UPDATE_INDICES.items()
                if op != "set" or name == "broadcast arrays around a slice"}

    values = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)[..., 0, :2]
    for (op, name), actual in mlax.jit(update)(X, values).items():
        assert_matches(actual, expected_update(op, UPDATE_INDICES[name], values if op == "set" else 30.0))


def test_at_with_duplicates_broadcast_values_and_get():
    x = mnp.asarray(X)
    twice = np.array([0, 0, 2])
    assert_matches(x.at[twice].add(1.0), expected_update("add", twice, 1.0))
    assert_matches(x.at[twice, 1].add(np.float32([1, 2, 3])[:, None]),
                   expected_update("add", (twice, 1), np.float32([1, 2, 3])[:, None]))
    assert_matches(x.at[1:3, ::2].set(np.ones((2, 2, 5), np.float32) * 5), expected_update("set", np.s_[1:3, ::2], 5.0))
    assert_matches(x.at[0, 1].set(3), expected_update("set", (0, 1), 3.0))
    assert_matches(x.at[I, 2].get(), X[I, 2])
    assert_matches(x.at[X > 50].set(0.0), np.where(X > 50, 0, X))
    ints = mnp.asarray(X, dtype=mnp.int32)
    assert_matches(ints.at[1].set(3.7), expected_update("set", 1, 3).astype(np.int32))
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 5\)"):
        x.at[0].set(np.ones(4, np.float32))


def test_at_drops_updates_through_out_of_bounds_indices():
    # As in JAX: writes through out-of-bounds array indices do nothing.
    rows = np.array([5, 1, -4, -1], np.int32)
    ops = ("set", "add", "mul", "min", "max")

    def update(x, rows, i, columns):
        return ([getattr(x.at[rows, 1:], op)(-3.0) for op in ops], x.at[i].set(0.0), x.at[:, columns].add(1.0))

    expected = [expected_update(op, (np.array([1, -1]), slice(1, None)), -3.0) for op in ops]
    assert_matches(mnp.asarray(X).at[rows, 1:].set(-3.0), expected[0])
    assert_matches(mnp.asarray(X).at[mnp.asarray(rows), 1:].add(-3.0), expected[1])
    traced, scalar, columns = mlax.jit(update)(X, rows, 7, np.array([9, 0]))
    for actual, want in zip(traced, expected, strict=True):
        assert_matches(actual, want)
    assert_matches(scalar, X)
    assert_matches(columns, expected_update("add", (slice(None), 0), 1.0))


def test_take():
    x = mnp.asarray(X)
    assert_matches(mnp.take(x, I), np.take(X, I))
    assert_matches(mnp.take(x, J, axis=1), np.take(X, J, axis=1))
    assert_matches(x.take(np.array([1, -1]), axis=-1), X.take(np.array([1, -1]), axis=-1))
    traced = mlax.jit(lambda x, i: (mnp.take(x, i, axis=2), mnp.take(x, i)))(X, np.array([4, 0]))
    assert_matches(traced[0], np.take(X, [4, 0], axis=2))
    assert_matches(traced[1], np.take(X, [4, 0]))


def test_take_along_axis():
    order = np.argsort(-X, axis=1)
    x = mnp.asarray(X)
    assert_matches(mnp.take_along_axis(x, order, axis=1), np.take_along_axis(X, order, axis=1))
    picks = np.array([[[0], [2], [1], [0]]])
    assert_matches(mnp.take_along_axis(x, picks, axis=2), np.take_along_axis(X, picks, axis=2))
    assert_matches(mnp.take_along_axis(x, np.array([4, 0]), axis=None), np.take_along_axis(X, np.array([4, 0]), None))
    assert_matches(mnp.take_along_axis(x[:1], np.zeros((3, 1, 5), np.int32), axis=1),
                   np.take_along_axis(X[:1], np.zeros((3, 1, 5), np.int32), axis=1))
    traced = mlax.jit(lambda x, i: mnp.take_along_axis(x, i, axis=-1))(X, np.argsort(X, axis=-1))
    assert_matches(traced, np.take_along_axis(X, np.argsort(X, axis=-1), axis=-1))
    with pytest.raises(ValueError, match=r"\(1, 1, 2\).*\(3, 4, 5\)"):
        mnp.take_along_axis(x, np.zeros((1, 1, 2), np.int32), axis=0)


def test_reverse_of_a_strided_slice_compiles():
    """IREE's CPU codegen fails on a reverse fused with a strided slice; mlax-lower keeps them apart."""
    def reverse_every_other(x):
        return lax.rev(lax.slice(x, (0, 0, 1), (3, 4, 4), (1, 1, 2)), (2,))

    assert_matches(mlax.jit(reverse_every_other)(X), X[:, :, 1:4:2][..., ::-1])
    assert_matches(mlax.jit(lambda x: mnp.flip(x[::2]))(X), np.flip(X[::2]))

