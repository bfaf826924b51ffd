"""mlax.nn: activation functions and helpers for writing networks, as in jax.nn."""

import math

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.custom_rules import stop_gradient


def relu(x):
    """max(x, 0), NaN where x is NaN; its derivative is 0 at 0 (and at NaN), as in JAX."""
    x = mnp.asarray(x)
    return mnp.where(x > 0, x, mnp.where(mnp.isnan(x), stop_gradient(x), mnp.zeros_like(x)))


def relu6(x):
    """min(max(x, 0), 6), NaN where x is NaN; its derivative is 0 at 0 and at 6, as in JAX."""
    x = mnp.asarray(x)
    capped = mnp.where(x < 6, x, mnp.where(mnp.isnan(x), x, mnp.full_like(x, 6)))
    return mnp.minimum(relu(capped), 6.0)


def sigmoid(x):
    (x,) = mnp.promote_args_inexact("sigmoid", x)
    return lax.logistic(x)


def log_sigmoid(x):
    return -softplus(-x)


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    return mnp.logaddexp(x, 0.0)


def silu(x):
    (x,) = mnp.promote_args_inexact("silu", x)
    return x * lax.logistic(x)


swish = silu


def gelu(x, approximate=True):
    """Gaussian error linear unit (tanh approximation by default, as in JAX)."""
    (x,) = mnp.promote_args_inexact("gelu", x)
    if approximate:
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + mnp.tanh(inner))
    return 0.5 * x * (1 + lax.erf(x / math.sqrt(2)))


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1); its derivative at 0 is alpha, as in JAX."""
    x = mnp.asarray(x)
    return mnp.where(x > 0, x, alpha * mnp.expm1(mnp.where(x > 0, 0.0, x)))


def leaky_relu(x, negative_slope=0.01):
    x = mnp.asarray(x)
    return mnp.where(x >= 0, x, negative_slope * x)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(sum(b * exp(a))) over axis, stable for large inputs. As in JAX: entries where b is 0
    count for nothing (even where a is inf), and a negative sum gives NaN unless return_sign."""
    if b is not None:
        a, b = mnp.promote_args_inexact("logsumexp", a, b)
        a = mnp.where(b != 0, a, -np.inf)
    else:
        (a,) = mnp.promote_args_inexact("logsumexp", a)
    largest = stop_gradient(mnp.max(a, axis=axis, keepdims=True))
    largest = mnp.where(mnp.isfinite(largest), largest, mnp.zeros_like(largest))
    scaled = mnp.exp(a - largest)
    if b is not None:
        scaled = scaled * b
    total = mnp.sum(scaled, axis=axis, keepdims=True)
    out = mnp.log(mnp.abs(total)) + largest
    sign = mnp.sign(total)
    if not keepdims:
        out = mnp.squeeze(out, axis=axis) if axis is not None else mnp.reshape(out, ())
        sign = mnp.reshape(sign, out.shape)
    if return_sign:
        return out, sign
    if b is not None:
        out = mnp.where(sign < 0, np.nan, out)
    return out


def log_softmax(x, axis=-1):
    (x,) = mnp.promote_args_inexact("log_softmax", x)
    shifted = x - stop_gradient(mnp.max(x, axis=axis, keepdims=True))
    return shifted - mnp.log(mnp.sum(mnp.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis=-1):
    (x,) = mnp.promote_args_inexact("softmax", x)
    unnormalized = mnp.exp(x - stop_gradient(mnp.max(x, axis=axis, keepdims=True)))
    return unnormalized / mnp.sum(unnormalized, axis=axis, keepdims=True)


def one_hot(x, num_classes, dtype=None, axis=-1):
    """x's integer entries as one-hot vectors of length num_classes along `axis`."""
    x = mnp.asarray(x)
    classes = lax.broadcasted_iota(np.int32, x.shape + (num_classes,), x.ndim)
    hot = mnp.expand_dims(x, -1) == classes
    out = hot.astype(dtype or mnp.float32)
    return mnp.moveaxis(out, -1, axis) if axis not in (-1, x.ndim) else out


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, *, algorithm="fast"):
    """(x - mean) / sqrt(variance + epsilon) over axis. The variance is JAX's: by default ("fast")
    mean(x ** 2) - mean(x) ** 2, clipped at 0; "stable" takes mean((x - mean(x)) ** 2)."""
    x = mnp.asarray(x)
    mean = mnp.mean(x, axis, keepdims=True) if mean is None else mean
    if variance is None:
        if algorithm == "stable":
            variance = mnp.mean(mnp.square(x - mean), axis, keepdims=True)
        elif algorithm == "fast":
            variance = mnp.maximum(mnp.mean(mnp.square(x), axis, keepdims=True) - mnp.square(mean), 0.0)
        else:
            raise ValueError(f"standardize: algorithm must be 'fast' or 'stable', got {algorithm!r}")
    return (x - mean) * lax.rsqrt(variance + epsilon)
