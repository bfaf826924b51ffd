"""mlax.nn.initializers: functions that draw a layer's initial weights, as jax.nn.initializers.

Each builder (normal(stddev), glorot_uniform(), ...) returns an initializer
`init(key, shape, dtype=None, out_sharding=None)`; zeros and ones are initializers
themselves. A key gives the same numbers as in JAX: the draws come from mlax.random, whose
bit streams are JAX's, and are scaled in the same order and dtype. The default dtype is the
default float (float32, or float64 with x64 enabled). mlax has no shardings: out_sharding
must be None.
"""

import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

import mlax.numpy as mnp
from mlax import random
from mlax.core import dtypes

Axes = int | Sequence[int]
_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
# The standard deviations of a standard normal truncated to (-2, 2), and of a standard complex
# normal whose modulus is truncated to 2: variance_scaling divides by them to keep the variance.
_TRUNCATED_STDDEV = 0.87962566103423978
_TRUNCATED_COMPLEX_STDDEV = 0.95311164380491208


@runtime_checkable
class Initializer(Protocol):
    """What the builders return: init(key, shape, dtype=None, out_sharding=None) -> Array."""

    def __call__(self, key: Any, shape: Sequence[int], dtype: Any = None, out_sharding: Any = None) -> Any:
        ...


def _dtype(dtype):
    return np.dtype(dtypes.default_float() if dtype is None else dtype)


def _no_sharding(name, out_sharding):
    if out_sharding is not None:
        raise NotImplementedError(f"nn.initializers.{name}: out_sharding is not supported (mlax has no "
                                  "shardings); leave it None")


def zeros(key: Any, shape: Sequence[int], dtype: Any = None, out_sharding: Any = None) -> Any:
    """An array of zeros; the key is not used."""
    _no_sharding("zeros", out_sharding)
    return mnp.zeros(shape, _dtype(dtype))


def ones(key: Any, shape: Sequence[int], dtype: Any = None, out_sharding: Any = None) -> Any:
    """An array of ones; the key is not used."""
    _no_sharding("ones", out_sharding)
    return mnp.ones(shape, _dtype(dtype))


def constant(value: Any, dtype: Any = None) -> Initializer:
    """An initializer of arrays full of `value`."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding("constant", out_sharding)
        return mnp.full(shape, value, _dtype(dtype))
    return init


def uniform(scale: Any = 1e-2, dtype: Any = None) -> Initializer:
    """An initializer of floats uniform in [0, scale)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding("uniform", out_sharding)
        dtype = _dtype(dtype)
        return random.uniform(key, shape, dtype) * mnp.asarray(scale, dtype)
    return init


def normal(stddev: Any = 1e-2, dtype: Any = None) -> Initializer:
    """An initializer of normal floats with mean 0 and standard deviation `stddev`."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding("normal", out_sharding)
        dtype = _dtype(dtype)
        return random.normal(key, shape, dtype) * mnp.asarray(stddev, dtype)
    return init


def truncated_normal(stddev: Any = 1e-2, dtype: Any = None, lower: Any = -2.0, upper: Any = 2.0) -> Initializer:
    """An initializer of stddev * (a standard normal truncated to (lower, upper)); unlike
    variance_scaling, stddev is not corrected for the truncation."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding("truncated_normal", out_sharding)
        dtype = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dtype) * mnp.asarray(stddev, dtype)
    return init


def _size(shape, axes):
    return shape[axes] if isinstance(axes, int) else math.prod(shape[a] for a in axes)


def _fans(shape, in_axis, out_axis, batch_axis):
    """(fan_in, fan_out): the input and output sizes, each times the receptive field (the
    product of the axes that are neither input, output nor batch)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) < 2:
        raise ValueError(f"variance_scaling: a weight shape of {len(shape)} axes has no input axis -2; "
                         "give in_axis (and out_axis) explicitly")
    in_size, out_size = _size(shape, in_axis), _size(shape, out_axis)
    receptive_field = math.prod(shape) / in_size / out_size / _size(shape, batch_axis)
    return in_size * receptive_field, out_size * receptive_field


def _complex_disk(key, shape, dtype, radius):
    """Complex numbers radius(u) * exp(i theta), u and theta / (2 pi) uniform in [0, 1) (u real):
    drawn as JAX draws its complex variance-scaling weights."""
    key_r, key_theta = random.split(key)
    real = dtypes.real_dtype(dtype)
    r = radius(random.uniform(key_r, shape, real))
    theta = 2 * np.pi * random.uniform(key_theta, shape, real).astype(dtype)
    return r * mnp.exp(1j * theta)


def variance_scaling(scale: Any, mode: str, distribution: str, in_axis: Axes = -2, out_axis: Axes = -1,
                     batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """An initializer of weights with variance scale / n, n the fan given by `mode` ("fan_in",
    "fan_out", their mean "fan_avg" or geometric mean "fan_geo_avg"), drawn from `distribution`:
    "truncated_normal" (cut at 2 standard deviations, then rescaled to the variance), "normal",
    or "uniform" (on an interval; on a disk for complex dtypes). Axes that are neither in_axis,
    out_axis nor batch_axis are a convolution's receptive field and multiply both fans."""
    if mode not in _MODES:
        raise ValueError(f"variance_scaling: mode must be one of {_MODES}, got {mode!r}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"variance_scaling: distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}")

    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding("variance_scaling", out_sharding)
        shape, dtype = tuple(int(n) for n in shape), _dtype(dtype)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
               "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
        variance = mnp.asarray(scale / fan, dtype)
        complex_dtype = dtypes.is_complex(dtype)
        if distribution == "normal":
            return random.normal(key, shape, dtype) * mnp.sqrt(variance)
        if distribution == "uniform" and not complex_dtype:
            return random.uniform(key, shape, dtype, -1) * mnp.sqrt(3 * variance)
        if distribution == "uniform":
            # On the unit disk: r**2 uniform in [0, 2) gives variance 1.
            return _complex_disk(key, shape, dtype, lambda u: mnp.sqrt(2 * u).astype(dtype)) * mnp.sqrt(variance)
        if not complex_dtype:
            stddev = mnp.sqrt(variance) / mnp.asarray(_TRUNCATED_STDDEV, dtype)
            return random.truncated_normal(key, -2, 2, shape, dtype) * stddev
        # A standard complex normal's squared modulus is exponential: truncating the modulus at 2
        # draws the exponential's quantiles below 1 - exp(-4).
        top = 1 - mnp.exp(mnp.asarray(-4.0, dtype))
        stddev = mnp.sqrt(variance) / mnp.asarray(_TRUNCATED_COMPLEX_STDDEV, dtype)
        return _complex_disk(key, shape, dtype, lambda u: mnp.sqrt(-mnp.log(1 - top * u.astype(dtype)))) * stddev
    return init


def _variance_scaling_kind(scale, mode, distribution, paper):
    """A builder of variance_scaling(scale, mode, distribution), with its docstring."""
    def build(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                batch_axis=batch_axis, dtype=dtype)
    build.__doc__ = f"variance_scaling({scale}, {mode!r}, {distribution!r}): {paper}'s initializer."
    return build


glorot_uniform = _variance_scaling_kind(1.0, "fan_avg", "uniform", "Glorot and Bengio (2010)")
glorot_normal = _variance_scaling_kind(1.0, "fan_avg", "truncated_normal", "Glorot and Bengio (2010)")
lecun_uniform = _variance_scaling_kind(1.0, "fan_in", "uniform", "LeCun et al. (1998)")
lecun_normal = _variance_scaling_kind(1.0, "fan_in", "truncated_normal", "LeCun et al. (1998)")
he_uniform = _variance_scaling_kind(2.0, "fan_in", "uniform", "He et al. (2015)")
he_normal = _variance_scaling_kind(2.0, "fan_in", "truncated_normal", "He et al. (2015)")
for _name in ("glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal", "he_uniform", "he_normal"):
    globals()[_name].__name__ = globals()[_name].__qualname__ = _name
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """An initializer of scale times a uniformly random (Haar) orthogonal matrix, its columns
    along column_axis and its rows the other axes flattened: orthonormal rows or columns,
    whichever are fewer."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding("orthogonal", out_sharding)
        shape, dtype = tuple(int(n) for n in shape), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"orthogonal: the shape must have at least 2 axes, got {shape}")
        if 0 in shape:
            return mnp.zeros(shape, dtype)
        columns = shape[column_axis]
        rows = math.prod(shape) // columns
        q = random.orthogonal(key, rows, (), dtype, columns)
        other_axes = tuple(np.delete(np.array(shape), column_axis))
        q = mnp.moveaxis(mnp.reshape(q, other_axes + (columns,)), -1, column_axis)
        return mnp.asarray(scale, dtype) * q
    return init


def delta_orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """An initializer of convolution kernels (3 to 5 axes, the last two in and out channels) that
    are zero except at the spatial centre, which holds an orthogonal matrix (Xiao et al. 2018)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding("delta_orthogonal", out_sharding)
        shape, dtype = tuple(int(n) for n in shape), _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError(f"delta_orthogonal: the shape must have 3, 4 or 5 axes, got {shape}")
        if shape[-1] < shape[-2]:
            raise ValueError(f"delta_orthogonal: the input channels (shape[-2] = {shape[-2]}) must be at most "
                             f"the output channels (shape[-1] = {shape[-1]})")
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        matrix = orthogonal(scale, column_axis, dtype)(key, shape[-2:])
        return mnp.zeros(shape, dtype).at[centre].set(matrix)
    return init
