"""Sorting along one dimension: sort, sort_key_val (values reordered by keys), and
top_k, built on sort_key_val.

    %1 = "mlax.sort"(%x) {descending = true, dimension = 0 : i64} : (tensor<5xf32>) -> tensor<5xf32>

The order is NumPy's: stable, NaNs last (first when descending). The two
results of sort_key_val are separate IRDL values, so keys and values may
have different dtypes (argsort sorts an iota by the keys).
"""

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.op import Op
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_front

__all__ = ["sort", "sort_key_val", "top_k"]


def _check_dimension(name, x, dimension):
    if not 0 <= dimension < x.ndim:
        raise TypeError(f"mlax.{name}: dimension {dimension} is out of range for shape {x.shape}")


def _comes_first(dtype, descending):
    """The comparator over (key a, key b, position a, position b): a comes first if it
    orders before b, NaNs last (first when descending), equal keys by position."""
    def compare(a, b, position_a, position_b):
        bool_type = _hlo.compare(a, b, "EQ").type
        before = _hlo.compare(a, b, "GT" if descending else "LT")
        tie = _hlo.compare(a, b, "EQ")
        if dtypes.is_inexact(dtype):
            a_nan, b_nan = _hlo.compare(a, a, "NE"), _hlo.compare(b, b, "NE")
            first_nan, second_nan = (a_nan, b_nan) if descending else (b_nan, a_nan)
            # Ascending, a number precedes a NaN; descending, a NaN precedes a number.
            nan_order = _hlo.value("stablehlo.and", [first_nan, _hlo.value("stablehlo.not", [second_nan], bool_type)],
                                   bool_type)
            before = _hlo.value("stablehlo.or", [before, nan_order], bool_type)
            tie = _hlo.value("stablehlo.or", [tie, _hlo.value("stablehlo.and", [a_nan, b_nan], bool_type)], bool_type)
        earlier = _hlo.value("stablehlo.and", [tie, _hlo.compare(position_a, position_b, "LT")], bool_type)
        return [_hlo.value("stablehlo.or", [before, earlier], bool_type)]
    return compare


def _constant_keys(keys):
    """The NumPy value of sort keys that a real, integer or boolean constant op defines, else None."""
    owner = keys.owner
    if not isinstance(owner, ir.OpView) or owner.name != "stablehlo.constant":
        return None
    attribute = owner.attributes["value"]
    if not isinstance(attribute, ir.DenseElementsAttr) or dtypes.is_complex(_hlo.dtype_of(keys)):
        return None
    return mlir.dense_to_numpy(attribute)


def _lower_sort(ctx, *operands, dimension, descending=False):
    # IREE's sort is not stable, so the keys are sorted together with their positions,
    # which break ties; other operands are then gathered by the sorted positions (IREE
    # also miscompiles sorts of several iota-like operands, as argsort's values are).
    keys = operands[0]
    shape = ctx.in_avals[0].shape
    key_dtype = ctx.in_avals[0].dtype
    constant = _constant_keys(keys)
    if constant is not None:
        # Constant keys are sorted here: IREE 3.13 sorts them in place in the constant's own
        # buffer, so that argsort(zeros(4)) came out [0, 0, 0, 0] and later sorts of the same
        # positions read them sorted.
        permutation = _np_order(constant, dimension, descending).astype(np.int32)
        sorted_keys = _hlo.constant(np.take_along_axis(constant, permutation, dimension), key_dtype, shape)
        order, others_in = _hlo.constant(permutation, dtypes.int32, shape), operands[1:]
    else:
        positions = _hlo.value("stablehlo.iota", [], mlir.tensor_type(shape, dtypes.int32), iota_dimension=dimension)
        sort = _hlo.op("stablehlo.sort", [keys, positions], [keys.type, positions.type],
                       {"dimension": dimension, "is_stable": True}, regions=1)
        _hlo.scalar_region(sort, 0, [key_dtype, key_dtype, dtypes.int32, dtypes.int32],
                           _comes_first(key_dtype, descending))
        # Both results stay live through a barrier: when only the keys were used, IREE kept the
        # positions of each tile of rows in a stack buffer, past its 32 KiB limit from 300x300 on.
        # (The operands to gather must not pass it: an iota among them then shared the buffer
        # the sort permutes in place, and partition's gradient came out wrong.)
        sorted_keys, order = _hlo.op("stablehlo.optimization_barrier", list(sort.results),
                                     [keys.type, positions.type]).results
        others_in = operands[1:]
    others = [d for d in range(len(shape)) if d != dimension]
    numbers = ir.Attribute.parse(
        "#stablehlo.gather<collapsed_slice_dims = [%d], operand_batching_dims = [%s], "
        "start_indices_batching_dims = [%s], start_index_map = [%d], index_vector_dim = %d>"
        % (dimension, ", ".join(map(str, others)), ", ".join(map(str, others)), dimension, len(shape)))
    gathered = [_hlo.value("stablehlo.gather", [value, order], value.type, dimension_numbers=numbers,
                           slice_sizes=(1,) * len(shape), indices_are_sorted=False) for value in others_in]
    return [sorted_keys] + gathered


def _np_order(keys, dimension, descending):
    """The stable sorting permutation along `dimension`, NaNs last (first when descending)."""
    moved = np.moveaxis(np.asarray(keys), dimension, -1)
    rows = moved.reshape(-1, moved.shape[-1]) if moved.size else moved.reshape(0, moved.shape[-1])

    def order(row):
        nan = np.isnan(row) if np.issubdtype(row.dtype, np.inexact) else np.zeros(row.shape, bool)
        if descending:
            return sorted(range(len(row)), key=lambda i: (not nan[i], 0.0 if nan[i] else -float(row[i])))
        return sorted(range(len(row)), key=lambda i: (bool(nan[i]), 0.0 if nan[i] else float(row[i])))

    result = np.array([order(r) for r in rows], dtype=np.int64).reshape(moved.shape)
    return np.moveaxis(result, -1, dimension)


# Differentiation: sorting permutes, so tangents follow the same permutation.

def _permutation(keys, dimension, descending):
    iota = ops.broadcasted_iota(dtypes.int32, keys.shape, dimension)
    return sort_key_val_p(keys, iota, dimension=dimension, descending=descending or None)[1]


def _permute(tangent, order, dimension):
    return None if tangent is None else ops.take_along_axis(tangent, order, dimension)


def _batch_dimension(attrs, size):
    return {**attrs, "dimension": attrs["dimension"] + 1}


# -- sort -------------------------------------------------------------------------------

def _sort_rule(x, dimension, descending=False):
    _check_dimension("sort", x, dimension)
    return x


sort_p = Op("sort", ["x"], _sort_rule, lambda ctx, x, dimension, descending=False: _lower_sort(
    ctx, x, dimension=dimension, descending=descending)[0],
    attrs={"dimension": "int", "descending": "bool"},
    doc='x sorted along `dimension` (stable, NaNs last).\n\n'
        '    %1 = "mlax.sort"(%x) {dimension = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>')


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """operand sorted along `dimension` (NaNs last); a tuple (keys, values) sorts values by keys.
    mlax sorts stably whatever `is_stable` says; it sorts by one key (`num_keys` 1) only."""
    if isinstance(operand, (tuple, list)):
        if num_keys != 1:
            raise NotImplementedError(f"lax.sort: num_keys={num_keys} is not supported; mlax sorts by the first "
                                      "operand only (num_keys=1)")
        keys, values = operand
        return sort_key_val(keys, values, dimension)
    if num_keys != 1:
        raise ValueError(f"lax.sort: num_keys={num_keys} must equal 1 for a single operand")
    dimension = int(dimension) % aval_of(operand).ndim
    return sort_p(operand, dimension=dimension)


def _sort_jvp(ctx, primals, tangents, dimension, descending=False):
    (x,), (t,) = primals, tangents
    order = _permutation(x, dimension, descending)
    return [sort_p(x, dimension=dimension, descending=descending or None)], [_permute(t, order, dimension)]


sort_p.numpy_ref = lambda x, dimension, descending=False: np.take_along_axis(
    x, _np_order(x, dimension, descending), dimension)
sort_p.jvp = _sort_jvp
defbatch_front(sort_p, _batch_dimension)


# -- sort_key_val -----------------------------------------------------------------------

def _sort_key_val_rule(keys, values, dimension, descending=False):
    _check_dimension("sort_key_val", keys, dimension)
    if keys.shape != values.shape:
        raise TypeError(f"mlax.sort_key_val: keys of shape {keys.shape} and values of shape {values.shape} differ")
    return keys, values


sort_key_val_p = Op("sort_key_val", ["keys", "values"], _sort_key_val_rule, _lower_sort,
                    attrs={"dimension": "int", "descending": "bool"}, results=("sorted_keys", "sorted_values"),
                    multiple_results=True,
                    doc='keys sorted along `dimension`, and values in the same order.\n\n'
                        '    %1:2 = "mlax.sort_key_val"(%k, %v) {dimension = 1 : i64}'
                        ' : (tensor<2x3xf32>, tensor<2x3xi32>) -> (tensor<2x3xf32>, tensor<2x3xi32>)')


def sort_key_val(keys, values, dimension=-1, is_stable=True):
    """(keys sorted along `dimension`, values in the same order)."""
    dimension = int(dimension) % aval_of(keys).ndim
    return tuple(sort_key_val_p(keys, values, dimension=dimension))


def _sort_key_val_jvp(ctx, primals, tangents, dimension, descending=False):
    keys, values = primals
    order = _permutation(keys, dimension, descending)
    outs = sort_key_val_p(keys, values, dimension=dimension, descending=descending or None)
    return outs, [_permute(t, order, dimension) for t in tangents]


sort_key_val_p.numpy_ref = lambda keys, values, dimension, descending=False: [
    np.take_along_axis(a, _np_order(keys, dimension, descending), dimension) for a in (keys, values)]
sort_key_val_p.jvp = _sort_key_val_jvp
defbatch_front(sort_key_val_p, _batch_dimension)


# -- top_k: a descending sort_key_val of the positions, cut short --------------------------

def top_k(operand, k):
    """The k largest entries along the last axis, and their indices (first occurrence first on ties)."""
    ndim = aval_of(operand).ndim
    indices = ops.broadcasted_iota(dtypes.int32, aval_of(operand).shape, ndim - 1)
    values, order = sort_key_val_p(operand, indices, dimension=ndim - 1, descending=True)
    size = aval_of(operand).shape[-1]
    if not 0 <= k <= size:
        raise ValueError(f"top_k: k={k} must be between 0 and the last axis size {size}")
    # A list, as jax.lax.top_k returns them (its results' pytree is [*, *]).
    return [ops.slice_in_dim(values, 0, k, axis=ndim - 1), ops.slice_in_dim(order, 0, k, axis=ndim - 1)]
