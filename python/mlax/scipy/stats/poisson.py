"""The Poisson distribution with mean mu, as jax.scipy.stats.poisson."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote, promote_dtypes_inexact


@compiled()
def logpmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """y log(mu) - log(y!) - mu, y = k - loc; -inf for y < 0 or non-integer k."""
    k, mu, loc = promote("poisson.logpmf", k, mu, loc)
    y = k - loc
    log_probability = special.xlogy(y, mu) - special.gammaln(y + 1) - mu
    return mnp.where((y < 0) | (mnp.round(k) != k), -np.inf, log_probability)


@compiled()
def pmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """exp(logpmf)."""
    return mnp.exp(logpmf(k, mu, loc))


@compiled()
def cdf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """gammaincc(floor(y) + 1, mu), 0 for y = k - loc < 0."""
    k, mu, loc = promote("poisson.cdf", k, mu, loc)
    y = k - loc
    return mnp.where(y < 0, 0, special.gammaincc(mnp.floor(1 + y), mu))


def _entropy_by_sum(mu, terms, last_k):
    """-sum p log p over k < min(terms, last_k) of the pmf at k (last_k per mu)."""
    k = mnp.arange(terms, dtype=mu.dtype)[:, None]
    probabilities = mnp.where(k < mnp.ceil(last_k)[None, :], pmf(k, mu, 0), 0.0)
    return mnp.sum(special.entr(probabilities), axis=0)


@compiled()
def entropy(mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The entropy: the sum of -p log p over k up to mu + 20 for mu < 10 (35 terms at most),
    up to mu + 10 sqrt(mu) + 20 for mu < 100 (250 terms), and above, the normal approximation
    log(2 pi e mu) / 2 - 1 / (12 mu); 0 at mu = 0. It does not depend on loc, but takes its shape."""
    mu, loc = promote_dtypes_inexact(mu, loc)
    shape = mnp.broadcast_shapes(mu.shape, loc.shape)
    flat = mnp.ravel(mu)
    small = _entropy_by_sum(flat, 35, flat + 20)
    medium = _entropy_by_sum(flat, 250, flat + 10 * mnp.sqrt(flat) + 20)
    large = 0.5 * mnp.log(2 * np.pi * np.e * flat) - 1 / (12 * flat)
    out = mnp.where(flat == 0, 0, mnp.where(flat < 10, small, mnp.where(flat < 100, medium, large)))
    return mnp.broadcast_to(mnp.reshape(out, mu.shape), shape)
