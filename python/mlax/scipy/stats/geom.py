"""The geometric distribution of the trial of the first success (from 1), as jax.scipy.stats.geom."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


@compiled()
def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """(y - 1) log(1 - p) + log(p), y = k - loc > 0; -inf for y <= 0."""
    k, p, loc = promote("geom.logpmf", k, p, loc)
    y = k - loc
    return mnp.where(y <= 0, -np.inf, special.xlog1py(y - 1, -p) + mnp.log(p))


@compiled()
def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """exp(logpmf)."""
    return mnp.exp(logpmf(k, p, loc))
