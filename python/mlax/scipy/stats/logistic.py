"""The logistic distribution, as jax.scipy.stats.logistic (whose ppf and isf name their
argument x, as here)."""

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-2 log(exp(z / 2) + exp(-z / 2)) - log(scale), z = (x - loc) / scale."""
    x, loc, scale = promote("logistic.logpdf", x, loc, scale)
    half_z = standardize(x, loc, scale) / 2
    return -2 * mnp.logaddexp(half_z, -half_z) - mnp.log(scale)


@compiled()
def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The logistic density."""
    return mnp.exp(logpdf(x, loc, scale))


@compiled()
def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """expit(z)."""
    x, loc, scale = promote("logistic.cdf", x, loc, scale)
    return special.expit(standardize(x, loc, scale))


@compiled()
def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """expit(-z)."""
    x, loc, scale = promote("logistic.sf", x, loc, scale)
    return special.expit(-standardize(x, loc, scale))


@compiled()
def ppf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc + scale logit(x), for x a probability."""
    x, loc, scale = promote("logistic.ppf", x, loc, scale)
    return special.logit(x) * scale + loc


@compiled()
def isf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc - scale logit(x), for x a probability."""
    x, loc, scale = promote("logistic.isf", x, loc, scale)
    return -special.logit(x) * scale + loc
