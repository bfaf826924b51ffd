"""lax.round with JAX's rounding methods: halfway cases away from zero by default, or to even."""

import enum

from mlax import ops
from mlax.core.trace import aval_of


class RoundingMethod(enum.IntEnum):
    """How lax.round breaks ties between two integers (JAX's values)."""
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):  # noqa: A001 - JAX's name
    """x rounded to the nearest integer; halfway cases by `rounding_method` (away from zero
    unless it is RoundingMethod.TO_NEAREST_EVEN)."""
    method = RoundingMethod(rounding_method)  # ValueError for a method JAX does not have
    if method is RoundingMethod.TO_NEAREST_EVEN:
        return ops.round(x)
    whole = ops.select(ops.lt(x, _like(x, 0)), ops.ceil(x), ops.floor(x))  # toward zero: x - whole is exact
    halfway_or_more = ops.ge(ops.abs(ops.sub(x, whole)), _like(x, 0.5))
    return ops.select(halfway_or_more, ops.add(whole, ops.sign(x)), whole)


def _like(x, value):
    aval = aval_of(x)
    return ops.full(aval.shape, value, aval.dtype)
