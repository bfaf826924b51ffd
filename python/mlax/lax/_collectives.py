"""jax.lax's collectives over named axes built from mlax.lax.parallel's: axis_size, pshuffle
(a ppermute), psum_scatter (a psum whose instance j keeps chunk j), all_to_all and
pswapaxes (an all_gather from which instance j takes the j-th chunk of every instance's
value). They work wherever vmap(..., axis_name=...) or pmap binds the axis, apply to each
array of a pytree, and their derivatives and batching come from the collectives they are
built from."""

import math

from mlax import ops
from mlax.core import axes, dtypes
from mlax.core.trace import aval_of
from mlax.lax.parallel import all_gather, axis_index, ppermute, psum
from mlax.tree_util import tree_map


def axis_size(axis_name):
    """The number of instances along the bound axis `axis_name` (the product, for a tuple of names)."""
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    return math.prod(axes.axis_size(name) for name in names)


def _no_groups(where, axis_index_groups):
    if axis_index_groups is not None:
        raise NotImplementedError(f"{where}: axis_index_groups= is not supported; mlax's collectives span the "
                                  "whole axis")


def pshuffle(x, axis_name, perm):
    """x of instance perm[i] sent to instance i (perm is a permutation of range(axis size))."""
    perm = [int(p) for p in perm]
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"pshuffle: perm {perm} is not a permutation")
    return ppermute(x, axis_name, list(zip(perm, range(len(perm)))))


def _chunk_size(where, shape, axis, count, tiled):
    """The size of each of `count` chunks of axis `axis` of shape (1 unless tiled, where the axis's size is count)."""
    if not 0 <= axis < len(shape):
        raise ValueError(f"{where}: axis {axis} is out of bounds for shape {shape}")
    if (shape[axis] % count) if tiled else (shape[axis] != count):
        raise ValueError(f"{where}: axis {axis} of shape {shape} must {'be a multiple of' if tiled else 'equal'} the "
                         f"axis size {count}")
    return shape[axis] // count


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """psum(x) cut into one chunk per instance along scatter_dimension, instance j keeping chunk j:
    with tiled, that axis (a multiple of the axis size) keeps its rank; without, its size is the
    axis size and it is removed."""
    _no_groups("psum_scatter", axis_index_groups)
    count = axis_size(axis_name)

    def scatter(leaf):
        shape = aval_of(leaf).shape
        dimension = int(scatter_dimension) % max(len(shape), 1)
        size = _chunk_size("psum_scatter", shape, dimension, count, tiled)
        index = ops.convert_element_type(axis_index(axis_name), dtypes.int32)
        starts = [ops.mul(index, size) if d == dimension else 0 for d in range(len(shape))]
        kept = ops.dynamic_slice(psum(leaf, axis_name), starts, [size if d == dimension else n
                                                                  for d, n in enumerate(shape)])
        return kept if tiled else ops.squeeze(kept, (dimension,))
    return tree_map(scatter, x)


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None, tiled=False):
    """x cut into one chunk per instance along split_axis, chunk j sent to instance j, and the
    chunks each instance receives joined along concat_axis in the order of their senders. With
    tiled, split_axis (a multiple of the axis size) shrinks and concat_axis grows; without, the
    split axis (of the axis size) is removed and a new axis of the senders is inserted at
    concat_axis."""
    _no_groups("all_to_all", axis_index_groups)
    count = axis_size(axis_name)

    def exchange(leaf):
        shape = aval_of(leaf).shape
        split = int(split_axis) % max(len(shape), 1)
        size = _chunk_size("all_to_all", shape, split, count, tiled)
        gathered = all_gather(leaf, axis_name)  # (senders, *shape)
        index = ops.convert_element_type(axis_index(axis_name), dtypes.int32)
        starts = [0] + [ops.mul(index, size) if d == split else 0 for d in range(len(shape))]
        chunks = ops.dynamic_slice(gathered, starts, [count] + [size if d == split else n
                                                                for d, n in enumerate(shape)])
        if not tiled:
            chunks = ops.squeeze(chunks, (split + 1,))
        rank = chunks.ndim - 1
        concat = int(concat_axis) % (rank + (not tiled))
        order = list(range(1, rank + 1))
        order.insert(concat, 0)  # the senders' axis just before concat_axis
        moved = ops.transpose(chunks, tuple(order))
        if not tiled:
            return moved
        merged = moved.shape[:concat] + (count * moved.shape[concat + 1],) + moved.shape[concat + 2:]
        return ops.reshape(moved, merged)
    return tree_map(exchange, x)


def pswapaxes(x, axis_name, axis, *, axis_index_groups=None):
    """all_to_all(x, axis_name, axis, axis): the named axis and x's axis `axis` (of the axis size) swap."""
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)
