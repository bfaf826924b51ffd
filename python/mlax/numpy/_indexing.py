"""NumPy indexing for mlax arrays: x[idx], x.at[idx].set/add/..., take, take_along_axis.

Basic indices (ints, slices, None, Ellipsis) become static slices and
reshapes under a trace; eagerly, dynamic slices whose starts are run-time
operands (one kernel per shape, not one per index). A traced scalar index
becomes a dynamic_slice; integer arrays become a gather, placed where
NumPy's advanced-indexing rules put its axes. Out-of-bounds array indices
are clamped, as in JAX. Boolean masks need a concrete mask (the result's
shape depends on its values).
`x.at[idx].op(v)` builds, for every element x[idx] selects, its coordinates
in x (by indexing an iota of each axis the same way) and scatters v there;
eagerly, a block of ints and unit-step slices is read and written in place
of the scatter, with dynamic_slice and dynamic_update_slice.
"""

import operator

import numpy as np

from mlax import errors, lax, ops
from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Tracer, current_trace
from mlax.numpy._dtypes import asarray, reject_out
from mlax.numpy._promotion import broadcast_arrays, broadcast_to
from mlax.numpy._shape import _axis, ravel, stack
from mlax.numpy._ufuncs import negative, where


def _is_int_scalar(entry):
    return isinstance(entry, (int, np.integer)) and not isinstance(entry, (bool, np.bool_))


def _is_mask(entry):
    return isinstance(entry, (ArrayMethods, np.ndarray)) and np.dtype(entry.dtype) == dtypes.bool_


def _checked_entry(entry):
    """One entry of a user's index, validated; sequences become arrays, static integers Python ints."""
    if isinstance(entry, (list, tuple)):
        entry = np.asarray(entry)
    if isinstance(entry, (bool, np.bool_)) or (_is_mask(entry) and entry.ndim == 0):
        raise IndexError("boolean scalar indices are not supported by mlax")
    if _is_mask(entry) and isinstance(entry, Tracer):
        raise errors.NonConcreteBooleanIndexError(
            f"boolean mask index of shape {entry.shape} inside a transformation: the result's shape "
            "would depend on the mask's values; use mlax.numpy.where instead")
    if isinstance(entry, (ArrayMethods, np.ndarray)) and not _is_mask(entry):
        if not dtypes.is_integer(entry.dtype):
            raise errors.IndexTypeError(f"arrays used as indices must be of integer (or boolean) type, got "
                                        f"{entry.dtype.name}")
        if isinstance(entry, np.ndarray) and entry.ndim == 0:
            return int(entry)
    elif not (entry is None or entry is Ellipsis or isinstance(entry, slice) or _is_int_scalar(entry)
              or _is_mask(entry)):
        raise errors.IndexTypeError(f"invalid index {entry!r} of type {type(entry).__name__}: only integers, slices, "
                                    "None, Ellipsis and integer or boolean arrays are valid indices")
    return entry


def _expand(x, index):
    """x with a size-1 axis for each None, and one index entry per axis: slice, int, or integer array."""
    entries = [_checked_entry(e) for e in (index if isinstance(index, tuple) else (index,))]
    if sum(e is Ellipsis for e in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(e.ndim if _is_mask(e) else 1 for e in entries if e is not None and e is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but {consumed} were indexed")
    # The ellipsis, or the end of the index, stands for full slices of the axes not indexed.
    at = next((i for i, e in enumerate(entries) if e is Ellipsis), len(entries))
    entries[at:at + 1] = [slice(None)] * (x.ndim - consumed)
    shape, expanded, axis = [], [], 0
    for entry in entries:
        if entry is None:
            # None adds a size-1 axis; indexing it with a full slice is the same thing.
            shape.append(1), expanded.append(slice(None))
        elif _is_mask(entry):
            covered = x.shape[axis:axis + entry.ndim]
            if tuple(entry.shape) != covered:
                raise IndexError(f"boolean index of shape {entry.shape} does not match the indexed axes "
                                 f"{covered} of an array of shape {x.shape}")
            shape.extend(covered), expanded.extend(np.nonzero(np.asarray(entry)))
            axis += entry.ndim
        else:
            size = x.shape[axis]
            if _is_int_scalar(entry) and not -size <= operator.index(entry) < size:
                if size == 0:
                    raise IndexError(f"index {entry} is out of bounds for axis {axis} with size 0")
                # As in JAX, reading there clamps into bounds and writing is dropped: what an
                # array index does.
                entry = np.asarray(operator.index(entry), np.int64)
            shape.append(size), expanded.append(entry)
            axis += 1
    return lax.reshape(x, shape), expanded


def _sliced(x, entries):
    """x sliced by the slices, ints and 0-d index arrays among `entries` (an int or a 0-d array
    keeps its axis, of size 1; an index array, the whole axis).

    Traced, ints and slices are static slices, which fuse with their neighbours. Eagerly, every
    start is a run-time operand of one dynamic_slice (a step other than 1 is then a static slice
    from 0), so that one kernel serves every index, where static slices compiled one per index.
    """
    starts, spans, strides, flips = [], [], [], []
    for axis, (entry, size) in enumerate(zip(entries, x.shape)):
        if isinstance(entry, slice):
            start, stop, step = entry.indices(size)
            count = len(range(start, stop, step))
            if step < 0:
                # Reverse the axis, then slice forward: IREE's CPU backend cannot compile a
                # strided slice followed by a reverse.
                flips.append(axis)
                start, step = size - 1 - start, -step
            starts.append(start if count else 0), spans.append((count - 1) * step + 1 if count else 0)
            strides.append(step)
        elif isinstance(entry, ArrayMethods):
            starts.append(_normalized_index_array(entry, size)), spans.append(1), strides.append(1)
        elif _is_int_scalar(entry) or (isinstance(entry, np.ndarray) and entry.ndim == 0):
            # An int out of bounds (a 0-d array from _expand) reads the nearest element, as in JAX.
            index = int(entry)
            starts.append(min(max(index + size if index < 0 else index, 0), size - 1)), spans.append(1)
            strides.append(1)
        else:
            starts.append(0), spans.append(size), strides.append(1)
    if flips:
        x = lax.rev(x, flips)
    if _eager(x):
        if spans != list(x.shape) or not all(isinstance(s, int) and s == 0 for s in starts):
            # int32 NumPy scalars are copied to the device as they are (a Python int would pass
            # through a constant op and a conversion); all starts are in bounds already.
            starts = [np.int32(s) if isinstance(s, int) else s for s in starts]
            x = lax.dynamic_slice(x, starts, spans, allow_negative_indices=False)
        return lax.slice(x, [0] * x.ndim, spans, strides)
    dynamic = [isinstance(s, ArrayMethods) for s in starts]
    x = lax.slice(x, [0 if d else s for s, d in zip(starts, dynamic)],
                  [size if d else s + n for s, n, d, size in zip(starts, spans, dynamic, x.shape)], strides)
    if any(dynamic):
        x = lax.dynamic_slice(x, [s if d else 0 for s, d in zip(starts, dynamic)],
                              [1 if d else size for d, size in zip(dynamic, x.shape)], allow_negative_indices=False)
    return x


def _eager(x):
    """Whether ops on x run now (outside any trace), each a compiled kernel."""
    return current_trace() is None and not isinstance(x, Tracer)


def _normalized_index_array(entry, size):
    """entry as an integer array with negative indices wrapped (gather clamps the rest into bounds).

    A NumPy entry is normalized on the host, so that static indices compile nothing, and clamped
    too, so that NumPy can index with it.
    """
    if isinstance(entry, np.ndarray):
        entry = entry.astype(np.int64)
        return np.clip(np.where(entry < 0, entry + size, entry), 0, max(size - 1, 0)).astype(np.int32)
    index = asarray(entry)
    if index.dtype != dtypes.int32 and not (dtypes.is_integer(index.dtype) and index.dtype.itemsize > 4):
        index = lax.convert_element_type(index, dtypes.int32)
    if not dtypes.is_unsigned(index.dtype):
        negative = lax.lt(index, lax.full(index.shape, 0, index.dtype))
        index = lax.select(negative, lax.add(index, lax.full(index.shape, size, index.dtype)), index)
    return index


def getitem(x, index):
    """x[index] with NumPy's semantics (array indices clamped into bounds)."""
    x = asarray(x)
    x, entries = _expand(x, index)
    advanced = [i for i, e in enumerate(entries) if isinstance(e, (ArrayMethods, np.ndarray)) and np.ndim(e) > 0]
    if not advanced:
        x = _sliced(x, entries)
        dropped = [i for i, e in enumerate(entries) if not isinstance(e, slice)]
        return lax.reshape(x, [d for i, d in enumerate(x.shape) if i not in dropped]) if dropped else x
    # Ints join the advanced indices (NumPy broadcasts them together).
    entries = [np.asarray(e) if _is_int_scalar(e) else e for e in entries]
    advanced = [i for i, e in enumerate(entries) if not isinstance(e, slice)]
    x = _sliced(x, [e if isinstance(e, slice) else slice(None) for e in entries])
    rest = [i for i in range(x.ndim) if i not in advanced]
    indices = [_normalized_index_array(entries[i], x.shape[i]) for i in advanced]
    if all(isinstance(i, np.ndarray) for i in indices):
        index_vectors = np.stack(np.broadcast_arrays(*indices), axis=-1)
    else:
        indices = broadcast_arrays(*indices)
        common = dtypes.result_type(*[i.dtype for i in indices])
        index_vectors = stack([lax.convert_element_type(i, common) for i in indices], axis=-1)
    batch_shape = index_vectors.shape[:-1]
    if any(x.shape[i] == 0 for i in advanced) and int(np.prod(batch_shape)):
        raise IndexError(f"index is out of bounds for an axis of size 0 in shape {x.shape}")
    operand = lax.transpose(x, advanced + rest)
    out = ops.gather(
        operand, asarray(index_vectors),
        offset_dims=tuple(range(len(batch_shape), len(batch_shape) + len(rest))),
        collapsed_slice_dims=tuple(range(len(advanced))), start_index_map=tuple(range(len(advanced))),
        index_vector_dim=len(batch_shape),
        slice_sizes=(1,) * len(advanced) + tuple(x.shape[i] for i in rest))
    contiguous = advanced == list(range(advanced[0], advanced[-1] + 1))
    if contiguous and advanced[0] > 0:
        nb, before = len(batch_shape), advanced[0]
        perm = [nb + j for j in range(before)] + list(range(nb)) + [nb + j for j in range(before, len(rest))]
        out = lax.transpose(out, perm)
    return out


def _default_fill(dtype):
    """JAX's fill value for out-of-bounds reads: NaN, the most negative signed integer, the
    largest unsigned one, True."""
    if dtypes.is_inexact(dtype):
        return np.nan
    if dtype == dtypes.bool_:
        return True
    bounds = dtypes.iinfo(dtype)
    return bounds.max if dtypes.is_unsigned(dtype) else bounds.min


def _moded_indices(name, indices, size, mode, clip_from_end=False):
    """(indices safe to read at, the mask of those in bounds or None) for a take `mode`:
    "fill" (the default: negative indices count from the end, others out of bounds are
    filled), "clip" (clamped to [0, size - 1]; negative ones counted from the end first when
    `clip_from_end`, as JAX's take_along_axis does and its take does not) or "wrap" (taken
    modulo size)."""
    indices = asarray(indices)
    if not dtypes.is_integer(indices.dtype):
        raise TypeError(f"{name}: indices must be integers, got dtype {indices.dtype.name}")
    mode = "fill" if mode is None else mode
    counted = where(lax.lt(indices, 0), lax.add(indices, size), indices)
    if mode == "clip":
        return lax.clamp(0, counted if clip_from_end else indices, size - 1), None
    if mode == "wrap":
        return lax.rem(lax.add(lax.rem(indices, size), size), size), None
    if mode != "fill":
        raise ValueError(f"Invalid mode {mode!r} for {name}: use 'fill', 'clip' or 'wrap'")
    valid = lax.bitwise_and(lax.ge(indices, -size), lax.lt(indices, size))
    return lax.clamp(0, counted, size - 1), valid


def _filled(values, valid, where_axis, fill_value):
    """values where `valid` (broadcast from axis `where_axis` on), else fill_value."""
    if valid is None:
        return values
    fill = _default_fill(values.dtype) if fill_value is None else fill_value
    mask = lax.reshape(valid, (1,) * where_axis + valid.shape + (1,) * (values.ndim - where_axis - valid.ndim))
    return where(broadcast_to(mask, values.shape), values, lax.full(values.shape, fill, values.dtype))


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False,
         fill_value=None):
    """Elements of `a` at `indices` along `axis` (of the flattened array when None); out-of-bounds
    indices follow `mode` ("fill" with `fill_value` by default, "clip" or "wrap"), as in JAX."""
    reject_out("take", out)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, a.ndim)
    safe, valid = _moded_indices("take", indices, a.shape[axis], mode)
    return _filled(getitem(a, (slice(None),) * axis + (safe,)), valid, axis, fill_value)


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """arr's elements at `indices` along `axis`, the other axes matched one to one; out-of-bounds
    indices follow `mode` as in `take`."""
    arr, indices = asarray(arr), asarray(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = _axis(axis, arr.ndim)
    indices, valid = _moded_indices("take_along_axis", indices, arr.shape[axis], mode, clip_from_end=True)
    if indices.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} must have as many dimensions as "
                         f"arr of shape {arr.shape}")
    grid = []
    for i, (size, count) in enumerate(zip(arr.shape, indices.shape)):
        if i == axis:
            grid.append(indices)
            continue
        if count not in (1, size) and size != 1:
            raise ValueError(f"take_along_axis: indices of shape {indices.shape} do not broadcast against arr of "
                             f"shape {arr.shape} on axis {i}")
        grid.append(np.arange(size, dtype=np.int32).reshape([size if j == i else 1 for j in range(arr.ndim)]))
    return _filled(getitem(arr, tuple(grid)), valid, 0, fill_value)


def _scatter(x, index, values, combiner, clip=False):
    """x with `values` combined into the elements x[index] selects.

    Updates through out-of-bounds array indices are dropped, as in JAX: their
    coordinates (clamped by indexing) are moved out of bounds, where scatter skips them.
    With `clip` they go to the clamped coordinates instead.
    """
    x = asarray(x)
    expanded, entries = _expand(x, index)
    block = _block(expanded, entries)
    if block is not None:
        selected = tuple(n for n, e in zip(block[1], entries) if isinstance(e, slice))
    else:
        coordinates = [_indexed_iota(expanded.shape, d, entries) for d in range(expanded.ndim)]
        selected = coordinates[0].shape if coordinates else ()
    if int(np.prod(selected, dtype=np.int64)) == 0:
        return x
    updates = asarray(values)
    if dtypes.is_complex(updates.dtype) and not dtypes.is_complex(x.dtype):
        raise TypeError(f"cannot write complex values into an array of dtype {x.dtype.name}")
    try:
        updates = broadcast_to(lax.convert_element_type(updates, x.dtype, x.weak_type), selected)
    except ValueError:
        raise ValueError(f"values of shape {updates.shape} do not broadcast to the shape {selected} "
                         f"that the index selects from an array of shape {x.shape}") from None
    if expanded.ndim == 0:
        return _combined(combiner, lambda: x, updates)
    if block is not None:
        starts, sizes = block
        new = _combined(combiner, lambda: lax.dynamic_slice(expanded, starts, sizes, allow_negative_indices=False),
                        lax.reshape(updates, sizes))
        return lax.reshape(lax.dynamic_update_slice(expanded, new, starts, allow_negative_indices=False), x.shape)
    # A static index has NumPy coordinates (nothing to compile); a traced one, mlax arrays.
    where_, stack_ = (np.where, np.stack) if _is_static(entries) else (where, stack)
    dropped = None if clip else _out_of_bounds(expanded.shape, entries)
    if dropped is not None:
        coordinates[0] = where_(dropped, expanded.shape[0], coordinates[0])
    out = ops.scatter(
        expanded, asarray(stack_(coordinates, axis=-1)), updates, update_window_dims=(),
        inserted_window_dims=tuple(range(expanded.ndim)), scatter_dims_to_operand_dims=tuple(range(expanded.ndim)),
        index_vector_dim=len(selected), combiner=combiner)
    return lax.reshape(out, x.shape)


def _block(x, entries):
    """(starts, sizes) of the block of x that `entries` select, when ops on x run eagerly and each
    entry is an int in bounds or a slice of step 1; else None.

    Eagerly, updating such a block reads and writes it with its starts as run-time operands
    (dynamic_slice, dynamic_update_slice): one kernel serves every index, and no coordinates
    per element are built and copied to the device, as a scatter needs.
    """
    if not _eager(x) or not all(_is_int_scalar(e) or (isinstance(e, slice) and e.indices(n)[2] == 1)
                                for e, n in zip(entries, x.shape)):
        return None
    starts, sizes = [], []
    for entry, size in zip(entries, x.shape):
        if isinstance(entry, slice):
            start, stop, _ = entry.indices(size)
            starts.append(start), sizes.append(len(range(start, stop)))
        else:  # in bounds: _expand made the others 0-d arrays
            starts.append(operator.index(entry) % size), sizes.append(1)
    return [asarray(np.int32(s)) for s in starts], sizes  # on the device once, for the read and the write


_COMBINERS = {"add": lax.add, "mul": lax.mul, "min": lax.min, "max": lax.max}


def _combined(combiner, read, updates):
    """updates combined into the values read() gives (not read for "set")."""
    return updates if combiner == "set" else _COMBINERS[combiner](read(), updates)


def _is_static(entries):
    return not any(isinstance(e, ArrayMethods) for e in entries)


def _indexed_iota(shape, axis, entries):
    """The coordinate along `axis` of each element that indexing an array of `shape` with `entries` selects.

    A static index (ints, slices, NumPy arrays) is resolved by NumPy on the host: nothing to compile.
    """
    if _is_static(entries):
        iota = np.broadcast_to(np.indices(shape, np.int32, sparse=True)[axis], shape)
        return iota[tuple(_normalized_index_array(e, n) if isinstance(e, np.ndarray) else e
                          for e, n in zip(entries, shape))]
    return getitem(lax.broadcasted_iota(dtypes.int32, shape, axis), tuple(entries))


def _out_of_bounds(shape, entries):
    """Where indexing with `entries` goes through an out-of-bounds array index (None where no index can).

    Each array entry that may be out of bounds is replaced by its 0/1 out-of-bounds flag, and
    the same index applied to an iota over a size-2 axis carries the flags to the selected shape.
    """
    flags = None
    for axis, entry in enumerate(entries):
        if not isinstance(entry, (ArrayMethods, np.ndarray)):
            continue
        size = shape[axis]
        if not isinstance(entry, Tracer) and np.all((np.asarray(entry) >= -size) & (np.asarray(entry) < size)):
            continue
        index = entry.astype(np.int32)
        flag_entries = list(entries)
        flag_entries[axis] = ((index < -size) | (index >= size)).astype(np.int32)
        hit = _indexed_iota(shape[:axis] + (2,) + shape[axis + 1:], axis, flag_entries) != 0
        flags = hit if flags is None else flags | hit
    return flags


_SCATTER_MODES = (None, "drop", "fill", "promise_in_bounds", "clip")


class _IndexUpdateRef:
    """`x.at[index]`: functional updates of the elements x[index] selects. Out-of-bounds
    array indices follow `mode` as in JAX: reads clamp (`get(mode="fill")` fills instead),
    updates are dropped (`mode="clip"` clamps them into bounds)."""

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        if mode in (None, "clip", "promise_in_bounds"):
            return getitem(self.array, self.index)
        if mode != "fill":
            raise ValueError(f'Unknown gather mode "{mode}": use "fill", "clip" or "promise_in_bounds"')
        x = asarray(self.array)
        out = getitem(x, self.index)
        expanded, entries = _expand(x, self.index)
        outside = _out_of_bounds(expanded.shape, entries)
        if outside is None:
            return out
        fill = _default_fill(out.dtype) if fill_value is None else fill_value
        return where(lax.reshape(asarray(outside), out.shape), lax.full(out.shape, fill, out.dtype), out)

    def _update(self, values, combiner, mode):
        if mode not in _SCATTER_MODES:
            raise ValueError(f'Unknown scatter mode "{mode}": use "drop", "fill", "clip" or "promise_in_bounds"')
        return _scatter(self.array, self.index, values, combiner, clip=mode == "clip")

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(values, "set", mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(values, "add", mode)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(negative(values), "add", mode)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(values, "mul", mode)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self.set(self.get(mode="clip") / values, mode=mode)

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self.set(self.get(mode="clip") ** values, mode=mode)

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(values, "min", mode)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        return self._update(values, "max", mode)


class IndexUpdateHelper:
    """The object behind `x.at`; index it to choose what to update."""

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)
