"""NumPy indexing for mlax arrays: x[idx], x.at[idx].set/add/..., take, take_along_axis.

Basic indices (ints, slices, None, Ellipsis) become static slices and
reshapes; a traced scalar index becomes a dynamic_slice; integer arrays
become a gather, placed where NumPy's advanced-indexing rules put its axes.
Out-of-bounds array indices are clamped, as in JAX. Boolean masks need a
concrete mask (the result's shape depends on its values).
`x.at[idx].op(v)` builds, for every element x[idx] selects, its coordinates
in x (by indexing an iota of each axis the same way) and scatters v there.
"""

import operator

import numpy as np

from mlax import errors, lax
from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.op import OPS
from mlax.core.trace import Tracer


def _asarray(x):
    from mlax.numpy._core import asarray

    return asarray(x)


def _is_int_scalar(entry):
    return isinstance(entry, (int, np.integer)) and not isinstance(entry, (bool, np.bool_))


def _expand(x, index):
    """Index entries, one per axis of the returned (reshaped) x: slice, int, or integer array."""
    if not isinstance(index, tuple):
        index = (index,)
    entries = []
    for entry in index:
        if isinstance(entry, (list, tuple)):
            entry = np.asarray(entry)
        if isinstance(entry, (bool, np.bool_)):
            raise IndexError("boolean scalar indices are not supported by mlax")
        if isinstance(entry, (ArrayMethods, np.ndarray)) and np.dtype(entry.dtype) == dtypes.bool_:
            if isinstance(entry, Tracer):
                raise errors.NonConcreteBooleanIndexError(
                    f"boolean mask index of shape {entry.shape} inside a transformation: the result's shape "
                    "would depend on the mask's values; use mlax.numpy.where instead")
            entries.extend(np.nonzero(np.asarray(entry)))
            continue
        if isinstance(entry, ArrayMethods) and not dtypes.is_integer(entry.dtype):
            raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {entry.dtype.name}")
        if isinstance(entry, np.ndarray) and entry.dtype.kind not in "iu":
            raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {entry.dtype.name}")
        if not (entry is None or entry is Ellipsis or isinstance(entry, slice) or _is_int_scalar(entry)
                or isinstance(entry, (ArrayMethods, np.ndarray))):
            raise IndexError(f"invalid index {entry!r} of type {type(entry).__name__}: only integers, slices, "
                             "None, Ellipsis and integer or boolean arrays are valid indices")
        entries.append(entry)
    consumed = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if sum(1 for e in entries if e is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but {consumed} were indexed")
    ellipsis_at = next((i for i, e in enumerate(entries) if e is Ellipsis), None)
    if ellipsis_at is not None:
        entries[ellipsis_at:ellipsis_at + 1] = [slice(None)] * (x.ndim - consumed)
    entries += [slice(None)] * (x.ndim - consumed)
    # None adds a size-1 axis; indexing it with a full slice is the same thing.
    if any(e is None for e in entries):
        shape, axis = [], 0
        for e in entries:
            if e is None:
                shape.append(1)
            else:
                shape.append(x.shape[axis])
                axis += 1
        x = lax.reshape(x, shape)
        entries = [slice(None) if e is None else e for e in entries]
    return x, entries


def _static_slices(x, entries):
    """Apply the slices (and static ints, as length-1 slices); return x and the remaining entries."""
    starts, limits, strides, flips, remaining = [], [], [], [], []
    for axis, (entry, size) in enumerate(zip(entries, x.shape)):
        if isinstance(entry, slice):
            start, stop, step = entry.indices(size)
            count = len(range(start, stop, step))
            if step > 0:
                starts.append(start), limits.append(start + max(count - 1, 0) * step + (count > 0)), strides.append(step)
            else:
                last = start + (count - 1) * step if count else 0
                starts.append(last), limits.append(start + 1 if count else 0), strides.append(-step)
                flips.append(axis)
            remaining.append(slice(None))
        elif _is_int_scalar(entry):
            index = operator.index(entry)
            if not -size <= index < size:
                raise IndexError(f"index {index} is out of bounds for axis {axis} with size {size}")
            index %= size
            starts.append(index), limits.append(index + 1), strides.append(1)
            remaining.append(0)  # a static int, now at position 0 of a size-1 axis
        else:
            starts.append(0), limits.append(size), strides.append(1)
            remaining.append(entry)
    x = lax.slice(x, starts, limits, strides)
    if flips:
        x = lax.rev(x, flips)
    return x, remaining


def _normalized_index_array(entry, size):
    index = _asarray(entry)
    if index.dtype != dtypes.int32 and not (dtypes.is_integer(index.dtype) and index.dtype.itemsize > 4):
        index = lax.convert_element_type(index, dtypes.int32)
    if not dtypes.is_unsigned(index.dtype):
        negative = lax.lt(index, lax.full(index.shape, 0, index.dtype))
        index = lax.select(negative, lax.add(index, lax.full(index.shape, size, index.dtype)), index)
    return index


def getitem(x, index):
    """x[index] with NumPy's semantics (array indices clamped into bounds)."""
    from mlax.numpy._core import broadcast_arrays
    from mlax.numpy._shape import stack

    x = _asarray(x)
    x, entries = _expand(x, index)
    advanced = [i for i, e in enumerate(entries) if isinstance(e, (ArrayMethods, np.ndarray)) and np.ndim(e) > 0]
    if not advanced:
        x, entries = _static_slices(x, entries)
        dynamic = [i for i, e in enumerate(entries) if isinstance(e, ArrayMethods)]
        if dynamic:
            starts = [_normalized_index_array(e, x.shape[i]) if i in dynamic else 0 for i, e in enumerate(entries)]
            sizes = [1 if i in dynamic else d for i, d in enumerate(x.shape)]
            x = lax.dynamic_slice(x, starts, sizes)
        dropped = [i for i, e in enumerate(entries) if not isinstance(e, slice)]
        return lax.reshape(x, [d for i, d in enumerate(x.shape) if i not in dropped]) if dropped else x
    # Ints join the advanced indices (NumPy broadcasts them together).
    entries = [np.asarray(e) if _is_int_scalar(e) else e for e in entries]
    advanced = [i for i, e in enumerate(entries) if not isinstance(e, slice)]
    x, _ = _static_slices(x, [e if isinstance(e, slice) else slice(None) for e in entries])
    rest = [i for i in range(x.ndim) if i not in advanced]
    indices = broadcast_arrays(*[_normalized_index_array(entries[i], x.shape[i]) for i in advanced])
    common = dtypes.result_type(*[i.dtype for i in indices])
    indices = [lax.convert_element_type(i, common) for i in indices]
    batch_shape = indices[0].shape
    if any(x.shape[i] == 0 for i in advanced) and int(np.prod(batch_shape)):
        raise IndexError(f"index is out of bounds for an axis of size 0 in shape {x.shape}")
    operand = lax.transpose(x, advanced + rest)
    out = OPS["gather"](
        operand, stack(indices, axis=-1),
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


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False,
         fill_value=None):
    """Elements of `a` at `indices` along `axis` (of the flattened array when None)."""
    from mlax.numpy._shape import _axis, ravel

    a = _asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, a.ndim)
    return getitem(a, (slice(None),) * axis + (indices,))


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """arr's elements at `indices` along `axis`, the other axes matched one to one."""
    from mlax.numpy._shape import _axis, ravel

    arr, indices = _asarray(arr), _asarray(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = _axis(axis, arr.ndim)
    if indices.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} must have as many dimensions as "
                         f"arr of shape {arr.shape}")
    grid = []
    for i in range(arr.ndim):
        if i == axis:
            grid.append(indices)
        else:
            size = arr.shape[i] if indices.shape[i] == 1 else indices.shape[i]
            grid.append(lax.broadcasted_iota(dtypes.int32, [size if j == i else 1 for j in range(arr.ndim)], i))
    return getitem(arr, tuple(grid))


def _scatter(x, index, values, combiner):
    from mlax.numpy._core import asarray, broadcast_to
    from mlax.numpy._shape import stack

    x = _asarray(x)
    coordinates = [getitem(lax.broadcasted_iota(dtypes.int32, x.shape, d), index) for d in range(x.ndim)]
    selected = coordinates[0].shape if coordinates else ()
    if int(np.prod(selected, dtype=np.int64)) == 0:
        return x
    updates = asarray(values)
    if dtypes.is_complex(updates.dtype) and not dtypes.is_complex(x.dtype):
        raise TypeError(f"cannot write complex values into an array of dtype {x.dtype.name}")
    updates = broadcast_to(lax.convert_element_type(updates, x.dtype, x.weak_type), selected)
    if x.ndim == 0:
        return {"set": lambda: updates, "add": lambda: lax.add(x, updates), "mul": lambda: lax.mul(x, updates),
                "min": lambda: lax.min(x, updates), "max": lambda: lax.max(x, updates)}[combiner]()
    return OPS["scatter"](
        x, stack(coordinates, axis=-1), updates, update_window_dims=(), inserted_window_dims=tuple(range(x.ndim)),
        scatter_dims_to_operand_dims=tuple(range(x.ndim)), index_vector_dim=len(selected), combiner=combiner)


class _IndexUpdateRef:
    """`x.at[index]`: functional updates of the elements x[index] selects."""

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def get(self, **kwargs):
        return getitem(self.array, self.index)

    def set(self, values, **kwargs):
        return _scatter(self.array, self.index, values, "set")

    def add(self, values, **kwargs):
        return _scatter(self.array, self.index, values, "add")

    def subtract(self, values, **kwargs):
        from mlax.numpy._core import negative

        return _scatter(self.array, self.index, negative(values), "add")

    def multiply(self, values, **kwargs):
        return _scatter(self.array, self.index, values, "mul")

    mul = multiply

    def divide(self, values, **kwargs):
        return self.set(getitem(self.array, self.index) / values)

    def power(self, values, **kwargs):
        return self.set(getitem(self.array, self.index) ** values)

    def min(self, values, **kwargs):
        return _scatter(self.array, self.index, values, "min")

    def max(self, values, **kwargs):
        return _scatter(self.array, self.index, values, "max")


class IndexUpdateHelper:
    """The object behind `x.at`; index it to choose what to update."""

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)
