"""The right-skewed Gumbel distribution (of maxima), as jax.scipy.stats.gumbel_r: NaN wherever
scale <= 0."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, log1mexp, promote, standardize


def _where_scale_positive(scale, value):
    return mnp.where(scale > 0, value, np.nan)


@compiled()
def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-z - exp(-z) - log(scale), z = (x - loc) / scale."""
    x, loc, scale = promote("gumbel_r.logpdf", x, loc, scale)
    z = standardize(x, loc, scale)
    return _where_scale_positive(scale, special.xlogy(-1, scale) - (z + mnp.exp(-z)))


@compiled()
def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density exp(-z - exp(-z)) / scale."""
    return mnp.exp(logpdf(x, loc, scale))


@compiled()
def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-exp(-z)."""
    x, loc, scale = promote("gumbel_r.logcdf", x, loc, scale)
    return _where_scale_positive(scale, -mnp.exp(-standardize(x, loc, scale)))


@compiled()
def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(-exp(-z))."""
    return mnp.exp(logcdf(x, loc, scale))


@compiled()
def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1 - exp(-exp(-z))."""
    x, loc, scale = promote("gumbel_r.sf", x, loc, scale)
    return _where_scale_positive(scale, 1 - mnp.exp(-mnp.exp((loc - x) / scale)))


@compiled()
def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(1 - exp(-exp(-z))), accurate in both tails."""
    x, loc, scale = promote("gumbel_r.logsf", x, loc, scale)
    return _where_scale_positive(scale, log1mexp(mnp.exp((loc - x) / scale)))


@compiled()
def ppf(p: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc - scale log(-log(p)); NaN outside 0 < p < 1."""
    p, loc, scale = promote("gumbel_r.ppf", p, loc, scale)
    quantile = loc - scale * mnp.log(special.xlogy(-1, p))
    return mnp.where((p > 0) & (p < 1), quantile, np.nan)
