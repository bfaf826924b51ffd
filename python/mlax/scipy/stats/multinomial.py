"""The multinomial distribution of n draws over the categories of probabilities p (the last
axis), as jax.scipy.stats.multinomial."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote


def _with_rank_of_both(x, n):
    """x and n with leading unit axes so that both have the larger rank of the two (JAX's rank
    promotion: a scalar stays a scalar)."""
    if x.ndim and n.ndim and x.ndim != n.ndim:
        rank = max(x.ndim, n.ndim)
        return [mnp.reshape(v, (1,) * (rank - v.ndim) + v.shape) for v in (x, n)]
    return [x, n]


@compiled()
def logpmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    """log(n!) + sum of x log(p) - log(x!) over the last axis; -inf unless the counts x (all of
    them, as JAX) sum to n. x and n must be integers."""
    (p,) = promote("multinomial.logpmf", p)
    x, n = _with_rank_of_both(*mnp.promote_dtypes(x, n))
    if not mnp.issubdtype(x.dtype, mnp.integer):
        raise ValueError(f"x and n must be of integer type; got x.dtype={x.dtype}, n.dtype={n.dtype}")
    x, n = x.astype(p.dtype), n.astype(p.dtype)
    log_probability = special.gammaln(n + 1) + mnp.sum(special.xlogy(x, p) - special.gammaln(x + 1), axis=-1)
    return mnp.where(mnp.sum(x) == n, log_probability, -np.inf)


@compiled()
def pmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    """exp(logpmf)."""
    return mnp.exp(logpmf(x, n, p))
