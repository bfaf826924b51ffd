"""The von Mises distribution on the circle with concentration kappa, as jax.scipy.stats.vonmises."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    """kappa (cos(x) - 1) - log(2 pi i0e(kappa)), which is kappa cos(x) - log(2 pi I0(kappa));
    NaN unless kappa > 0."""
    x, kappa = promote("vonmises.logpdf", x, kappa)
    return mnp.where(kappa > 0, kappa * (mnp.cos(x) - 1) - mnp.log(2 * np.pi * special.i0e(kappa)), np.nan)


@compiled()
def pdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    """exp(kappa cos(x)) / (2 pi I0(kappa))."""
    return mnp.exp(logpdf(x, kappa))
