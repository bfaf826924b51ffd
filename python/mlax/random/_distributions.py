"""Distributions drawn as a transformation of uniform or normal draws.

Each takes its randomness from the basic samplers in `_core` in the order JAX
does (the same splits of the key, the same shapes), and applies the same
arithmetic, so a key gives JAX's numbers to rounding.
"""

import operator

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.random._core import (_as_param, _check_safe_cast, _check_shape, _float_dtype, _sample_shape, _shape,
                               bernoulli, normal, split, uniform)


@compiled("shape", "dtype")
def exponential(key, shape=(), dtype=None):
    """Exponential floats of rate 1: -log(1 - u) for uniform u."""
    shape, dtype = _shape(shape), _float_dtype("exponential", dtype)
    return lax.neg(lax.log1p(lax.neg(uniform(key, shape, dtype))))


@compiled("shape", "dtype")
def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy floats: tan(pi (u - 1/2)) for u uniform in [eps, 1)."""
    shape, dtype = _shape(shape), _float_dtype("cauchy", dtype)
    u = uniform(key, shape, dtype, dtypes.finfo(dtype).eps, 1.0)
    return lax.tan(lax.mul(lax.full(shape, np.pi, dtype), lax.sub(u, lax.full(shape, 0.5, dtype))))


@compiled("shape", "dtype")
def laplace(key, shape=(), dtype=None):
    """Standard Laplace floats: sign(u) log(1 - |u|) for u uniform in (-1, 1)."""
    shape, dtype = _shape(shape), _float_dtype("laplace", dtype)
    u = uniform(key, shape, dtype, -1.0 + float(dtypes.finfo(dtype).epsneg), 1.0)
    return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))))


@compiled("shape", "dtype")
def logistic(key, shape=(), dtype=None):
    """Standard logistic floats: log(u) - log(1 - u) for u uniform in [tiny, 1)."""
    shape, dtype = _shape(shape), _float_dtype("logistic", dtype)
    u = uniform(key, shape, dtype, dtypes.finfo(dtype).tiny, 1.0)
    return lax.sub(lax.log(u), lax.log1p(lax.neg(u)))


@compiled("shape", "dtype")
def pareto(key, b, shape=None, dtype=None):
    """Pareto floats of shape parameter b on [1, inf): exp(e / b) for exponential e."""
    dtype = _float_dtype("pareto", dtype)
    shape = _sample_shape("pareto", shape, b)
    _check_safe_cast("pareto", dtype, b)
    return mnp.exp(exponential(key, shape, dtype) / _as_param(b, dtype))


@compiled("shape", "dtype")
def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh floats: scale * sqrt(-2 log u) for uniform u."""
    dtype = _float_dtype("rayleigh", dtype)
    shape = _sample_shape("rayleigh", shape, scale)
    _check_safe_cast("rayleigh", dtype, scale)
    u = uniform(key, shape, dtype)
    root = lax.sqrt(lax.mul(lax.log(u), lax.full(shape, -2, dtype)))
    return lax.mul(_as_param(scale, dtype, shape), root)


@compiled("shape", "dtype")
def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) floats of `mean` and shape parameter 1, by Michael, Schucany and
    Haas's transformation of a normal draw, with a uniform draw picking between its two roots."""
    dtype = _float_dtype("wald", dtype)
    shape = _sample_shape("wald", shape, mean)
    _check_safe_cast("wald", dtype, mean)
    normal_key, uniform_key = split(key)
    mean = _as_param(mean, dtype, shape)
    v, z = normal(normal_key, shape, dtype), uniform(uniform_key, shape, dtype)
    y = lax.integer_pow(v, 2)
    mean_squared = lax.integer_pow(mean, 2)
    root = lax.sqrt(4 * mean * y + mean_squared * lax.integer_pow(y, 2))
    x = mean + mean_squared * y / 2 - mean / 2 * root
    return lax.select(lax.le(z, mean / (mean + x)), x, mean_squared / x)


@compiled("shape", "dtype")
def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull floats: scale * (-log(1 - u)) ** (1 / concentration) for uniform u (the draws
    have `shape`, then broadcast with the parameters, as in JAX)."""
    shape, dtype = _shape(shape), _float_dtype("weibull_min", dtype)
    u = uniform(key, shape, dtype, 0.0, 1.0)
    return mnp.power(-mnp.log1p(-u), 1.0 / mnp.asarray(concentration)) * scale


@compiled("shape", "dtype")
def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular floats on [left, right] peaking at `mode`, by inverting the CDF of a uniform draw."""
    dtype = _float_dtype("triangular", dtype)
    shape = _sample_shape("triangular", shape, left, mode, right)
    _check_safe_cast("triangular", dtype, left, mode, right)
    left, mode, right = (_as_param(p, dtype, shape) for p in (left, mode, right))
    u = uniform(key, shape, dtype)
    below = left + lax.sqrt(u * (right - left) * (mode - left))
    above = right - lax.sqrt((1 - u) * (right - left) * (right - mode))
    return lax.select(u < (mode - left) / (right - left), below, above)


@compiled("shape", "dtype")
def lognormal(key, sigma=np.float32(1), shape=None, dtype=None):
    """exp(sigma * z) for standard normal z (complex dtypes too, as in JAX)."""
    dtype = _float_dtype("lognormal", dtype, complex_ok=True)
    shape = _sample_shape("lognormal", shape, sigma)
    _check_safe_cast("lognormal", dtype, sigma)
    return mnp.exp(normal(key, shape, dtype) * _as_param(sigma, dtype))


@compiled("shape", "dtype")
def rademacher(key, shape=(), dtype=None):
    """-1 or 1 with equal probability, of `dtype` (default int): a fair bernoulli draw b as 2b - 1."""
    shape = _shape(shape)
    dtype = dtypes.canonicalize(dtype or dtypes.default_int())
    coin = bernoulli(key, 0.5, shape).astype(dtype)
    return (2 * coin - 1).astype(dtype)


@compiled("shape", "dtype")
def geometric(key, p, shape=None, dtype=None):
    """The number of Bernoulli(p) trials up to the first success (1, 2, ...), of an integer
    dtype: floor(log u / log(1 - p)) + 1 for uniform u (0 taken as 1, as JAX does)."""
    dtype = dtypes.canonicalize(dtype or dtypes.default_int())
    if not dtypes.is_integer(dtype):
        raise ValueError(f"dtype argument to `geometric` must be an int dtype, got {dtype.name}")
    shape = _sample_shape("geometric", shape, p)
    p = mnp.asarray(p)
    p = p.astype(mnp.inexact_dtype(p.dtype))
    u = uniform(key, shape, p.dtype)
    u = mnp.where(u == 0, 1, u)
    log_one_minus_p = mnp.broadcast_to(lax.log1p(lax.neg(p)), shape)
    return (lax.floor(lax.div(lax.log(u), log_one_minus_p)) + 1).astype(dtype)


@compiled("shape", "dtype")
def maxwell(key, shape=(), dtype=None):
    """One-sided Maxwell floats: the length of a standard normal vector in 3 dimensions."""
    shape, dtype = _shape(shape), _float_dtype("maxwell", dtype)
    return mnp.linalg.norm(normal(key, shape + (3,), dtype), axis=-1)


@compiled("shape", "dtype")
def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Maxwell floats with a random sign, scaled and shifted: sign * maxwell * scale + loc. As in
    JAX, the draws have shape `shape` (or, when it is empty, the parameters' broadcast shape)
    followed by the parameters' broadcast shape."""
    shape, dtype = _shape(shape), _float_dtype("double_sided_maxwell", dtype)
    param_shape = tuple(mnp.broadcast_shapes(np.shape(loc), np.shape(scale)))
    shape = (shape or param_shape) + param_shape
    maxwell_key, sign_key = split(key)
    return rademacher(sign_key, shape, dtype) * maxwell(maxwell_key, shape, dtype) * scale + loc


@compiled("n", "shape", "dtype", "m")
def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Matrices of shape (*shape, n, m) drawn uniformly (Haar) from the orthogonal (or unitary)
    ones: the Q of a Gaussian matrix's QR factors, its columns' signs set by R's diagonal. Where
    n != m, the rows (n < m) or the columns (n > m) are orthonormal."""
    shape = _shape(shape)
    n = operator.index(n)
    m = n if m is None else operator.index(m)
    gaussian = normal(key, (*shape, max(n, m), min(n, m)), dtype)
    q, r = mnp.linalg.qr(gaussian)
    signs = mnp.sign(mnp.diagonal(r, axis1=-2, axis2=-1))
    x = q * mnp.expand_dims(signs, -2)
    return mnp.swapaxes(x, -1, -2) if n < m else x


@compiled("shape", "dtype", "method")
def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Normal vectors of `mean` (..., n) and covariance `cov` (..., n, n): mean + F z for
    standard normal z, where F F^T = cov is cov's Cholesky factor ("cholesky") or comes from its
    eigendecomposition ("eigh") or SVD ("svd", both of which take singular cov)."""
    mean, cov = mnp.asarray(mean), mnp.asarray(cov)
    common = mnp.inexact_dtype(mnp.result_type(mean, cov))
    mean, cov = mean.astype(common), cov.astype(common)
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError(f"multivariate_normal method must be one of 'svd', 'eigh' and 'cholesky', got {method!r}")
    dtype = _float_dtype("multivariate_normal", mean.dtype if dtype is None else dtype)
    if mean.ndim < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == {mean.ndim}")
    if cov.ndim < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == {cov.ndim}")
    n = mean.shape[-1]
    if cov.shape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, "
                         f"but got cov.shape == {cov.shape}.")
    if shape is None:
        shape = tuple(mnp.broadcast_shapes(mean.shape[:-1], cov.shape[:-2]))
    else:
        shape = _shape(shape)
        _check_shape("multivariate_normal", shape, mean.shape[:-1], cov.shape[:-2])
    if method == "svd":
        u, s, _ = mnp.linalg.svd(cov)
        factor = u * mnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = mnp.linalg.eigh(cov)
        factor = v * mnp.sqrt(w[..., None, :])
    else:
        factor = mnp.linalg.cholesky(cov)
    z = normal(key, shape + (n,), dtype)
    return mean + mnp.einsum("...ij,...j->...i", factor, z)

