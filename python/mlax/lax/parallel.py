"""Collectives over named axes (psum, pmean, pmax, pmin, all_gather, ppermute,
axis_index), and the axis names that vmap and pmap bind while they trace.

A collective names the axis it works over; the innermost vmap(..., axis_name=...)
or pmap(..., axis_name=...) being traced with that name binds it. Naming an axis
nothing binds is a NameError when the collective is traced. Collectives apply to
each array of a pytree.
"""

from mlax.core import dtypes
from mlax.core.axes import axis_size
from mlax.core.trace import aval_of
from mlax import ops
from mlax.ops import collectives
from mlax.tree_util import tree_map

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "ppermute", "axis_index"]

def _names(axis_name):
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    for name in names:
        axis_size(name)
    return names


def _reduction(op):
    def fn(x, axis_name):
        names = _names(axis_name)

        def reduce(leaf):
            for name in names:
                leaf = op(leaf, axis_name=name)
            return leaf
        return tree_map(reduce, x)
    fn.__name__ = op.name
    fn.__doc__ = f"The {op.name[1:]} of x over the instances along the axis (or axes) `axis_name`."
    return fn


psum = _reduction(collectives.psum_p)
pmax = _reduction(collectives.pmax_p)
pmin = _reduction(collectives.pmin_p)


def pmean(x, axis_name):
    """The mean of x over the instances along the axis (or axes) `axis_name`."""
    count = 1
    for name in _names(axis_name):
        count *= axis_size(name)

    def mean(total):
        if not dtypes.is_inexact(aval_of(total).dtype):
            total = ops.convert_element_type(total, dtypes.float32)
        return ops.div(total, count)
    return tree_map(mean, psum(x, axis_name))


def all_gather(x, axis_name, *, axis=0, tiled=False):
    """Every instance's x, stacked along a new axis `axis` (joined along `axis` when tiled)."""
    [name] = _names(axis_name)

    def gather(leaf):
        rank = aval_of(leaf).ndim + (not tiled)
        return collectives.all_gather_p(leaf, axis_name=name, axis=int(axis) % rank if rank else int(axis),
                                        axis_size=axis_size(name), tiled=bool(tiled))
    return tree_map(gather, x)


def ppermute(x, axis_name, perm):
    """x sent along the (source, destination) index pairs of `perm`; an instance no pair
    sends to gets zeros."""
    [name] = _names(axis_name)
    size = axis_size(name)
    pairs = [(int(s), int(d)) for s, d in perm]
    for source, destination in pairs:
        if not (0 <= source < size and 0 <= destination < size):
            raise ValueError(f"ppermute: pair ({source}, {destination}) is out of range for axis {name!r} "
                             f"of size {size}")
    flat = tuple(v for pair in pairs for v in pair)
    return tree_map(lambda leaf: collectives.ppermute_p(leaf, axis_name=name, perm=flat), x)


def axis_index(axis_name):
    """This instance's position along the axis `axis_name` (int32)."""
    [name] = _names(axis_name)
    return collectives.axis_index_p(axis_name=name)
