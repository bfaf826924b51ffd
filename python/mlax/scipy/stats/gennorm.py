"""The generalized normal distribution with shape beta (standard: no loc or scale), as
jax.scipy.stats.gennorm."""

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """log(beta / 2) - log(gamma(1 / beta)) - |x|^beta."""
    x, beta = promote("gennorm.logpdf", x, beta)
    return mnp.log(0.5 * beta) - lax.lgamma(1 / beta) - mnp.abs(x) ** beta


@compiled()
def pdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """beta exp(-|x|^beta) / (2 gamma(1 / beta))."""
    return mnp.exp(logpdf(x, beta))


@compiled()
def cdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """(1 + sign(x) gammainc(1 / beta, |x|^beta)) / 2."""
    x, beta = promote("gennorm.cdf", x, beta)
    return 0.5 * (1 + mnp.sign(x) * special.gammainc(1 / beta, mnp.abs(x) ** beta))
