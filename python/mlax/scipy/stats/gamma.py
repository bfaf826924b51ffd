"""The gamma distribution with shape a, as jax.scipy.stats.gamma."""

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """(a - 1) log(y) - y - log(gamma(a) scale), y = (x - loc) / scale; -inf below loc."""
    x, a, loc, scale = promote("gamma.logpdf", x, a, loc, scale)
    inside = x >= loc
    y = mnp.where(inside, standardize(x, loc, scale), 1)
    log_probability = special.xlogy(a - 1, y) - y - (special.gammaln(a) + mnp.log(scale))
    return mnp.where(inside, log_probability, -np.inf)


@compiled()
def pdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The gamma density."""
    return mnp.exp(logpdf(x, a, loc, scale))


@compiled()
def cdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """gammainc(a, y), 0 below loc."""
    x, a, loc, scale = promote("gamma.cdf", x, a, loc, scale)
    return special.gammainc(a, lax.clamp(0.0, standardize(x, loc, scale), np.inf))


@compiled()
def logcdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(cdf)."""
    return mnp.log(cdf(x, a, loc, scale))


@compiled()
def sf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """gammaincc(a, y), 1 below loc."""
    x, a, loc, scale = promote("gamma.sf", x, a, loc, scale)
    y = standardize(x, loc, scale)
    return mnp.where(y < 0, 1, special.gammaincc(a, y))


@compiled()
def logsf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(sf)."""
    return mnp.log(sf(x, a, loc, scale))
