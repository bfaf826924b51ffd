"""The Pareto distribution with shape b, from loc + scale on, as jax.scipy.stats.pareto."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(b / scale) - (b + 1) log(z), z = (x - loc) / scale >= 1; -inf below."""
    x, b, loc, scale = promote("pareto.logpdf", x, b, loc, scale)
    z = standardize(x, loc, scale)
    return mnp.where(x < loc + scale, -np.inf, -(mnp.log(scale / b) + (b + 1) * mnp.log(z)))


@compiled()
def pdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """b z^-(b + 1) / scale for z >= 1, 0 below."""
    return mnp.exp(logpdf(x, b, loc, scale))


@compiled()
def cdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1 - z^-b for z >= 1, 0 below."""
    x, b, loc, scale = promote("pareto.cdf", x, b, loc, scale)
    z = standardize(x, loc, scale)
    return mnp.where(x < loc + scale, 0, 1 - z ** -b)


@compiled()
def logcdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log1p(-z^-b) for z >= 1, -inf below."""
    x, b, loc, scale = promote("pareto.logcdf", x, b, loc, scale)
    z = standardize(x, loc, scale)
    return mnp.where(x < loc + scale, -np.inf, mnp.log1p(-(z ** -b)))


@compiled()
def logsf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-b log(z) for z >= 1, 0 below."""
    x, b, loc, scale = promote("pareto.logsf", x, b, loc, scale)
    z = standardize(x, loc, scale)
    return mnp.where(x < loc + scale, 0, -(b * mnp.log(z)))


@compiled()
def sf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """z^-b for z >= 1, 1 below."""
    return mnp.exp(logsf(x, b, loc, scale))


@compiled()
def ppf(q: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc + scale (1 - q)^(-1 / b); NaN for q outside [0, 1]."""
    q, b, loc, scale = promote("pareto.ppf", q, b, loc, scale)
    quantile = loc + scale * (1 - q) ** -(1 / b)
    return mnp.where(mnp.isnan(q) | (q < 0) | (q > 1), np.nan, quantile)
