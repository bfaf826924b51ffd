"""Families of batching rules (for vmap), so that most op entries need one line.

A batching rule takes (args, batch_dims, **attrs): args are the batched
values, batch_dims[i] the axis of args[i] that is the batch axis (None: not
batched). It returns (outputs, output batch dims). Rules emit ordinary mlax
ops through mlax.lax.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mlax import ops
from mlax.core.op import Op, RuleContext
from mlax.core.trace import aval_of


def batch_size(args: Sequence[Any], dims: Sequence[int | None]) -> int | None:
    return next(aval_of(x).shape[d] for x, d in zip(args, dims) if d is not None)


def to_front(x: Any, dim: int | None, size: int | None) -> Any:
    """x with its batch axis first (broadcast along a new first axis when unbatched)."""
    aval = aval_of(x)
    if dim is None:
        return ops.broadcast_in_dim(x, (size,) + aval.shape, tuple(range(1, aval.ndim + 1)))
    if dim == 0:
        return x
    perm = (dim,) + tuple(i for i in range(aval.ndim) if i != dim)
    return ops.transpose(x, perm)


def move_axis(x: Any, source: int, destination: int) -> Any:
    if source == destination:
        return x
    ndim = aval_of(x).ndim
    order = [i for i in range(ndim) if i != source]
    order.insert(destination, source)
    return ops.transpose(x, order)


def shifted(axes: Iterable[int], by: int = 1) -> tuple[int, ...]:
    return tuple(a + by for a in axes)


def defbatch_elementwise(op: Op) -> None:
    """Operands of one shape: keep a batch axis all operands share, else move them first."""
    def batch(ctx: RuleContext, args: Sequence[Any], dims: Sequence[int | None],
              **attrs: Any) -> tuple[list[Any], list[int | None]]:
        distinct = {d for d in dims}
        if len(distinct) == 1 and None not in distinct:
            lined_up, target = list(args), dims[0]
        else:
            size = batch_size(args, dims)
            lined_up, target = [to_front(x, d, size) for x, d in zip(args, dims)], 0
        out = op(*lined_up, **attrs)
        outs = list(out) if op.multiple_results else [out]
        return outs, [target] * len(outs)
    op.batch = batch


def defbatch_front(op: Op, adjust: Callable[[dict[str, Any], int | None], dict[str, Any]] = lambda attrs, size: attrs
                   ) -> None:
    """Move every batch axis first (broadcasting unbatched operands), then apply
    op with the attributes adjust(attrs, batch_size) returns; results are batched first."""
    def batch(ctx: RuleContext, args: Sequence[Any], dims: Sequence[int | None],
              **attrs: Any) -> tuple[list[Any], list[int | None]]:
        size = batch_size(args, dims)
        front = [to_front(x, d, size) for x, d in zip(args, dims)]
        out = op(*front, **adjust(dict(attrs), size))
        outs = list(out) if op.multiple_results else [out]
        return outs, [0] * len(outs)
    op.batch = batch
