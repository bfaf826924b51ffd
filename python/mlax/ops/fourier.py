"""The Fourier transform op: fft, the discrete Fourier transform over an array's trailing
axes (jax.lax.fft), complex to complex (FFT, IFFT), real to complex (RFFT) and back (IRFFT).

    %1 = "mlax.fft"(%x) {fft_lengths = array<i64: 8>, fft_type = "FFT"}
           : (tensor<4x8xcomplex<f32>>) -> tensor<4x8xcomplex<f32>>

The lowering builds the transform from slices, reshapes, concatenations and real
arithmetic, not stablehlo.fft: IREE 3.13 compiles stablehlo.fft for llvm-cpu only at
power-of-two lengths ("failed to legalize operation 'stablehlo.fft'" at any other) and for
vulkan-spirv at none ("failed to legalize unresolved target materialization from ('i64')
to ('vector<2xi32>')").
1. A complex array is carried as two real tensors, its real and imaginary parts.
2. Each transformed axis gets a one-dimensional transform. A length whose prime factors
   are all at most 13 goes through mixed-radix Stockham stages: each stage splits the
   axis into `radix` slices, combines them with one small DFT and the twiddle factors,
   and concatenates the results so that the output comes out in natural order. Any
   other length is Bluestein's chirp-z transform: a cyclic convolution computed with
   transforms of a power-of-two length of at least 2n - 1.
3. A real transform of even length n reads the reals as n/2 complex numbers (even
   elements the real parts, odd ones the imaginary parts) and untangles the spectrum of
   the half-length transform; the inverse tangles a spectrum the same way.
Twiddle factors are computed in float64 with NumPy when the op is lowered.
"""

import enum
import math

import numpy as np

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import aval_of
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_front
from mlax.ops._rules import deflinear

__all__ = ["FftType", "fft"]


class FftType(enum.IntEnum):
    """Which discrete Fourier transform lax.fft computes."""

    FFT = 0    # complex to complex
    IFFT = 1   # its inverse, scaled by 1 / (product of the lengths)
    RFFT = 2   # real to complex: the last axis keeps its n // 2 + 1 non-negative frequencies
    IRFFT = 3  # the inverse of RFFT, from those frequencies back to n reals


# -- complex values as pairs of real StableHLO values -------------------------------------

def _real_op(name, a, b):
    return _hlo.value(f"stablehlo.{name}", [a, b], a.type)


def _mul(a, b):
    return _real_op("multiply", a, b)


def _negate(v):
    return _hlo.value("stablehlo.negate", [v], v.type)


def _reverse(v, axis):
    return _hlo.value("stablehlo.reverse", [v], v.type, dimensions=(axis,))


def _slice(v, axis, start, limit):
    shape = list(_hlo.shape_of(v))
    starts, limits = [0] * len(shape), list(shape)
    starts[axis], limits[axis], shape[axis] = start, limit, limit - start
    return _hlo.value("stablehlo.slice", [v], mlir.tensor_type(shape, _hlo.dtype_of(v)), start_indices=tuple(starts),
                      limit_indices=tuple(limits), strides=(1,) * len(shape))


def _concatenate(values, axis):
    shape = list(_hlo.shape_of(values[0]))
    shape[axis] = sum(_hlo.shape_of(v)[axis] for v in values)
    return _hlo.value("stablehlo.concatenate", values, mlir.tensor_type(shape, _hlo.dtype_of(values[0])),
                      dimension=axis)


class _Parts:
    """A complex tensor as its real and imaginary parts, two real values of one shape."""

    def __init__(self, re, im):
        self.re, self.im = re, im

    @property
    def shape(self):
        return _hlo.shape_of(self.re)

    def apply(self, transform):
        """The same structural transform (slice, reshape, ...) of both parts (a real
        value's missing imaginary part stays missing)."""
        return _Parts(transform(self.re), None if self.im is None else transform(self.im))

    def __add__(self, other):
        return _Parts(_real_op("add", self.re, other.re), _real_op("add", self.im, other.im))

    def __sub__(self, other):
        return _Parts(_real_op("subtract", self.re, other.re), _real_op("subtract", self.im, other.im))

    def conj(self):
        return _Parts(self.re, _negate(self.im))

    def times_i(self, sign):
        """self * (sign * i)."""
        return _Parts(_negate(self.im), self.re) if sign > 0 else _Parts(self.im, _negate(self.re))

    def scaled(self, factor):
        """self * a real number."""
        constant = _hlo.constant(factor, _hlo.dtype_of(self.re), self.shape)
        return self.apply(lambda v: _mul(v, constant))

    def times(self, factors, axes):
        """self * the complex constants `factors` laid along `axes` (broadcast over the others)."""
        shape, dtype = self.shape, _hlo.dtype_of(self.re)
        axes = (axes,) if isinstance(axes, int) else axes
        re, im = (_hlo.broadcast_in_dim(_hlo.constant(part, dtype, part.shape), shape, axes)
                  for part in (factors.real, factors.imag))
        a, b = self.re, self.im
        return _Parts(_real_op("subtract", _mul(a, re), _mul(b, im)), _real_op("add", _mul(a, im), _mul(b, re)))


# -- one-dimensional transforms over axis 1 of (outer, n, inner) values --------------------

_DIRECT = 16       # lengths up to this are one matrix product
_LARGEST_PRIME = 31  # lengths with a larger prime factor go through Bluestein


def _radices(n):
    """The Stockham stages' radices for length n, or None when n has a prime factor
    beyond _LARGEST_PRIME: fours (and a two) first, then the odd primes, grouped into
    radices up to _DIRECT."""
    if n <= _DIRECT:
        return [n]
    radices, odd = [], []
    while n % 4 == 0:
        radices.append(4)
        n //= 4
    if n % 2 == 0:
        radices.append(2)
        n //= 2
    for p in range(3, _LARGEST_PRIME + 1, 2):
        while n % p == 0:
            odd.append(p)
            n //= p
    if n != 1:
        return None
    for p in odd:
        if radices and radices[-1] % 2 and radices[-1] * p <= _DIRECT:
            radices[-1] *= p
        else:
            radices.append(p)
    return radices


def _stack(values, shape, axis):
    """The real values (each of `shape` without `axis`) stacked along `axis`: a select of
    each one broadcast, which IREE fuses into one loop (it writes each piece of a
    concatenation in a loop of its own)."""
    index = _hlo.value("stablehlo.iota", [], mlir.tensor_type(shape, dtypes.int32), iota_dimension=axis)
    dims = [d for d in range(len(shape)) if d != axis]
    out = _hlo.broadcast_in_dim(values[-1], shape, dims)
    for k in range(len(values) - 2, -1, -1):
        chosen = _hlo.compare(index, _hlo.constant(k, dtypes.int32, shape), "EQ")
        out = _hlo.select(chosen, _hlo.broadcast_in_dim(values[k], shape, dims), out)
    return out


def _butterfly_stage(x, radix, sign, split_axis, radix_axis):
    """The radix-2 or radix-4 DFTs of the `radix` slices of x along split_axis, in
    additions, stacked along radix_axis of the slices' shape."""
    part = _hlo.shape_of(x.re)[split_axis] // radix
    xs = [x.apply(lambda v, j=j: _slice(v, split_axis, j * part, (j + 1) * part)) for j in range(radix)]
    if radix == 2:
        ys = [xs[0] + xs[1], xs[0] - xs[1]]
    else:
        even_sum, even_diff = xs[0] + xs[2], xs[0] - xs[2]
        odd_sum, odd_diff = xs[1] + xs[3], (xs[1] - xs[3]).times_i(sign)
        ys = [even_sum + odd_sum, even_diff + odd_diff, even_sum - odd_sum, even_diff - odd_diff]
    shape = xs[0].shape[:radix_axis] + (radix,) + xs[0].shape[radix_axis:]
    return _Parts(_stack([y.re for y in ys], shape, radix_axis), _stack([y.im for y in ys], shape, radix_axis))


def _matrix_stage(x, radix, sign, split_axis, radix_axis):
    """The radix-point DFTs of the `radix` slices of x along split_axis, as one product of
    the real and imaginary parts, stacked, with the DFT's matrix written for them; the
    results stacked along radix_axis of the slices' shape."""
    shape, dtype = list(_hlo.shape_of(x.re)), _hlo.dtype_of(x.re)
    split = tuple(shape[:split_axis] + [radix, shape[split_axis] // radix] + shape[split_axis + 1:])
    stacked = _stack([_hlo.reshape(v, split) for v in (x.re, x.im)], (2,) + split, 0)
    dft = np.exp(sign * 2j * np.pi * np.outer(np.arange(radix), np.arange(radix)) / radix)  # [k, j]
    matrix = np.stack([np.stack([dft.real, -dft.imag], 1), np.stack([dft.imag, dft.real], 1)])  # [part', k, part, j]
    numbers = ir.Attribute.parse("#stablehlo.dot<lhs_contracting_dimensions = [2, 3], "
                                 f"rhs_contracting_dimensions = [0, {split_axis + 1}]>")
    free = split[:split_axis] + split[split_axis + 1:]
    product = _hlo.value("stablehlo.dot_general", [_hlo.constant(matrix, dtype, matrix.shape), stacked],
                         mlir.tensor_type((2, radix) + free, dtype), dot_dimension_numbers=numbers)
    order = [1 + i for i in range(radix_axis)] + [0] + [1 + i for i in range(radix_axis, len(free))]
    out = free[:radix_axis] + (radix,) + free[radix_axis:]
    return _Parts(*(_hlo.value("stablehlo.transpose", [_hlo.reshape(_slice(product, 0, i, i + 1), (radix,) + free)],
                               mlir.tensor_type(out, dtype), permutation=tuple(order)) for i in (0, 1)))


def _fence(v):
    """v itself, through a dynamic_slice of all of it at constant offsets, which IREE
    folds away. runtime/fusion_guard.py follows every chain of layout ops from a value
    through the elementwise ops after it, and the stages of a transform multiply those
    chains by their radices (a 1024-point transform after a reduction took 17 s to guard);
    the dynamic_slice, neither layout nor elementwise, ends its search at each stage."""
    shape = _hlo.shape_of(v)
    zero = _hlo.constant(0, dtypes.int32)
    return _hlo.value("stablehlo.dynamic_slice", [v] + [zero] * len(shape), v.type, slice_sizes=tuple(shape))


def _stockham(x, sign):
    """The DFT (exp(sign 2 pi i jk / n), unscaled) of x along axis 1, n = x.shape[1] with
    radices. Before a stage, `done` transforms of length m are left, each of which splits
    in `radix` of length m / radix whose outputs interleave: a stage takes slices of m and
    puts the new split axis just before `done` (more significant), so that the outputs come
    out in order. The value has shape (outer, done, m, inner) while m is long, and
    (outer, m, done, inner) once done is longer, so that the slices a stage reads and the
    pieces it writes stay long runs of memory; one transpose switches."""
    outer, n, inner = x.shape
    x = x.apply(lambda v: _hlo.reshape(v, (outer, 1, n, inner)))
    done, m, front = 1, n, True
    for radix in _radices(n):
        part = m // radix
        if front and done * radix > part:
            x = x.apply(lambda v: _hlo.transpose(v, (0, 2, 1, 3)))
            front = False
        split_axis, radix_axis, part_axis = (2, 1, 3) if front else (1, 2, 1)
        x = (_butterfly_stage if radix in (2, 4) else _matrix_stage)(x, radix, sign, split_axis, radix_axis)
        if part > 1:
            twiddle = np.exp(sign * 2j * np.pi * np.outer(np.arange(radix), np.arange(part)) / m)  # [k, j]
            x = x.times(twiddle, (radix_axis, part_axis)) if front else x.times(twiddle.T, (part_axis, radix_axis))
        shape = (outer, radix * done, part, inner) if front else (outer, part, radix * done, inner)
        x = x.apply(lambda v: _fence(_hlo.reshape(v, shape)))
        done, m = done * radix, part
    return x.apply(lambda v: _hlo.reshape(v, (outer, n, inner)))


def _bluestein(x, sign):
    """The DFT of x along axis 1 for any length n, as the chirp times a convolution of
    x times the chirp with the conjugate chirp (jk = (j^2 + k^2 - (k-j)^2) / 2), the
    convolution done by transforms of a power of two at least 2n - 1."""
    outer, n, inner = x.shape
    size = 1 << (2 * n - 2).bit_length()
    chirp = np.exp(sign * 1j * np.pi * (np.arange(n, dtype=np.int64) ** 2 % (2 * n)) / n)
    kernel = np.zeros(size, np.complex128)
    kernel[:n], kernel[size - n + 1:] = chirp.conj(), chirp[1:].conj()[::-1]
    zero = _hlo.constant(0, _hlo.dtype_of(x.re))
    padded = x.times(chirp, 1).apply(lambda v: _hlo.value(
        "stablehlo.pad", [v, zero], mlir.tensor_type((outer, size, inner), _hlo.dtype_of(v)),
        edge_padding_low=(0, 0, 0), edge_padding_high=(0, size - n, 0), interior_padding=(0, 0, 0)))
    convolved = _stockham(_stockham(padded, -1).times(np.fft.fft(kernel) / size, 1), 1)
    return convolved.apply(lambda v: _slice(v, 1, 0, n)).times(chirp, 1)


def _dft(x, sign):
    n = x.shape[1]
    if n == 1:
        return x
    return _stockham(x, sign) if _radices(n) is not None else _bluestein(x, sign)


def _rfft(x, n):
    """The non-negative frequencies of the DFT of the reals x (outer, n, 1) along axis 1."""
    half = n // 2
    if n % 2:
        spectrum = _dft(_Parts(x, _hlo.full_like(x, 0)), -1)
        return spectrum.apply(lambda v: _slice(v, 1, 0, half + 1))
    outer = _hlo.shape_of(x)[0]
    pairs = _hlo.reshape(x, (outer, half, 2))
    packed = _Parts(*(_hlo.reshape(_slice(pairs, 2, i, i + 1), (outer, half, 1)) for i in (0, 1)))
    spectrum = _dft(packed, -1)
    extended = spectrum.apply(lambda v: _concatenate([v, _slice(v, 1, 0, 1)], 1))  # frequencies 0..half
    mirrored = extended.apply(lambda v: _reverse(v, 1)).conj()
    twiddle = np.exp(-2j * np.pi * np.arange(half + 1) / n)
    return extended.times((1 - 1j * twiddle) / 2, 1) + mirrored.times((1 + 1j * twiddle) / 2, 1)


def _irfft(x, n):
    """n times the inverse real DFT (length n, along axis 1) of the frequencies x
    (outer, n // 2 + 1, 1); the imaginary parts of frequencies 0 and n / 2 are ignored."""
    half = n // 2
    if n == 1:
        return x.re
    if n % 2:  # the negative frequencies are the conjugates of the positive ones
        tail = x.apply(lambda v: _reverse(_slice(v, 1, 1, half + 1), 1)).conj()
        return _dft(_Parts(_concatenate([x.re, tail.re], 1), _concatenate([x.im, tail.im], 1)), 1).re
    outer = x.shape[0]
    mask = np.ones(half + 1)
    mask[[0, half]] = 0
    x = _Parts(x.re, _real_op("multiply", x.im, _hlo.broadcast_in_dim(
        _hlo.constant(mask, _hlo.dtype_of(x.im), (half + 1,)), x.shape, (1,))))
    head = x.apply(lambda v: _slice(v, 1, 0, half))
    tail = x.apply(lambda v: _reverse(_slice(v, 1, 1, half + 1), 1)).conj()
    twiddle = np.exp(2j * np.pi * np.arange(half) / n)
    packed = _dft(head.times(1 + 1j * twiddle, 1) + tail.times(1 - 1j * twiddle, 1), 1)
    pairs = _stack([_hlo.reshape(v, (outer, half)) for v in (packed.re, packed.im)], (outer, half, 2), 2)
    return _hlo.reshape(pairs, (outer, n, 1))


# -- fft --------------------------------------------------------------------------------

def _complex_dtype(real):
    return dtypes.complex128 if real == dtypes.float64 else dtypes.complex64


def _fft_rule(x, fft_type, fft_lengths):
    if fft_type not in FftType.__members__:
        raise ValueError(f"mlax.fft: unknown fft_type {fft_type!r}; use one of {', '.join(FftType.__members__)}")
    lengths, count = tuple(fft_lengths), len(fft_lengths)
    if not 1 <= count <= x.ndim or min(lengths) < 0:
        raise ValueError(f"mlax.fft: fft_lengths {lengths} must be 1 to {x.ndim} sizes, one per trailing axis of "
                         f"the input of shape {x.shape}")
    batch, last = x.shape[:x.ndim - count], lengths[-1] // 2 + 1
    if fft_type == "RFFT":
        if x.dtype not in (dtypes.float32, dtypes.float64):
            raise ValueError(f"mlax.fft: RFFT input must be float32 or float64, got {x.dtype}")
        expected, shape, dtype = lengths, batch + lengths[:-1] + (last,), _complex_dtype(x.dtype)
    elif not dtypes.is_complex(x.dtype):
        raise ValueError(f"mlax.fft: {fft_type} input must be complex64 or complex128, got {x.dtype}")
    elif fft_type == "IRFFT":
        expected, shape, dtype = lengths[:-1] + (last,), batch + lengths, dtypes.real_dtype(x.dtype)
    else:
        expected, shape, dtype = lengths, x.shape, x.dtype
    if tuple(x.shape[x.ndim - count:]) != expected:
        raise ValueError(f"mlax.fft: {fft_type} of lengths {lengths} needs trailing axes {expected}, "
                         f"got an input of shape {x.shape}")
    return ShapedArray(shape, dtype)


def _along(x, axis, transform):
    """x (_Parts) with `transform`, a map of (outer, n, inner) _Parts to (outer, n', inner)
    ones, applied along `axis`."""
    shape = list(x.shape)
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    y = transform(x.apply(lambda v: _hlo.reshape(v, (outer, shape[axis], inner))))
    return y.apply(lambda v: _hlo.reshape(v, shape[:axis] + [y.shape[1]] + shape[axis + 1:]))


def _lower_fft(ctx, x, fft_type, fft_lengths):
    in_aval, out_aval = ctx.in_avals[0], ctx.out_avals[0]
    if 0 in fft_lengths:  # sums of no terms (the empty results never get here)
        return _hlo.constant(0, out_aval.dtype, out_aval.shape)
    axes = list(range(out_aval.ndim - len(fft_lengths), out_aval.ndim))
    sign = 1 if fft_type in ("IFFT", "IRFFT") else -1
    if fft_type == "RFFT":  # the real axis first, into complex numbers
        value = _along(_Parts(x, None), axes.pop(), lambda v: _rfft(v.re, fft_lengths[-1]))
    else:
        part = in_aval.update(dtype=dtypes.real_dtype(in_aval.dtype)).mlir_type()
        value = _Parts(_hlo.value("stablehlo.real", [x], part), _hlo.value("stablehlo.imag", [x], part))
    for axis in reversed(axes[:-1] if fft_type == "IRFFT" else axes):
        value = _along(value, axis, lambda v: _dft(v, sign))
    if fft_type == "IRFFT":  # the real axis last, out of complex numbers
        value = _along(value, axes[-1], lambda v: _Parts(_irfft(v, fft_lengths[-1]), None))
    if sign > 0:
        value = value.scaled(1 / math.prod(fft_lengths))
    if fft_type == "IRFFT":
        return value.re
    return _hlo.value("stablehlo.complex", [value.re, value.im], ctx.out_types[0])


def _np_fft(x, fft_type, fft_lengths):
    transform = {"FFT": np.fft.fftn, "IFFT": np.fft.ifftn, "RFFT": np.fft.rfftn, "IRFFT": np.fft.irfftn}[fft_type]
    result = transform(x, s=fft_lengths, axes=tuple(range(x.ndim - len(fft_lengths), x.ndim)))
    real = dtypes.real_dtype(x.dtype)
    return result.astype(real if fft_type == "IRFFT" else _complex_dtype(real))


fft_p = Op("fft", ["x"], _fft_rule, _lower_fft, attrs={"fft_type": "str", "fft_lengths": "ints"},
           doc='The discrete Fourier transform over the trailing len(fft_lengths) axes: fft_type FFT or '
               'IFFT (complex to complex; IFFT scaled by 1/prod(fft_lengths)), RFFT (real to the n//2+1 '
               'non-negative frequencies of the last axis) or IRFFT (back).\n\n'
               '    %1 = "mlax.fft"(%x) {fft_lengths = array<i64: 8>, fft_type = "RFFT"}'
               ' : (tensor<4x8xf32>) -> tensor<4x5xcomplex<f32>>')


def _fft_type(fft_type):
    if isinstance(fft_type, FftType):
        return fft_type
    if isinstance(fft_type, str) and fft_type.upper() in FftType.__members__:
        return FftType[fft_type.upper()]
    raise ValueError(f"mlax.lax.fft: unknown FFT type {fft_type!r}; use a mlax.lax.FftType or one of "
                     f"{', '.join(FftType.__members__)}")


def _inexact_dtype(dtype):
    """JAX's inexact dtype for `dtype`: 64-bit integers become float64, the others float32."""
    if dtypes.is_inexact(dtype):
        return dtype
    return dtypes.canonicalize(dtypes.float64 if dtype.itemsize == 8 else dtypes.float32)


def fft(x, fft_type, fft_lengths):
    """The discrete Fourier transform of x over its len(fft_lengths) trailing axes, the
    input converted to complex (to real for RFFT); fft_type is an FftType or its name."""
    fft_type, dtype = _fft_type(fft_type), aval_of(x).dtype
    if fft_type == FftType.RFFT:
        if dtypes.is_complex(dtype):
            raise ValueError(f"mlax.lax.fft: RFFT takes real input, got {dtype}")
        x = ops.convert_element_type(x, _inexact_dtype(dtype))
    else:
        x = ops.convert_element_type(x, _complex_dtype(dtypes.real_dtype(_inexact_dtype(dtype))))
    if not fft_lengths:
        return x
    return fft_p(x, fft_type=fft_type.name, fft_lengths=tuple(int(n) for n in fft_lengths))


fft_p.numpy_ref = _np_fft


def _fft_transpose(ct, x, fft_type, fft_lengths):
    """The DFT's matrix is symmetric: FFT and IFFT are their own transposes. RFFT is the
    FFT of the reals cut to n // 2 + 1 frequencies, so its transpose pads them back to n,
    transforms, and keeps the real part. IRFFT reads each frequency but 0 (and n / 2)
    for itself and its conjugate, so its transpose counts those twice."""
    if fft_type in ("FFT", "IFFT"):
        return [fft_p(ct, fft_type=fft_type, fft_lengths=fft_lengths)]
    aval, n = aval_of(ct), fft_lengths[-1]
    if fft_type == "RFFT":
        # (zeros concatenated, not a pad: IREE 3.13 cannot fill a complex128 pad)
        zeros = ops.full(aval.shape[:-1] + (n - (n // 2 + 1),), 0, aval.dtype)
        full = ops.concatenate([ct, zeros], aval.ndim - 1) if n > n // 2 + 1 else ct
        return [ops.real(fft_p(full, fft_type="FFT", fft_lengths=fft_lengths))]
    weights = np.full(n // 2 + 1, 2.0)
    weights[0] = weights[-1 if n % 2 == 0 else 0] = 1.0
    spectrum = fft_p(ct, fft_type="RFFT", fft_lengths=fft_lengths)
    spectrum_aval = aval_of(spectrum)
    scale = ops.full(spectrum_aval.shape, weights / max(math.prod(fft_lengths), 1), spectrum_aval.dtype)
    return [ops.conj(ops.mul(spectrum, scale))]


deflinear(fft_p, _fft_transpose)
defbatch_front(fft_p)
