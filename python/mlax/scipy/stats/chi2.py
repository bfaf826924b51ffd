"""The chi-squared distribution with df degrees of freedom, as jax.scipy.stats.chi2."""

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """(df / 2 - 1) log(y) - y / 2 - log(gamma(df / 2) 2^(df / 2) scale), y = (x - loc) / scale;
    -inf below loc (and NaN at y = 0 for df = 2, as JAX: 0 * log(0))."""
    x, df, loc, scale = promote("chi2.logpdf", x, df, loc, scale)
    y = standardize(x, loc, scale)
    half_df = df / 2
    kernel = (half_df - 1) * mnp.log(y) - y / 2
    log_normalizer = -(lax.lgamma(half_df) + np.log(2) * df / 2)
    return mnp.where(x < loc, -np.inf, log_normalizer - mnp.log(scale) + kernel)


@compiled()
def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The chi-squared density."""
    return mnp.exp(logpdf(x, df, loc, scale))


def _half_y(x, loc, scale):
    return lax.clamp(0, (x - loc) / (scale * 2), np.inf)


@compiled()
def cdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """gammainc(df / 2, y / 2), 0 below loc."""
    x, df, loc, scale = promote("chi2.cdf", x, df, loc, scale)
    return special.gammainc(df / 2, _half_y(x, loc, scale))


@compiled()
def logcdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(cdf)."""
    return mnp.log(cdf(x, df, loc, scale))


@compiled()
def sf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """gammaincc(df / 2, y / 2), 1 below loc."""
    x, df, loc, scale = promote("chi2.sf", x, df, loc, scale)
    return special.gammaincc(df / 2, _half_y(x, loc, scale))


@compiled()
def logsf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(sf)."""
    return mnp.log(sf(x, df, loc, scale))
