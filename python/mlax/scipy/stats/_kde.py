"""Gaussian kernel density estimation, as jax.scipy.stats.gaussian_kde (a pytree)."""

from typing import Any, Callable, Optional, Union

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy import special
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote_dtypes_inexact
from mlax.tree_util import register_pytree_node_class

BandwidthMethod = Union[None, str, ArrayLike, Callable[[Any], Array]]


def _weighted_covariance(data, weights):
    """The covariance of the rows of data (variables by observations) with weights summing to 1,
    unbiased for reliability weights (as numpy.cov(data, aweights=weights))."""
    centered = data - mnp.sum(data * weights, axis=1, keepdims=True)
    return (centered * weights) @ centered.T / (1 - mnp.sum(weights * weights))


def _cholesky_solve(lower_factor, b):
    """x with (L L^T) x = b, for the lower Cholesky factor L and b of shape (d, k)."""
    y = lax.linalg.triangular_solve(lower_factor, b, left_side=True, lower=True)
    return lax.linalg.triangular_solve(lower_factor, y, left_side=True, lower=True, transpose_a=True)


def _gaussian_overlaps(covariance, centers, weights, means):
    """sum_j weights_j N(means_k; centers_j, covariance) for each column k of means."""
    d = covariance.shape[0]
    factor = lax.linalg.cholesky(covariance)
    normalizer = 1 / (np.sqrt(2 * np.pi) ** d * mnp.prod(mnp.diagonal(factor)))
    difference = centers[:, :, None] - means[:, None, :]  # (d, centers, means)
    solved = _cholesky_solve(factor, mnp.reshape(difference, (d, -1))).reshape(difference.shape)
    half_distance = 0.5 * mnp.sum(difference * solved, axis=0)
    return normalizer * mnp.sum(mnp.exp(-half_distance) * weights[:, None], axis=0)


@compiled("in_log")
def _kernel_sums(in_log, dataset, weights, points, precision):
    """sum_j weights_j N(points_i; dataset_j, precision^-1) for each point (its log if in_log),
    from the points and the data whitened by the Cholesky factor of the precision."""
    whitening = lax.linalg.cholesky(precision)
    data, points = dataset.T @ whitening, points.T @ whitening
    d = precision.shape[0]
    log_normalizer = mnp.sum(mnp.log(mnp.diagonal(whitening))) - 0.5 * d * np.log(2 * np.pi)
    log_kernel = log_normalizer - 0.5 * mnp.sum((data[None, :, :] - points[:, None, :]) ** 2, axis=-1)
    if in_log:
        return special.logsumexp(mnp.log(weights) + log_kernel, axis=1)
    return mnp.sum(weights * mnp.exp(log_kernel), axis=1)


@register_pytree_node_class
class gaussian_kde:  # noqa: N801 - SciPy's and JAX's name
    """A Gaussian kernel density estimate from dataset (variables by observations, or 1-d), with
    optional weights, and the kernel covariance the data's times the square of the bandwidth
    factor: bw_method "scott" (the default), "silverman", a scalar, or a callable of the kde."""

    __slots__ = ("neff", "dataset", "weights", "covariance", "inv_cov")

    def __init__(self, dataset: ArrayLike, bw_method: BandwidthMethod = None, weights: Optional[ArrayLike] = None):
        dataset = mnp.atleast_2d(mnp.asarray(dataset))
        if mnp.issubdtype(dataset.dtype, mnp.complexfloating):
            raise NotImplementedError("gaussian_kde does not support complex data")
        if not dataset.size > 1:
            raise ValueError("`dataset` input should have multiple elements.")
        d, n = dataset.shape
        if weights is not None:
            dataset, weights = promote_dtypes_inexact(dataset, weights)
            weights = mnp.atleast_1d(weights)
            weights = weights / mnp.sum(weights)
            if weights.ndim != 1:
                raise ValueError("`weights` input should be one-dimensional.")
            if len(weights) != n:
                raise ValueError(f"`weights` input should be of length n ({n}); got {len(weights)}")
        else:
            (dataset,) = promote_dtypes_inexact(dataset)
            weights = mnp.full(n, 1.0 / n, dtype=dataset.dtype)
        self._set("dataset", dataset)
        self._set("weights", weights)
        neff = self._set("neff", 1 / mnp.sum(weights ** 2))
        if bw_method is None or (isinstance(bw_method, str) and bw_method == "scott"):
            factor = neff ** (-1.0 / (d + 4))
        elif isinstance(bw_method, str) and bw_method == "silverman":
            factor = (neff * (d + 2) / 4.0) ** (-1.0 / (d + 4))
        elif mnp.isscalar(bw_method) and not isinstance(bw_method, str):
            factor = bw_method
        elif callable(bw_method):
            factor = bw_method(self)
        else:
            raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar, or a callable.")
        data_covariance = mnp.atleast_2d(_weighted_covariance(dataset, weights))
        self._set("covariance", data_covariance * factor ** 2)
        self._set("inv_cov", mnp.linalg.inv(data_covariance) / factor ** 2)

    def _set(self, name, value):
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name, value):
        raise AttributeError(f"gaussian_kde is immutable: cannot set {name}")

    def tree_flatten(self):
        """The arrays (neff, dataset, weights, covariance, inv_cov), and no static data."""
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        """The kde with these arrays (in tree_flatten's order)."""
        kde = cls.__new__(cls)
        for name, value in zip(cls.__slots__, children):
            kde._set(name, value)
        return kde

    @property
    def d(self) -> int:
        """The number of variables."""
        return self.dataset.shape[0]

    @property
    def n(self) -> int:
        """The number of observations."""
        return self.dataset.shape[1]

    def _points(self, points):
        points = mnp.asarray(points)
        if mnp.issubdtype(points.dtype, mnp.complexfloating):
            raise NotImplementedError("gaussian_kde does not support complex coordinates")
        points = mnp.atleast_2d(points)
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:
                return mnp.reshape(points, (self.d, 1))
            raise ValueError(f"points have dimension {d}, dataset has dimension {self.d}")
        return points

    def evaluate(self, points: ArrayLike) -> Array:
        """The estimated density at each point (the columns of points, or a 1-d point)."""
        return _kernel_sums(False, self.dataset, self.weights, self._points(points), self.inv_cov)

    def __call__(self, points: ArrayLike) -> Array:
        """evaluate(points)."""
        return self.evaluate(points)

    def pdf(self, x: ArrayLike) -> Array:
        """The estimated density at each point (evaluate)."""
        return self.evaluate(x)

    def logpdf(self, x: ArrayLike) -> Array:
        """The log of the estimated density at each point, without underflow."""
        return _kernel_sums(True, self.dataset, self.weights, self._points(x), self.inv_cov)

    def integrate_gaussian(self, mean: ArrayLike, cov: ArrayLike) -> Array:
        """The integral of the estimated density times the normal density N(mean, cov)."""
        mean = mnp.atleast_1d(mnp.squeeze(mnp.asarray(mean)))
        cov = mnp.atleast_2d(mnp.asarray(cov))
        if mean.shape != (self.d,):
            raise ValueError(f"mean does not have dimension {self.d}")
        if cov.shape != (self.d, self.d):
            raise ValueError(f"covariance does not have dimension {self.d}")
        return _gaussian_overlaps(self.covariance + cov, self.dataset, self.weights, mean[:, None])[0]

    def integrate_box_1d(self, low: ArrayLike, high: ArrayLike) -> Array:
        """The estimated probability of [low, high] (scalars), for one variable."""
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError("the limits of integration in integrate_box_1d must be scalars")
        sigma = mnp.squeeze(mnp.sqrt(self.covariance))
        low = mnp.squeeze((low - self.dataset) / sigma)
        high = mnp.squeeze((high - self.dataset) / sigma)
        return mnp.sum(self.weights * (special.ndtr(high) - special.ndtr(low)))

    def integrate_kde(self, other: "gaussian_kde") -> Array:
        """The integral of the product of this estimated density and other's."""
        if other.d != self.d:
            raise ValueError("KDEs are not the same dimensionality")
        small, large = (self, other) if self.n < other.n else (other, self)
        overlaps = _gaussian_overlaps(self.covariance + other.covariance, large.dataset, large.weights,
                                      small.dataset)
        return mnp.sum(overlaps * small.weights)

    def resample(self, key: Any, shape: tuple = ()) -> Array:
        """Not in mlax: mlax.scipy cannot draw random numbers (mlax.random is a layer beside it)."""
        raise NotImplementedError(
            "gaussian_kde.resample is not in mlax (mlax.scipy cannot import mlax.random): draw indices with "
            "mlax.random.choice(key, kde.n, shape, p=kde.weights) and add "
            "mlax.random.multivariate_normal(key2, zeros(kde.d), kde.covariance, shape)")

    def integrate_box(self, low_bounds: ArrayLike, high_bounds: ArrayLike, maxpts: Optional[int] = None) -> Array:
        """Not supported (as in JAX): only integrate_box_1d."""
        raise NotImplementedError("only 1D box integrations are supported; use `integrate_box_1d`")

    def set_bandwidth(self, bw_method: BandwidthMethod = None) -> None:
        """Not supported (as in JAX): the bandwidth is fixed when the kde is made."""
        raise NotImplementedError("dynamically changing the bandwidth method is not supported")
