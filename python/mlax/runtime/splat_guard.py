"""Elementwise ops of splats computed on scalars, then broadcast.

IREE 3.13 turns an elementwise op whose operands are all splats (`-jnp.ones((2, 3))`, or
`negate(broadcast(1.0))`, the cotangent of `(x - c).sum()`) into a kernel that reads no
input, and then reduces that kernel's value wrong: under jit `jnp.sum(-jnp.ones((2, 3)),
axis=1)` gave [-1, -1], one element's worth, with no error. `guard` rewrites each such op as
the same op of the 0-d values, broadcast to its shape, which IREE compiles right.
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.ops._hlo import defining_op
from mlax.passes import _walk
from mlax.runtime.fusion_guard import is_elementwise, shape_of

# Ops that must stay as they are: fusion_guard's barriers, and calls whose effects are unknown.
KEPT = frozenset({"stablehlo.optimization_barrier", "stablehlo.custom_call"})


def guard(module_op: ir.Operation) -> int:
    """Rewrite every elementwise op of splats in a lowered StableHLO module; return how many."""
    rewritten = 0
    for op in _walk.post_order(module_op):  # operands first: a chain of such ops becomes scalar op by op
        if op.name in KEPT or not is_elementwise(op) or shape_of(op.results[0]) == ():
            continue
        sources = [_splat_source(value) for value in op.operands]
        if not sources or any(source is None for source in sources):
            continue
        with ir.InsertionPoint(op), op.location:
            scalars = [_scalar(source) for source in sources]
            scalar_types = [ir.RankedTensorType.get([], ir.RankedTensorType(r.type).element_type) for r in op.results]
            on_scalars = ir.Operation.create(op.name, scalar_types, scalars,
                                             {name: op.attributes[name] for name in op.attributes})
            broadcasts = [ir.Operation.create("stablehlo.broadcast_in_dim", [r.type], [s],
                                              {"broadcast_dimensions": ir.DenseI64ArrayAttr.get([])}).result
                          for r, s in zip(op.results, on_scalars.results)]
        _walk.replace_op(op, broadcasts)
        rewritten += 1
    return rewritten


def _splat_attribute(op: ir.Operation) -> ir.DenseElementsAttr | None:
    attribute = op.attributes["value"]
    if not isinstance(attribute, ir.DenseElementsAttr):  # dense_resource: a large constant, not a splat
        return None
    return attribute if attribute.is_splat else None


def _splat_source(value: ir.Value) -> ir.Value | ir.DenseElementsAttr | None:
    """The 0-d value that `value` is a broadcast of, or the attribute of a splat constant
    `value`; None for any other value."""
    op = defining_op(value)
    if op is None:
        return None
    if op.name == "stablehlo.broadcast_in_dim":
        return op.operands[0] if shape_of(op.operands[0]) == () else None
    return _splat_attribute(op) if op.name == "stablehlo.constant" else None


def _scalar(source: ir.Value | ir.DenseElementsAttr) -> ir.Value:
    """The 0-d value a splat repeats, from its _splat_source (a new constant for a constant)."""
    if isinstance(source, ir.Value):
        return source
    scalar_type = ir.RankedTensorType.get([], ir.RankedTensorType(source.type).element_type)
    splat = ir.DenseElementsAttr.get_splat(scalar_type, source.get_splat_value())
    return ir.Operation.create("stablehlo.constant", [scalar_type], [], {"value": splat}).result
