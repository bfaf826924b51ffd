"""Reductions over axes (sum, prod, max, min, and, or), argmax/argmin, and the
cumulative reductions (cumsum, cumprod, cummax, cummin).

Each kind of reduction is made by one factory (shape rule, lowering, entry,
builder, NumPy reference, batching rule); the block of each op then adds its
differentiation rule.

    %1 = "mlax.reduce_sum"(%0) {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
"""

import numpy as np

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_front, shifted
from mlax.ops._rules import deflinear, defzero
from mlax.ops._elementwise import ANY, INTEGRAL, _check_dtype

__all__ = ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and", "reduce_or", "argmax", "argmin",
           "cumsum", "cumprod", "cummax", "cummin"]


def _check_axes(name, x, axes):
    if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
        raise TypeError(f"mlax.{name}: axes {axes} are invalid for an array of shape {x.shape}")


def identity_element(kind, dtype):
    """The identity element of a reduction kind ("sum", "prod", "max", "min", "and", "or") for `dtype`."""
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    if dtype == dtypes.bool_:
        return kind in ("min", "and")
    if kind in ("and", "or"):  # all bits set, or none
        return (dtypes.iinfo(dtype).max if dtypes.is_unsigned(dtype) else -1) if kind == "and" else 0
    if dtypes.is_inexact(dtype):
        return -np.inf if kind == "max" else np.inf
    info = dtypes.iinfo(dtype)
    return info.min if kind == "max" else info.max


def _kept_axes(ndim, axes):
    return tuple(d for d in range(ndim) if d not in axes)


# -- reduce_sum, reduce_prod, reduce_max, reduce_min, reduce_and, reduce_or ---------------

def _one_reduced_axis(x, axes):
    """x with the `axes` moved last and merged into one: IREE 3.13 fails to compile a
    reduction over several axes of a product with a broadcast operand (it makes it a
    vector.contract with an "invalid accumulator/result vector shape")."""
    shape = _hlo.shape_of(x)
    kept = [d for d in range(len(shape)) if d not in axes]
    order = kept + sorted(axes)
    if order != list(range(len(shape))):
        x = _hlo.transpose(x, order)
    merged = [shape[d] for d in kept] + [int(np.prod([shape[d] for d in axes]))]
    return _hlo.reshape(x, merged), len(kept)


# IREE 3.13 sums a reduced axis into one accumulator, so float32 sums drifted by up to n eps
# and stopped growing at 2**24 (mean(ones(5 * 10**7)) was 0.34). An axis longer than
# SUM_DIRECT is summed as a tree: blocks of SUM_BLOCK terms, then their sums likewise. Small
# blocks are also faster here (5 * 10**7 float32: 53 ms against 102 ms in one accumulator).
SUM_DIRECT = 1024
SUM_BLOCK = 16


def _accurate_sum(x, axes, dtype):
    """The sum of float or complex x over `axes`, blockwise as a tree when one axis is longer
    than SUM_DIRECT; float16 and bfloat16 are summed in float32, as XLA does."""
    wide = dtypes.float32 if dtype in (dtypes.float16, dtypes.bfloat16) else dtype
    if wide != dtype:
        x = _hlo.convert(x, wide)
    add = _hlo.binary("stablehlo.add")
    zero = _hlo.constant(0, wide)
    shape = _hlo.shape_of(x)
    if len(axes) != 1 or None in shape or shape[axes[0]] <= SUM_DIRECT:
        total = _hlo.reduce([x], [zero], axes, add)[0]
    else:
        total = _tree_sum(x, axes[0], zero, add)
    return _hlo.convert(total, dtype) if wide != dtype else total


def _tree_sum(x, axis, zero, add):
    """The sum of x over `axis`: blocks of SUM_BLOCK terms summed, then their sums the same
    way, until one block is left; the terms left over at each level are summed on their own."""
    leftovers = []
    while (count := _hlo.shape_of(x)[axis]) > SUM_BLOCK:
        shape = list(_hlo.shape_of(x))
        blocks, left = divmod(count, SUM_BLOCK)
        if left:
            leftovers.append(_hlo.reduce([_slice_axis(x, axis, blocks * SUM_BLOCK, count)], [zero], (axis,), add)[0])
            x = _slice_axis(x, axis, 0, blocks * SUM_BLOCK)
        split = _hlo.reshape(x, shape[:axis] + [blocks, SUM_BLOCK] + shape[axis + 1:])
        x = _hlo.reduce([split], [zero], (axis + 1,), add)[0]
    total = _hlo.reduce([x], [zero], (axis,), add)[0]
    for part in leftovers:
        total = _hlo.value("stablehlo.add", [total, part], total.type)
    return total


def _slice_axis(x, axis, start, limit):
    shape = list(_hlo.shape_of(x))
    starts, limits = [0] * len(shape), list(shape)
    starts[axis], limits[axis] = start, limit
    shape[axis] = limit - start
    return _hlo.value("stablehlo.slice", [x], mlir.tensor_type(shape, _hlo.dtype_of(x)), start_indices=tuple(starts),
                      limit_indices=tuple(limits), strides=(1,) * len(shape))


def _reduction(kind, combiner, accepts, reference):
    """The entry reduce_<kind> and its builder: reduce by the StableHLO op `combiner` over
    `axes`, for operands of the dtypes `accepts` names."""
    name = f"reduce_{kind}"

    def shape_rule(x, axes):
        _check_axes(name, x, axes)
        _check_dtype(name, accepts, x)
        return x.update(shape=[d for i, d in enumerate(x.shape) if i not in axes])

    def lower(ctx, x, axes):
        dtype = ctx.in_avals[0].dtype
        if len(axes) > 1 and None not in _hlo.shape_of(x):
            x, axis = _one_reduced_axis(x, axes)
            axes = (axis,)
        if kind == "sum" and dtypes.is_inexact(dtype):
            return _accurate_sum(x, axes, dtype)
        init = _hlo.constant(identity_element(kind, dtype), dtype)
        return _hlo.reduce([x], [init], axes, _hlo.binary(combiner))[0]

    element = "i1" if accepts is INTEGRAL else "f32"
    op = Op(name, ["x"], shape_rule, lower, attrs={"axes": "ints"},
            doc=f'Reduce by {kind} over `axes`, which are removed.\n\n'
                f'    %1 = "mlax.{name}"(%x) {{axes = array<i64: 0>}} : (tensor<2x3x{element}>) -> tensor<3x{element}>')
    op.traits.add("reduction")

    def builder(operand, axes):
        axes = tuple(sorted(int(a) for a in axes))
        return op(operand, axes=axes) if axes else operand
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"Reduce by {kind} over `axes`."

    op.numpy_ref = lambda x, axes: np.asarray(reference(x, axis=tuple(axes))).astype(x.dtype)
    defbatch_front(op, lambda attrs, size: {**attrs, "axes": shifted(attrs["axes"])})
    return op, builder


reduce_sum_p, reduce_sum = _reduction("sum", "stablehlo.add", ANY, np.sum)
reduce_sum_p.kernel_form = "sum"  # the interpreter adds long float sums in blocks, as _accurate_sum does
deflinear(reduce_sum_p, lambda ct, x, axes: [ops.broadcast_in_dim(ct, x.aval.shape, _kept_axes(x.aval.ndim, axes))])


reduce_prod_p, reduce_prod = _reduction("prod", "stablehlo.multiply", ANY, np.prod)


def _reduce_prod_jvp(ctx, primals, tangents, axes):
    """Each element's tangent times the product of all the others (exact with zeros)."""
    (x,), (t,) = primals, tangents
    ans = reduce_prod_p(x, axes=axes)
    if t is None:
        return [ans], [None]
    kept = _kept_axes(x.ndim, axes)
    kept_shape = tuple(x.shape[d] for d in kept)
    count = int(np.prod([x.shape[d] for d in axes], dtype=np.int64))

    def flat(v):
        return ops.reshape(ops.transpose(v, kept + tuple(axes)), kept_shape + (count,))

    xs, last = flat(x), len(kept_shape)
    ones = ops.full(kept_shape + (1,), 1, x.dtype)
    before = ops.concatenate([ones, ops.slice_in_dim(ops.cumprod(xs, last), 0, count - 1, axis=last)], last)
    after = ops.concatenate([ops.slice_in_dim(ops.cumprod(xs, last, reverse=True), 1, count, axis=last), ones], last)
    return [ans], [ops.reduce_sum(ops.mul(flat(t), ops.mul(before, after)), (last,))]


reduce_prod_p.jvp = _reduce_prod_jvp


def _reduce_extremum_jvp(op):
    """reduce_max/reduce_min: the tangent at the extreme element; ties share it equally."""
    def jvp(ctx, primals, tangents, axes):
        (x,), (t,) = primals, tangents
        ans = op(x, axes=axes)
        if t is None:
            return [ans], [None]
        at_extreme = ops.convert_element_type(
            ops.eq(x, ops.broadcast_in_dim(ans, x.shape, _kept_axes(x.ndim, axes))), x.dtype)
        share = ops.div(ops.reduce_sum(ops.mul(t, at_extreme), axes), ops.reduce_sum(at_extreme, axes))
        return [ans], [share]
    return jvp


reduce_max_p, reduce_max = _reduction("max", "stablehlo.maximum", ANY, np.max)
reduce_max_p.jvp = _reduce_extremum_jvp(reduce_max_p)

reduce_min_p, reduce_min = _reduction("min", "stablehlo.minimum", ANY, np.min)
reduce_min_p.jvp = _reduce_extremum_jvp(reduce_min_p)

reduce_and_p, reduce_and = _reduction("and", "stablehlo.and", INTEGRAL, np.bitwise_and.reduce)
defzero(reduce_and_p)

reduce_or_p, reduce_or = _reduction("or", "stablehlo.or", INTEGRAL, np.bitwise_or.reduce)
defzero(reduce_or_p)


# -- argmax, argmin ---------------------------------------------------------------------

def _lower_arg(direction):
    def lower(ctx, x, axis, index_dtype):
        x_aval = ctx.in_avals[0]
        indices = _hlo.value("stablehlo.iota", [], mlir.tensor_type(x_aval.shape, index_dtype),
                             iota_dimension=axis)
        init_value = _hlo.constant(identity_element("max" if direction == "GT" else "min", x_aval.dtype),
                                   x_aval.dtype)
        init_index = _hlo.constant(0, index_dtype)

        def pick(best, best_index, value, index):
            # The first index wins ties; NaN counts as the extreme value, as in NumPy.
            better = _hlo.compare(value, best, direction)
            value_nan = _hlo.compare(value, value, "NE")
            best_nan = _hlo.compare(best, best, "NE")
            tie = _hlo.compare(value, best, "EQ")
            earlier = _hlo.compare(index, best_index, "LT")
            both_nan = _hlo.value("stablehlo.and", [value_nan, best_nan], value_nan.type)
            tie_or_nans = _hlo.value("stablehlo.or", [tie, both_nan], tie.type)
            take_tie = _hlo.value("stablehlo.and", [tie_or_nans, earlier], tie.type)
            new_nan = _hlo.value("stablehlo.and", [value_nan,
                                                   _hlo.value("stablehlo.not", [best_nan], best_nan.type)], tie.type)
            not_best_nan = _hlo.value("stablehlo.not", [best_nan], best_nan.type)
            take_better = _hlo.value("stablehlo.and", [better, not_best_nan], tie.type)
            take = _hlo.value("stablehlo.or", [_hlo.value("stablehlo.or", [take_better, new_nan], tie.type),
                                               take_tie], tie.type)
            return [_hlo.select(take, value, best), _hlo.select(take, index, best_index)]

        return _hlo.reduce([x, indices], [init_value, init_index], (axis,), pick)[1]
    return lower


def _arg_reduction(name, direction, reference):
    """The entry `name` (argmax or argmin) and its builder: the index of the first extreme
    element along one axis (integer-valued, so its tangent is zero)."""
    def shape_rule(x, axis, index_dtype):
        _check_axes(name, x, (axis,))
        if not dtypes.is_integer(index_dtype):
            raise TypeError(f"mlax.{name}: index_dtype must be an integer dtype, got {np.dtype(index_dtype).name}")
        if x.shape[axis] == 0:
            raise ValueError(f"mlax.{name}: the reduced axis {axis} of shape {x.shape} is empty; an empty axis "
                             "has no extreme element")
        return ShapedArray([d for i, d in enumerate(x.shape) if i != axis], index_dtype)

    op = Op(name, ["x"], shape_rule, _lower_arg(direction), attrs={"axis": "int", "index_dtype": "dtype"},
            doc=f'Index of the first {"largest" if direction == "GT" else "smallest"} element along `axis`.\n\n'
                f'    %1 = "mlax.{name}"(%x) {{axis = 1 : i64, index_dtype = i32}}'
                f' : (tensor<2x3xf32>) -> tensor<2xi32>')

    def builder(operand, axis, index_dtype):
        return op(operand, axis=int(axis), index_dtype=dtypes.canonicalize(index_dtype))
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"Index of the first {'largest' if direction == 'GT' else 'smallest'} element along `axis`."

    op.numpy_ref = lambda x, axis, index_dtype: reference(x, axis=axis).astype(index_dtype)
    defzero(op)
    defbatch_front(op, lambda attrs, size: {**attrs, "axis": attrs["axis"] + 1})
    return op, builder


argmax_p, argmax = _arg_reduction("argmax", "GT", np.argmax)
argmin_p, argmin = _arg_reduction("argmin", "LT", np.argmin)


# -- cumsum, cumprod, cummax, cummin ----------------------------------------------------

def _lower_cumulative(kind, combiner):
    """Hillis-Steele scan: log2(n) rounds, each combining x with itself shifted by 2^k.
    Complex x is scanned as its real and imaginary parts (the products written out): IREE
    3.13 fails on a complex scan (an internal error in stream partitioning, "stream.yield")."""
    def combine_parts(dtype):
        """(the parts' identities, combine(parts, shifted parts) -> parts) for `dtype`'s parts."""
        if not dtypes.is_complex(dtype):
            return [identity_element(kind, dtype)], lambda x, y: [_hlo.value(combiner, [x[0], y[0]], x[0].type)]

        def h(name, a, b):
            return _hlo.value(f"stablehlo.{name}", [a, b], a.type)
        if kind == "sum":
            return [0, 0], lambda x, y: [h("add", x[0], y[0]), h("add", x[1], y[1])]
        return [1, 0], lambda x, y: [h("subtract", h("multiply", x[0], y[0]), h("multiply", x[1], y[1])),
                                     h("add", h("multiply", x[0], y[1]), h("multiply", x[1], y[0]))]

    def lower(ctx, x, axis, reverse=False):
        aval = ctx.in_avals[0]
        shape, ndim, size = aval.shape, aval.ndim, aval.shape[axis]
        part_dtype = dtypes.real_dtype(aval.dtype) if dtypes.is_complex(aval.dtype) else aval.dtype
        part_type = mlir.tensor_type(shape, part_dtype)
        if reverse:
            x = _hlo.value("stablehlo.reverse", [x], x.type, dimensions=(axis,))
        parts = ([_hlo.value(f"stablehlo.{name}", [x], part_type) for name in ("real", "imag")]
                 if dtypes.is_complex(aval.dtype) else [x])
        identities, combine = combine_parts(aval.dtype)
        shift = 1
        while shift < size:
            limit = list(shape)
            limit[axis] = size - shift
            low = [0] * ndim
            low[axis] = shift
            shifted = [_hlo.value("stablehlo.pad", [
                _hlo.value("stablehlo.slice", [part], mlir.tensor_type(limit, part_dtype), start_indices=(0,) * ndim,
                           limit_indices=tuple(limit), strides=(1,) * ndim),
                _hlo.constant(identity, part_dtype)], part_type, edge_padding_low=tuple(low),
                edge_padding_high=(0,) * ndim, interior_padding=(0,) * ndim)
                for part, identity in zip(parts, identities)]
            parts = combine(parts, shifted)
            shift *= 2
        x = _hlo.value("stablehlo.complex", parts, x.type) if len(parts) == 2 else parts[0]
        if reverse:
            x = _hlo.value("stablehlo.reverse", [x], x.type, dimensions=(axis,))
        return x
    return lower


def _cumulative(kind, combiner, ufunc):
    """The entry cum<kind> and its builder: the running reduction by `combiner` along one axis."""
    name = f"cum{kind}"

    def shape_rule(x, axis, reverse=False):
        _check_axes(name, x, (axis,))
        return x

    op = Op(name, ["x"], shape_rule, _lower_cumulative(kind, combiner), attrs={"axis": "int", "reverse": "bool"},
            doc=f'Running {kind} along `axis` (from the end when `reverse`).\n\n'
                f'    %1 = "mlax.{name}"(%x) {{axis = 1 : i64, reverse = true}} : (tensor<2x3xf32>) -> tensor<2x3xf32>')

    def builder(operand, axis=0, reverse=False):
        axis = int(axis) % max(aval_of(operand).ndim, 1)
        return op(operand, axis=axis, reverse=bool(reverse) or None)
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"Running {kind} along `axis` (from the end when `reverse`)."

    def reference(x, axis, reverse=False):
        x = np.flip(x, axis) if reverse else x
        out = ufunc.accumulate(x, axis=axis).astype(x.dtype)
        return np.flip(out, axis) if reverse else out

    op.numpy_ref = reference
    defbatch_front(op, lambda attrs, size: {**attrs, "axis": attrs["axis"] + 1})
    return op, builder


cumsum_p, cumsum = _cumulative("sum", "stablehlo.add", np.add)
deflinear(cumsum_p, lambda ct, x, axis, reverse=False: [ops.cumsum(ct, axis, not reverse)])


cumprod_p, cumprod = _cumulative("prod", "stablehlo.multiply", np.multiply)


def _cumprod_jvp(ctx, primals, tangents, axis, reverse=False):
    """Without dividing by x (exact through zeros): the tangent follows the recurrence
    dy[i] = x[i] dy[i-1] + y[i-1] t[i], solved in log2(n) doubling steps."""
    (x,), (t,) = primals, tangents
    ans = ops.cumprod(x, axis, reverse)
    if t is None:
        return [ans], [None]
    if reverse:
        x, t, ans = (ops.rev(v, (axis,)) for v in (x, t, ans))
    count = x.shape[axis]

    def shifted(v, by, fill):  # v moved `by` places along the axis, `fill` coming in
        pad = ops.full(x.shape[:axis] + (min(by, count),) + x.shape[axis + 1:], fill, x.dtype)
        return ops.concatenate([pad, ops.slice_in_dim(v, 0, count - by, axis=axis)], axis) if by < count else pad
    factor, dy = x, ops.mul(shifted(ans, 1, 1), t)
    step = 1
    while step < count:
        dy = ops.add(dy, ops.mul(factor, shifted(dy, step, 0)))
        factor = ops.mul(factor, shifted(factor, step, 1))
        step *= 2
    dy = ops.add(dy, ops.full(x.shape, 0, x.dtype))  # a zero tangent is +0, as JAX's scan gives it
    return [ops.rev(ans, (axis,)) if reverse else ans], [ops.rev(dy, (axis,)) if reverse else dy]


cumprod_p.jvp = _cumprod_jvp


def _cumulative_extremum_jvp(op):
    """cummax/cummin: each output takes the tangent of the element that set it."""
    def jvp(ctx, primals, tangents, axis, reverse=False):
        (x,), (t,) = primals, tangents
        ans = op(x, axis=axis, reverse=reverse or None)
        if t is None:
            return [ans], [None]
        positions = ops.broadcasted_iota(dtypes.int32, x.shape, axis)
        if reverse:
            positions = ops.sub(ops.full(x.shape, x.shape[axis] - 1, dtypes.int32), positions)
        setter = ops.select(ops.eq(x, ans), positions, ops.full(x.shape, 0, dtypes.int32))
        latest = ops.cummax(setter, axis, reverse)
        if reverse:
            latest = ops.sub(ops.full(x.shape, x.shape[axis] - 1, dtypes.int32), latest)
        return [ans], [ops.take_along_axis(t, latest, axis)]
    return jvp


cummax_p, cummax = _cumulative("max", "stablehlo.maximum", np.maximum)
cummax_p.jvp = _cumulative_extremum_jvp(cummax_p)

cummin_p, cummin = _cumulative("min", "stablehlo.minimum", np.minimum)
cummin_p.jvp = _cumulative_extremum_jvp(cummin_p)
