"""The Dirichlet distribution on the simplex with concentrations alpha, as
jax.scipy.stats.dirichlet: x's first axis runs over the categories."""

import numpy as np

import mlax.numpy as mnp
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote_dtypes_inexact


@compiled()
def logpdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    """sum (alpha - 1) log(x) - log(B(alpha)) over x's first axis where x is on the simplex
    (positive, summing to 1 within 1e-6), -inf elsewhere. x may leave out the last category
    (it is then 1 - the sum of the others)."""
    x, alpha = promote_dtypes_inexact(x, alpha)
    if alpha.ndim != 1:
        raise ValueError(f"`alpha` must be one-dimensional; got alpha.shape={alpha.shape}")
    if x.shape[0] not in (alpha.shape[0], alpha.shape[0] - 1):
        raise ValueError("`x` must have either the same number of entries as `alpha` or one entry fewer; "
                         f"got x.shape={x.shape}, alpha.shape={alpha.shape}")
    if x.shape[0] != alpha.shape[0]:
        x = mnp.concatenate([x, 1 - mnp.sum(x, axis=0, keepdims=True)], axis=0)
    log_beta = mnp.sum(special.gammaln(alpha)) - special.gammaln(mnp.sum(alpha))
    alpha = mnp.reshape(alpha, alpha.shape + (1,) * (x.ndim - 1))
    log_probability = mnp.sum(special.xlogy(alpha - 1, x), axis=0) - log_beta
    on_simplex = mnp.all(x > 0, axis=0) & (mnp.abs(mnp.sum(x, axis=0) - 1) < 1e-6)
    return mnp.where(on_simplex, log_probability, -np.inf)


@compiled()
def pdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    """exp(logpdf)."""
    return mnp.exp(logpdf(x, alpha))
