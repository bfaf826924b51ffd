"""The uniform distribution on [loc, loc + scale], as jax.scipy.stats.uniform."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


def _outside(x, loc, scale):
    return (x > loc + scale) | (x < loc)


@compiled()
def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-log(scale) on [loc, loc + scale], -inf outside."""
    x, loc, scale = promote("uniform.logpdf", x, loc, scale)
    return mnp.where(_outside(x, loc, scale), -np.inf, -mnp.log(scale))


@compiled()
def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1 / scale on [loc, loc + scale], 0 outside."""
    return mnp.exp(logpdf(x, loc, scale))


@compiled()
def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """(x - loc) / scale clipped to [0, 1]; 0 where x is NaN (as JAX)."""
    x, loc, scale = promote("uniform.cdf", x, loc, scale)
    inside = (x >= loc) & (x <= loc + scale)
    return mnp.where(x < loc, 0, mnp.where(x > loc + scale, 1, mnp.where(inside, (x - loc) / scale, 0)))


@compiled()
def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc + scale q; NaN for q outside [0, 1]."""
    q, loc, scale = promote("uniform.ppf", q, loc, scale)
    return mnp.where(mnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc + scale * q)
