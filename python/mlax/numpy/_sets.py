"""mlax.numpy's set functions: unique (and the array API's unique_all, unique_counts,
unique_inverse, unique_values) and the sorted set operations of 1-d arrays (intersect1d,
setdiff1d, setxor1d, union1d).

Their results' lengths depend on the values, so without `size` they need concrete arrays
(eager ones); with `size` (and `fill_value` for the slots past the last element) they trace
under jit. Each is one compiled program with a static `size`: the elements kept are marked in
a sorted copy and the first `size` marks gathered. Without `size`, the same program run with
size None returns the count of marks, which becomes the size.
"""

import operator
from typing import NamedTuple

import numpy as np

from mlax import lax
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.core.trace import Tracer
from mlax.numpy._creation import arange, full, full_like, zeros
from mlax.numpy._dtypes import asarray, astype
from mlax.numpy._promotion import promote_dtypes
from mlax.numpy._reductions import any, cumsum, isin, sum  # noqa: A004 - NumPy's names
from mlax.numpy._shape import _axis, concatenate, moveaxis, ravel, reshape
from mlax.numpy._sorting import argsort
from mlax.numpy._ufuncs import isnan, logical_not, not_equal, where

_SIZE_HINT = "pass a static size= (and fill_value=) to give the result a shape under jit"


def _concrete(name, *arrays):
    """Raise a ConcretizationTypeError naming `name` for a traced array among `arrays`."""
    for array in arrays:
        if isinstance(array, Tracer):
            raise array._concretization_error(f"{name} without size ({_SIZE_HINT})")


def _static_size(name, size):
    if isinstance(size, Tracer):
        raise size._concretization_error(f"the size argument of {name} ({_SIZE_HINT})")
    return operator.index(size)


def _first_true(mask, size, fill):
    """The positions of the first `size` true entries of the 1-d mask, then `fill`s (traceable)."""
    index_dtype = dtypes.default_int()
    if not mask.shape[0] or not size:
        return full(size, fill, index_dtype)
    rank = cumsum(mask, dtype=index_dtype) - 1  # where each true entry goes
    target = where(mask & (rank < size), rank, size)  # the others go out of bounds, which scatter drops
    return full(size, fill, index_dtype).at[target].set(arange(mask.shape[0], dtype=index_dtype), mode="drop")


def _sized(core, *args, size, **static):
    """core(*args, size=size, **static), where core(..., size=None) returns the count of the
    elements it keeps, read back here to be the size."""
    if size is None:
        size = int(np.asarray(core(*args, size=None, **static)))
    return core(*args, size=size, **static)


def sort_keys(key):
    """The real keys that sort `key` as JAX does: a complex key by its real part, then its imaginary
    part (the most significant last, as lexsort takes them)."""
    return [lax.imag(key), lax.real(key)] if dtypes.is_complex(key.dtype) else [key]


def lexsort_rows(rows):
    """The stable order that sorts the rows of a 2-d array lexicographically (the first column first)."""
    order = arange(rows.shape[0], dtype=dtypes.default_int())
    for column in reversed(range(rows.shape[1])):
        for key in sort_keys(rows[:, column]):  # each stable sort keeps the order of the keys before it on ties
            order = order[argsort(key[order])]
    return order


def _sorted_unique_mask(rows, equal_nan):
    """(rows sorted, a mask of the first of each run of equal rows, the sorting order)."""
    if dtypes.is_complex(rows.dtype):  # every NaN alike, as JAX does
        rows = where(isnan(rows), lax.full((), np.nan, rows.dtype), rows)
    if rows.shape[1] == 0:  # JAX keeps one empty row
        return zeros((1, 0), rows.dtype), zeros(1, bool), zeros(1, dtypes.default_int())
    if rows.shape[0] == 0:
        return rows, zeros(0, bool), zeros(0, dtypes.default_int())
    order = lexsort_rows(rows)
    ordered = rows[order]
    differs = not_equal(ordered[1:], ordered[:-1])
    if equal_nan and dtypes.is_inexact(rows.dtype):
        differs = differs & ~(isnan(ordered[1:]) & isnan(ordered[:-1]))
    mask = concatenate([full(min(rows.shape[0], 1), True), any(differs, 1)])
    return ordered, mask, order


@compiled("axis", "return_index", "return_inverse", "return_counts", "equal_nan", "size", "filled",
          "return_true_size")
def _unique(a, fill_value, axis, return_index, return_inverse, return_counts, equal_nan, size, filled,
            return_true_size=False):
    """unique of `a` along the (normalized) axis, `size` entries padded with fill_value where
    `filled` (else with the first), or with size None the count of unique entries."""
    moved = moveaxis(a, axis, 0)
    rows = reshape(moved, (moved.shape[0], int(np.prod(moved.shape[1:], dtype=np.int64))))
    ordered, mask, order = _sorted_unique_mask(rows, equal_nan)
    if size is None:
        return sum(mask)
    positions = _first_true(mask, size, 0)
    result = ordered[positions] if ordered.size else ordered
    if filled:
        fill = astype(asarray(fill_value), result.dtype)
        if result.shape[0]:
            result = where((arange(size) < sum(mask))[:, None], result, fill)
        else:
            result = full_like(result, fill, shape=(size, rows.shape[1]))
    result = moveaxis(reshape(result, (result.shape[0],) + moved.shape[1:]), 0, axis)
    outputs = [result]
    index_dtype = dtypes.default_int()
    if return_index:
        outputs.append(order[positions] if ordered.size else order)
    if return_inverse:
        if ordered.size:
            inverse = zeros(rows.shape[0], index_dtype).at[order].set(cumsum(mask, dtype=index_dtype) - 1)
        else:
            inverse = zeros(rows.shape[0], index_dtype)
        outputs.append(inverse)
    if return_counts:
        if ordered.size:
            starts = _first_true(mask, size + 1, 0)
            starts = concatenate([starts[:1], where(starts[1:] != 0, starts[1:], mask.shape[0])])
            outputs.append(astype(starts[1:] - starts[:-1], index_dtype))
        else:
            outputs.append(full(min(rows.shape[0], 1), rows.shape[0], index_dtype))
    if return_true_size:
        outputs.append(sum(mask))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
           size=None, fill_value=None, sorted=True):  # noqa: A002 - NumPy's name
    """The sorted unique elements of `ar` (of its slices along `axis`), with the first index of each,
    the inverse indices and the counts on request. Without `size` it needs a concrete array; with
    it, the result has `size` entries, padded with `fill_value` (the smallest element by default).
    The result is always sorted, whatever `sorted` says, as in JAX."""
    a = asarray(ar)
    if size is None:
        _concrete("unique", a)
    else:
        size = _static_size("unique", size)
    shape, flattened = a.shape, axis is None
    if flattened:
        a, axis = ravel(a), 0
    else:
        axis = _axis(axis, a.ndim)
    if a.shape[axis] == 0 and size and fill_value is None:
        raise ValueError("unique: for zero-sized input with nonzero size argument, fill_value must be specified")
    filled = size is not None and fill_value is not None
    outputs = _sized(_unique, a, fill_value if filled else None, axis=axis, return_index=return_index,
                     return_inverse=return_inverse, return_counts=return_counts, equal_nan=equal_nan, size=size,
                     filled=filled)
    if return_inverse and flattened:  # the inverse indices take the shape of `ar`
        at = 2 if return_index else 1
        outputs = outputs[:at] + (reshape(outputs[at], shape),) + outputs[at + 1:]
    return outputs


class _UniqueAllResult(NamedTuple):
    """The result of unique_all."""
    values: object
    indices: object
    inverse_indices: object
    counts: object


class _UniqueCountsResult(NamedTuple):
    """The result of unique_counts."""
    values: object
    counts: object


class _UniqueInverseResult(NamedTuple):
    """The result of unique_inverse."""
    values: object
    inverse_indices: object


def unique_all(x, /, *, size=None, fill_value=None):
    """The unique elements of x (NaNs kept apart), their first indices, inverse indices and counts."""
    return _UniqueAllResult(*unique(x, True, True, True, equal_nan=False, size=size, fill_value=fill_value))


def unique_counts(x, /, *, size=None, fill_value=None):
    """The unique elements of x (NaNs kept apart) and their counts."""
    return _UniqueCountsResult(*unique(x, return_counts=True, equal_nan=False, size=size, fill_value=fill_value))


def unique_inverse(x, /, *, size=None, fill_value=None):
    """The unique elements of x (NaNs kept apart) and the inverse indices, shaped like x."""
    return _UniqueInverseResult(*unique(x, return_inverse=True, equal_nan=False, size=size, fill_value=fill_value))


def unique_values(x, /, *, size=None, fill_value=None):
    """The unique elements of x (NaNs kept apart)."""
    return unique(x, equal_nan=False, size=size, fill_value=fill_value)


def _padded(values, kept, fill_value):
    """values where the index is below `kept`, else fill_value, or by default the smallest kept
    value (0 when none is kept), as JAX fills."""
    inside = arange(values.shape[0]) < kept
    if fill_value is not None:
        return where(inside, values, astype(asarray(fill_value), values.dtype))
    values = where(inside, values, values.max() if values.size else values)
    return where(inside, values, values.min() if values.size else values)


def _gathered(values, positions, default):
    """values[positions], `default` where a position is past the end (traceable)."""
    inside = positions < values.shape[0]
    if not values.shape[0]:
        return full(positions.shape, default, values.dtype)
    return where(inside, values[lax.min(positions, lax.full((), values.shape[0] - 1, positions.dtype))],
                 lax.full((), default, values.dtype))


def _unique_packed(a, filled=True):
    """(the unique values of 1-d a first, each once, then fillers (zeros, or the first value
    unless `filled`); the first index of each; their count)."""
    return _unique(a, 0, axis=0, return_index=True, return_inverse=False, return_counts=False, equal_nan=True,
                   size=a.shape[0], filled=filled, return_true_size=True)


def _sorted_valid_first(values, valid):
    """(values sorted with the valid ones first, stably; the sorting order)."""
    order = argsort(values)
    valid = valid[order]
    index_dtype = dtypes.default_int()
    # Moved stably: the valid ones to the front, the others after them.
    place = where(valid, cumsum(valid, dtype=index_dtype) - 1,
                  sum(valid, dtype=index_dtype) + cumsum(logical_not(valid), dtype=index_dtype) - 1)
    order = zeros(order.shape[0], index_dtype).at[place].set(order)
    return values[order], order


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None, fill_value=None):
    """The sorted values found in both ar1 and ar2 (flattened), with their first indices in each
    when `return_indices`. Without `size` it needs concrete arrays."""
    a1, a2 = promote_dtypes(ravel(ar1), ravel(ar2))
    if size is None:
        _concrete("intersect1d", a1, a2)
    else:
        size = _static_size("intersect1d", size)
    return _sized(_intersection, a1, a2, fill_value, assume_unique=assume_unique, return_indices=return_indices,
                  size=size)


@compiled("assume_unique", "return_indices", "size")
def _intersection(a1, a2, fill_value, assume_unique, return_indices, size):
    n1, n2 = a1.shape[0], a2.shape[0]
    if assume_unique:
        first1, first2 = arange(n1), arange(n2)
        valid = full(n1 + n2, True)
    else:
        a1, first1, count1 = _unique_packed(a1)
        a2, first2, count2 = _unique_packed(a2)
        valid = concatenate([arange(n1) < count1, arange(n2) < count2])
    ordered, order = _sorted_valid_first(concatenate([a1, a2]), valid)
    matches = (ordered[1:] == ordered[:-1]) & valid[order][1:]
    found = sum(matches)
    if size is None:
        return found
    positions = _first_true(matches, size, ordered.shape[0])
    result = _padded(_gathered(ordered, positions, 0), found, fill_value)
    if not return_indices:
        return result
    inside = arange(size) < found
    index1 = where(inside, _gathered(order, positions, n1), n1)
    index2 = where(inside, _gathered(order, positions + 1, n1 + n2) - n1, n2)
    if not assume_unique:
        index1 = _gathered(first1, index1, n1)
        index2 = _gathered(first2, index2, n2)
    index_dtype = dtypes.default_int()
    return result, astype(index1, index_dtype), astype(index2, index_dtype)


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values of ar1 (flattened) not in ar2 (ar1's values as they are with
    `assume_unique`). Without `size` it needs concrete arrays; the default fill is 0."""
    a1, a2 = ravel(ar1), ravel(ar2)
    if size is None:
        _concrete("setdiff1d", a1)
    else:
        size = _static_size("setdiff1d", size)
    fill = full_like(a1, 0 if fill_value is None else fill_value, shape=())
    if a1.shape[0] == 0 or size == 0:
        return full_like(a1, fill, shape=size or 0)
    return _sized(_difference, a1, a2, fill, assume_unique=assume_unique, size=size)


@compiled("assume_unique", "size")
def _difference(a1, a2, fill, assume_unique, size):
    if not assume_unique:
        a1 = _unique_packed(a1, filled=False)[0]
    kept = isin(a1, a2, invert=True)
    if not assume_unique:  # the fillers of a1 after its unique values equal its first value
        distinct = a1.shape[0] + 1 - sum(a1 == a1[0])
        kept = where(arange(a1.shape[0]) < distinct, kept, False)
    if size is None:
        return sum(kept)
    return where(arange(size) < sum(kept), a1[_first_true(kept, size, 0)], fill)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted unique values found in ar1 or ar2 (flattened). Without `size` it needs concrete arrays."""
    if size is None:
        _concrete("union1d", ar1, ar2)
    else:
        size = _static_size("union1d", size)
    return unique(concatenate([ar1, ar2], axis=None), size=size, fill_value=fill_value)


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted values found in exactly one of ar1 and ar2 (flattened). Without `size` it needs
    concrete arrays."""
    a1, a2 = promote_dtypes(ravel(ar1), ravel(ar2))
    if size is None:
        _concrete("setxor1d", a1, a2)
        if not a1.shape[0] + a2.shape[0]:
            return concatenate([a1, a2])
    else:
        size = _static_size("setxor1d", size)
    return _sized(_symmetric_difference, a1, a2, fill_value, assume_unique=assume_unique, size=size)


@compiled("assume_unique", "size")
def _symmetric_difference(a1, a2, fill_value, assume_unique, size):
    if assume_unique:
        valid = full(a1.shape[0] + a2.shape[0], True)
    else:
        a1, _, count1 = _unique_packed(a1)
        a2, _, count2 = _unique_packed(a2)
        valid = concatenate([arange(a1.shape[0]) < count1, arange(a2.shape[0]) < count2])
    ordered, _ = _sorted_valid_first(concatenate([a1, a2]), valid)
    total, count = ordered.shape[0], sum(valid)
    # An element is kept when it differs from both neighbours among the valid ones.
    boundary = concatenate([full(1, total > 0), ordered[1:] != ordered[:-1], full(1, True)])
    boundary = (boundary & (arange(total + 1) <= count)) | (arange(total + 1) == count)
    kept = boundary[1:] & boundary[:-1]
    if size is None:
        return sum(kept)
    return _padded(_gathered(ordered, _first_true(kept, size, total), 0), sum(kept), fill_value)
