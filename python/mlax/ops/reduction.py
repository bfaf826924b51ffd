"""Reductions over axes (sum, max, min, prod, and, or) and argmax/argmin.

    %1 = "mlax.reduce_sum"(%0) {axes = array<i64: 0>} : (tensor<3x4xf32>) -> tensor<4xf32>
"""

import numpy as np

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import OPS, Op
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_front, shifted
from mlax.ops._rules import deflinear, defzero
from mlax.ops.elementwise import ANY, INTEGRAL, _check_dtype

__all__: list[str] = []  # the builders this family exports (mlax.lax re-exports them)


def _check_axes(name, x, axes):
    if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
        raise TypeError(f"mlax.{name}: axes {axes} are invalid for an array of shape {x.shape}")


def _reduce_rule(name, accepts):
    def rule(x, axes):
        _check_axes(name, x, axes)
        _check_dtype(name, accepts, x)
        return x.update(shape=[d for i, d in enumerate(x.shape) if i not in axes])
    return rule


def _identity(kind, dtype):
    """The identity element of a reduction kind for `dtype`."""
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    if dtype == dtypes.bool_:
        return kind in ("min", "and")
    if kind in ("and", "or"):
        return -1 if kind == "and" else 0
    if dtypes.is_inexact(dtype):
        return -np.inf if kind == "max" else np.inf
    info = dtypes.iinfo(dtype)
    return info.min if kind == "max" else info.max


def _one_reduced_axis(x, axes):
    """x with the `axes` moved last and merged into one: IREE 3.13 fails to compile a
    reduction over several axes of a product with a broadcast operand (it makes it a
    vector.contract with an "invalid accumulator/result vector shape")."""
    shape = _hlo.shape_of(x)
    kept = [d for d in range(len(shape)) if d not in axes]
    order = kept + sorted(axes)
    if order != list(range(len(shape))):
        x = _hlo.value("stablehlo.transpose", [x], mlir.tensor_type([shape[d] for d in order], _hlo.dtype_of(x)),
                       permutation=tuple(order))
    merged = [shape[d] for d in kept] + [int(np.prod([shape[d] for d in axes]))]
    return _hlo.reshape(x, merged), len(kept)


def _lower_reduce(kind, hlo_name):
    def lower(ctx, x, axes):
        dtype = ctx.in_avals[0].dtype
        init = _hlo.constant(_identity(kind, dtype), dtype)
        if len(axes) > 1 and None not in _hlo.shape_of(x):
            x, axis = _one_reduced_axis(x, axes)
            axes = (axis,)
        return _hlo.reduce([x], [init], axes, _hlo.binary(hlo_name))[0]
    return lower


# name: (StableHLO combiner, accepted dtypes, NumPy reference)
REDUCTIONS = {
    "sum": ("stablehlo.add", ANY, np.sum),
    "prod": ("stablehlo.multiply", ANY, np.prod),
    "max": ("stablehlo.maximum", ANY, np.max),
    "min": ("stablehlo.minimum", ANY, np.min),
    "and": ("stablehlo.and", INTEGRAL, np.bitwise_and.reduce),
    "or": ("stablehlo.or", INTEGRAL, np.bitwise_or.reduce),
}

for _kind, (_combiner, _accepts, _ref) in REDUCTIONS.items():
    _op = Op(f"reduce_{_kind}", ["x"], _reduce_rule(f"reduce_{_kind}", _accepts), _lower_reduce(_kind, _combiner),
             attrs={"axes": "ints"}, doc=f"Reduce by {_kind} over `axes`, which are removed.")
    _op.traits.add("reduction")
    _op.numpy_ref = (lambda ref: lambda x, axes: np.asarray(ref(x, axis=tuple(axes))).astype(x.dtype))(_ref)


def _arg_rule(name):
    def rule(x, axis, index_dtype):
        _check_axes(name, x, (axis,))
        if not dtypes.is_integer(index_dtype):
            raise TypeError(f"mlax.{name}: index_dtype must be an integer dtype, got {np.dtype(index_dtype).name}")
        return ShapedArray([d for i, d in enumerate(x.shape) if i != axis], index_dtype)
    return rule


def _lower_arg(direction):
    def lower(ctx, x, axis, index_dtype):
        x_aval = ctx.in_avals[0]
        indices = _hlo.value("stablehlo.iota", [], mlir.tensor_type(x_aval.shape, index_dtype),
                             iota_dimension=axis)
        init_value = _hlo.constant(_identity("max" if direction == "GT" else "min", x_aval.dtype), x_aval.dtype)
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


for _name, _direction, _ref in (("argmax", "GT", np.argmax), ("argmin", "LT", np.argmin)):
    _op = Op(_name, ["x"], _arg_rule(_name), _lower_arg(_direction),
             attrs={"axis": "int", "index_dtype": "dtype"},
             doc=f"Index of the first {'largest' if _direction == 'GT' else 'smallest'} element along `axis`.")
    _op.numpy_ref = (lambda ref: lambda x, axis, index_dtype: ref(x, axis=axis).astype(index_dtype))(_ref)


# -- cumulative reductions -----------------------------------------------------------

def _cumulative_rule(name):
    def rule(x, axis, reverse=False):
        _check_axes(name, x, (axis,))
        return x
    return rule


def _lower_cumulative(kind, hlo_name):
    """Hillis-Steele scan: log2(n) rounds, each combining x with itself shifted by 2^k."""
    def lower(ctx, x, axis, reverse=False):
        aval = ctx.in_avals[0]
        size = aval.shape[axis]
        if reverse:
            x = _hlo.value("stablehlo.reverse", [x], x.type, dimensions=(axis,))
        identity = _hlo.constant(_identity(kind, aval.dtype), aval.dtype)
        shift = 1
        while shift < size:
            limit = list(aval.shape)
            limit[axis] = size - shift
            head = _hlo.value("stablehlo.slice", [x], mlir.tensor_type(limit, aval.dtype),
                              start_indices=(0,) * aval.ndim, limit_indices=tuple(limit),
                              strides=(1,) * aval.ndim)
            low = [0] * aval.ndim
            low[axis] = shift
            shifted = _hlo.value("stablehlo.pad", [head, identity], x.type, edge_padding_low=tuple(low),
                                 edge_padding_high=(0,) * aval.ndim, interior_padding=(0,) * aval.ndim)
            x = _hlo.value(hlo_name, [x, shifted], x.type)
            shift *= 2
        if reverse:
            x = _hlo.value("stablehlo.reverse", [x], x.type, dimensions=(axis,))
        return x
    return lower


def _np_cumulative(ufunc):
    def ref(x, axis, reverse=False):
        x = np.flip(x, axis) if reverse else x
        out = ufunc.accumulate(x, axis=axis).astype(x.dtype)
        return np.flip(out, axis) if reverse else out
    return ref


for _kind, (_combiner, _ufunc) in {"sum": ("stablehlo.add", np.add), "prod": ("stablehlo.multiply", np.multiply),
                                   "max": ("stablehlo.maximum", np.maximum),
                                   "min": ("stablehlo.minimum", np.minimum)}.items():
    _op = Op(f"cum{_kind}", ["x"], _cumulative_rule(f"cum{_kind}"), _lower_cumulative(_kind, _combiner),
             attrs={"axis": "int", "reverse": "bool"},
             doc=f"Running {_kind} along `axis` (from the end when `reverse`).")
    _op.numpy_ref = _np_cumulative(_ufunc)


# -- differentiation rules ---------------------------------------------------------------

def _kept_axes(ndim, axes):
    return tuple(d for d in range(ndim) if d not in axes)


def _reduce_extremum_jvp(kind):
    """max/min: the tangent at the extreme element; ties share it equally."""
    def jvp(ctx, primals, tangents, axes):
        (x,), (t,) = primals, tangents
        ans = OPS[f"reduce_{kind}"](x, axes=axes)
        if t is None:
            return [ans], [None]
        at_extreme = ops.convert_element_type(
            ops.eq(x, ops.broadcast_in_dim(ans, x.shape, _kept_axes(x.ndim, axes))), x.dtype)
        share = ops.div(ops.reduce_sum(ops.mul(t, at_extreme), axes), ops.reduce_sum(at_extreme, axes))
        return [ans], [share]
    return jvp


def _reduce_prod_jvp(ctx, primals, tangents, axes):
    """Each element's tangent times the product of all the others (exact with zeros)."""
    (x,), (t,) = primals, tangents
    ans = OPS["reduce_prod"](x, axes=axes)
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


def _cumprod_jvp(ctx, primals, tangents, axis, reverse=False):
    (x,), (t,) = primals, tangents
    ans = ops.cumprod(x, axis, reverse)
    if t is None:
        return [ans], [None]
    return [ans], [ops.mul(ans, ops.cumsum(ops.div(t, x), axis, reverse))]


def _cumulative_extremum_jvp(kind):
    """cummax/cummin: each output takes the tangent of the element that set it."""
    def jvp(ctx, primals, tangents, axis, reverse=False):
        from mlax.numpy._indexing import take_along_axis

        (x,), (t,) = primals, tangents
        ans = OPS[f"cum{kind}"](x, axis=axis, reverse=reverse or None)
        if t is None:
            return [ans], [None]
        positions = ops.broadcasted_iota(dtypes.int32, x.shape, axis)
        if reverse:
            positions = ops.sub(ops.full(x.shape, x.shape[axis] - 1, dtypes.int32), positions)
        setter = ops.select(ops.eq(x, ans), positions, ops.full(x.shape, 0, dtypes.int32))
        latest = ops.cummax(setter, axis, reverse)
        if reverse:
            latest = ops.sub(ops.full(x.shape, x.shape[axis] - 1, dtypes.int32), latest)
        return [ans], [take_along_axis(t, latest, axis)]
    return jvp


deflinear(OPS["reduce_sum"], lambda ct, x, axes: [
    ops.broadcast_in_dim(ct, x.aval.shape, _kept_axes(x.aval.ndim, axes))])
OPS["reduce_max"].jvp = _reduce_extremum_jvp("max")
OPS["reduce_min"].jvp = _reduce_extremum_jvp("min")
OPS["reduce_prod"].jvp = _reduce_prod_jvp
for _name in ("reduce_and", "reduce_or", "argmax", "argmin"):
    defzero(OPS[_name])
deflinear(OPS["cumsum"], lambda ct, x, axis, reverse=False: [ops.cumsum(ct, axis, not reverse)])
OPS["cumprod"].jvp = _cumprod_jvp
OPS["cummax"].jvp = _cumulative_extremum_jvp("max")
OPS["cummin"].jvp = _cumulative_extremum_jvp("min")


# -- batching rules -------------------------------------------------------------------
for _name, _op in OPS.items():
    if _name.startswith("reduce_"):
        defbatch_front(_op, lambda attrs, size: {**attrs, "axes": shifted(attrs["axes"])})
    elif _name in ("argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin"):
        defbatch_front(_op, lambda attrs, size: {**attrs, "axis": attrs["axis"] + 1})
