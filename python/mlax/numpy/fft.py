"""mlax.numpy.fft: NumPy's discrete Fourier transforms over mlax arrays, as jax.numpy.fft.

Every transform is the fft op (mlax.lax.fft), which transforms trailing axes: the axes
named are moved last, cropped or zero-padded to the sizes asked for, transformed, scaled
for `norm` and moved back, all in one compiled program per signature. Results are
complex64 (complex128 with x64) for real, integer and bool input, as in JAX.
"""

import math
import operator

import numpy as np

from mlax import lax
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.lax import FftType
from mlax.numpy._dtypes import _dtype_arg, asarray
from mlax.numpy._promotion import inexact_dtype
from mlax.numpy._shape import moveaxis, roll
from mlax.numpy._ufuncs import conj, true_divide
from mlax.runtime.array import device_put

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")


def _array(name, a):
    """`a` as an array; lists and tuples are refused, as JAX does (they would be slow)."""
    if isinstance(a, (list, tuple)):
        raise TypeError(f"mlax.numpy.fft.{name} requires ndarray or scalar arguments, got {type(a).__name__}")
    return asarray(a)


def _norm_factor(name, norm, sizes, inverse):
    """The factor `norm` puts on a transform that lax.fft scales by 1 (forward) or by
    1/N (inverse), N the product of the sizes."""
    if norm is not None and norm not in _NORMS:
        raise ValueError(f"mlax.numpy.fft.{name}: invalid norm value {norm!r}; should be one of "
                         + ", ".join(map(repr, _NORMS)))
    count = math.prod(sizes)
    if norm in (None, "backward") or count == 0:
        return 1.0
    factor = math.sqrt(count) if norm == "ortho" else float(count)
    return factor if inverse else 1 / factor


@compiled("fft_type", "sizes", "axes", "factor")
def _transform(a, fft_type, sizes, axes, factor):
    """lax.fft of `a` over `axes` at `sizes` (input cropped or zero-padded to them), times factor."""
    trailing = tuple(range(a.ndim - len(axes), a.ndim))
    a = moveaxis(a, axes, trailing) if axes != trailing else a
    wanted = list(a.shape[:a.ndim - len(axes)]) + list(sizes)
    if fft_type == FftType.IRFFT and sizes:
        wanted[-1] = sizes[-1] // 2 + 1
    a = a[tuple(slice(size) for size in wanted)]
    for axis, (size, now) in enumerate(zip(wanted, a.shape)):
        if size > now:  # zeros concatenated, not a pad: IREE 3.13 cannot fill a complex128 pad
            a = lax.concatenate([a, lax.full(a.shape[:axis] + (size - now,) + a.shape[axis + 1:], 0, a.dtype)], axis)
    out = lax.fft(a, fft_type, sizes)
    out = out * factor if factor != 1.0 else out
    return moveaxis(out, trailing, axes) if axes != trailing else out


def _sizes_and_axes(name, a, s, axes, size_name="s"):
    """The axes to transform (normalized) and the sizes asked for along them (None: as they are)."""
    if s is not None:
        s = tuple(operator.index(n) for n in s)
        if any(n < 1 for n in s):
            raise ValueError(f"mlax.numpy.fft.{name}: the transform sizes must be positive, got {size_name}="
                             f"{s[0] if size_name == 'n' else s}")
        if axes is not None and len(s) != len(axes):
            raise ValueError(f"mlax.numpy.fft.{name}: s and axes have different lengths ({len(s)} and {len(axes)})")
    if axes is None:
        axes = range(a.ndim) if s is None else range(a.ndim - len(s), a.ndim)
    normalized = []
    for axis in axes:
        axis = operator.index(axis)
        if not -a.ndim <= axis < a.ndim:
            raise ValueError(f"mlax.numpy.fft.{name}: axis {axis} is out of bounds for an array of dimension {a.ndim}")
        normalized.append(axis % a.ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"mlax.numpy.fft.{name} does not support repeated axes, got axes {tuple(axes)}")
    return s, tuple(normalized)


def _fft_nd(name, fft_type, a, s, axes, norm, inverse=None, size_name="s", scale=None):
    """The transform `fft_type` of `a` over `axes` at sizes `s`, scaled for `norm` as an
    inverse transform when `inverse` (default: when `name` starts with "i"), times `scale`
    (a function of the transform's sizes)."""
    a = _array(name, a)
    s, axes = _sizes_and_axes(name, a, s, axes, size_name)
    if s is None:
        s = tuple(a.shape[axis] for axis in axes)
        if fft_type == FftType.IRFFT and s:
            s = s[:-1] + (max(0, 2 * (s[-1] - 1)),)
    inverse = name.startswith("i") if inverse is None else inverse
    factor = _norm_factor(name, norm, s, inverse) * (scale(s) if scale else 1.0)
    return _transform(a, fft_type=fft_type, sizes=s, axes=axes, factor=factor)


def _fft_1d(name, fft_type, a, n, axis, norm, **options):
    if isinstance(axis, (list, tuple)):
        raise ValueError(f"mlax.numpy.fft.{name} transforms one axis, got axis={axis!r}; use "
                         f"mlax.numpy.fft.{name}n for several")
    return _fft_nd(name, fft_type, a, None if n is None else (n,), (axis,), norm, size_name="n", **options)


def _fft_2d(name, fft_type, a, s, axes, norm):
    if len(axes) != 2:
        raise ValueError(f"mlax.numpy.fft.{name} transforms two axes, got axes={tuple(axes)!r}; use "
                         f"mlax.numpy.fft.{name[:-1]}n for another number")
    return _fft_nd(name, fft_type, a, s, axes, norm)


def fft(a, n=None, axis=-1, norm=None):
    """The one-dimensional discrete Fourier transform along `axis` (cropped or zero-padded to n)."""
    return _fft_1d("fft", FftType.FFT, a, n, axis, norm)


def ifft(a, n=None, axis=-1, norm=None):
    """The one-dimensional inverse discrete Fourier transform along `axis`."""
    return _fft_1d("ifft", FftType.IFFT, a, n, axis, norm)


def rfft(a, n=None, axis=-1, norm=None):
    """The discrete Fourier transform of real input along `axis`: its n // 2 + 1
    non-negative frequencies."""
    return _fft_1d("rfft", FftType.RFFT, a, n, axis, norm)


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of rfft: n reals (default 2 * (a.shape[axis] - 1)) from non-negative frequencies."""
    return _fft_1d("irfft", FftType.IRFFT, a, n, axis, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """The transform of a signal with Hermitian symmetry, given its first half: n real frequencies."""
    a = _array("hfft", a)
    # The inverse real transform of the conjugate, without its 1/n: the forward scaling.
    return _fft_1d("hfft", FftType.IRFFT, conj(a), n, axis, norm, inverse=False, scale=lambda sizes: sizes[-1])


def ihfft(a, n=None, axis=-1, norm=None):
    """The inverse of hfft: the n // 2 + 1 non-negative frequencies of a real signal's
    inverse transform."""
    a = asarray(a)
    spectrum = _fft_1d("ihfft", FftType.RFFT, a, n, axis, norm, scale=lambda sizes: 1 / sizes[-1])
    return conj(spectrum)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional discrete Fourier transform over `axes`."""
    return _fft_2d("fft2", FftType.FFT, a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional inverse discrete Fourier transform over `axes`."""
    return _fft_2d("ifft2", FftType.IFFT, a, s, axes, norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The two-dimensional discrete Fourier transform of real input over `axes`."""
    return _fft_2d("rfft2", FftType.RFFT, a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of rfft2."""
    return _fft_2d("irfft2", FftType.IRFFT, a, s, axes, norm)


def fftn(a, s=None, axes=None, norm=None):
    """The n-dimensional discrete Fourier transform over `axes` (default: the last len(s), or all)."""
    return _fft_nd("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(a, s=None, axes=None, norm=None):
    """The n-dimensional inverse discrete Fourier transform over `axes`."""
    return _fft_nd("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    """The n-dimensional discrete Fourier transform of real input; the last axis keeps
    its non-negative frequencies."""
    return _fft_nd("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of rfftn (the last axis's size defaults to 2 * (a.shape[axes[-1]] - 1))."""
    return _fft_nd("irfftn", FftType.IRFFT, a, s, axes, norm)


# -- frequencies and shifts ------------------------------------------------------------------

def _frequency_arguments(name, n, d):
    if isinstance(n, (list, tuple)):
        raise ValueError(f"mlax.numpy.fft.{name}: n must be one int, got n={list(n)}")
    if isinstance(d, (list, tuple)):
        raise ValueError(f"mlax.numpy.fft.{name}: d must be one value, got d={list(d)}")
    return operator.index(n)


def _on_device(result, device):
    return result if device is None else device_put(result, device)


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """The frequencies of an n-point transform's outputs, for sample spacing d:
    [0, 1, ..., -2, -1] / (d * n), computed in `dtype`'s float type and cast to `dtype`."""
    n = _frequency_arguments("fftfreq", n, d)
    out_dtype = _dtype_arg(dtype) or dtypes.default_float()
    work = dtypes.real_dtype(inexact_dtype(out_dtype))
    cycles = (np.arange(n) + n // 2) % n - n // 2 if n else np.zeros(0)
    result = asarray(cycles.astype(work)) / asarray(d * n, dtype=work)
    return _on_device(result.astype(out_dtype), device)


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    """The frequencies of rfft's outputs for sample spacing d: [0, 1, ..., n // 2] / (d * n);
    `dtype` types the counts and d * n, whose quotient may be a float."""
    n = _frequency_arguments("rfftfreq", n, d)
    dtype = _dtype_arg(dtype) or dtypes.default_float()
    result = true_divide(asarray(np.arange(n // 2 + 1).astype(dtype)), asarray(d * n, dtype=dtype))
    return _on_device(result, device)


def _shift(name, x, axes, direction):
    x = _array(name, x)
    if axes is None:
        axes = tuple(range(x.ndim))
    shifts = [direction * (x.shape[axis] // 2) for axis in ((axes,) if np.ndim(axes) == 0 else axes)]
    return roll(x, shifts[0] if np.ndim(axes) == 0 else shifts, axes)


def fftshift(x, axes=None):
    """x rolled so that frequency zero is at the centre of each of `axes` (default all)."""
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, axes=None):
    """The inverse of fftshift."""
    return _shift("ifftshift", x, axes, -1)
