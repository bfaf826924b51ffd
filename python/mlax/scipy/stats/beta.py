"""The beta distribution with shapes a and b on [loc, loc + scale], as jax.scipy.stats.beta."""

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """(a - 1) log(y) + (b - 1) log(1 - y) - log(B(a, b) scale), y = (x - loc) / scale; -inf
    outside [loc, loc + scale], NaN unless a, b and scale are positive."""
    x, a, b, loc, scale = promote("beta.logpdf", x, a, b, loc, scale)
    y = standardize(x, loc, scale)
    log_probability = (-special.betaln(a, b) + (special.xlogy(a - 1, y) + special.xlog1py(b - 1, -y))
                       - mnp.log(scale))
    out = mnp.where((x > loc + scale) | (x < loc), -np.inf, log_probability)
    return mnp.where((a <= 0) | (b <= 0) | (scale <= 0), np.nan, out)


@compiled()
def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The beta density."""
    return mnp.exp(logpdf(x, a, b, loc, scale))


def _clipped(x, loc, scale):
    return lax.clamp(0.0, standardize(x, loc, scale), 1.0)


@compiled()
def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """betainc(a, b, y), y clipped to [0, 1]."""
    x, a, b, loc, scale = promote("beta.cdf", x, a, b, loc, scale)
    return special.betainc(a, b, _clipped(x, loc, scale))


@compiled()
def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(cdf)."""
    return mnp.log(cdf(x, a, b, loc, scale))


@compiled()
def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """betainc(b, a, 1 - y), y clipped to [0, 1]."""
    x, a, b, loc, scale = promote("beta.sf", x, a, b, loc, scale)
    return special.betainc(b, a, 1 - _clipped(x, loc, scale))


@compiled()
def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(sf)."""
    return mnp.log(sf(x, a, b, loc, scale))
