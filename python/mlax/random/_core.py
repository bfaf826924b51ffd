"""Keys, random bits and the basic samplers that the distributions build on.

A key is a uint32 array of shape (2,) (`key(seed)`, `PRNGKey(seed)`). Random
bits come from the Threefry-2x32 block cipher applied to a counter per output
element, so the same key gives the same numbers eagerly, under jit and under
vmap; `split` and `fold_in` derive new keys the same way. The bit streams
follow JAX's default Threefry scheme, so a seed draws the same bits as in JAX.
"""

import math
import operator

import numpy as np

import mlax.numpy as mnp
from mlax import config, lax
from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.api.jit import compiled
from mlax.core.trace import aval_of

_UINT32 = np.dtype(np.uint32)


# Threefry-2x32 rotation constants, for the even and odd groups of four rounds.
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def _u32(value, shape=()):
    return lax.full(shape, value, _UINT32)


def _rotate_left(x, distance):
    shape = aval_of(x).shape
    return lax.bitwise_or(lax.shift_left(x, _u32(distance, shape)),
                          lax.shift_right_logical(x, _u32(32 - distance, shape)))


def _key_words(key, shape):
    """The key's two uint32 words, broadcast to `shape`."""
    _check_key(key)
    words = [lax.reshape(lax.slice(key, (i,), (i + 1,)), ()) for i in (0, 1)]
    return [lax.broadcast_in_dim(w, shape, ()) for w in words]


def _check_key(key):
    aval = aval_of(key)
    if aval.shape != (2,) or aval.dtype != _UINT32:
        raise TypeError(f"expected a PRNG key (uint32[2], from mlax.random.key(seed)), got {aval.str_short()}")


def threefry_2x32(key, counts_hi, counts_lo):
    """Threefry-2x32 (20 rounds) of the counter pairs (counts_hi, counts_lo) under `key`."""
    shape = aval_of(counts_hi).shape
    k0, k1 = _key_words(key, shape)
    schedule = [k0, k1, lax.bitwise_xor(lax.bitwise_xor(k0, k1), _u32(_PARITY, shape))]
    x0, x1 = lax.add(counts_hi, schedule[0]), lax.add(counts_lo, schedule[1])
    for group in range(5):
        for rotation in _ROTATIONS[group % 2]:
            x0 = lax.add(x0, x1)
            x1 = lax.bitwise_xor(_rotate_left(x1, rotation), x0)
        x0 = lax.add(x0, schedule[(group + 1) % 3])
        x1 = lax.add(lax.add(x1, schedule[(group + 2) % 3]), _u32(group + 1, shape))
    return x0, x1


def _counters(shape):
    """The row-major index of every element of `shape`, as (high, low) uint32 words."""
    size = math.prod(shape)
    if size >= 2 ** 32:
        raise NotImplementedError(f"random arrays of 2**32 elements or more (shape {shape})")
    low = lax.reshape(lax.iota(_UINT32, size), shape)
    return _u32(0, shape), low


def key(seed):
    """A PRNG key from an integer seed: its high and low 32-bit words (as JAX, the high
    word is 0 unless the seed is a 64-bit integer, which needs x64)."""
    if isinstance(seed, ArrayMethods):
        if seed.shape != () or not dtypes.is_integer(seed.dtype):
            raise TypeError(f"PRNG key seed must be an integer scalar, got {seed.aval.str_short()}")
        low = lax.convert_element_type(seed, _UINT32)
        high = _u32(0)
        if seed.dtype.itemsize == 8:
            high = lax.convert_element_type(lax.shift_right_logical(seed, lax.full((), 32, seed.dtype)), _UINT32)
        return lax.concatenate([lax.reshape(high, (1,)), lax.reshape(low, (1,))], 0)
    seed = operator.index(seed)
    if config.x64_enabled():
        words = [(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF]
    else:
        if not -2 ** 31 <= seed < 2 ** 32:
            raise OverflowError(f"seed {seed} does not fit 32 bits; enable x64 for 64-bit seeds")
        words = [0, seed & 0xFFFFFFFF]
    return mnp.asarray(np.array(words, dtype=np.uint32))


PRNGKey = key


def key_data(keys):
    """The uint32 words of `keys` (mlax's keys are their words already)."""
    return keys


def wrap_key_data(data):
    """Keys from their uint32 words."""
    return mnp.asarray(data, dtype=_UINT32)


_IMPLEMENTATION = "threefry2x32"
_JAX_IMPLEMENTATIONS = ("threefry2x32", "threefry4x32", "philox2x32", "philox4x32", "rbg", "unsafe_rbg")


def key_impl(keys):
    """The name of the generator behind `keys` (of any batch shape): always "threefry2x32"."""
    aval = aval_of(mnp.asarray(keys))
    if aval.shape[-1:] != (2,) or aval.dtype != _UINT32:
        raise TypeError(f"expected PRNG keys (uint32[..., 2]), got {aval.str_short()}")
    return _IMPLEMENTATION


def key_dtype(impl_spec=None):
    """The dtype of mlax's keys for the generator `impl_spec` (None: the default): mlax's keys
    are raw key data, so this is uint32 where JAX gives its extended key dtype."""
    if impl_spec not in (None, _IMPLEMENTATION):
        if impl_spec in _JAX_IMPLEMENTATIONS:
            raise NotImplementedError(f"key_dtype impl_spec={impl_spec!r}: mlax implements only threefry2x32")
        raise ValueError(f"unrecognized PRNG implementation {impl_spec!r}; mlax has only \"threefry2x32\"")
    return _UINT32


def clone(key):
    """`key` itself: a copy for reuse (JAX's key-reuse checker is the only thing that tells them apart)."""
    _check_key(mnp.asarray(key))
    return key


@compiled("num")
def split(key, num=2):
    """`num` new keys from `key`, as an array of shape (num, 2)."""
    shape = (num,) if isinstance(num, int) else tuple(num)
    high, low = _counters(shape)
    first, second = threefry_2x32(key, high, low)
    return lax.concatenate([lax.expand_dims(first, (len(shape),)), lax.expand_dims(second, (len(shape),))],
                           len(shape))


def fold_in(key, data):
    """A new key from `key` and the integer `data` (a Python int must fit uint32, as in JAX)."""
    if isinstance(data, int):
        data = np.asarray(data, _UINT32)  # OverflowError outside [0, 2**32), as in JAX
    data = lax.convert_element_type(mnp.asarray(data), _UINT32)
    if aval_of(data).shape != ():
        raise TypeError(f"fold_in data must be a scalar, got shape {aval_of(data).shape}")
    first, second = threefry_2x32(key, lax.reshape(_u32(0), (1,)), lax.reshape(data, (1,)))
    return lax.concatenate([first, second], 0)


@compiled("shape", "dtype")
def bits(key, shape=(), dtype=np.uint32):
    """Uniformly random unsigned integers of `shape`."""
    shape = _shape(shape)
    dtype = np.dtype(dtype)
    first, second = threefry_2x32(key, *_counters(shape))
    if dtype == np.dtype(np.uint64):  # the two words side by side, as JAX joins them
        high, low = (lax.convert_element_type(word, dtype) for word in (first, second))
        return lax.bitwise_or(lax.shift_left(high, lax.full(shape, 32, dtype)), low)
    raw = lax.bitwise_xor(first, second)
    if dtype == _UINT32:
        return raw
    if dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise TypeError(f"bits supports uint8, uint16, uint32 and uint64, got {dtype.name}")
    return lax.convert_element_type(raw, dtype)


def _shape(shape):
    return (operator.index(shape),) if np.ndim(shape) == 0 else tuple(operator.index(d) for d in shape)


def _float_dtype(name, dtype, complex_ok=False):
    """`dtype` (None: the default float) canonicalized; a ValueError naming `name` unless it is a
    float dtype (or complex, where `complex_ok`), as in JAX."""
    dtype = dtypes.canonicalize(dtype or dtypes.default_float())
    if not (dtypes.is_float(dtype) or complex_ok and dtypes.is_complex(dtype)):
        kinds = "a float or complex" if complex_ok else "a float"
        raise ValueError(f"dtype argument to `{name}` must be {kinds} dtype, got {dtype.name}")
    return dtype


def _check_shape(name, shape, *param_shapes):
    """A ValueError unless the parameters' shapes broadcast to `shape` itself."""
    if param_shapes:
        joint = mnp.broadcast_shapes(shape, *param_shapes)
        if joint != shape:
            raise ValueError(f"{name} parameter shapes must broadcast to the shape argument {shape}, but "
                             f"broadcasting the shapes {list(param_shapes)} with it gives {joint}")


def _sample_shape(name, shape, *params):
    """The samples' shape: `shape`, which the parameters' shapes must broadcast to, or (None)
    the parameters' shapes broadcast together."""
    param_shapes = [np.shape(p) for p in params]
    if shape is None:
        return tuple(mnp.broadcast_shapes(*param_shapes)) if param_shapes else ()
    shape = _shape(shape)
    _check_shape(name, shape, *param_shapes)
    return shape


def _as_param(value, dtype, shape=None):
    """A distribution's parameter as an array of `dtype`, broadcast to `shape` where one is given."""
    value = mnp.asarray(value).astype(dtype)
    return value if shape is None else mnp.broadcast_to(value, shape)


def _check_safe_cast(name, dtype, *params):
    """A ValueError (JAX's TypePromotionError) where a parameter would lose precision in `dtype`."""
    for param in params:
        if mnp.result_type(param, dtype) != dtype:
            raise ValueError(f"In arguments to {name}, cannot safely cast argument of type "
                             f"{mnp.result_type(param).name} to {np.dtype(dtype).name}")


@compiled("shape", "dtype")
def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Floats uniform in [minval, maxval), of `shape`."""
    shape, dtype = _shape(shape), _float_dtype("uniform", dtype)
    info = dtypes.finfo(dtype)
    width = dtype.itemsize * 8
    mantissa = info.nmant
    unsigned = np.dtype(f"uint{width}")
    # As JAX draws them: the low `drawn` bits of each 32-bit draw (8 when the mantissa has
    # fewer, as bfloat16's 7), their top `mantissa` bits with the exponent of 1.0: a float in [1, 2).
    drawn = 8 if mantissa < 8 else width
    raw = lax.convert_element_type(bits(key, shape, np.dtype(f"uint{drawn}")), unsigned)
    one_bits = np.array(1.0, dtype).view(unsigned).item()
    shifted = lax.shift_right_logical(raw, lax.full(shape, drawn - mantissa, unsigned))
    floats = lax.bitcast_convert_type(lax.bitwise_or(shifted, lax.full(shape, one_bits, unsigned)), dtype)
    floats = lax.sub(floats, lax.full(shape, 1.0, dtype))
    minval = mnp.broadcast_to(mnp.asarray(minval, dtype), shape)
    maxval = mnp.broadcast_to(mnp.asarray(maxval, dtype), shape)
    return lax.max(minval, lax.add(lax.mul(floats, lax.sub(maxval, minval)), minval))


@compiled("shape", "dtype")
def normal(key, shape=(), dtype=None):
    """Standard normal numbers of `shape`; for a complex dtype, real and imaginary parts each
    of variance 1/2, drawn from the two halves of split(key), as in JAX."""
    shape, dtype = _shape(shape), _float_dtype("normal", dtype, complex_ok=True)
    if dtypes.is_complex(dtype):
        real_key, imaginary_key = split(key)
        part_dtype = dtypes.real_dtype(dtype)
        real, imaginary = (normal(k, shape, part_dtype).astype(dtype) for k in (real_key, imaginary_key))
        return (real + 1j * imaginary) / np.array(np.sqrt(2), dtype)
    lowest = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = uniform(key, shape, dtype, lowest, 1.0)
    return lax.mul(lax.full(shape, np.sqrt(2), dtype), lax.erf_inv(u))


@compiled("shape", "dtype")
def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal floats conditioned on lower < x < upper."""
    dtype = _float_dtype("truncated_normal", dtype)
    if shape is None:
        shape = np.broadcast_shapes(np.shape(lower), np.shape(upper))
    shape = _shape(shape)
    sqrt2 = np.sqrt(2)
    lower = mnp.broadcast_to(mnp.asarray(lower, dtype), shape)
    upper = mnp.broadcast_to(mnp.asarray(upper, dtype), shape)
    a, b = lax.erf(lower / sqrt2), lax.erf(upper / sqrt2)
    u = uniform(key, shape, dtype, a, b)
    out = lax.mul(lax.full(shape, sqrt2, dtype), lax.erf_inv(u))
    tiny = dtypes.finfo(dtype).eps
    return mnp.clip(out, lower + mnp.abs(lower) * tiny, upper - mnp.abs(upper) * tiny)


@compiled("shape")
def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability p."""
    p = mnp.asarray(p)
    shape = _shape(np.shape(p) if shape is None else shape)
    if not dtypes.is_float(p.dtype):
        p = p.astype(dtypes.default_float())
    return uniform(key, shape, p.dtype) < p


def _wide_bits(key, shape, width):
    """Random unsigned integers of `width` bits (32 or 64)."""
    if width == 32:
        return bits(key, shape)
    high_key, low_key = split(key)
    wide = np.dtype(np.uint64)
    high = lax.convert_element_type(bits(high_key, shape), wide)
    low = lax.convert_element_type(bits(low_key, shape), wide)
    return lax.bitwise_or(lax.shift_left(high, lax.full(shape, 32, wide)), low)


@compiled("shape", "dtype")
def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform in [minval, maxval), of `shape`. As JAX draws them: integers of fewer
    than 32 bits are drawn as int32 (bounds clipped to the dtype's range, maxval to one past
    it) and converted."""
    shape = _shape(shape)
    dtype = dtypes.canonicalize(dtype or dtypes.default_int())
    if not dtypes.is_integer(dtype):
        raise TypeError(f"randint requires an integer dtype, got {np.dtype(dtype).name}")
    minval, maxval = mnp.asarray(minval), mnp.asarray(maxval)
    info = dtypes.iinfo(dtype)
    if info.bits >= 32:
        return _randint(key, shape, minval, maxval, dtype)
    minval = mnp.clip(minval.astype(np.int32), int(info.min), int(info.max))
    maxval = mnp.clip(maxval.astype(np.int32), int(info.min), int(info.max) + 1)
    return _randint(key, shape, minval, maxval, np.dtype(np.int32)).astype(dtype)


def _clipped(value, dtype):
    """An integer array converted to `dtype`, clipped to its range rather than wrapped."""
    inner, outer = dtypes.iinfo(value.dtype), dtypes.iinfo(dtype)
    low, high = max(int(outer.min), int(inner.min)), min(int(outer.max), int(inner.max))
    return mnp.clip(value, np.array(low, value.dtype), np.array(high, value.dtype)).astype(dtype)


def _randint(key, shape, minval, maxval, dtype):
    if not dtypes.is_integer(minval.dtype):
        minval = minval.astype(dtypes.default_int())
    if not dtypes.is_integer(maxval.dtype):
        maxval = maxval.astype(dtypes.default_int())
    # maxval past the dtype's largest value (randint(key, (), 0, 256, uint8)): one more in the span.
    past_the_end = maxval > _clipped(mnp.asarray(np.array(dtypes.iinfo(dtype).max, dtype)), maxval.dtype)
    minval = mnp.broadcast_to(_clipped(minval, dtype), shape)
    maxval = mnp.broadcast_to(_clipped(maxval, dtype), shape)
    past_the_end = mnp.broadcast_to(past_the_end, shape)
    width = dtypes.iinfo(dtype).bits
    unsigned = np.dtype(f"uint{width}")
    high_key, low_key = split(key)
    higher, lower = _wide_bits(high_key, shape, width), _wide_bits(low_key, shape, width)
    # The span as an unsigned number; 1 for an empty range, so that minval comes out.
    span = lax.convert_element_type(lax.sub(maxval, minval), unsigned)
    span = lax.select(lax.le(maxval, minval), lax.full(shape, 1, unsigned), span)
    one_more = lax.bitwise_and(past_the_end, lax.gt(maxval, minval))
    span = lax.select(one_more, lax.add(span, lax.full(shape, 1, unsigned)), span)
    # (higher * 2^width + lower) mod span, so that all residues are (nearly) equally likely.
    multiplier = lax.rem(lax.full(shape, 2 ** (width // 2), unsigned), span)
    multiplier = lax.rem(lax.mul(multiplier, multiplier), span)
    offset = lax.add(lax.mul(lax.rem(higher, span), multiplier), lax.rem(lower, span))
    return lax.add(minval, lax.convert_element_type(lax.rem(offset, span), dtype))


@compiled("shape", "dtype")
def gumbel(key, shape=(), dtype=None):
    """Standard Gumbel floats of `shape`."""
    shape, dtype = _shape(shape), _float_dtype("gumbel", dtype)
    tiny = dtypes.finfo(dtype).tiny
    return -mnp.log(-mnp.log(uniform(key, shape, dtype, tiny, 1.0)))


@compiled("axis", "shape")
def categorical(key, logits, axis=-1, shape=None):
    """Indices drawn with probabilities softmax(logits) along `axis`. As JAX draws them: Gumbel
    noise of the sample's shape with the categories' axis where `axis` puts it."""
    logits = mnp.asarray(logits)
    axis = axis % logits.ndim - logits.ndim  # negative: it counts from the end in the noise too
    batch_shape = logits.shape[:logits.ndim + axis] + logits.shape[logits.ndim + axis + 1:]
    shape = batch_shape if shape is None else _shape(shape)
    prefix = shape[:len(shape) - len(batch_shape)]
    noise_shape = list(shape[len(shape) - len(batch_shape):])
    noise_shape.insert(axis % logits.ndim, logits.shape[axis])
    noise = gumbel(key, prefix + tuple(noise_shape), logits.dtype)
    return mnp.argmax(noise + mnp.expand_dims(logits, tuple(range(len(prefix)))), axis=axis)


def permutation(key, x, axis=0, independent=False):
    """A random permutation of range(x) (for an int x) or of x's entries along `axis`; with
    `independent`, each slice of x along `axis` is permuted on its own, as in JAX."""
    if isinstance(x, int) or (np.ndim(x) == 0 and not isinstance(x, ArrayMethods)):
        values = lax.iota(dtypes.default_int(), operator.index(x))
        axis = 0
    else:
        values = mnp.asarray(x)
        axis = axis % values.ndim
    if independent and values.ndim > 1:
        # JAX's shuffle: sort the elements along `axis` by random keys of x's shape.
        rounds = math.ceil(3 * math.log(max(1, values.size)) / math.log(2 ** 32 - 1))
        for _ in range(rounds):
            key, subkey = split(key)
            values = lax.sort_key_val(bits(subkey, values.shape), values, axis)[1]
        return values
    size = values.shape[axis]
    rounds = max(1, math.ceil(3 * math.log(max(size, 2)) / math.log(2 ** 32 - 1)))
    order = lax.iota(np.int32, size)
    for _ in range(rounds):
        key, subkey = split(key)
        sort_keys = bits(subkey, (size,))
        order = lax.sort_key_val(sort_keys, order, 0)[1]
    return mnp.take(values, order, axis=axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0):
    """Random entries of a (or of range(a) for an int a), with or without replacement."""
    shape = _shape(shape)
    population = operator.index(a) if isinstance(a, int) else mnp.asarray(a).shape[axis]
    count = math.prod(shape)
    if not replace and count > population:
        raise ValueError(f"cannot take {count} samples without replacement from {population} entries")
    if p is None:
        if replace:
            picks = randint(key, shape, 0, population)
        else:
            picks = lax.reshape(lax.slice(permutation(key, population), (0,), (count,)), shape)
    elif replace:
        # As JAX draws them: where a uniform point of the total falls among the cumulative weights.
        cumulative = mnp.cumsum(mnp.asarray(p))
        point = cumulative[-1] * (1 - uniform(key, shape, cumulative.dtype))
        picks = mnp.searchsorted(cumulative, point).astype(dtypes.default_int())
    else:
        log_p = mnp.log(mnp.asarray(p))
        noisy = log_p + gumbel(key, (population,), log_p.dtype)
        picks = lax.reshape(lax.top_k(noisy, count)[1], shape)
    if isinstance(a, int):
        return picks
    return mnp.take(mnp.asarray(a), picks, axis=axis)
