"""mlax.nn: activation functions and helpers for writing networks, as in jax.nn."""

import dataclasses
import functools
import math
import operator
import warnings
from typing import Any

import ml_dtypes
import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.custom_rules import custom_jvp, custom_vjp, stop_gradient
from mlax.core import dtypes
from mlax.scipy.special import logsumexp


def relu(x):
    """max(x, 0), NaN where x is NaN; its derivative is 0 at 0 (and at NaN), as in JAX."""
    x = mnp.asarray(x)
    return mnp.where(x > 0, x, mnp.where(mnp.isnan(x), stop_gradient(x), mnp.zeros_like(x)))


@custom_jvp
def _relu6(x):
    return mnp.minimum(mnp.maximum(x, 0), 6.0)


_relu6.defjvps(lambda t, out, x: mnp.where((x > 0) & (x < 6), t, mnp.zeros_like(t)))


def relu6(x):
    """min(max(x, 0), 6), NaN where x is NaN; its derivative is 0 at 0 and at 6, as in JAX."""
    return _relu6(mnp.asarray(x))


def sigmoid(x):
    """1 / (1 + exp(-x)). Unlike JAX, which refuses them, integers are promoted to floats."""
    (x,) = mnp.promote_args_inexact("sigmoid", x)
    return lax.logistic(x)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return -softplus(-x)


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    return mnp.logaddexp(x, 0)


def silu(x):
    """x * sigmoid(x)."""
    (x,) = mnp.promote_args_inexact("silu", x)
    return x * lax.logistic(x)


swish = silu


def gelu(x, approximate=True):
    """Gaussian error linear unit (tanh approximation by default, as in JAX)."""
    (x,) = mnp.promote_args_inexact("gelu", x)
    if approximate:
        # As in JAX, the constant has x's dtype and is not weak: gelu(2.0) is a float32 array.
        inner = mnp.asarray(math.sqrt(2 / math.pi), x.dtype) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + mnp.tanh(inner))
    # JAX takes erfc(-x / sqrt 2), which keeps its precision for x below -3 where 1 + erf cancels;
    # mlax.scipy.special.erfc's derivative is NaN at 0, so not yet here.
    return 0.5 * x * (1 + lax.erf(x * mnp.asarray(math.sqrt(0.5), x.dtype)))


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1); its derivative at 0 is alpha, as in JAX."""
    x = mnp.asarray(x)
    return mnp.where(x > 0, x, alpha * mnp.expm1(mnp.where(x > 0, 0.0, x)))


def leaky_relu(x, negative_slope=0.01):
    """x where x >= 0, else negative_slope * x."""
    x = mnp.asarray(x)
    return mnp.where(x >= 0, x, negative_slope * x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    return mnp.maximum(x, 0.0) + alpha * mnp.expm1(mnp.minimum(x, 0.0) / alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU with the self-normalizing constants: scale * elu(x, alpha)."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def glu(x, axis=-1):
    """Gated linear unit: the first half of x along axis times the sigmoid of the second half."""
    x = mnp.asarray(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got shape {x.shape}")
    value, gate = mnp.split(x, 2, axis)
    return value * sigmoid(gate)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, a piecewise-linear sigmoid."""
    return relu6(mnp.asarray(x) + 3.0) / 6.0


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    x = mnp.asarray(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x):
    """x clipped to [-1, 1]; its derivative is 1 at -1 and at 1, as in JAX."""
    x = mnp.asarray(x)
    return mnp.where(x > 1, 1, mnp.where(x < -1, -1, x))


def identity(x):
    """x as an array, unchanged."""
    return mnp.asarray(x)


@custom_jvp
def _log1mexp(x):
    # log(-expm1(-x)) is accurate for small x, log1p(-exp(-x)) for large (Maechler's switch at log 2).
    return mnp.where(x < math.log(2.0), mnp.log(-mnp.expm1(-x)), mnp.log1p(-mnp.exp(-x)))


_log1mexp.defjvps(lambda t, out, x: t / mnp.expm1(x))


def log1mexp(x):
    """log(1 - exp(-x)) for x >= 0, accurate for small and large x; its derivative is 1 / expm1(x)."""
    return _log1mexp(mnp.asarray(x))


def mish(x):
    """x * tanh(softplus(x))."""
    x = mnp.asarray(x)
    return x * mnp.tanh(softplus(x))


def soft_sign(x):
    """x / (|x| + 1)."""
    x = mnp.asarray(x)
    return x / (mnp.abs(x) + 1)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)**2 / 4 between, x for x >= 1: a softplus that is exactly 0 and linear
    outside [-1, 1]."""
    x = mnp.asarray(x)
    return mnp.where(x <= -1.0, 0.0, mnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def sparse_sigmoid(x):
    """(x + 1) / 2 clipped to [0, 1], the derivative of sparse_plus; its derivative at -1 and 1 is
    1/4, half of the inside slope, as in JAX."""
    return 0.5 * mnp.clip(mnp.asarray(x) + 1.0, 0.0, 2.0)


def squareplus(x, b=4):
    """(x + sqrt(x**2 + b)) / 2, a smooth relu with smoothness b."""
    x, b = mnp.asarray(x), mnp.asarray(b)
    return (x + mnp.sqrt(mnp.square(x) + b)) / 2


tanh = mnp.tanh


def logmeanexp(x, axis=None, where=None, keepdims=False):
    """log(mean(exp(x))) over axis (over the entries where `where` is True), stable for large x."""
    x = mnp.asarray(x)
    total = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    if where is None:
        axes = range(x.ndim) if axis is None else np.atleast_1d(axis)
        count = mnp.asarray(math.prod(x.shape[a] for a in axes), total.dtype)
    else:
        count = mnp.sum(mnp.broadcast_to(where, x.shape), axis, dtype=total.dtype, keepdims=keepdims)
    return total - mnp.log(count)


def _shifted(name, x, axis, where):
    """x minus its maximum over axis (a constant under differentiation), -inf where `where` is False."""
    (x,) = mnp.promote_args_inexact(name, x)
    largest = mnp.max(x, axis, keepdims=True, initial=-np.inf, where=where)
    if where is not None:
        x = mnp.where(where, x, -np.inf)
    return x - stop_gradient(largest)


def log_softmax(x, axis=-1, where=None):
    """x - logsumexp(x) over axis; -inf where `where` is False."""
    shifted = _shifted("log_softmax", x, axis, where)
    out = shifted - mnp.log(mnp.sum(mnp.exp(shifted), axis, keepdims=True, where=where))
    return out if where is None else mnp.where(where, out, -np.inf)


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) over axis; 0 where `where` is False."""
    unnormalized = mnp.exp(_shifted("softmax", x, axis, where))
    out = unnormalized / mnp.sum(unnormalized, axis, keepdims=True, where=where)
    return out if where is None else mnp.where(where, out, 0)


def one_hot(x, num_classes, *, dtype=None, axis=-1):
    """x's integer entries as one-hot vectors of length num_classes along `axis`."""
    x = mnp.asarray(x)
    classes = lax.broadcasted_iota(np.int32, x.shape + (num_classes,), x.ndim)
    hot = mnp.expand_dims(x, -1) == classes
    out = hot.astype(dtype or mnp.float32)
    return mnp.moveaxis(out, -1, axis) if axis not in (-1, x.ndim) else out


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *, algorithm="fast"):
    """(x - mean) / sqrt(variance + epsilon) over axis, the mean and variance taken over the entries
    where `where` is True. The variance is JAX's: by default ("fast") mean(x ** 2) - mean(x) ** 2,
    clipped at 0; "stable" takes mean((x - mean(x)) ** 2)."""
    x = mnp.asarray(x)
    mean = mnp.mean(x, axis, keepdims=True, where=where) if mean is None else mean
    if variance is None:
        if algorithm == "stable":
            variance = mnp.mean(mnp.square(x - mean), axis, keepdims=True, where=where)
        elif algorithm == "fast":
            variance = mnp.mean(mnp.square(x), axis, keepdims=True, where=where) - mnp.square(mean)
            variance = mnp.maximum(variance, 0.0)
        else:
            raise ValueError(f"standardize: algorithm must be 'fast' or 'stable', got {algorithm!r}")
    return (x - mean) * lax.rsqrt(variance + epsilon)


# -- attention ------------------------------------------------------------------------------------
# Shapes as in JAX's docstring: B batch, T query length, S key/value length, N query heads,
# K key/value heads (N is a multiple of K: grouped-query attention), G = N // K, H head size.


def _as_4d(x):
    """x with leading axes of size 1 added up to 4 axes (a TNH query is a BTNH one with B = 1)."""
    x = mnp.asarray(x)
    return mnp.reshape(x, (1,) * (4 - x.ndim) + x.shape) if x.ndim < 4 else x


def _check_operand(name, x, shape, dtype=None):
    """ValueError unless x (when given) has len(shape) axes, `dtype`, and shape's sizes (-1: any)."""
    if x is None:
        return
    if x.ndim != len(shape):
        raise ValueError(f"dot_product_attention: {name} must have {len(shape)} axes, got shape {x.shape}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"dot_product_attention: {name} must have dtype {np.dtype(dtype).name}, got {x.dtype}")
    if any(want not in (-1, got) for want, got in zip(shape, x.shape)):
        raise ValueError(f"dot_product_attention: {name} must have shape {tuple(shape)} (-1: any size), "
                         f"got {x.shape}")


def _grouped(name, x, query_heads, groups):
    """A (B|1, N|1, T|1, S|1) bias or mask as (B|1, K|1, G|1, T|1, S|1), query heads grouped by key head."""
    if x is None:
        return None
    batch, heads, queries, keys = x.shape
    if heads not in (1, query_heads):
        raise ValueError(f"dot_product_attention: {name} has {heads} heads (shape {x.shape}); it must have 1 "
                         f"or the query's {query_heads}")
    if heads == 1:
        return mnp.reshape(x, (batch, 1, 1, queries, keys))
    return mnp.reshape(x, (batch, heads // groups, groups, queries, keys))


def _attention_mask(mask, is_causal, local_window_size, query_seq_lengths, key_value_seq_lengths, T, S):
    """Which logits (B|1, K|1, G|1, T, S) take part, or None when all do."""
    query_pos = lax.broadcasted_iota(np.int32, (T, S), 0)
    key_pos = lax.broadcasted_iota(np.int32, (T, S), 1)
    parts = [] if mask is None else [mask]
    if is_causal:
        parts.append(key_pos <= query_pos)
    if local_window_size is not None:
        left, right = local_window_size
        parts.append((query_pos <= key_pos + left) & (query_pos >= key_pos - right))
    if query_seq_lengths is not None:
        parts.append(query_pos < query_seq_lengths[:, None, None, None, None])
    if key_value_seq_lengths is not None:
        parts.append(key_pos < key_value_seq_lengths[:, None, None, None, None])
    return functools.reduce(operator.and_, parts) if parts else None


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None, is_causal=False,
                          query_seq_lengths=None, key_value_seq_lengths=None, local_window_size=None,
                          implementation=None, return_residual=False):
    """softmax(query . key / sqrt(H) + bias) . value per head, for BTNH (or TNH) queries and BSKH
    (or SKH) keys and values; N a multiple of K gives grouped-query attention. As in JAX's "xla"
    implementation: logits in float32 (or wider), masked-out logits set to a large negative
    number, query positions past query_seq_lengths zeroed, and with return_residual the
    logsumexp of each row (BTN), not differentiated. implementation="cudnn" is not supported."""
    if implementation == "cudnn":
        raise NotImplementedError("dot_product_attention: implementation='cudnn' (cuDNN flash attention) "
                                  "is not supported; use implementation=None or 'xla'")
    if implementation not in (None, "xla"):
        raise ValueError(f"dot_product_attention: implementation must be None, 'xla' or 'cudnn', "
                         f"got {implementation!r}")
    output_shape = mnp.shape(query)
    query, key, value = _as_4d(query), _as_4d(key), _as_4d(value)
    bias = None if bias is None else _as_4d(bias)
    mask = None if mask is None else _as_4d(mask)
    lengths = [None if n is None else mnp.asarray(n) for n in (query_seq_lengths, key_value_seq_lengths)]
    B, S, K, H = key.shape
    _check_operand("value", value, (B, S, K, H), key.dtype)
    _check_operand("query", query, (B, -1, -1, H), key.dtype)
    _check_operand("mask", mask, (-1,) * 4, np.bool_)
    _check_operand("bias", bias, (-1,) * 4)
    _check_operand("query_seq_lengths", lengths[0], (B,), np.int32)
    _check_operand("key_value_seq_lengths", lengths[1], (B,), np.int32)
    T, N = query.shape[1], query.shape[2]
    if N % K:
        raise ValueError(f"dot_product_attention: the number of query heads ({N}) must be a multiple of the "
                         f"number of key/value heads ({K})")
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    G = N // K
    logits_dtype = mnp.promote_types(query.dtype, np.float32)
    grouped_query = mnp.reshape(query, (B, T, K, G, H))
    logits = mnp.einsum("btkgh,bskh->bkgts", grouped_query, key, preferred_element_type=logits_dtype)
    logits = logits * mnp.asarray(1.0 / math.sqrt(H) if scale is None else scale, logits_dtype)
    if bias is not None:
        logits = (logits + _grouped("bias", bias, N, G)).astype(logits_dtype)
    keep = _attention_mask(_grouped("mask", mask, N, G), is_causal, local_window_size, *lengths, T, S)
    if keep is not None:
        # JAX's large negative number: finite in float32, so that a fully masked row averages.
        large_negative = -0.7 * min(float(mnp.finfo(logits_dtype).max), float(mnp.finfo(np.float32).max))
        logits = mnp.where(keep, logits, mnp.asarray(large_negative, logits_dtype))
    logits = logits.astype(np.float32)
    probabilities = softmax(logits, axis=-1).astype(key.dtype)
    encoded = mnp.einsum("bkgts,bskh->btkgh", probabilities, value)
    if lengths[0] is not None:
        real_query = lax.broadcasted_iota(np.int32, (B, T), 1) < lengths[0][:, None]
        encoded = encoded * real_query[:, :, None, None, None].astype(encoded.dtype)
    encoded = mnp.reshape(encoded, output_shape)
    if not return_residual:
        return encoded
    residual = logsumexp(logits, axis=-1).astype(key.dtype)  # (B, K, G, T)
    residual = mnp.reshape(mnp.transpose(residual, (0, 3, 1, 2)), output_shape[:-1])
    return encoded, stop_gradient(residual)


# -- block-scaled (microscaling) products ------------------------------------------------------
# mlax has no 8- and 4-bit float arrays: quantized values are kept as the float32 numbers they
# stand for (rounded to the format's grid, to nearest even as a conversion rounds), and the
# products are computed in float32, as JAX's scaled_matmul defines them.


@dataclasses.dataclass
class BlockScaleConfig:
    """How scaled_dot_general quantizes an operand: each block of block_size entries along the
    contraction shares one scale of scale_type, and entries are rounded to data_type; in
    "nvfp4" mode the operand is divided by global_scale first."""
    mode: str
    block_size: int
    data_type: Any
    scale_type: Any
    global_scale: Any
    infer_only: bool


def get_scaled_dot_general_config(mode, global_scale=None):
    """The BlockScaleConfig of "mxfp8" (float8_e4m3fn in blocks of 32, power-of-two scales) or
    "nvfp4" (float4_e2m1fn in blocks of 16, float8_e4m3fn scales, a float32 global scale, 1 by
    default). Unlike JAX, which ignores it, a global_scale for "mxfp8" is an error."""
    if mode == "mxfp8":
        if global_scale is not None:
            raise ValueError("get_scaled_dot_general_config: mode 'mxfp8' has no global_scale")
        return BlockScaleConfig("mxfp8", 32, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e8m0fnu, None, False)
    if mode == "nvfp4":
        global_scale = mnp.ones((1,), np.float32) if global_scale is None else global_scale
        return BlockScaleConfig("nvfp4", 16, ml_dtypes.float4_e2m1fn, ml_dtypes.float8_e4m3fn, global_scale, False)
    raise ValueError(f"get_scaled_dot_general_config: mode must be 'mxfp8' or 'nvfp4', got {mode!r}")


def scaled_matmul(lhs, rhs, lhs_scales, rhs_scales, preferred_element_type=np.float32):
    """einsum("bmk,bnk->bmn") of lhs and rhs, each multiplied by its scales repeated over blocks
    of the contraction (K // K_scales entries share a scale), computed in float32."""
    lhs, rhs, lhs_scales, rhs_scales = (mnp.asarray(x) for x in (lhs, rhs, lhs_scales, rhs_scales))
    if any(x.ndim != 3 for x in (lhs, rhs, lhs_scales, rhs_scales)):
        raise ValueError("scaled_matmul: lhs, rhs and their scales must have 3 axes (B, M|N, K), got shapes "
                         f"{lhs.shape}, {rhs.shape}, {lhs_scales.shape}, {rhs_scales.shape}")
    (batch, rows, depth), (rhs_batch, columns, rhs_depth) = lhs.shape, rhs.shape
    if (batch, depth) != (rhs_batch, rhs_depth):
        raise ValueError(f"scaled_matmul: lhs and rhs must agree in batch and contraction (B, K), got shapes "
                         f"{lhs.shape} and {rhs.shape}")
    blocks = lhs_scales.shape[2]
    if (lhs_scales.shape != (batch, rows, blocks) or rhs_scales.shape != (batch, columns, blocks) or not blocks
            or depth % blocks):
        raise ValueError(f"scaled_matmul: the scales must have shapes (B, M, K_s) and (B, N, K_s) with K_s dividing "
                         f"K, got {lhs_scales.shape} and {rhs_scales.shape} for lhs {lhs.shape} and rhs {rhs.shape}")

    def scaled(x, scales):
        return x.astype(np.float32) * mnp.repeat(scales.astype(np.float32), depth // blocks, axis=2)
    out = mnp.einsum("bmk,bnk->bmn", scaled(lhs, lhs_scales), scaled(rhs, rhs_scales))
    return out.astype(preferred_element_type)


def _round_to_format(x, fmt):
    """x (float32, within fmt's range) rounded to the nearest number of the float format fmt, ties
    to even; NaN becomes 0 in a format without NaN (float4_e2m1fn), as a conversion makes it."""
    info = ml_dtypes.finfo(fmt)
    exponent = (lax.bitcast_convert_type(mnp.abs(x), np.uint32) >> 23).astype(np.int32) - 127
    exponent = mnp.maximum(exponent, int(info.minexp))  # subnormals are spaced as the smallest normals
    spacing = lax.bitcast_convert_type(((exponent - int(info.nmant) + 127) << 23).astype(np.uint32), np.float32)
    rounded = mnp.round(x / spacing) * spacing
    if np.isnan(np.array(np.nan, np.float32).astype(fmt).astype(np.float32)):
        return rounded
    return mnp.where(mnp.isnan(x), mnp.zeros_like(x), rounded)


def _quantize(x, config, global_scale):
    """(x's values as config's data type, the block scales), both as float32, for x of shape
    (B, M, K): what JAX's block quantization computes, in x's dtype where it does."""
    batch, rows, depth = x.shape
    size = config.block_size
    if depth < size or depth % size:
        raise ValueError(f"scaled_dot_general: the contraction ({depth} entries) must be a multiple of the "
                         f"{config.mode} block size {size}")
    largest = float(ml_dtypes.finfo(config.data_type).max)
    blocks = mnp.reshape(x, (batch, rows, depth // size, size))
    if config.mode == "mxfp8":
        # The scale is the power of two at or above max|block| / largest: its biased exponent,
        # rounded up as JAX rounds it (not for the subnormals below 2**-127).
        ratio = (mnp.max(mnp.abs(blocks), axis=-1, keepdims=True) / largest).astype(np.float32)
        bits = lax.bitcast_convert_type(ratio, np.uint32)
        exponent, mantissa = bits >> 23, bits & 0x7FFFFF
        up = (mantissa > 0) & (exponent != 254) & ~((exponent == 0) & (mantissa <= 0x400000))
        exponent = mnp.where(up, exponent + 1, exponent)
        scales = lax.bitcast_convert_type(exponent << 23, np.float32)
        # Dividing by the scale is multiplying by 2**(127 - exponent), exactly; a zero scale
        # (exponent 0) divides by JAX's stand-in 2**-127.
        inverse = lax.bitcast_convert_type(mnp.clip(254 - exponent.astype(np.int32), 0, 254).astype(np.uint32) << 23,
                                           np.float32)
        scaled = (blocks.astype(np.float32) * inverse).astype(x.dtype)
    else:
        blocks = blocks / global_scale
        ratio = mnp.max(mnp.abs(blocks), axis=-1, keepdims=True) / largest
        scale_largest = float(ml_dtypes.finfo(config.scale_type).max)
        scales = _round_to_format(mnp.clip(ratio, 0, scale_largest).astype(np.float32), config.scale_type)
        scaled = blocks / scales
    values = _round_to_format(mnp.clip(scaled, -largest, largest).astype(np.float32), config.data_type)
    return mnp.reshape(values, x.shape), mnp.reshape(scales, (batch, rows, depth // size))


def _as_batched_matrix(x, contracting, batch):
    """x with its batch axes, then its other axes, then its contracting axes (each group in x's
    axis order, as JAX orders them) flattened to (B, M, K)."""
    kept = [d for d in range(x.ndim) if d not in contracting and d not in batch]
    groups = [sorted(batch), kept, sorted(contracting)]
    x = mnp.transpose(x, [d for group in groups for d in group])
    return mnp.reshape(x, tuple(math.prod(x.shape[i] for i in range(start, start + len(group)))
                                for start, group in zip((0, len(batch), len(batch) + len(kept)), groups)))


def _quantized_product(a, b, configs, global_scales, preferred_element_type):
    """scaled_matmul of a and b (B, M, K), (B, N, K) quantized by configs[0] and configs[1]."""
    (qa, sa), (qb, sb) = (_quantize(x, c, g) for x, c, g in zip((a, b), configs, global_scales))
    if configs[0].mode != "nvfp4":
        return scaled_matmul(qa, qb, sa, sb, preferred_element_type)
    out = scaled_matmul(qa, qb, sa, sb) * (global_scales[0] * global_scales[1])
    return out.astype(preferred_element_type)


def _kept_shape(x, contracting, batch):
    return [n for d, n in enumerate(x.shape) if d not in contracting and d not in batch]


@functools.partial(custom_vjp, nondiff_argnums=(4, 5, 6))
def _scaled_dot(lhs, rhs, lhs_global_scale, rhs_global_scale, dimension_numbers, preferred_element_type, configs):
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    a = _as_batched_matrix(lhs, lhs_contract, lhs_batch)
    b = _as_batched_matrix(rhs, rhs_contract, rhs_batch)
    out = _quantized_product(a, b, configs[:2], (lhs_global_scale, rhs_global_scale), preferred_element_type)
    batch_shape = [lhs.shape[d] for d in sorted(lhs_batch)]
    shape = batch_shape + _kept_shape(lhs, lhs_contract, lhs_batch) + _kept_shape(rhs, rhs_contract, rhs_batch)
    return mnp.reshape(out, shape)


def _scaled_dot_fwd(lhs, rhs, lhs_global_scale, rhs_global_scale, dimension_numbers, preferred_element_type,
                    configs):
    out = _scaled_dot(lhs, rhs, lhs_global_scale, rhs_global_scale, dimension_numbers, preferred_element_type,
                      configs)
    return out, (lhs, rhs, lhs_global_scale, rhs_global_scale)


def _operand_cotangent(g, x, y, x_dims, y_dims, y_global_scale, preferred_element_type, configs, x_first):
    """The cotangent of operand x of the product with y, as JAX's scaled_dot_general computes it:
    g times y, contracting y's kept axes; both quantized by configs (g's, y's) unless g's config
    is "nvfp4", which multiplies them unquantized."""
    (x_contract, x_batch), (y_contract, y_batch) = x_dims, y_dims
    x_kept = [d for d in range(x.ndim) if d not in x_contract and d not in x_batch]
    y_kept = [d for d in range(y.ndim) if d not in y_contract and d not in y_batch]
    # g's axes: the batch axes, then the first operand's kept axes, then the second's.
    y_start = len(x_batch) + (len(x_kept) if x_first else 0)
    g_y_axes = list(range(y_start, y_start + len(y_kept)))
    g_matrix = _as_batched_matrix(g, g_y_axes, list(range(len(x_batch))))
    y_matrix = _as_batched_matrix(y, y_kept, y_batch)  # (B, y's contracting, y's kept)
    if configs[0].mode != "nvfp4":
        out = _quantized_product(g_matrix, y_matrix, configs, (None, y_global_scale), preferred_element_type)
    else:
        out = mnp.matmul(g_matrix, mnp.swapaxes(y_matrix, 1, 2), preferred_element_type=preferred_element_type)
    batch_shape = [g.shape[d] for d in range(len(x_batch))]
    shape = batch_shape + [x.shape[d] for d in x_kept] + [y.shape[d] for d in sorted(y_contract)]
    x_contract_in_y_order = [x_contract[i] for i in np.argsort(y_contract)]
    order = np.argsort(list(x_batch) + x_kept + x_contract_in_y_order)
    return mnp.transpose(mnp.reshape(out, shape), tuple(int(d) for d in order))


def _scaled_dot_bwd(dimension_numbers, preferred_element_type, configs, residuals, g):
    lhs, rhs, lhs_global_scale, rhs_global_scale = residuals
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    lhs_dims, rhs_dims = (lhs_contract, lhs_batch), (rhs_contract, rhs_batch)
    grad_lhs = _operand_cotangent(g, lhs, rhs, lhs_dims, rhs_dims, rhs_global_scale, preferred_element_type,
                                  (configs[2], configs[1]), x_first=True)
    grad_rhs = _operand_cotangent(g, rhs, lhs, rhs_dims, lhs_dims, lhs_global_scale, preferred_element_type,
                                  (configs[2], configs[0]), x_first=False)
    if configs[2].mode == "nvfp4":
        # A straight-through estimate that passes nothing where the forward quantization clipped.
        largest = float(ml_dtypes.finfo(configs[0].data_type).max)
        scale_largest = float(ml_dtypes.finfo(configs[0].scale_type).max)
        grad_lhs = mnp.where(mnp.abs(lhs) <= lhs_global_scale * largest * scale_largest, grad_lhs, 0)
        grad_rhs = mnp.where(mnp.abs(rhs) <= rhs_global_scale * largest * scale_largest, grad_rhs, 0)
    # JAX hands back cotangents in preferred_element_type; mlax's have the operands' dtypes.
    return grad_lhs.astype(lhs.dtype), grad_rhs.astype(rhs.dtype), None, None


_scaled_dot.defvjp(_scaled_dot_fwd, _scaled_dot_bwd)


def scaled_dot_general(lhs, rhs, dimension_numbers, preferred_element_type=np.float32, configs=None,
                       implementation=None):
    """lax.dot_general with block-scaled quantization: with configs (from
    get_scaled_dot_general_config: lhs's, rhs's and the output cotangent's), each operand is
    quantized in blocks along the contraction before the product, and the gradients are
    quantized products too; without, it is lax.dot_general. Quantization is emulated in
    float32 (mlax has no 8- or 4-bit float arrays). implementation is deprecated and ignored,
    as in JAX."""
    if implementation is not None:
        warnings.warn("scaled_dot_general: implementation is deprecated and ignored", DeprecationWarning,
                      stacklevel=2)
    if configs is None:
        return lax.dot_general(lhs, rhs, dimension_numbers, preferred_element_type=preferred_element_type)
    if preferred_element_type is None or np.dtype(preferred_element_type) not in (np.float32, dtypes.bfloat16,
                                                                                  np.float16):
        raise TypeError(f"scaled_dot_general: with configs, preferred_element_type must be float32, bfloat16 or "
                        f"float16, got {preferred_element_type}")
    if configs[0].mode != configs[1].mode:
        raise ValueError(f"scaled_dot_general: lhs and rhs must be quantized alike, got modes {configs[0].mode!r} "
                         f"and {configs[1].mode!r}")
    lhs, rhs = mnp.asarray(lhs), mnp.asarray(rhs)
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = (tuple(tuple(int(d) for d in dims) for dims in pair)
                                                            for pair in dimension_numbers)
    unbatched = not lhs_batch
    if unbatched:  # a batch axis of 1, as JAX adds one
        lhs, rhs = mnp.expand_dims(lhs, lhs.ndim), mnp.expand_dims(rhs, rhs.ndim)
        lhs_batch, rhs_batch = (lhs.ndim - 1,), (rhs.ndim - 1,)
    static_configs = tuple(dataclasses.replace(c, global_scale=None) for c in configs)
    out = _scaled_dot(lhs, rhs, configs[0].global_scale, configs[1].global_scale,
                      ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch)), np.dtype(preferred_element_type),
                      static_configs)
    return mnp.squeeze(out, 0) if unbatched else out
from mlax.nn import initializers  # noqa: F401,E402  (jax.nn.initializers)
