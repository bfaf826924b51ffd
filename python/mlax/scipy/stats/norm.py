"""The normal distribution with mean loc and standard deviation scale, as jax.scipy.stats.norm."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the normal density, -((x - loc) / scale)^2 / 2 - log(sqrt(2 pi) scale)."""
    x, loc, scale = promote("norm.logpdf", x, loc, scale)
    variance = scale * scale
    return (mnp.log(2 * np.pi * variance) + (x - loc) * (x - loc) / variance) / -2


@compiled()
def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The normal density."""
    return mnp.exp(logpdf(x, loc, scale))


@compiled()
def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The normal distribution function, ndtr((x - loc) / scale); float32 and float64 only, as JAX."""
    x, loc, scale = promote("norm.cdf", x, loc, scale)
    return special.ndtr(standardize(x, loc, scale))


@compiled()
def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(cdf), from log_ndtr: accurate far in the lower tail."""
    x, loc, scale = promote("norm.logcdf", x, loc, scale)
    return special.log_ndtr(standardize(x, loc, scale))


@compiled()
def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function 1 - cdf, as the cdf of the reflected point (accurate far up)."""
    x, loc, scale = promote("norm.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


@compiled()
def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(sf), as the logcdf of the reflected point."""
    x, loc, scale = promote("norm.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


@compiled()
def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function loc + scale ndtri(q), in the default float dtype (as JAX)."""
    return mnp.asarray(special.ndtri(q) * scale + loc, float)


@compiled()
def isf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The inverse survival function, ppf(1 - q)."""
    return ppf(1 - mnp.asarray(q), loc, scale)
