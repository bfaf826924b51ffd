"""The Cauchy distribution with median loc and half-width scale, as jax.scipy.stats.cauchy."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-log(pi scale) - log1p(z^2), z = (x - loc) / scale."""
    x, loc, scale = promote("cauchy.logpdf", x, loc, scale)
    z = standardize(x, loc, scale)
    return -(mnp.log(np.pi * scale) + mnp.log1p(z * z))


@compiled()
def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1 / (pi scale (1 + z^2))."""
    return mnp.exp(logpdf(x, loc, scale))


@compiled()
def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1/2 + arctan(z) / pi (divided, not times 1 / pi: a fused multiply-add would leave 6e-9
    at z = -inf, where JAX has 0)."""
    x, loc, scale = promote("cauchy.cdf", x, loc, scale)
    return 0.5 + mnp.arctan(standardize(x, loc, scale)) / np.pi


@compiled()
def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(cdf)."""
    return mnp.log(cdf(x, loc, scale))


@compiled()
def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1 - cdf, as the cdf of the reflected point."""
    x, loc, scale = promote("cauchy.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


@compiled()
def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(sf), as the logcdf of the reflected point."""
    x, loc, scale = promote("cauchy.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


@compiled()
def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc + scale tan(pi (q - 1/2))."""
    q, loc, scale = promote("cauchy.ppf", q, loc, scale)
    return mnp.tan(np.pi * q - np.pi / 2) * scale + loc


@compiled()
def isf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc + scale tan(pi (1/2 - q))."""
    q, loc, scale = promote("cauchy.isf", q, loc, scale)
    return mnp.tan(np.pi / 2 - np.pi * q) * scale + loc
