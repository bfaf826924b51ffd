"""Families of differentiation rules, so that most op entries need one line.

A JVP rule takes (ctx, primals, tangents, **attrs), where a tangent may be None
(a symbolic zero), and returns (primal outputs, output tangents). It emits
ordinary mlax ops through the op builders, so derivatives of derivatives come
free. A transpose rule takes (ctx, cotangents, *operands, **attrs), one
cotangent per result, where the linear operands are LinearValues
(`is_linear`), and returns one cotangent (or None) per operand. The families'
own transposes (`deflinear`, `defbilinear`, `deftranspose`) are written for
one cotangent. An op with a transpose rule states the operands it is linear
in (`Op.linear_operands`): the tape refuses a tangent anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mlax import ops
from mlax.core.aval import ShapedArray
from mlax.core.op import Op, RuleContext
from mlax.core.trace import aval_of


def zeros(aval: ShapedArray) -> Any:
    return ops.full(aval.shape, 0, aval.dtype)


def instantiate(tangent: Any, like: Any) -> Any:
    """`tangent`, or zeros shaped like the primal `like` when it is a symbolic zero."""
    return zeros(aval_of(like)) if tangent is None else tangent


def add_tangents(values: Iterable[Any]) -> Any:
    """Sum of the non-None values, or None when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    total = values[0]
    for v in values[1:]:
        total = ops.add(total, v)
    return total


def is_linear(x: Any) -> bool:
    return getattr(x, "is_linear", False)


def defjvp(op: Op, *partials: Callable[..., Any] | None) -> None:
    """JVP from one rule per operand: partials[i](t_i, ans, *primals, **attrs) is
    operand i's contribution to the output tangent (None: not differentiable)."""
    def jvp(ctx: RuleContext, primals: Sequence[Any], tangents: Sequence[Any],
            **attrs: Any) -> tuple[list[Any], list[Any]]:
        ans = op(*primals, **attrs)
        contributions = [rule(t, ans, *primals, **attrs)
                         for rule, t in zip(partials, tangents) if rule is not None and t is not None]
        return [ans], [add_tangents(contributions)]
    op.jvp = jvp


def defzero(op: Op) -> None:
    """The op is piecewise constant or integer-valued: its output tangent is zero."""
    def jvp(ctx: RuleContext, primals: Sequence[Any], tangents: Sequence[Any],
            **attrs: Any) -> tuple[list[Any], list[Any]]:
        out = op(*primals, **attrs)
        outs = list(out) if op.multiple_results else [out]
        return outs, [None] * len(outs)
    op.jvp = jvp


def deftranspose(op: Op, transpose: Callable[..., list[Any]], linear_operands: Iterable[int]) -> None:
    """The op is linear in the operands `linear_operands` (its JVP rule is its own):
    transpose(ct, *operands, **attrs) returns one cotangent (or None) per operand."""
    op.linear_operands = tuple(linear_operands)
    op.transpose = lambda ctx, cts, *operands, **attrs: transpose(cts[0], *operands, **attrs)


def deflinear(op: Op, transpose: Callable[..., list[Any]], linear_operands: Iterable[int] | None = None) -> None:
    """The op is linear in the operands `linear_operands` (default: every named operand)
    jointly: its JVP applies it to their tangents, the other operands as they are."""
    linear = tuple(range(len(op.operands))) if linear_operands is None else tuple(linear_operands)

    def jvp(ctx: RuleContext, primals: Sequence[Any], tangents: Sequence[Any],
            **attrs: Any) -> tuple[list[Any], list[Any]]:
        ans = op(*primals, **attrs)
        if all(tangents[i] is None for i in linear if i < len(tangents)):
            return [ans], [None]
        args = [instantiate(t, p) if i in linear else p for i, (p, t) in enumerate(zip(primals, tangents))]
        return [ans], [op(*args, **attrs)]
    op.jvp = jvp
    deftranspose(op, transpose, linear)


def defbilinear(op: Op, transpose_lhs: Callable[..., Any], transpose_rhs: Callable[..., Any]) -> None:
    """The op is linear in each of its two operands separately (mul, dot_general).
    transpose_lhs(ct, rhs, lhs_aval, **attrs) is the cotangent of the lhs, and
    transpose_rhs(ct, lhs, rhs_aval, **attrs) that of the rhs."""
    op.linear_operands = (0, 1)  # one at a time: the transpose refuses tangents in both

    def jvp(ctx: RuleContext, primals: Sequence[Any], tangents: Sequence[Any],
            **attrs: Any) -> tuple[list[Any], list[Any]]:
        x, y = primals
        tx, ty = tangents
        ans = op(x, y, **attrs)
        parts = [op(tx, y, **attrs) if tx is not None else None, op(x, ty, **attrs) if ty is not None else None]
        return [ans], [add_tangents(parts)]

    def transpose(ctx: RuleContext, cts: Sequence[Any], x: Any, y: Any, **attrs: Any) -> list[Any]:
        ct = cts[0]
        if is_linear(x) and is_linear(y):
            raise NotImplementedError(f"mlax.{op.name} of two tangents is not linear")
        if is_linear(x):
            return [transpose_lhs(ct, y, x.aval, **attrs), None]
        return [None, transpose_rhs(ct, x, y.aval, **attrs)]

    op.jvp = jvp
    op.transpose = transpose
