"""The negative binomial distribution of failures before the n-th success, as
jax.scipy.stats.nbinom."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """log(gamma(y + n) / (gamma(n) y!)) + n log(p) + y log(1 - p), y = k - loc; -inf below loc."""
    k, n, p, loc = promote("nbinom.logpmf", k, n, p, loc)
    y = k - loc
    log_comb = special.gammaln(y + n) - special.gammaln(n) - special.gammaln(y + 1)
    log_powers = special.xlogy(n, p) + special.xlogy(y, 1 - p)
    return mnp.where(k < loc, -np.inf, log_comb + log_powers)


@compiled()
def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """exp(logpmf)."""
    return mnp.exp(logpmf(k, n, p, loc))
