"""The beta-binomial distribution: binomial with a beta(a, b) probability, as
jax.scipy.stats.betabinom."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    """log(comb(n, y)) + log(B(y + a, n - y + b) / B(a, b)), y = floor(k) - loc; -inf outside
    0 <= y <= n, NaN for n < 0 or a, b <= 0."""
    k, n, a, b, loc = promote("betabinom.logpmf", k, n, a, b, loc)
    y = mnp.floor(k) - loc
    log_comb = -(mnp.log1p(n) + special.betaln(n - y + 1, y + 1))
    log_probability = log_comb + special.betaln(y + a, n - y + b) - special.betaln(a, b)
    log_probability = mnp.where((y == 0) & (n == 0), 0.0, log_probability)
    outside = (y < -loc) | (y > n) | (y + a <= 0)
    log_probability = mnp.where(outside, -np.inf, log_probability)
    return mnp.where((n < 0) | (a <= 0) | (b <= 0), np.nan, log_probability)


@compiled()
def pmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    """exp(logpmf)."""
    return mnp.exp(logpmf(k, n, a, b, loc))
