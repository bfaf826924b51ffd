"""The binomial distribution of successes in n trials of probability p, as jax.scipy.stats.binom."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """log(comb(n, y)) + y log(p) + (n - y) log(1 - p), y = k - loc, for loc <= k < loc + n + 1
    (non-integers too, as JAX), -inf outside."""
    k, n, p, loc = promote("binom.logpmf", k, n, p, loc)
    y = k - loc
    log_comb = special.gammaln(n + 1) - (special.gammaln(y + 1) + special.gammaln(n - y + 1))
    log_powers = special.xlogy(y, p) + special.xlog1py(n - y, -p)
    certain = ((y == 0) & (n == 0)) | (log_powers == 0)
    log_probability = mnp.where(certain, 0.0, log_comb + log_powers)
    return mnp.where((k >= loc) & (k < loc + n + 1), log_probability, -np.inf)


@compiled()
def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """exp(logpmf)."""
    return mnp.exp(logpmf(k, n, p, loc))
