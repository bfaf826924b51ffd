"""jax.lax's general reductions and scans: reduce (a Python reducer over pytrees of operands),
reduce_xor, associative_scan, cumlogsumexp, and approx_max_k / approx_min_k.

reduce with lax.add, lax.mul, lax.max, lax.min, lax.bitwise_and or lax.bitwise_or and their
identity as init value is the op table's reduction, as in JAX; any other reducer is applied
pairwise in a tree (first half against second half, log2(n) rounds), vectorized with vmap,
which is the order JAX's derivative of reduce takes too. associative_scan is JAX's algorithm
(combine the pairs, scan them recursively, fill in the rest), so that sums round alike.
"""

import math

import numpy as np

from mlax import ops
from mlax.api._staging import as_value
from mlax.api.custom_rules import custom_jvp
from mlax.api.jit import compiled
from mlax.api.vmap import vmap
from mlax.core import dtypes
from mlax.core.trace import Tracer, aval_of
from mlax.ops.reduction import identity_element
from mlax.tree_util import tree_flatten, tree_unflatten

# reducer -> the reduction kind it makes with its identity (reduction.identity_element's names)
_MONOIDS = {ops.add: "sum", ops.mul: "prod", ops.max: "max", ops.min: "min", ops.bitwise_and: "and",
            ops.bitwise_or: "or"}
_MONOID_REDUCTIONS = {"sum": ops.reduce_sum, "prod": ops.reduce_prod, "max": ops.reduce_max, "min": ops.reduce_min,
                      "and": ops.reduce_and, "or": ops.reduce_or}


def _monoid(computation, operands, inits):
    """The op-table reduction equal to reducing by `computation` from `inits`, or None."""
    kind = _MONOIDS.get(computation)
    if kind is None or len(operands) != 1 or isinstance(inits[0], Tracer):
        return None
    dtype = aval_of(operands[0]).dtype
    if kind in ("and", "or") and not (dtype == dtypes.bool_ or dtypes.is_integer(dtype)):
        return None
    identity = np.asarray(identity_element(kind, dtype)).astype(dtype)
    return _MONOID_REDUCTIONS[kind] if np.asarray(inits[0]).shape == () and np.asarray(inits[0]) == identity else None


def _check_dimensions(where, shape, dimensions):
    dimensions = tuple(int(d) for d in dimensions)
    if len(set(dimensions)) != len(dimensions) or any(not 0 <= d < len(shape) for d in dimensions):
        raise ValueError(f"{where}: dimensions {dimensions} are invalid for an operand of shape {shape}")
    return tuple(sorted(dimensions))


def reduce(operands, init_values, computation, dimensions, out_sharding=None):  # noqa: A001 - JAX's name
    """Reduce operands (an array or a pytree of arrays of one shape) over `dimensions` with
    computation(a, b), a function of two pytrees of scalars like init_values, which must form a
    monoid with it (computation associative, init_values its identity); the reduced axes are
    removed. The result counts init_values once."""
    if out_sharding is not None:
        raise NotImplementedError("reduce: out_sharding= is not supported: mlax arrays are not sharded")
    flat, tree = tree_flatten(operands)
    flat_inits, init_tree = tree_flatten(init_values)
    if tree != init_tree:
        raise ValueError(f"reduce: operands and init_values must have one tree structure, got {tree} and {init_tree}")
    flat = [as_value(x) for x in flat]
    shapes = {x.shape for x in flat}
    if len(shapes) != 1:
        raise ValueError(f"reduce: the operands must have one shape, got {[x.shape for x in flat]}")
    dimensions = _check_dimensions("reduce", flat[0].shape, dimensions)
    for x, init in zip(flat, flat_inits):
        init_aval = aval_of(init)
        if init_aval.shape != ():
            raise TypeError(f"reduce: init values must be scalars, got shape {init_aval.shape}")
        if init_aval.dtype != x.dtype:
            raise TypeError(f"reduce: each init value must have its operand's dtype, got {init_aval.dtype.name} "
                            f"for an operand of dtype {x.dtype.name}")
    monoid = _monoid(computation, flat, flat_inits)
    if monoid is not None:
        out = monoid(flat[0], dimensions)
        return ops.convert_element_type(out, out.dtype, flat[0].weak_type and aval_of(flat_inits[0]).weak_type)
    results = _tree_reduce(flat, [as_value(i) for i in flat_inits], computation, tree, dimensions)
    return tree_unflatten(tree, results)


@compiled("computation", "tree", "dimensions")
def _tree_reduce(flat, inits, computation, tree, dimensions):
    """The generic reduce: computation applied to pairs in a tree, vectorized by vmap, then to
    (init value, tree's result)."""
    shape = flat[0].shape
    kept = tuple(d for d in range(len(shape)) if d not in dimensions)
    kept_shape = tuple(shape[d] for d in kept)
    count, width = math.prod(shape[d] for d in dimensions), math.prod(kept_shape)
    weak = [x.weak_type and i.weak_type for x, i in zip(flat, inits)]
    if count == 0 or width == 0:
        return [ops.full(kept_shape, i, x.dtype, w) for x, i, w in zip(flat, inits, weak)]

    def pairwise(left, right):
        out = tree_flatten(computation(tree_unflatten(tree, left), tree_unflatten(tree, right)))[0]
        if [(aval_of(o).shape, aval_of(o).dtype) for o in out] != [((), x.dtype) for x in flat]:
            raise TypeError(f"reduce: computation must return scalars of the operands' dtypes "
                            f"{[x.dtype.name for x in flat]}, got {[aval_of(o).str_short() for o in out]}")
        return out
    combine = vmap(pairwise)
    rows = [ops.reshape(ops.transpose(x, dimensions + kept), (count, width)) for x in flat]
    while count > 1:
        half, paired = (count + 1) // 2, count // 2
        combined = combine([ops.reshape(ops.slice_in_dim(r, 0, paired), (paired * width,)) for r in rows],
                           [ops.reshape(ops.slice_in_dim(r, half, count), (paired * width,)) for r in rows])
        # An odd count's middle row passes on unpaired, where JAX's tree pairs it with the init
        # value: the same for an identity, and the init value counts once otherwise.
        rows = [ops.concatenate([ops.reshape(c, (paired, width))] + ([ops.slice_in_dim(r, paired, half)] if count % 2
                                                                      else []), 0) for c, r in zip(combined, rows)]
        count = half
    out = combine([ops.full((width,), i, x.dtype) for i, x in zip(inits, flat)],
                  [ops.reshape(r, (width,)) for r in rows])
    return [ops.convert_element_type(ops.reshape(o, kept_shape), x.dtype, w) for o, x, w in zip(out, flat, weak)]


def _xor_rows(x, axis):
    """x reduced by xor along `axis` in a tree of elementwise xors."""
    while (count := x.shape[axis]) > 1:
        half = count // 2
        paired = ops.bitwise_xor(ops.slice_in_dim(x, 0, half, axis=axis),
                                 ops.slice_in_dim(x, half, 2 * half, axis=axis))
        if count % 2:
            paired = ops.concatenate([paired, ops.slice_in_dim(x, 2 * half, count, axis=axis)], axis)
        x = paired
    return ops.squeeze(x, (axis,))


def reduce_xor(operand, axes):
    """Reduce a boolean or integer array by bitwise xor over `axes`, which are removed."""
    operand = as_value(operand)
    if operand.dtype != dtypes.bool_ and not dtypes.is_integer(operand.dtype):
        raise TypeError(f"reduce_xor: the operand must be boolean or an integer, got dtype {operand.dtype.name}")
    axes = _check_dimensions("reduce_xor", operand.shape, axes)
    if not axes:
        return operand
    kept = tuple(d for d in range(operand.ndim) if d not in axes)
    count = math.prod(operand.shape[d] for d in axes)
    if count == 0:
        return ops.full(tuple(operand.shape[d] for d in kept), 0, operand.dtype, operand.weak_type)
    merged = ops.reshape(ops.transpose(operand, kept + axes), tuple(operand.shape[d] for d in kept) + (count,))
    return _xor_rows(merged, len(kept))


# -- associative_scan, cumlogsumexp ------------------------------------------------------------

def _interleave(evens, odds, axis):
    """evens[0], odds[0], evens[1], odds[1], ... along `axis` (evens has as many entries as odds, or one more)."""
    extra = evens.shape[axis] - odds.shape[axis]
    paired = ops.slice_in_dim(evens, 0, odds.shape[axis], axis=axis) if extra else evens
    shape = odds.shape
    woven = ops.reshape(ops.concatenate([ops.expand_dims(paired, (axis + 1,)), ops.expand_dims(odds, (axis + 1,))],
                                        axis + 1), shape[:axis] + (2 * shape[axis],) + shape[axis + 1:])
    if extra:
        woven = ops.concatenate([woven, ops.slice_in_dim(evens, evens.shape[axis] - 1, evens.shape[axis], axis=axis)],
                                axis)
    return woven


def associative_scan(fn, elems, reverse=False, axis=0):
    """The running combination of elems (an array or pytree of arrays) along `axis` by the
    associative fn(a, b), which takes and returns pytrees like elems and acts elementwise:
    out[i] = fn(... fn(elems[0], elems[1]) ..., elems[i]); with reverse, from the end
    (fn's first argument then holds the later elements)."""
    if not callable(fn):
        raise TypeError(f"associative_scan: fn must be callable, got {fn!r}")
    leaves, tree = tree_flatten(elems)
    leaves = [as_value(x) for x in leaves]
    if not leaves:
        return elems
    if leaves[0].ndim == 0:
        raise ValueError("associative_scan: elems must have an axis to scan along")
    axis = int(axis) % leaves[0].ndim
    if any(x.ndim <= axis or x.shape[axis] != leaves[0].shape[axis] for x in leaves):
        raise ValueError(f"associative_scan: the arrays of elems must have one length along axis {axis}, got shapes "
                         f"{[x.shape for x in leaves]}")

    def combine(a, b):
        return tree_flatten(fn(tree_unflatten(tree, a), tree_unflatten(tree, b)))[0]

    def every_other(xs, start, stop=None):
        return [ops.slice_in_dim(x, start, x.shape[axis] if stop is None else stop, 2, axis=axis) for x in xs]

    def scan(xs):
        count = xs[0].shape[axis]
        if count < 2:
            return xs
        odds = scan(combine(every_other(xs, 0, count - 1), every_other(xs, 1)))  # out[1], out[3], ...
        # out[2], out[4], ...: each odd result combined with the element after it.
        evens = combine([ops.slice_in_dim(o, 0, (count - 1) // 2, axis=axis) for o in odds], every_other(xs, 2))
        evens = [ops.concatenate([ops.slice_in_dim(x, 0, 1, axis=axis), e], axis) for x, e in zip(xs, evens)]
        return [_interleave(e, o, axis) for e, o in zip(evens, odds)]

    if reverse:
        leaves = [ops.rev(x, (axis,)) for x in leaves]
    out = scan(leaves)
    if reverse:
        out = [ops.rev(x, (axis,)) for x in out]
    return tree_unflatten(tree, out)


def _infinity_to_zero(x):
    return ops.select(ops.eq(ops.abs(x), ops.full(x.shape, np.inf, x.dtype)), ops.full(x.shape, 0, x.dtype), x)


@custom_jvp
def _logaddexp(x, y):
    """log(exp(x) + exp(y)) without overflow; x + y where x - y is NaN (a NaN, or equal infinities)."""
    larger = ops.max(x, y)
    difference = ops.sub(x, y)
    return ops.select(ops.ne(difference, difference), ops.add(x, y),
                      ops.add(larger, ops.log1p(ops.exp(ops.neg(ops.abs(difference))))))


@_logaddexp.defjvp
def _logaddexp_jvp(primals, tangents):
    """Each tangent weighted by exp(its operand - the result), infinities taken as 0 there (as JAX)."""
    (x, y), (tx, ty) = primals, tangents
    out = _logaddexp(x, y)
    finite_out = _infinity_to_zero(out)
    weight = [ops.exp(ops.sub(_infinity_to_zero(v), finite_out)) for v in (x, y)]
    return out, ops.add(ops.mul(tx, weight[0]), ops.mul(ty, weight[1]))


def cumlogsumexp(operand, axis=0, reverse=False):
    """The running log(sum(exp(operand))) along `axis` (from the end when reverse), without overflow."""
    operand = as_value(operand)
    if not dtypes.is_float(operand.dtype):
        raise TypeError(f"cumlogsumexp: the operand must be floating-point, got dtype {operand.dtype.name}")
    return associative_scan(_logaddexp, operand, reverse=bool(reverse), axis=axis)


# -- approx_max_k, approx_min_k ------------------------------------------------------------------

_TILING = {1: 1024, "other": 128}  # the reduction window sizes XLA's TPU algorithm works in, by operand rank


def _log2_floor(n):
    return n.bit_length() - 1 if n > 0 else 0


def _log2_ceil(n):
    return (n - 1).bit_length() if n > 0 else 0


def _reduced_size(input_size, rank, k, recall_target, input_size_override):
    """How many candidates per row XLA's approximate top-k keeps without aggregate_to_topk: the
    input cut down by 2**r in windows of the TPU tiling, for the largest r whose expected recall
    of the top k, exp((1 - k) / windows), still reaches recall_target (any r for k = 1), r
    counted on the logical size input_size_override where one is given."""
    tiling = _TILING.get(rank, _TILING["other"])
    if input_size <= tiling:
        return input_size
    logical_size = input_size_override if input_size_override >= 0 else input_size
    if k == 1:  # any window keeps the largest element: reduce to one window
        reduction = _log2_ceil(-(-logical_size // tiling))
    else:
        if recall_target == 1.0:
            return input_size
        windows = max(int((1.0 - k) / math.log(recall_target)), tiling)
        reduction = _log2_floor(logical_size // min(windows, logical_size))
        if reduction == 0:
            return input_size
        reduction = min(reduction, _log2_ceil(input_size // tiling))
    return -(-input_size // (tiling << reduction)) * tiling


def _approx_top_k(name, operand, k, reduction_dimension, recall_target, reduction_input_size_override,
                  aggregate_to_topk, largest):
    operand = as_value(operand)
    k = int(k)
    if k <= 0:
        raise ValueError(f"{name}: k must be positive, got {k}")
    if operand.ndim == 0:
        raise TypeError(f"{name}: the operand must have at least one axis, got a scalar")
    if not dtypes.is_float(operand.dtype):
        raise ValueError(f"{name}: the operand must be floating-point, got dtype {operand.dtype.name}")
    axis = int(reduction_dimension) % operand.ndim
    size = operand.shape[axis]
    if size < k:
        raise ValueError(f"{name}: k = {k} is larger than the size {size} of the reduction dimension {axis}")
    if not 0.0 < recall_target <= 1.0:
        raise ValueError(f"{name}: recall_target must be in (0, 1], got {recall_target}")
    if 0 <= int(reduction_input_size_override) < size:
        raise ValueError(f"{name}: reduction_input_size_override {reduction_input_size_override} is smaller than "
                         f"the reduction dimension's size {size}")
    count = k if aggregate_to_topk else _reduced_size(size, operand.ndim, k, float(recall_target),
                                                      int(reduction_input_size_override))
    last = ops.transpose(operand, tuple(d for d in range(operand.ndim) if d != axis) + (axis,)) if axis != \
        operand.ndim - 1 else operand
    values, indices = (ops.top_k(last, count) if largest else _smallest(last, count))
    if axis != operand.ndim - 1:
        back = tuple(range(axis)) + (operand.ndim - 1,) + tuple(range(axis, operand.ndim - 1))
        values, indices = ops.transpose(values, back), ops.transpose(indices, back)
    return [values, indices]


def _smallest(x, count):
    """The `count` smallest entries along the last axis in ascending order, with their indices:
    -0.0 and 0.0 tie (the earlier first), NaNs come last, as XLA's comparison sorts them."""
    last = x.ndim - 1
    positions = ops.broadcasted_iota(dtypes.int32, x.shape, last)
    key = ops.add(x, ops.full(x.shape, 0, x.dtype))  # -0.0 + 0.0 is 0.0; mlax's sort is stable, NaNs last
    _, order = ops.sort_key_val(key, positions, dimension=last)
    return (ops.slice_in_dim(ops.take_along_axis(x, order, last), 0, count, axis=last),
            ops.slice_in_dim(order, 0, count, axis=last))


def approx_max_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True):
    """The k largest entries along reduction_dimension (descending, NaN first) and their int32
    indices. mlax's are exact, which meets any recall_target; without aggregate_to_topk, as many
    (exact) candidates as XLA's approximate algorithm keeps for the recall_target."""
    return _approx_top_k("approx_max_k", operand, k, reduction_dimension, recall_target,
                         reduction_input_size_override, aggregate_to_topk, largest=True)


def approx_min_k(operand, k, reduction_dimension=-1, recall_target=0.95, reduction_input_size_override=-1,
                 aggregate_to_topk=True):
    """The k smallest entries along reduction_dimension (ascending, NaN last) and their int32
    indices. mlax's are exact, which meets any recall_target; without aggregate_to_topk, as many
    (exact) candidates as XLA's approximate algorithm keeps for the recall_target."""
    return _approx_top_k("approx_min_k", operand, k, reduction_dimension, recall_target,
                         reduction_input_size_override, aggregate_to_topk, largest=False)
