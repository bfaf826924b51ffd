"""mlax.numpy's functions that make an edited copy of an array: copy, append, insert,
delete and resize.

The edits whose positions are static become slices, concatenations and gathers; insert
and delete with traced positions scatter and gather at positions computed on the device,
as JAX does.
"""

import builtins
import math
import operator

import numpy as np

from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Tracer
from mlax.numpy._creation import arange, full, zeros_like
from mlax.numpy._dtypes import array, asarray, astype
from mlax.numpy._indexing import getitem
from mlax.numpy._promotion import broadcast_shapes
from mlax.numpy._reductions import sum  # noqa: A004 - NumPy's name
from mlax.numpy._shape import _axis, concatenate, moveaxis, ravel, reshape
from mlax.numpy._sorting import argsort, sort
from mlax.numpy._tiling import tile
from mlax.numpy._ufuncs import clip, where


def copy(a, order=None):
    """A copy of `a` (mlax arrays are immutable, so it equals `a`); order must be 'K' or None."""
    return array(a, copy=True, order=order)


def append(arr, values, axis=None):
    """`values` appended to `arr` along `axis` (both flattened when None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis=axis)


def _along(axis, index):
    return (slice(None),) * axis + (index,)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """`arr` without the entries at `obj` (an int, slice, integer or boolean array) along `axis`."""
    # Along the flattened array when axis is None; traced indices need assume_unique_indices=True.
    a = asarray(arr)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, a.ndim)
    size = a.shape[axis]
    if not isinstance(obj, slice):
        try:
            index = _axis(operator.index(obj), size, "index")
        except TypeError:
            pass
        else:  # one static index: the slices before and after it
            return concatenate([getitem(a, _along(axis, slice(0, index))),
                                getitem(a, _along(axis, slice(index + 1, None)))], axis=axis)
    if isinstance(obj, slice):
        obj, assume_unique_indices = np.arange(size)[obj], True
    if isinstance(obj, Tracer) or (assume_unique_indices and dtypes.is_integer(asarray(obj).dtype)):
        if not assume_unique_indices or not dtypes.is_integer(obj.dtype):
            raise obj._concretization_error("the 'obj' array argument of delete (pass assume_unique_indices=True "
                                            "for traced integer indices)")
        # The kept positions are 0..size-len(obj)-1, each moved up past the deleted ones at or below it.
        deleted = ravel(asarray(obj))
        deleted = sort(clip(where(deleted < 0, deleted + size, deleted), 0, size))
        deleted = deleted - arange(deleted.shape[0], dtype=deleted.dtype)
        kept = arange(size - deleted.shape[0], dtype=deleted.dtype)
        kept = kept + sum(kept[None, :] >= deleted[:, None], 0, dtype=kept.dtype)
        return getitem(a, _along(axis, kept))
    obj = np.asarray(obj)
    if dtypes.is_integer(obj.dtype):
        mask = np.ones(size, dtype=bool)
        mask[obj] = False
    elif obj.dtype == bool:
        if obj.shape != (size,):
            raise ValueError("np.delete(arr, obj): for boolean indices, obj must be one-dimensional with length "
                             "matching specified axis.")
        mask = ~obj
    else:
        raise ValueError(f"np.delete(arr, obj): got obj.dtype={obj.dtype}; must be integer or bool.")
    return getitem(a, _along(axis, np.nonzero(mask)[0].astype(np.int32)))


def insert(arr, obj, values, axis=None):
    """`values`, cast to arr's dtype, inserted before the positions `obj` along `axis`."""
    # obj: an int, slice or integer array, traced or not; the flattened array when axis is None.
    a = asarray(arr)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, a.ndim)
    size = a.shape[axis]
    indices = asarray(np.arange(*obj.indices(size))) if isinstance(obj, slice) else asarray(obj)
    if indices.ndim > 1:
        raise ValueError(f"jnp.insert(): obj must be a slice, a one-dimensional array, or a scalar; got {obj}")
    if not dtypes.is_integer(indices.dtype):
        if indices.size == 0 and not isinstance(obj, ArrayMethods):
            indices = astype(indices, dtypes.default_int())
        else:
            raise ValueError(f"jnp.insert(): index array must be integer typed; got {obj}")
    values = array(values, dtype=a.dtype, ndmin=a.ndim)
    if indices.size == 1:
        index = reshape(indices, ())
        if indices.ndim == 0:
            values = moveaxis(values, 0, axis)
        indices = full(values.shape[axis], index)
    count = broadcast_shapes(indices.shape, (values.shape[axis],))[0]
    if count == 0:
        return a
    shape = list(a.shape)
    shape[axis] += count
    indices = clip(where(indices < 0, indices + size, indices), 0, size)
    # The k-th inserted value (in index order) lands k places after its index; element j of arr
    # lands after the values inserted at or before it.
    value_positions = indices.at[argsort(indices)].add(arange(count, dtype=indices.dtype))
    positions = arange(size, dtype=indices.dtype)
    arr_positions = positions + sum(indices[None, :] <= positions[:, None], 1, dtype=indices.dtype)
    out = zeros_like(a, shape=tuple(shape))
    out = out.at[_along(axis, value_positions)].set(values)
    return out.at[_along(axis, arr_positions)].set(a)


def resize(a, new_shape):
    """An array of new_shape filled with the elements of `a` in order, repeated as needed (zeros when `a` is empty)."""
    new_shape = (new_shape,) if np.ndim(new_shape) == 0 else tuple(new_shape)
    new_shape = tuple(operator.index(d) for d in new_shape)
    if builtins.any(d < 0 for d in new_shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    a = ravel(a)
    new_size = math.prod(new_shape)
    if a.size == 0 or new_size == 0:
        return zeros_like(a, shape=new_shape)
    return reshape(tile(a, -(-new_size // a.size))[:new_size], new_shape)
