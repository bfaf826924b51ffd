"""lax.gather and the lax.scatter family: JAX's dimension numbers and out-of-bounds
modes, against NumPy loops; windows along indexed axes; derivatives; errors."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import lax

OPERAND = np.arange(20, dtype=np.float32).reshape(4, 5)
# Row/column starts of 1x2 windows; the last two leave the operand.
STARTS = np.array([[0, 1], [3, 3], [2, 4], [-1, 0]], np.int32)
GATHER_NUMBERS = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0, 1))
SCATTER_NUMBERS = lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                              scatter_dims_to_operand_dims=(0, 1))


def _windows(starts, clip):
    """The 1x2 windows of OPERAND at starts; clipped into bounds, or None where they leave it."""
    out = []
    for row, col in starts:
        if clip:
            row, col = min(max(row, 0), 3), min(max(col, 0), 3)
        out.append(None if not (0 <= row <= 3 and 0 <= col <= 3) else (row, col))
    return out


def test_gather_clips_by_default_and_fills_on_request():
    expected = np.stack([OPERAND[r, c:c + 2] for r, c in _windows(STARTS, clip=True)])
    np.testing.assert_array_equal(lax.gather(OPERAND, STARTS, GATHER_NUMBERS, (1, 2)), expected)
    np.testing.assert_array_equal(lax.gather(OPERAND, STARTS, GATHER_NUMBERS, (1, 2), mode="clip"), expected)
    filled = np.stack([OPERAND[w[0], w[1]:w[1] + 2] if w else np.full(2, np.nan, np.float32)
                       for w in _windows(STARTS, clip=False)])
    np.testing.assert_array_equal(lax.gather(OPERAND, STARTS, GATHER_NUMBERS, (1, 2), mode="fill"), filled)
    np.testing.assert_array_equal(
        lax.gather(OPERAND.astype(np.int32), STARTS, GATHER_NUMBERS, (1, 2), mode="fill", fill_value=-7),
        np.where(np.isnan(filled), -7, filled))


@pytest.mark.parametrize("name,combine", [("scatter", lambda old, new: new), ("scatter_add", np.add),
                                          ("scatter_mul", np.multiply), ("scatter_min", np.minimum),
                                          ("scatter_max", np.maximum)])
@pytest.mark.parametrize("mode", [None, "clip"])
def test_scatters_drop_or_clip_whole_windows(name, combine, mode):
    updates = np.array([[10, -1], [20, 30], [40, 50], [60, 70]], np.float32)
    expected = OPERAND.copy()
    for window, values in zip(_windows(STARTS, clip=mode == "clip"), updates):
        if window:
            row, col = window
            expected[row, col:col + 2] = combine(expected[row, col:col + 2], values)
    result = getattr(lax, name)(OPERAND, STARTS, updates, SCATTER_NUMBERS, mode=mode)
    np.testing.assert_array_equal(result, expected)


def test_gradients_through_windowed_gather_and_scatter():
    # The gather's transpose scatters windows along an indexed axis, element by element.
    in_bounds = STARTS[:2]

    def loss(x, u):
        picked = lax.gather(x, in_bounds, GATHER_NUMBERS, (1, 2))
        return mnp.sum(picked ** 2) + mnp.sum(lax.scatter_add(x, in_bounds, u, SCATTER_NUMBERS) ** 3)
    updates = np.array([[1, 2], [3, 4]], np.float32) / 10
    grad_x, grad_u = mlax.grad(loss, argnums=(0, 1))(OPERAND / 10, updates)
    scattered = OPERAND / 10
    for (row, col), u in zip(in_bounds, updates):
        scattered[row, col:col + 2] += u
    expected_x = 3 * scattered ** 2
    for row, col in in_bounds:
        expected_x[row, col:col + 2] += 2 * OPERAND[row, col:col + 2] / 10
    np.testing.assert_allclose(grad_x, expected_x, rtol=1e-5)
    np.testing.assert_allclose(grad_u, [3 * scattered[r, c:c + 2] ** 2 for r, c in in_bounds], rtol=1e-5)
    batched = mlax.vmap(lambda x: lax.scatter_add(x, in_bounds, updates, SCATTER_NUMBERS))(np.stack([OPERAND] * 3))
    np.testing.assert_allclose(batched[1], lax.scatter_add(OPERAND, in_bounds, updates, SCATTER_NUMBERS))


@pytest.mark.parametrize("mode", [None, "clip"])
def test_scatter_with_a_window_axis_between_indexed_ones(mode):
    # Regression: IREE compiled no scatter whose window axis (1) precedes an inserted one (2);
    # index_take's transpose is one.
    operand = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
    starts = np.array([[0, 1], [2, 3], [1, 1], [0, 1], [2, 9]], np.int32)
    updates = np.arange(10, dtype=np.float32).reshape(5, 2) + 100
    numbers = lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0, 2),
                                          scatter_dims_to_operand_dims=(0, 2))
    expected = operand.copy()
    for (row, column), values in zip(starts, updates):
        if mode == "clip" or column < 4:
            expected[row, :, min(column, 3)] += values
    np.testing.assert_array_equal(mlax.jit(lambda x: lax.scatter_add(x, starts, updates, numbers, mode=mode))(operand),
                                  expected)


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="unknown gather/scatter mode 'wrap'"):
        lax.gather(OPERAND, STARTS, GATHER_NUMBERS, (1, 2), mode="wrap")
