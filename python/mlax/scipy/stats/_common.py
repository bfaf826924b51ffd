"""What the distributions of mlax.scipy.stats share: the argument type, promotion of the
arguments to one inexact dtype and shape, and log(1 - exp(-x))."""

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.custom_rules import custom_jvp
from mlax.api.jit import compiled
from mlax.runtime.array import Array
from mlax.typing import ArrayLike

__all__ = ["Array", "ArrayLike", "compiled", "log1mexp", "promote", "promote_dtypes_inexact", "standardize"]


def promote(name: str, *args: ArrayLike) -> list:
    """The arguments as arrays of one inexact dtype (integers become floats), broadcast together."""
    return mnp.promote_args_inexact(name, *args)


def promote_dtypes_inexact(*args: ArrayLike) -> list:
    """The arguments as arrays of one inexact dtype, each keeping its shape."""
    args = mnp.promote_dtypes(*args)
    dtype = mnp.inexact_dtype(args[0].dtype)
    return [lax.convert_element_type(a, dtype, weak_type=a.weak_type) for a in args]


def standardize(x, loc, scale):
    """(x - loc) / scale."""
    return (x - loc) / scale


@custom_jvp
def _log1mexp(x):
    return mnp.where(x < np.log(2), mnp.log(-mnp.expm1(-x)), mnp.log1p(-mnp.exp(-x)))


_log1mexp.defjvps(lambda t, ans, x: t / mnp.expm1(x))


def log1mexp(x):
    """log(1 - exp(-x)) for x >= 0, accurate near 0 and for large x (jax.nn.log1mexp, with its
    derivative 1 / expm1(x))."""
    return _log1mexp(x)
