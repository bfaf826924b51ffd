"""Student's t distribution with df degrees of freedom, as jax.scipy.stats.t."""

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, standardize


@compiled()
def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(gamma((df + 1) / 2) / (gamma(df / 2) sqrt(pi df) scale)) - (df + 1) / 2 log1p(z^2 / df)."""
    x, df, loc, scale = promote("t.logpdf", x, df, loc, scale)
    z = standardize(x, loc, scale)
    half_df = df / 2
    half_df_plus_half = half_df + 0.5
    log_normalizer = (lax.lgamma(half_df) + mnp.log(scale * scale * np.pi * df) / 2
                      - lax.lgamma(half_df_plus_half))
    return -(log_normalizer + half_df_plus_half * mnp.log1p(z * z / df))


@compiled()
def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The t density."""
    return mnp.exp(logpdf(x, df, loc, scale))
