"""mlax.numpy's functions that select, order and place elements: lexsort, partition,
argpartition, sort_complex, extract, compress, choose, piecewise, place, put,
put_along_axis, fill_diagonal, mask_indices, ravel_multi_index, unravel_index, trim_zeros,
unstack and block.

As in JAX, the functions NumPy lets modify an array in place (place, put, put_along_axis,
fill_diagonal) return an updated copy and reject `inplace=True`; a mode that must check the
values (choose's and ravel_multi_index's mode='raise') needs concrete arrays.
"""

import builtins
import math
import operator

import numpy as np

from mlax import lax
from mlax.api.vmap import vmap
from mlax.core import dtypes
from mlax.core.trace import Tracer
from mlax.numpy._creation import arange, full, ones, zeros_like
from mlax.numpy._diagonals import diag_indices
from mlax.numpy._dtypes import array, asarray, astype, reject_out
from mlax.numpy._indexing import getitem, take_along_axis
from mlax.numpy._promotion import broadcast_arrays, broadcast_to
from mlax.numpy._reductions import any, argmax, cumsum  # noqa: A004 - NumPy's names
from mlax.numpy._sets import _first_true, sort_keys
from mlax.numpy._shape import _axis, _axes, concatenate, moveaxis, nonzero, ravel, reshape
from mlax.numpy._sorting import argsort, sort
from mlax.numpy._tiling import tile
from mlax.numpy._ufuncs import clip, divmod, where  # noqa: A004 - NumPy's name


def lexsort(keys, axis=-1):
    """The indices that sort by several keys along `axis`: the last key first, ties broken by the
    ones before it (stable)."""
    keys = [asarray(k) for k in keys]
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    if len({k.shape for k in keys}) > 1:
        raise ValueError(f"all keys need to be the same shape, got {[k.shape for k in keys]}")
    if keys[0].ndim == 0:
        return lax.full((), 0, dtypes.default_int())
    axis = _axis(axis, keys[0].ndim)
    order = None
    for key in [part for k in keys for part in sort_keys(k)]:  # each stable sort keeps the order of the
        if order is None:  # keys sorted before it among its ties
            order = argsort(key, axis)
        else:
            order = take_along_axis(order, argsort(take_along_axis(key, order, axis), axis), axis)
    return order


def _partition_setup(name, a, kth, axis):
    a = asarray(a)
    if dtypes.is_complex(a.dtype):
        raise NotImplementedError(f"{name} of complex arrays is not implemented (as in JAX)")
    axis = _axis(axis, a.ndim)
    return moveaxis(a, axis, -1), axis, _axis(kth, a.shape[axis], "kth")


def _total_order(a):
    """a as keys in the total order that JAX's partition follows (XLA's top_k order):
    -NaN < -inf < ... < -0.0 < +0.0 < ... < inf < NaN. Floats become integers whose order is that."""
    if not dtypes.is_inexact(a.dtype):
        return a
    integer = np.dtype(f"int{8 * a.dtype.itemsize}")
    bits = lax.bitcast_convert_type(a, integer)
    # A negative float's bits (sign set) order backwards: flipping the others puts them in order.
    sign = lax.shift_right_arithmetic(bits, lax.full(bits.shape, 8 * integer.itemsize - 1, integer))
    return lax.bitwise_xor(bits, lax.bitwise_and(sign, lax.full(bits.shape, np.iinfo(integer).max, integer)))


def _partition_indices(a, kth):
    """(the indices of the kth + 1 smallest entries along the last axis, ascending; the keys ordered)."""
    keys = _total_order(a)
    return argsort(keys, -1)[..., :kth + 1], keys


def partition(a, kth, axis=-1):
    """a along `axis` with the k-th smallest element at position kth, the smaller ones before it
    (ascending) and the larger ones after it (descending), as JAX orders them (-0.0 before 0.0,
    NaNs last)."""
    a, axis, kth = _partition_setup("partition", a, kth, axis)
    bottom, keys = _partition_indices(a, kth)
    top = lax.top_k(keys, a.shape[-1] - kth - 1)[1]
    order = concatenate([bottom, astype(top, bottom.dtype)], -1)
    return moveaxis(take_along_axis(a, order, -1), -1, axis)


def argpartition(a, kth, axis=-1):
    """The indices that partition `a` around its k-th smallest element along `axis`: those of the
    kth + 1 smallest (ascending, as partition orders them), then the others in index order, as
    JAX gives them."""
    a, axis, kth = _partition_setup("argpartition", a, kth, axis)
    bottom, _ = _partition_indices(a, kth)
    size = a.shape[-1]
    chosen = any(bottom[..., :, None] == arange(size, dtype=bottom.dtype), -2)
    top = lax.top_k(where(chosen, 0.0, 1.0), size - kth - 1)[1]
    return moveaxis(concatenate([bottom, astype(top, bottom.dtype)], -1), -1, axis)


def sort_complex(a):
    """a sorted along its last axis (by real part, then imaginary part), as a complex array."""
    a = asarray(a)
    if not dtypes.is_complex(a.dtype):
        wide = a.dtype == np.float64 or (not dtypes.is_inexact(a.dtype) and dtypes.default_int() == np.int64)
        return astype(sort(a, -1), np.complex128 if wide else np.complex64)
    if a.ndim == 0:
        return a
    return take_along_axis(a, lexsort([a], -1), -1)  # lexsort orders complex keys so


def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    """The slices of `a` along `axis` (of the flattened array when None) where `condition` is true.
    Without `size` it needs a concrete condition; with it, the first `size` slices, padded with
    `fill_value`."""
    reject_out("compress", out)
    condition = astype(asarray(condition), bool)
    if condition.ndim != 1:
        raise ValueError(f"condition must be a 1D array, got shape {condition.shape}")
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    else:
        axis = _axis(axis, a.ndim)
    a = moveaxis(a, axis, 0)
    condition, extra = condition[:a.shape[0]], condition[a.shape[0]:]
    a = a[:condition.shape[0]]
    if size is None:
        if bool(any(extra)):  # on a traced condition, a TracerBoolConversionError as in JAX
            raise ValueError("condition contains entries that are out of bounds")
        result = getitem(a, condition)
    else:
        size = operator.index(size)
        if not 0 <= size <= a.shape[0]:
            raise ValueError("size must be positive and not greater than the size of the array axis; "
                             f"got size={size} for a.shape[axis]={a.shape[0]}")
        fill = astype(asarray(fill_value), a.dtype)
        kept = where(reshape(condition, condition.shape + (1,) * (a.ndim - 1)), a, fill)
        result = kept[argsort(astype(condition, dtypes.int32), stable=True, descending=True)][:size]
    return moveaxis(result, 0, axis)


def extract(condition, arr, *, size=None, fill_value=0):
    """The elements of the flattened `arr` where the flattened `condition` is true (see compress)."""
    return compress(ravel(condition), ravel(arr), size=size, fill_value=fill_value)


_CHOOSE_MODES = ("raise", "wrap", "clip")


def choose(a, choices, out=None, mode="raise"):
    """choices[a] elementwise (all broadcast together); out-of-range entries of `a` raise
    ('raise', which needs a concrete `a`), wrap around or clip to the ends."""
    reject_out("choose", out)
    a = asarray(a)
    choices = [asarray(c) for c in choices]
    if not dtypes.is_integer(a.dtype):
        raise ValueError("`a` array must be integer typed")
    count = len(choices)
    if mode == "raise":
        if isinstance(a, Tracer):
            raise a._concretization_error("the `a` argument of choose with mode='raise' (use mode='wrap' or "
                                          "mode='clip' under jit)")
        if bool(any((a < 0) | (a >= count))):
            raise ValueError("invalid entry in choice array")
    elif mode == "wrap":
        a = a % count
    elif mode == "clip":
        a = clip(a, 0, count - 1)
    else:
        raise ValueError(f"mode={mode!r} not understood. Must be 'raise', 'wrap', or 'clip'")
    a, *choices = broadcast_arrays(a, *choices)
    return take_along_axis(array(choices), a[None], 0)[0]


def piecewise(x, condlist, funclist, *args, **kw):
    """funclist[i] (a function of each element, or a constant) where condlist[i] holds (the last
    such i), else the extra last function, or zero; the result has x's dtype."""
    x = asarray(x)
    conditions, functions = len(condlist), len(funclist)
    if functions == conditions + 1:
        funclist = list(funclist[-1:]) + list(funclist[:-1])
    elif functions == conditions:
        funclist = [0] + list(funclist)
    else:
        raise ValueError(f"with {conditions} condition(s), either {conditions} or {conditions + 1} functions are "
                         f"expected; got {functions}")
    condlist = asarray(condlist, dtype=bool)
    which = argmax(cumsum(concatenate([zeros_like(condlist[:1]), condlist], 0), 0), 0)
    which, x = broadcast_arrays(which, x)

    def each(element):
        return [astype(f(element, *args, **kw), x.dtype) if callable(f) else lax.full((), f, x.dtype)
                for f in funclist]
    if x.size:
        branches = [reshape(b, x.shape) for b in vmap(each)(ravel(x))]
    else:
        branches = [x] * len(funclist)
    return lax.select_n(astype(which, dtypes.int32), *branches)


def _no_inplace(name, inplace, error=ValueError):
    if inplace:
        raise error(f"{name}: inplace=True is not supported (mlax arrays are immutable); pass inplace=False for an "
                    "updated copy, as in JAX")


def _tiled(values, count):
    """The 1-d values repeated to `count` entries."""
    if values.shape[0] < count:
        values = tile(values, -(-count // values.shape[0]))
    return values[:count]


def place(arr, mask, vals, *, inplace=True):
    """A copy of `arr` with the entries where `mask` is true set to `vals` in order (repeated as needed)."""
    _no_inplace("place", inplace)
    arr, mask, vals = asarray(arr), asarray(mask), ravel(vals)
    if arr.size != mask.size:
        raise ValueError(f"place: arr and mask must be the same size, got {arr.size} and {mask.size}")
    if not vals.size:
        raise ValueError("Cannot place values from an empty array")
    if not arr.size:
        return arr
    positions = _first_true(astype(ravel(mask), bool), mask.size, mask.size)
    return reshape(ravel(arr).at[positions].set(_tiled(vals, mask.size), mode="drop"), arr.shape)


_PUT_MODES = (None, "clip", "wrap")


def put(a, ind, v, mode=None, *, inplace=True):
    """A copy of `a` with its flattened entries at `ind` set to `v` (repeated as needed); out-of-range
    indices follow `mode` (None: as unravel_index places them, 'clip' or 'wrap')."""
    _no_inplace("put", inplace)
    a, ind, v = asarray(a), ravel(ind), ravel(v)
    if mode == "raise":
        raise NotImplementedError("put: mode='raise' is not supported (as in JAX); use None, 'clip' or 'wrap'")
    if mode not in _PUT_MODES:
        raise ValueError(f"mode should be one of 'wrap' or 'clip'; got mode={mode!r}")
    if not a.size or not ind.size or not v.size:
        return a
    v = _tiled(v, ind.size)
    if mode == "clip":
        ind = clip(ind, 0, a.size - 1)
    elif mode == "wrap":
        ind = ind % a.size
    return a.at[unravel_index(ind, a.shape)].set(v)


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    """A copy of `arr` with `values` set at `indices` along `axis` (the other axes matched one to one)."""
    _no_inplace("put_along_axis", inplace)
    arr, index, values = asarray(arr), asarray(indices), asarray(values)
    shape = arr.shape
    if axis is None:
        arr, axis = ravel(arr), 0
    if arr.ndim != index.ndim:
        raise ValueError(f"put_along_axis arguments 'arr' and 'indices' must have same ndim. Got arr.ndim={arr.ndim} "
                         f"and indices.ndim={index.ndim}.")
    try:
        values = broadcast_to(values, index.shape)
    except ValueError:
        raise ValueError(f"put_along_axis argument 'values' must be broadcastable to 'indices'. Got "
                         f"values.shape={values.shape} and indices.shape={index.shape}.") from None
    axis = _axis(axis, arr.ndim)
    grid = list(_sparse_grid(arr.shape))
    grid[axis] = index
    return reshape(arr.at[tuple(grid)].set(values, mode=mode), shape)


def _sparse_grid(shape):
    return tuple(np.arange(n, dtype=np.int32).reshape([n if j == i else 1 for j in range(len(shape))])
                 for i, n in enumerate(shape))


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """A copy of `a` with its main diagonal set to `val` (repeated as needed); wrap=True is not
    supported, as in JAX."""
    _no_inplace("fill_diagonal", inplace, NotImplementedError)
    if wrap:
        raise NotImplementedError("fill_diagonal: wrap=True is not implemented, must use wrap=False (as in JAX)")
    a, val = asarray(a), asarray(val)
    if a.ndim < 2:
        raise ValueError("array must be at least 2-d")
    if a.ndim > 2 and not all(n == a.shape[0] for n in a.shape[1:]):
        raise ValueError(f"All dimensions of input must be of equal length, got shape {a.shape}")
    n = min(a.shape)
    return a.at[diag_indices(n, a.ndim)].set(val if val.ndim == 0 else _tiled(ravel(val), n))


def mask_indices(n, mask_func, k=0, *, size=None):
    """The (row, column) indices where mask_func(ones((n, n)), k) is nonzero; `size` pads or cuts them."""
    mask = asarray(mask_func(ones((n, n)), k))
    if size is None:
        return nonzero(mask)
    flat = _first_true(astype(ravel(mask), bool), operator.index(size), 0)
    return tuple(astype(i, dtypes.default_int()) for i in divmod(flat, mask.shape[1]))


_RAVEL_MODES = ("raise", "wrap", "clip", "ignore")


def ravel_multi_index(multi_index, dims, mode="raise", order="C", *, dtype=None):
    """The flat indices into an array of shape `dims` of the coordinate arrays `multi_index`;
    out-of-range coordinates raise ('raise', which needs concrete arrays), wrap, clip or are kept
    ('ignore')."""
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: len(multi_index)={len(multi_index)} != len(dims)={len(dims)}")
    dims = tuple(operator.index(d) for d in dims)
    coordinates = [asarray(i) for i in multi_index]
    dtype = dtypes.result_type(int, *coordinates) if dtype is None else dtypes.canonicalize(dtype)
    if not dtypes.is_integer(dtype) or dtype == dtypes.bool_:
        raise ValueError(f"dtype={dtype} is not an integer type.")
    if math.prod(dims) - 1 > dtypes.iinfo(dtype).max:
        raise ValueError(f"ravel_multi_index: dtype={dtype} not large enough to hold flattened index for dims={dims}."
                         " Use the dtype argument to pass a suitable dtype.")
    for index in coordinates:
        if mode == "raise" and isinstance(index, Tracer):
            raise index._concretization_error("ravel_multi_index's multi_index with mode='raise' (use mode='wrap' "
                                              "or mode='clip' under jit)")
        if not dtypes.is_integer(index.dtype) or index.dtype == dtypes.bool_:
            raise TypeError("only int indices permitted")
    if mode == "raise":
        if builtins.any(bool(any((i < 0) | (i >= d))) for i, d in zip(coordinates, dims)):
            raise ValueError("invalid entry in coordinates array")
    elif mode == "clip":
        coordinates = [clip(i, 0, d - 1) for i, d in zip(coordinates, dims)]
    elif mode == "wrap":
        coordinates = [i % d for i, d in zip(coordinates, dims)]
    elif mode != "ignore":
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', 'clip', or 'ignore'.")
    if order == "F":
        strides = np.cumprod((1,) + dims[:-1])
    elif order == "C":
        strides = np.cumprod((1,) + dims[1:][::-1])[::-1]
    else:
        raise ValueError(f"invalid order={order!r}. Expected 'C' or 'F'")
    result = asarray(np.zeros((), dtype))
    for index, stride in zip(coordinates, strides):
        result = result + astype(index, dtype) * int(stride)
    return result


def unravel_index(indices, shape):
    """The coordinates in an array of `shape` of the flat `indices`; those out of range are
    clamped to the nearest end (-1 counts from the end), as in JAX."""
    flat = asarray(indices)
    shape = list(shape) if np.ndim(shape) else [shape]
    if builtins.any(np.ndim(n) != 0 for n in shape):
        raise ValueError(f"unravel_index: shape should be a scalar or 1D sequence, got {shape}")
    coordinates = [0] * len(shape)
    for i in reversed(range(len(shape))):
        flat, coordinates[i] = divmod(flat, shape[i])
    past_end = flat > 0
    before_start = full((), False) if dtypes.is_unsigned(flat.dtype) else flat < -1
    return tuple(where(past_end, n - 1, where(before_start, 0, c)) for n, c in zip(shape, coordinates))


def trim_zeros(filt, trim="fb", axis=None):
    """filt without its leading ('f') and trailing ('b') zeros (slices of zeros along each of `axis`);
    it needs a concrete array."""
    filt = asarray(filt)
    if isinstance(filt, Tracer):
        raise filt._concretization_error("the `filt` argument of trim_zeros")
    axes = _axes(axis, filt.ndim)
    front, back = "f" in trim.lower(), "b" in trim.lower()
    if not axes or not (front or back):
        return filt
    values = np.asarray(filt)
    index = []
    for ax in range(filt.ndim):
        if ax not in axes:
            index.append(slice(None))
            continue
        nonzero_ = np.any(values != 0, axis=tuple(i for i in range(filt.ndim) if i != ax))
        if not nonzero_.any():
            index.append(slice(0, 0))
            continue
        start = int(nonzero_.argmax()) if front else None
        stop = filt.shape[ax] - int(nonzero_[::-1].argmax()) if back else None
        index.append(slice(start, stop))
    return getitem(filt, tuple(index))


def unstack(x, /, *, axis=0):
    """The slices of x along `axis`, as a tuple."""
    return lax.unstack(asarray(x), axis=axis)


def _block(pieces):
    """(the block built from a nested list, its depth)."""
    if isinstance(pieces, tuple):
        raise ValueError(f"mlax.numpy.block does not allow tuples, got {pieces}")  # noqa: TRY004 - as JAX
    if not isinstance(pieces, list):
        return asarray(pieces), 1
    if not pieces:
        raise ValueError("mlax.numpy.block does not allow empty list arguments")
    blocks, depths = zip(*[_block(p) for p in pieces])
    if builtins.any(d != depths[0] for d in depths[1:]):
        raise ValueError("Mismatched list depths in mlax.numpy.block")
    rank = max(depths[0], max(b.ndim for b in blocks))
    blocks = [reshape(b, (1,) * (rank - b.ndim) + b.shape) for b in blocks]
    return concatenate(blocks, axis=-depths[0]), depths[0] + 1


def block(arrays):
    """An array assembled from nested lists of blocks: the innermost lists join along the last axis,
    the next ones along the one before, and so on."""
    return _block(arrays)[0]
