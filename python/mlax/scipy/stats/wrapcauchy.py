"""The wrapped Cauchy distribution on [0, 2 pi] with shape c, as jax.scipy.stats.wrapcauchy."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpdf(x: ArrayLike, c: ArrayLike) -> Array:
    """log((1 - c^2) / (2 pi (1 + c^2 - 2 c cos(x)))) on [0, 2 pi], -inf outside; NaN unless 0 < c < 1."""
    x, c = promote("wrapcauchy.logpdf", x, c)
    inside = (x >= 0) & (x <= 2 * np.pi)
    density = mnp.log(1 - c * c) - np.log(2 * np.pi) - mnp.log(1 + c * c - 2 * c * mnp.cos(x))
    return mnp.where((c > 0) & (c < 1), mnp.where(inside, density, -np.inf), np.nan)


@compiled()
def pdf(x: ArrayLike, c: ArrayLike) -> Array:
    """exp(logpdf)."""
    return mnp.exp(logpdf(x, c))
