"""Linear algebra ops: dot_general and triangular_solve.

dot_general is the batched tensor contraction behind dot, matmul and einsum; the
result's axes are the batch axes, then lhs's free axes, then rhs's free axes.

    %2 = "mlax.dot_general"(%0, %1) {lhs_batch = array<i64>, lhs_contracting = array<i64: 1>,
           rhs_batch = array<i64>, rhs_contracting = array<i64: 0>}
           : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>

triangular_solve is x with a @ x = b for triangular a (lower or upper; the other
triangle is not read), batched over leading axes: the one solver the decompositions
of lax.linalg need. Its builder, with JAX's signature, reduces transposed a and
right-hand sides to it by transposes.
"""

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import batch_size, move_axis, shifted, to_front
from mlax.ops._rules import add_tangents, defbilinear, deftranspose
from mlax.ops._elementwise import check_same_dtypes

__all__ = ["dot_general", "dot", "triangular_solve"]


def free_axes(ndim, contracting, batch):
    return [i for i in range(ndim) if i not in contracting and i not in batch]


def batched_matmul(x, y):
    """x @ y over matrices in the last two axes, batched over the leading ones."""
    batch = tuple(range(x.ndim - 2))
    return ops.dot_general(x, y, (((x.ndim - 1,), (y.ndim - 2,)), (batch, batch)))


def _matrix_transpose(x):
    return ops.transpose(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


# -- dot_general ------------------------------------------------------------------------

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
    out_type = ctx.out_types[0]
    out_shape, out_dtype = mlir.shape_dtype(out_type)
    if any(ctx.in_avals[0].shape[axis] == 0 for axis in lhs_contracting) and None not in out_shape:
        # Sums of no products: zeros (IREE 3.13's compiler dies of SIGFPE on an empty contraction).
        return _hlo.constant(0, out_dtype, out_shape)
    dtype = _hlo.dtype_of(lhs)
    if dtype in (dtypes.float16, dtypes.bfloat16) and preferred_element_type in (None, dtype):
        # Half-precision products accumulate in float32, as XLA does (a float16 dot of 4096
        # ones gave 2048, where its accumulator stopped growing), rounded once at the end.
        wide = mlir.tensor_type(mlir.shape_dtype(out_type)[0], dtypes.float32)
        return _hlo.convert(_hlo.value("stablehlo.dot_general", [lhs, rhs], wide, dot_dimension_numbers=numbers),
                            dtype)
    return _hlo.value("stablehlo.dot_general", [lhs, rhs], out_type, dot_dimension_numbers=numbers)


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


dot_general_p = Op("dot_general", ["lhs", "rhs"], _dot_general_rule, _lower_dot_general,
                   attrs={"lhs_contracting": "ints", "rhs_contracting": "ints", "lhs_batch": "ints",
                          "rhs_batch": "ints", "preferred_element_type": "dtype"},
                   doc='Contract lhs and rhs over the contracting axes, batched over the batch axes.\n\n'
                       '    %2 = "mlax.dot_general"(%x, %y) {lhs_batch = array<i64>, lhs_contracting = array<i64: 1>,'
                       ' rhs_batch = array<i64>, rhs_contracting = array<i64: 0>}'
                       ' : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>')


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """Contract lhs and rhs: dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))."""
    (lc, rc), (lb, rb) = dimension_numbers
    return dot_general_p(
        lhs, rhs, lhs_contracting=tuple(lc), rhs_contracting=tuple(rc), lhs_batch=tuple(lb), rhs_batch=tuple(rb),
        preferred_element_type=None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type))


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product of 1-d or 2-d operands."""
    contract = ((aval_of(lhs).ndim - 1,), (0,))
    return dot_general(lhs, rhs, (contract, ((), ())), precision, preferred_element_type)


dot_general_p.numpy_ref = _np_dot_general
dot_general_p.kernel_form = "contraction"


def _contract_back(ct, other, aval, own_contracting, other_contracting, own_batch, other_batch, own_first):
    """Cotangent of one dot_general operand (described by `aval`), given the other.

    ct's axes are batch + lhs free + rhs free. Contracting ct's axes that are
    the other operand's free axes with that operand leaves the batch axes, our
    free axes, and the other's contracting axes (in increasing order), each of
    which pairs with one of our contracting axes. Putting ct first or the other
    operand first orders those groups differently; we take the order that needs
    no transpose when there is one."""
    own_free = free_axes(aval.ndim, own_contracting, own_batch)
    other_free = free_axes(other.ndim, other_contracting, other_batch)
    nb = len(own_batch)
    offset = nb + len(own_free) if own_first else nb
    ct_other_free = tuple(range(offset, offset + len(other_free)))
    paired = [own_contracting[other_contracting.index(a)] for a in sorted(other_contracting)]
    ct_first = list(own_batch) + list(own_free) + paired      # own axis at each result position
    other_first = list(own_batch) + paired + list(own_free)
    ct = ops.convert_element_type(ct, other.dtype)
    batch = (tuple(range(nb)), tuple(other_batch))
    if other_first == sorted(other_first) and ct_first != sorted(ct_first):
        result = ops.dot_general(other, ct, ((tuple(other_free), ct_other_free), (batch[1], batch[0])))
        layout = other_first
    else:
        result = ops.dot_general(ct, other, ((ct_other_free, tuple(other_free)), batch))
        layout = ct_first
    return ops.convert_element_type(ops.transpose(result, [layout.index(d) for d in range(aval.ndim)]), aval.dtype)


def _transpose_lhs(ct, rhs, lhs_aval, lhs_contracting, rhs_contracting, lhs_batch, rhs_batch,
                   preferred_element_type=None):
    return _contract_back(ct, rhs, lhs_aval, lhs_contracting, rhs_contracting, lhs_batch, rhs_batch, True)


def _transpose_rhs(ct, lhs, rhs_aval, lhs_contracting, rhs_contracting, lhs_batch, rhs_batch,
                   preferred_element_type=None):
    return _contract_back(ct, lhs, rhs_aval, rhs_contracting, lhs_contracting, rhs_batch, lhs_batch, False)


def _batch_dot_general(ctx, args, dims, lhs_contracting, rhs_contracting, lhs_batch, rhs_batch, preferred_element_type=None):
    """Both batched: one more batch axis pair. One batched: its batch axis is a free axis."""
    (lhs, rhs), (lhs_dim, rhs_dim) = args, dims
    if lhs_dim is not None:
        lhs = move_axis(lhs, lhs_dim, 0)
        lhs_contracting, lhs_batch = shifted(lhs_contracting), shifted(lhs_batch)
    if rhs_dim is not None:
        rhs = move_axis(rhs, rhs_dim, 0)
        rhs_contracting, rhs_batch = shifted(rhs_contracting), shifted(rhs_batch)
    if lhs_dim is not None and rhs_dim is not None:
        lhs_batch, rhs_batch, out_dim = (0,) + lhs_batch, (0,) + rhs_batch, 0
    elif lhs_dim is not None:
        out_dim = len(lhs_batch)
    else:
        out_dim = len(lhs_batch) + len(free_axes(lhs.ndim, lhs_contracting, lhs_batch))
    out = dot_general_p(lhs, rhs, lhs_contracting=lhs_contracting, rhs_contracting=rhs_contracting,
                        lhs_batch=lhs_batch, rhs_batch=rhs_batch, preferred_element_type=preferred_element_type)
    return [out], [out_dim]


defbilinear(dot_general_p, _transpose_lhs, _transpose_rhs)
dot_general_p.batch = _batch_dot_general


# -- triangular_solve -------------------------------------------------------------------

def _triangular_solve_rule(a, b, lower=True, unit_diagonal=False):
    check_same_dtypes("triangular_solve", a, b)
    if not dtypes.is_inexact(a.dtype):
        raise TypeError(f"mlax.triangular_solve: needs floating or complex operands, got {a.dtype}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise TypeError(f"mlax.triangular_solve: a must be a (batch of) square matrices, got shape {a.shape}")
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise TypeError(f"mlax.triangular_solve: shapes {a.shape} and {b.shape} do not match: b must be "
                        f"{a.shape[:-1]} + (columns,)")
    return ShapedArray(b.shape, b.dtype, a.weak_type and b.weak_type)


def _lower_triangular_solve(ctx, a, b, lower=True, unit_diagonal=False):
    """Substitution in place, one row per step of a stablehlo.while (first row first when
    lower, last first when upper): x starts as b, and row i of a, masked to the columns
    already solved, times x gives what row i of b less its own term."""
    shape, dtype = _hlo.shape_of(b), _hlo.dtype_of(b)
    n, batch = shape[-2], list(range(len(shape) - 2))
    index = lambda value: _hlo.constant(value, dtypes.int32)
    row_type = mlir.tensor_type(shape[:-2] + (1, shape[-1]), dtype)
    columns = _hlo.value("stablehlo.iota", [], mlir.tensor_type(shape[:-2] + (1, n), dtypes.int32),
                         iota_dimension=len(shape) - 1)
    types = [index(0).type, b.type]
    loop = _hlo.op("stablehlo.while", [index(0), b], types, regions=2)
    cond_block, body_block = loop.regions[0].blocks.append(*types), loop.regions[1].blocks.append(*types)
    with ir.InsertionPoint(cond_block):
        _hlo.op("stablehlo.return", [_hlo.compare(cond_block.arguments[0], index(n), "LT")], [])
    with ir.InsertionPoint(body_block):
        step, x = body_block.arguments
        i = step if lower else _hlo.value("stablehlo.subtract", [index(n - 1), step], step.type)
        zeros = [index(0)] * len(batch)

        def piece(source, starts, sizes):
            return _hlo.value("stablehlo.dynamic_slice", [source] + zeros + starts,
                              mlir.tensor_type(shape[:-2] + tuple(sizes), dtype), slice_sizes=shape[:-2] + tuple(sizes))
        solved = _hlo.compare(columns, _hlo.broadcast_in_dim(i, _hlo.shape_of(columns), []), "LT" if lower else "GT")
        row = _hlo.select(solved, piece(a, [i, index(0)], (1, n)), _hlo.constant(0, dtype, shape[:-2] + (1, n)))
        numbers = ir.Attribute.parse(
            "#stablehlo.dot<lhs_batching_dimensions = [%s], rhs_batching_dimensions = [%s], "
            "lhs_contracting_dimensions = [%d], rhs_contracting_dimensions = [%d]>"
            % (", ".join(map(str, batch)), ", ".join(map(str, batch)), len(shape) - 1, len(shape) - 2))
        solved_part = _hlo.value("stablehlo.dot_general", [row, x], row_type, dot_dimension_numbers=numbers)
        value = _hlo.value("stablehlo.subtract", [piece(x, [i, index(0)], (1, shape[-1])), solved_part], row_type)
        if not unit_diagonal:
            diagonal = _hlo.broadcast_in_dim(piece(a, [i, i], (1, 1)), shape[:-2] + (1, shape[-1]),
                                             list(range(len(shape))))
            value = _hlo.value("stablehlo.divide", [value, diagonal], row_type)
        x = _hlo.value("stablehlo.dynamic_update_slice", [x, value] + zeros + [i, index(0)], x.type)
        _hlo.op("stablehlo.return", [_hlo.value("stablehlo.add", [step, index(1)], step.type), x], [])
    return [loop.results[1]]


def _np_triangular_solve(a, b, lower=True, unit_diagonal=False):
    k = 1 if unit_diagonal else 0
    matrix = np.tril(a, -k) if lower else np.triu(a, k)
    if unit_diagonal:
        matrix = matrix + np.eye(a.shape[-1], dtype=a.dtype)
    return np.linalg.solve(matrix, b).astype(b.dtype)


triangular_solve_p = Op("triangular_solve", ["a", "b"], _triangular_solve_rule, _lower_triangular_solve,
                        attrs={"lower": "bool", "unit_diagonal": "bool"},
                        doc='x with a @ x = b, a lower (or upper) triangular; with unit_diagonal its diagonal '
                            'is taken as ones.\n\n'
                            '    %2 = "mlax.triangular_solve"(%a, %b) {lower = true, unit_diagonal = false}'
                            ' : (tensor<3x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>')


def triangular_solve(a, b, *, left_side=False, lower=False, transpose_a=False, conjugate_a=False,
                     unit_diagonal=False):
    """x with op(a) @ x = b (left_side) or x @ op(a) = b, for a triangular a of which only
    the `lower` (or upper) triangle is read; op(a) is a transposed and/or conjugated."""
    if not left_side:  # x op(a) = b  <=>  op(a)^T x^T = b^T
        return _matrix_transpose(triangular_solve(a, _matrix_transpose(b), left_side=True, lower=lower,
                                                  transpose_a=not transpose_a, conjugate_a=conjugate_a,
                                                  unit_diagonal=unit_diagonal))
    if conjugate_a and dtypes.is_complex(aval_of(a).dtype):
        a = ops.conj(a)
    if transpose_a:
        a, lower = _matrix_transpose(a), not lower
    return triangular_solve_p(a, b, lower=bool(lower), unit_diagonal=bool(unit_diagonal))


triangular_solve_p.numpy_ref = _np_triangular_solve


def _read_triangle(a, lower, unit_diagonal):
    """The part of `a` triangular_solve reads: its lower or upper triangle (without the
    diagonal, with a unit diagonal)."""
    n = a.shape[-1]
    rows = ops.broadcasted_iota(dtypes.int32, (n, n), 0)
    cols = ops.broadcasted_iota(dtypes.int32, (n, n), 1)
    if not lower:
        rows, cols = cols, rows
    keep = ops.gt(rows, cols) if unit_diagonal else ops.ge(rows, cols)
    return ops.select(ops.broadcast_in_dim(keep, a.shape, (a.ndim - 2, a.ndim - 1)), a, ops.full(a.shape, 0, a.dtype))


def _triangular_solve_jvp(ctx, primals, tangents, lower=True, unit_diagonal=False):
    (a, b), (a_dot, b_dot) = primals, tangents
    attrs = {"lower": lower, "unit_diagonal": unit_diagonal}
    x = triangular_solve_p(a, b, **attrs)
    parts = [triangular_solve_p(a, b_dot, **attrs) if b_dot is not None else None]
    if a_dot is not None:  # d(a^-1 b) = -a^-1 da a^-1 b
        change = batched_matmul(_read_triangle(a_dot, lower, unit_diagonal), x)
        parts.append(ops.neg(triangular_solve_p(a, change, **attrs)))
    return [x], [add_tangents(parts)]


def _triangular_solve_transpose(ct, a, b, lower=True, unit_diagonal=False):
    # x = a^-1 b, so b's cotangent is a^-T ct: a transposed swaps its triangles.
    return [None, triangular_solve_p(_matrix_transpose(a), ct, lower=not lower, unit_diagonal=unit_diagonal)]


def _batch_triangular_solve(ctx, args, dims, lower=True, unit_diagonal=False):
    (a, b), (a_dim, b_dim) = args, dims
    attrs = {"lower": lower, "unit_diagonal": unit_diagonal}
    if a_dim is None:  # one matrix, many right-hand sides: the examples become more columns
        b = move_axis(b, b_dim, b.ndim - 2)
        shape = b.shape
        x = triangular_solve_p(a, ops.reshape(b, shape[:-2] + (shape[-2] * shape[-1],)), **attrs)
        return [ops.reshape(x, shape)], [b.ndim - 2]
    size = batch_size(args, dims)
    return [triangular_solve_p(to_front(a, a_dim, size), to_front(b, b_dim, size), **attrs)], [0]


triangular_solve_p.jvp = _triangular_solve_jvp
deftranspose(triangular_solve_p, _triangular_solve_transpose, linear_operands=(1,))  # linear in b
triangular_solve_p.batch = _batch_triangular_solve
