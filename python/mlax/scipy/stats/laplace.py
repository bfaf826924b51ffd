"""The Laplace (double exponential) distribution, as jax.scipy.stats.laplace."""

import mlax.numpy as mnp
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-|x - loc| / scale - log(2 scale)."""
    x, loc, scale = promote("laplace.logpdf", x, loc, scale)
    return -(mnp.abs(x - loc) / scale + mnp.log(2 * scale))


@compiled()
def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(-|x - loc| / scale) / (2 scale)."""
    return mnp.exp(logpdf(x, loc, scale))


@compiled()
def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """exp(z) / 2 for z = (x - loc) / scale <= 0, 1 - exp(-z) / 2 above."""
    x, loc, scale = promote("laplace.cdf", x, loc, scale)
    z = standardize(x, loc, scale)
    return mnp.where(z <= 0, 0.5 * mnp.exp(z), 1 - 0.5 * mnp.exp(-z))
