"""mlax.numpy shape functions: reshape, transpose, stacking, splitting, flipping,
rolling, meshgrid, nonzero.

They move elements without computing with them (static slices, reshapes,
transposes, concatenations); the ones that gather elements by an index vector
(repeat, pad, diagonal) are in _tiling.py and _diagonals.py, above indexing.
"""

import builtins
import operator

import numpy as np

from mlax import errors, lax
from mlax.core import dtypes
from mlax.core.trace import Tracer
from mlax.numpy._dtypes import asarray
from mlax.numpy._promotion import promote_dtypes


def _axis(axis, ndim, name="axis"):
    axis = operator.index(axis)
    if not -ndim <= axis < builtins.max(ndim, 1):
        raise ValueError(f"{name} {axis} is out of bounds for an array of dimension {ndim}")
    return axis % builtins.max(ndim, 1)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    normalized = tuple(_axis(a, ndim) for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated axis in {axis}")
    return normalized


def reshape(a, shape=None, order="C", *, newshape=None):
    """The elements of `a` in row-major order with a new shape (one entry may be -1)."""
    a = asarray(a)
    if shape is not None and newshape is not None:
        raise ValueError("reshape: give shape or newshape (the deprecated name), not both")
    shape = newshape if shape is None else shape
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    shape = tuple(operator.index(d) for d in shape)
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension (-1)")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        if known == 0 or a.size % known:
            raise errors.ShapeError(f"cannot reshape array of shape {a.shape} (size {a.size}) into shape {shape}")
        shape = tuple(a.size // known if d == -1 else d for d in shape)
    if int(np.prod(shape, dtype=np.int64)) != a.size:
        raise errors.ShapeError(f"cannot reshape array of shape {a.shape} (size {a.size}) into shape {shape}")
    _check_order("reshape", order)
    if order == "F":
        return transpose(lax.reshape(transpose(a), shape[::-1]))
    return lax.reshape(a, shape)


def _check_order(name, order):
    """order 'C' (row-major) or 'F' (column-major), as in JAX; 'A' and 'K' depend on a memory
    layout that mlax arrays do not have."""
    if order in ("A", "K"):
        raise NotImplementedError(f"{name}: order={order!r} is not supported; use 'C' or 'F'")
    if order not in ("C", "F"):
        raise ValueError(f"{name}: order must be 'C' or 'F', got {order!r}")


def ravel(a, order="C"):
    """The elements as a 1-d array, in row-major ('C') or column-major ('F') order."""
    _check_order("ravel", order)
    return reshape(a, (-1,), order)


def flatten(a, order="C"):
    """ravel(a, order), as the method ndarray.flatten; jax.numpy has no such function."""
    return ravel(a, order)


def transpose(a, axes=None):
    """Permute the axes (reverse them when `axes` is None)."""
    a = asarray(a)
    axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(_axis(x, a.ndim) for x in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise errors.ShapeError(f"axes {axes} don't match an array of dimension {a.ndim}")
    return lax.transpose(a, axes)


def permute_dims(a, axes):
    """transpose(a, axes), under the array API's name."""
    return transpose(a, axes)


def matrix_transpose(x):
    """Swap the last two axes."""
    return swapaxes(x, -1, -2)


def moveaxis(a, source, destination):
    """Move the axes `source` to the positions `destination`, keeping the others in order."""
    a = asarray(a)
    source = _axes(source, a.ndim)
    destination = _axes(destination, a.ndim)
    if len(source) != len(destination):
        raise ValueError("moveaxis: source and destination must have the same number of elements")
    order = [i for i in range(a.ndim) if i not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return lax.transpose(a, order)


def swapaxes(a, axis1, axis2):
    """Exchange two axes."""
    a = asarray(a)
    perm = list(range(a.ndim))
    i, j = _axis(axis1, a.ndim), _axis(axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return lax.transpose(a, perm)


def rollaxis(a, axis, start=0):
    """Move `axis` to stand before position `start`; moveaxis says the same more plainly."""
    a = asarray(a)
    axis = _axis(axis, a.ndim)
    start = start % (a.ndim + 1) if start < 0 else start
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


def expand_dims(a, axis):
    """Insert axes of size 1 at the positions `axis` of the result."""
    a = asarray(a)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out_ndim = a.ndim + len(axes)
    axes = sorted(_axis(x, out_ndim) for x in axes)
    return lax.expand_dims(a, axes)


def squeeze(a, axis=None):
    """Remove the axes of size 1 (only those in `axis`, which must have size 1, when given)."""
    a = asarray(a)
    axes = tuple(i for i, d in enumerate(a.shape) if d == 1) if axis is None else _axes(axis, a.ndim)
    for ax in axes:
        if a.shape[ax] != 1:
            raise ValueError(f"cannot select an axis to squeeze out which has size not equal to one "
                             f"(axis {ax} of shape {a.shape})")
    return lax.squeeze(a, axes)


def atleast_1d(*arys):
    """Each argument with at least one axis (0-d becomes shape (1,)); one array for one argument, else a list."""
    out = [reshape(a, (1,)) if asarray(a).ndim == 0 else asarray(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Each argument with at least two axes, new ones in front; one array for one argument, else a list."""
    out = []
    for a in arys:
        a = asarray(a)
        out.append(reshape(a, (1,) * (2 - a.ndim) + a.shape) if a.ndim < 2 else a)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Each argument with at least three axes (1-d n becomes (1, n, 1), 2-d gains a last axis);
    one array for one argument, else a list."""
    out = []
    for a in arys:
        a = asarray(a)
        if a.ndim == 0:
            a = reshape(a, (1, 1, 1))
        elif a.ndim == 1:
            a = reshape(a, (1, a.shape[0], 1))
        elif a.ndim == 2:
            a = reshape(a, a.shape + (1,))
        out.append(a)
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (axis=None flattens them first)."""
    if not len(arrays):
        raise ValueError("need at least one array to concatenate")
    arrays = promote_dtypes(*arrays)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if arrays[0].ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _axis(axis, arrays[0].ndim)
    first = arrays[0].shape
    for a in arrays[1:]:
        if a.ndim != len(first) or any(d != e for i, (d, e) in enumerate(zip(first, a.shape)) if i != axis):
            raise errors.ShapeError(f"concatenate: shapes {first} and {a.shape} differ off the concatenation "
                                    f"axis {axis}")
    out = lax.concatenate(arrays, axis)
    return out if dtype is None else out.astype(dtype)


def concat(arrays, /, *, axis=0):
    """concatenate(arrays, axis), under the array API's name."""
    return concatenate(arrays, axis)


def stack(arrays, axis=0, dtype=None):
    """Join arrays of one shape along a new axis."""
    if not len(arrays):
        raise ValueError("need at least one array to stack")
    arrays = promote_dtypes(*arrays)
    for a in arrays[1:]:
        if a.shape != arrays[0].shape:
            raise errors.ShapeError(f"stack: all input arrays must have the same shape, got {arrays[0].shape} "
                                    f"and {a.shape}")
    axis = _axis(axis, arrays[0].ndim + 1)
    out = concatenate([expand_dims(a, axis) for a in arrays], axis)
    return out if dtype is None else out.astype(dtype)


def vstack(tup, dtype=None):
    """Join arrays along the first axis, 1-d ones as rows."""
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def hstack(tup, dtype=None):
    """Join arrays along the second axis (the first, for 1-d arrays)."""
    arrays = [atleast_1d(a) for a in tup]
    return concatenate(arrays, 0 if arrays[0].ndim == 1 else 1, dtype)


def dstack(tup, dtype=None):
    """Join arrays along the third axis, raising each to 3-d first (see atleast_3d)."""
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
    """Join arrays as the columns of a 2-d array (1-d ones become columns)."""
    arrays = [asarray(a) for a in tup]
    return concatenate([reshape(a, (-1, 1)) if a.ndim < 2 else a for a in arrays], 1)


def _split_points(size, indices_or_sections, even):
    if np.ndim(indices_or_sections) == 0:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError("number of sections must be larger than 0")
        if even and size % sections:
            raise ValueError(f"array split does not result in an equal division: {size} into {sections}")
        base, extra = divmod(size, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
        return list(np.cumsum([0] + sizes))
    points = [builtins.min(builtins.max(int(i) if i >= 0 else size + int(i), 0), size) for i in indices_or_sections]
    return [0] + points + [size]


def split(ary, indices_or_sections, axis=0):
    """Split into equal sections, or at the given indices, along `axis`."""
    return _split(ary, indices_or_sections, axis, even=True)


def array_split(ary, indices_or_sections, axis=0):
    """Split along `axis` into sections or at indices, as split, but the sections may differ in size
    by one."""
    return _split(ary, indices_or_sections, axis, even=False)


def _split(ary, indices_or_sections, axis, even):
    ary = asarray(ary)
    axis = _axis(axis, ary.ndim)
    points = _split_points(ary.shape[axis], indices_or_sections, even)
    return [lax.slice_in_dim(ary, start, builtins.max(start, stop), axis=axis) for start, stop in zip(points, points[1:])]


def hsplit(ary, indices_or_sections):
    """split along the second axis (the first, for 1-d arrays)."""
    ary = asarray(ary)
    return split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


def vsplit(ary, indices_or_sections):
    """split along the first axis."""
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """split along the third axis."""
    return split(ary, indices_or_sections, 2)


def flip(m, axis=None):
    """Reverse the order of elements along `axis` (all axes when None)."""
    m = asarray(m)
    return lax.rev(m, _axes(axis, m.ndim))


def fliplr(m):
    """Reverse the second axis (left to right)."""
    return flip(m, 1)


def flipud(m):
    """Reverse the first axis (up to down)."""
    return flip(m, 0)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by k quarter turns in the plane of `axes`, from the first axis towards the second."""
    m = asarray(m)
    k %= 4
    ax0, ax1 = _axis(axes[0], m.ndim), _axis(axes[1], m.ndim)
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, ax0), ax1)
    perm = list(range(m.ndim))
    perm[ax0], perm[ax1] = perm[ax1], perm[ax0]
    return transpose(flip(m, ax1), perm) if k == 1 else flip(transpose(m, perm), ax1)


def roll(a, shift, axis=None):
    """Shift elements along `axis`, wrapping around (static shifts)."""
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts = (shift,) if np.ndim(shift) == 0 else tuple(shift)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    for s, ax in zip(shifts, axes):
        if isinstance(s, Tracer):
            raise s._concretization_error("the shift of roll")
        ax = _axis(ax, a.ndim)
        size = a.shape[ax]
        if size == 0:
            continue
        s = int(s) % size
        if s:
            a = lax.concatenate([lax.slice_in_dim(a, size - s, size, axis=ax),
                                 lax.slice_in_dim(a, 0, size - s, axis=ax)], ax)
    return a


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays over the grid of the 1-d xi ('xy': Cartesian, 'ij': matrix indexing)."""
    if not copy:
        raise ValueError("meshgrid: copy=False is not supported (mlax arrays are immutable), as in JAX")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    arrays = [ravel(x) for x in xi]
    shape = [a.shape[0] for a in arrays]
    if indexing == "xy" and len(arrays) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, a in enumerate(arrays):
        axis = i
        if indexing == "xy" and len(arrays) > 1 and i < 2:
            axis = 1 - i
        if sparse:
            out.append(reshape(a, [shape[j] if j == axis else 1 for j in range(len(shape))]))
        else:
            out.append(lax.broadcast_in_dim(a, shape, (axis,)))
    return out


def nonzero(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements, one array per axis. Without `size` the array must be
    concrete (the count sets the shape); with it the result has `size` entries (the first ones
    found, then `fill_value`: 0, a scalar or one per axis) and traces under jit."""
    if np.ndim(a) == 0:
        raise ValueError("nonzero of a 0-d array is not allowed: call it on atleast_1d(a)")
    fills = fill_value if isinstance(fill_value, (tuple, list)) else (fill_value,) * np.ndim(a)
    if len(fills) != np.ndim(a):
        raise ValueError(f"nonzero: fill_value must be a scalar or have one entry per axis ({np.ndim(a)}), "
                         f"got {len(fills)}")
    fills = [0 if fill is None else fill for fill in fills]
    if isinstance(a, Tracer):
        if size is None:
            raise a._concretization_error("nonzero without size= (its output shape depends on the values)")
        return _first_nonzero(a, operator.index(size), fills)
    found = np.nonzero(np.asarray(a))
    if size is not None:
        size = operator.index(size)
        found = [np.concatenate([f[:size], np.full(builtins.max(size - f.size, 0), fill, f.dtype)])
                 for f, fill in zip(found, fills)]
    return tuple(asarray(f.astype(dtypes.default_int())) for f in found)


def _first_nonzero(a, size, fills):
    """nonzero(a, size=size) from ops, for traced arrays: each nonzero element's flat index is
    scattered to its rank among them (ranks past size are dropped), the rest is fills."""
    index_dtype = dtypes.default_int()
    found = lax.ne(a.reshape(-1), lax.full((), 0, a.dtype)) if a.dtype != dtypes.bool_ else a.reshape(-1)
    count = lax.convert_element_type(found, index_dtype)
    rank = lax.sub(lax.cumsum(count), lax.full((), 1, index_dtype))
    slot = lax.select(found, rank, lax.full(rank.shape, size, index_dtype))
    numbers = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
                                          scatter_dims_to_operand_dims=(0,))
    flat = lax.scatter(lax.full((size,), 0, index_dtype), slot.reshape(-1, 1), lax.iota(index_dtype, a.size),
                       numbers, mode="drop")
    filled = lax.ge(lax.iota(index_dtype, size), lax.reduce_sum(count, (0,)))
    out, stride = [], a.size
    for extent, fill in zip(a.shape, fills):
        stride //= builtins.max(extent, 1)
        index = lax.rem(lax.div(flat, lax.full((), builtins.max(stride, 1), index_dtype)),
                        lax.full((), builtins.max(extent, 1), index_dtype))
        out.append(lax.select(filled, lax.full((size,), fill, index_dtype), index))
    return tuple(out)


def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of the flattened array (`size` and `fill_value` as in
    nonzero)."""
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements, one row each (`size` and `fill_value` as in
    nonzero); a 0-d array is treated as one element with no axes."""
    a = asarray(a)
    if a.ndim == 0:
        rows = size if size is not None else int(bool(np.asarray(a))) if not isinstance(a, Tracer) else None
        if rows is None:
            raise a._concretization_error("argwhere without size= (its output shape depends on the values)")
        return lax.full((operator.index(rows), 0), 0, dtypes.default_int())
    return stack(nonzero(a, size=size, fill_value=fill_value), axis=-1)
