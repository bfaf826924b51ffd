"""The multivariate normal distribution, as jax.scipy.stats.multivariate_normal: mean's last
axis is the dimension, cov a scalar (times the identity) or a matrix (batched)."""

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote_dtypes_inexact


@compiled("allow_singular")
def logpdf(x: ArrayLike, mean: ArrayLike, cov: ArrayLike, allow_singular: None = None) -> Array:
    """-(y^T cov^-1 y + log det(2 pi cov)) / 2, y = x - mean, through the Cholesky factor of
    cov; allow_singular is not supported (as in JAX)."""
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf")
    x, mean, cov = promote_dtypes_inexact(x, mean, cov)
    if not mean.shape:
        return -0.5 * (x - mean) ** 2 / cov - 0.5 * (np.log(2 * np.pi) + mnp.log(cov))
    n = mean.shape[-1]
    y = x - mean
    if not cov.shape:
        return -0.5 * mnp.einsum("...i,...i->...", y, y) / cov - n / 2 * (np.log(2 * np.pi) + mnp.log(cov))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError("multivariate_normal.logpdf got incompatible shapes")
    factor = lax.linalg.cholesky(cov)
    batch = mnp.broadcast_shapes(factor.shape[:-2], y.shape[:-1])
    factor, y = mnp.broadcast_to(factor, batch + (n, n)), mnp.broadcast_to(y, batch + (n,))
    whitened = lax.linalg.triangular_solve(factor, y[..., None, :], lower=True, transpose_a=True)[..., 0, :]
    log_determinant = mnp.sum(mnp.log(mnp.diagonal(factor, axis1=-2, axis2=-1)), axis=-1)
    return -0.5 * mnp.einsum("...i,...i->...", whitened, whitened) - n / 2 * np.log(2 * np.pi) - log_determinant


@compiled()
def pdf(x: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> Array:
    """exp(logpdf)."""
    return mnp.exp(logpdf(x, mean, cov))
