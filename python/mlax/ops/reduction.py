"""Reductions over axes (sum, max, min, prod, and, or) and argmax/argmin.

    %1 = "mlax.reduce_sum"(%0) {axes = array<i64: 0>} : (tensor<3x4xf32>) -> tensor<4xf32>
"""

import numpy as np

from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.ops import _hlo
from mlax.ops.elementwise import ANY, INTEGRAL, _check_dtype


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


def _lower_reduce(kind, hlo_name):
    def lower(ctx, x, axes):
        dtype = ctx.in_avals[0].dtype
        init = _hlo.constant(_identity(kind, dtype), dtype)
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
