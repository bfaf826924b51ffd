"""dot_general: batched tensor contraction, the op behind dot, matmul, einsum.

The result's axes are the batch axes, then lhs's free axes, then rhs's free axes.

    %2 = "mlax.dot_general"(%0, %1) {lhs_contracting = array<i64: 1>, rhs_contracting = array<i64: 0>,
           lhs_batch = array<i64>, rhs_batch = array<i64>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
"""

import numpy as np

from iree.compiler import ir

from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.ops import _hlo
from mlax.ops.elementwise import check_same_dtypes


def free_axes(ndim, contracting, batch):
    return [i for i in range(ndim) if i not in contracting and i not in batch]


def _dot_general_rule(lhs, rhs, lhs_contracting, rhs_contracting, lhs_batch, rhs_batch, preferred_element_type=None):
    check_same_dtypes("dot_general", lhs, rhs)
    if len(lhs_contracting) != len(rhs_contracting) or len(lhs_batch) != len(rhs_batch):
        raise TypeError("mlax.dot_general: lhs and rhs need as many contracting and batch axes as each other")
    for axes, aval in ((lhs_contracting + lhs_batch, lhs), (rhs_contracting + rhs_batch, rhs)):
        if len(set(axes)) != len(axes) or any(not 0 <= a < aval.ndim for a in axes):
            raise TypeError(f"mlax.dot_general: axes {axes} invalid for shape {aval.shape}")
    for a, b in list(zip(lhs_contracting, rhs_contracting)) + list(zip(lhs_batch, rhs_batch)):
        if lhs.shape[a] != rhs.shape[b]:
            raise TypeError(f"mlax.dot_general: shapes {lhs.shape} and {rhs.shape} do not match on "
                            f"lhs axis {a} and rhs axis {b} ({lhs.shape[a]} != {rhs.shape[b]})")
    shape = ([lhs.shape[a] for a in lhs_batch]
             + [lhs.shape[a] for a in free_axes(lhs.ndim, lhs_contracting, lhs_batch)]
             + [rhs.shape[a] for a in free_axes(rhs.ndim, rhs_contracting, rhs_batch)])
    dtype = preferred_element_type if preferred_element_type is not None else lhs.dtype
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


def _lower_dot_general(ctx, lhs, rhs, lhs_contracting, rhs_contracting, lhs_batch, rhs_batch,
                       preferred_element_type=None):
    numbers = ir.Attribute.parse(
        "#stablehlo.dot<lhs_batching_dimensions = [%s], rhs_batching_dimensions = [%s], "
        "lhs_contracting_dimensions = [%s], rhs_contracting_dimensions = [%s]>"
        % tuple(", ".join(map(str, axes)) for axes in (lhs_batch, rhs_batch, lhs_contracting, rhs_contracting)))
    return _hlo.value("stablehlo.dot_general", [lhs, rhs], ctx.out_types[0], dot_dimension_numbers=numbers)


def _np_dot_general(lhs, rhs, lhs_contracting, rhs_contracting, lhs_batch, rhs_batch, preferred_element_type=None):
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    lhs_sub = [next(letters) for _ in range(lhs.ndim)]
    rhs_sub = [next(letters) for _ in range(rhs.ndim)]
    for a, b in list(zip(lhs_contracting, rhs_contracting)) + list(zip(lhs_batch, rhs_batch)):
        rhs_sub[b] = lhs_sub[a]
    out = ([lhs_sub[a] for a in lhs_batch] + [lhs_sub[a] for a in free_axes(lhs.ndim, lhs_contracting, lhs_batch)]
           + [rhs_sub[a] for a in free_axes(rhs.ndim, rhs_contracting, rhs_batch)])
    result = np.einsum(f"{''.join(lhs_sub)},{''.join(rhs_sub)}->{''.join(out)}", lhs, rhs)
    return result.astype(preferred_element_type or lhs.dtype)


dot_general = Op("dot_general", ["lhs", "rhs"], _dot_general_rule, _lower_dot_general,
                 attrs={"lhs_contracting": "ints", "rhs_contracting": "ints", "lhs_batch": "ints",
                        "rhs_batch": "ints", "preferred_element_type": "dtype"},
                 doc="Contract lhs and rhs over the contracting axes, batched over the batch axes.")
dot_general.numpy_ref = _np_dot_general
