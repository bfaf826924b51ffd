"""The exponential distribution with rate 1 / scale from loc on, as jax.scipy.stats.expon."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-(x - loc) / scale - log(scale) from loc on, -inf below."""
    x, loc, scale = promote("expon.logpdf", x, loc, scale)
    return mnp.where(x < loc, -np.inf, -((x - loc) / scale + mnp.log(scale)))


@compiled()
def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(-(x - loc) / scale) / scale from loc on, 0 below."""
    return mnp.exp(logpdf(x, loc, scale))


@compiled()
def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1 - exp(-(x - loc) / scale) (as -expm1), 0 below loc."""
    x, loc, scale = promote("expon.cdf", x, loc, scale)
    return mnp.where(x < loc, 0, -mnp.expm1((loc - x) / scale))


@compiled()
def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-(x - loc) / scale, 0 below loc."""
    x, loc, scale = promote("expon.logsf", x, loc, scale)
    return mnp.where(x < loc, 0, (loc - x) / scale)


@compiled()
def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(-(x - loc) / scale), 1 below loc."""
    return mnp.exp(logsf(x, loc, scale))


@compiled()
def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(cdf), as log1p(-sf)."""
    return mnp.log1p(-sf(x, loc, scale))


@compiled()
def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc - scale log1p(-q); NaN for q outside [0, 1]."""
    q, loc, scale = promote("expon.ppf", q, loc, scale)
    return mnp.where(mnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc - scale * mnp.log1p(-q))
