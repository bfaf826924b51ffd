"""The Bernoulli distribution: 1 with probability p, 0 otherwise, as jax.scipy.stats.bernoulli."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """k log(p) + (1 - k) log(1 - p) for k - loc in [0, 1] (not only at 0 and 1, as JAX), -inf outside."""
    k, p, loc = promote("bernoulli.logpmf", k, p, loc)
    y = k - loc
    log_probability = special.xlogy(y, p) + special.xlog1py(1 - y, -p)
    return mnp.where((y < 0) | (y > 1), -np.inf, log_probability)


@compiled()
def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """exp(logpmf)."""
    return mnp.exp(logpmf(k, p, loc))


def _invalid_p(p):
    return mnp.isnan(p) | (p < 0) | (p > 1)


@compiled()
def cdf(k: ArrayLike, p: ArrayLike) -> Array:
    """0 below 0, 1 - p on [0, 1), 1 from 1 on; NaN for p outside [0, 1] or NaN k."""
    k, p = promote("bernoulli.cdf", k, p)
    out = mnp.where(k < 0, 0, mnp.where(k < 1, 1 - p, mnp.where(k >= 1, 1, 0)))
    return mnp.where(mnp.isnan(k) | _invalid_p(p), np.nan, out)


@compiled()
def ppf(q: ArrayLike, p: ArrayLike) -> Array:
    """0 for q <= 1 - p, else 1; NaN for q or p outside [0, 1]."""
    q, p = promote("bernoulli.ppf", q, p)
    invalid = mnp.isnan(q) | (q < 0) | (q > 1) | _invalid_p(p)
    return mnp.where(invalid, np.nan, mnp.where(q <= 1 - p, mnp.zeros_like(q), mnp.ones_like(q)))
