"""What the elementwise op families share: dtype classes, shape rules, the rows of
the op tables (ops/elementwise.py, ops/numeric.py) and the loop that turns a row into
an entry `<name>_p` with its builder, rules and batching."""

import builtins
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._rules import defjvp, deflinear, defzero

# Dtype classes: (predicate, description for error messages).
FLOAT = (dtypes.is_float, "floating-point")
INEXACT = (dtypes.is_inexact, "floating-point or complex")
COMPLEX = (dtypes.is_complex, "complex")
NUMERIC = (lambda d: d != dtypes.bool_, "numeric")
SIGNED = (lambda d: d != dtypes.bool_ and not dtypes.is_unsigned(d), "floating-point, complex or signed integer")
INTEGRAL = (lambda d: d == dtypes.bool_ or dtypes.is_integer(d), "boolean or integer")
INTEGER = (dtypes.is_integer, "integer")
ANY = (lambda d: True, "any")


# -- shape rules, lowerings, builders: what the families share -------------------------

def _check_dtype(name, accepts, *avals):
    predicate, description = accepts
    for aval in avals:
        if not predicate(aval.dtype):
            raise TypeError(f"mlax.{name} requires {description} arguments, got dtype {aval.dtype.name}")


def check_same_shapes(name, *avals):
    shapes = [a.shape for a in avals]
    if any(s != shapes[0] for s in shapes):
        raise TypeError(f"mlax.{name} requires arguments of equal shapes, got shapes "
                        + " and ".join(map(str, shapes)))


def check_same_dtypes(name, *avals):
    kinds = [a.dtype for a in avals]
    if any(k != kinds[0] for k in kinds):
        raise TypeError(f"mlax.{name} requires arguments of equal dtypes, got "
                        + " and ".join(k.name for k in kinds))


def _unary_rule(name, accepts, result_dtype=None):
    def rule(x):
        _check_dtype(name, accepts, x)
        dtype = result_dtype(x.dtype) if result_dtype else x.dtype
        return ShapedArray(x.shape, dtype, x.weak_type and dtype != dtypes.bool_)
    return rule


def _binary_rule(name, accepts, result_dtype=None):
    def rule(x, y):
        check_same_shapes(name, x, y)
        check_same_dtypes(name, x, y)
        _check_dtype(name, accepts, x)
        dtype = result_dtype(x.dtype) if result_dtype else x.dtype
        return ShapedArray(x.shape, dtype, x.weak_type and y.weak_type and dtype != dtypes.bool_)
    return rule


def _boolean(dtype):
    return dtypes.bool_


def _lower_as(hlo_name):
    def lower(ctx, *args):
        return _hlo.value(hlo_name, args, ctx.out_types[0])
    return lower


def _h(name, *operands):
    """The StableHLO op `name` applied to operands, typed like the first."""
    return _hlo.value(name, list(operands), operands[0].type)


def _bits_dtype(dtype):
    return {1: dtypes.int8, 2: dtypes.int16, 4: dtypes.int32, 8: dtypes.int64}[np.dtype(dtype).itemsize]


def _sign_bit(x, dtype):
    """Is the sign bit of float x set (true for -0.0 and negative NaNs too)?"""
    bits = _hlo.value("stablehlo.bitcast_convert", [x], mlir.tensor_type(_hlo.shape_of(x), _bits_dtype(dtype)))
    return _hlo.compare(bits, _hlo.full_like(bits, 0), "LT")


def _ir(name, operands, results):
    """An op's IR example, from MLIR element type names: _ir("sin", ["f32"], ["f32"])."""
    values = ", ".join(f"%{v}" for v in "abc"[:len(operands)])
    types = ", ".join(f"tensor<4x{t}>" for t in operands)
    outs = ", ".join(f"tensor<4x{t}>" for t in results)
    lhs, outs = ("%r", outs) if len(results) == 1 else (f"%r:{len(results)}", f"({outs})")
    return f'{lhs} = "mlax.{name}"({values}) : ({types}) -> {outs}'


def _entry(name, operands, shape_rule, lower, ref, doc, **kwargs):
    """An elementwise op's entry (registered in OPS), with its NumPy reference."""
    op = Op(name, operands, shape_rule, lower, doc=doc, **kwargs)
    op.traits.add("elementwise")
    op.numpy_ref = ref
    return op


def exporter(names):
    """A decorator making a function a builder: listed in the module's __all__ (`names`),
    so mlax.ops and mlax.lax re-export it."""
    def export(fn):
        names.append(fn.__name__)
        return fn
    return export


def _is_python_scalar(x):
    return isinstance(x, (builtins.bool, builtins.int, builtins.float, builtins.complex))


def _like(args, broadcast="ones"):
    """Turn Python scalars among `args` into weak arrays matching the first array, and broadcast
    the arrays as jax.lax does: 0-d ones (broadcast="scalars"), and also axes of size 1 of
    arrays of one rank (broadcast="ones"); None leaves shapes to the shape rule."""
    avals = [None if _is_python_scalar(a) else aval_of(a) for a in args]  # None: a Python scalar
    aval = next((a for a in avals if a is not None), None)
    if aval is None:
        return list(args)
    args = [a if known else ops.full(aval.shape, a, aval.dtype, weak_type=True) for a, known in zip(args, avals)]
    shapes = [(known or aval).shape for known in avals]
    ranks = {len(shape) for shape in shapes if shape != ()}
    if broadcast is None or len(set(shapes)) == 1 or len(ranks) != 1:
        return args  # one shape already, or ranks that the shape rule rejects
    rank = ranks.pop()
    target = tuple(builtins.max(shape[i] for shape in shapes if shape != ()) for i in range(rank))

    def fits(shape):
        return shape == () or (broadcast == "ones" and all(d in (1, t) for d, t in zip(shape, target)))
    return [ops.broadcast_in_dim(a, target, tuple(range(len(shape)))) if shape != target and fits(shape) else a
            for a, shape in zip(args, shapes)]


# -- the tables' rows, and the loop that defines their ops ------------------------------

ZERO = "zero"  # a row's derivative: the op is piecewise constant or integer-valued


class Linear(NamedTuple):
    """A row's derivative: the op is linear; transpose(ct, *operands) -> their cotangents."""
    transpose: Callable


class Unary(NamedTuple):
    lower: str | Callable     # the StableHLO op, or a lowering rule
    accepts: tuple            # a dtype class
    ref: Callable             # the NumPy reference
    derivative: Any           # d/dx as derivative(x, ans), ZERO, or Linear
    builder: str | None = None          # JAX's lax name, where it is not the op's
    result: Callable | None = None      # the result dtype from the operands', where they differ


class Binary(NamedTuple):
    lower: str | Callable
    accepts: tuple
    ref: Callable
    derivative: Any           # one partial(t, ans, x, y) per operand, its term of the tangent; ZERO; or Linear
    builder: str | None = None
    result: Callable | None = None


def define_row(name, row, namespace):
    """The entry `<name>_p` and the builder that a table row describes, as globals of the
    module whose `namespace` (its globals()) is given; the builder joins its __all__."""
    unary = isinstance(row, Unary)
    operands = ["x"] if unary else ["lhs", "rhs"]
    shape_rule = (_unary_rule if unary else _binary_rule)(name, row.accepts, row.result)
    example = next(d for d in (dtypes.float32, dtypes.int32, dtypes.bool_, dtypes.complex64) if row.accepts[0](d))
    out = shape_rule(*[ShapedArray((4,), example)] * len(operands)).dtype
    op = _entry(name, operands, shape_rule, _lower_as(row.lower) if isinstance(row.lower, str) else row.lower,
                row.ref, doc=f"Elementwise {name}: " + _ir(name, [dtypes.MLIR_NAMES[example]] * len(operands),
                                                              [dtypes.MLIR_NAMES[out]]))
    if row.derivative is ZERO:
        defzero(op)
    elif isinstance(row.derivative, Linear):
        deflinear(op, row.derivative.transpose)
    elif unary:
        defjvp(op, lambda t, ans, x: ops.mul(t, row.derivative(x, ans)))
    else:
        defjvp(op, *row.derivative)
    defbatch_elementwise(op)

    def unary_builder(x):
        return op(x)

    def binary_builder(x, y):
        return op(*_like((x, y)))
    builder = unary_builder if unary else binary_builder
    builder.__name__ = builder.__qualname__ = row.builder or name
    builder.__doc__ = op.__doc__
    namespace[f"{name}_p"], namespace[builder.__name__] = op, builder
    namespace["__all__"].append(builder.__name__)
