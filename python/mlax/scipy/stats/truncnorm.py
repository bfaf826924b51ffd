"""The normal distribution truncated to [a, b] (in units of scale from loc), as
jax.scipy.stats.truncnorm: NaN wherever a >= b."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats import norm
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


def _log_difference(log_x, log_y):
    """log(exp(log_x) - exp(log_y)): NaN where negative, -inf where 0."""
    return special.logsumexp(mnp.stack([log_x, log_y]), axis=0,
                             b=mnp.stack([mnp.ones_like(log_x), -mnp.ones_like(log_y)]))


def _log_gauss_mass(a, b):
    """log of the standard normal probability of [a, b], from whichever tail is accurate."""
    a, b = mnp.broadcast_arrays(mnp.asarray(a), mnp.asarray(b))
    left, right = b <= 0, a > 0
    central = ~(left | right)
    tail_a, tail_b = mnp.where(right, -b, a), mnp.where(right, -a, b)  # (the upper tail, reflected)
    tail_mass = _log_difference(special.log_ndtr(tail_b), special.log_ndtr(tail_a))
    central_mass = mnp.log1p(-special.ndtr(a) - special.ndtr(-b))
    return mnp.where(central, central_mass, tail_mass)


@compiled()
def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """norm.logpdf(x, loc, scale) - log(the mass of [a, b]) inside, -inf outside."""
    x, a, b, loc, scale = promote("truncnorm.logpdf", x, a, b, loc, scale)
    out = norm.logpdf(x, loc, scale) - _log_gauss_mass(a, b)
    z = standardize(x, loc, scale)
    out = mnp.where((z < a) | (z > b), -np.inf, out)
    return mnp.where(a >= b, np.nan, out)


@compiled()
def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(logpdf)."""
    return mnp.exp(logpdf(x, a, b, loc, scale))


@compiled()
def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(the mass of [a, z]) - log(the mass of [a, b]), z = (x - loc) / scale; near 0 from the
    upper mass instead (log1p(-sf)); 0 above b, -inf below a."""
    x, a, b, loc, scale = promote("truncnorm.logcdf", x, a, b, loc, scale)
    z = standardize(x, loc, scale)
    log_mass = _log_gauss_mass(a, b)
    lower = _log_gauss_mass(a, z) - log_mass
    upper = _log_gauss_mass(z, b) - log_mass
    out = mnp.where(z >= b, 0, mnp.where(z <= a, -np.inf, mnp.where(
        lower > -0.1, mnp.log1p(-mnp.exp(upper)), mnp.where(z > a, lower, 0))))
    return mnp.where(a >= b, np.nan, out)


@compiled()
def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(logcdf)."""
    return mnp.exp(logcdf(x, a, b, loc, scale))


@compiled()
def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(1 - cdf), as the logcdf of the distribution reflected about loc."""
    x, a, b, loc, scale = promote("truncnorm.logsf", x, a, b, loc, scale)
    return logcdf(-x, -b, -a, -loc, scale)


@compiled()
def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(logsf)."""
    return mnp.exp(logsf(x, a, b, loc, scale))
