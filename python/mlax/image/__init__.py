"""jax.image: resizing images by separable resampling kernels.

Each resized dimension is one matrix product: output sample j of a
dimension is the kernel-weighted mean of the input samples around its
position in input coordinates, (j + 0.5 - translation) / scale - 0.5. When
antialiasing a downscale the kernel is stretched by 1/scale, so it averages
over every input sample the output pixel covers. Nearest-neighbour
resizing takes samples instead.
"""

import enum
import functools
import string

import numpy as np

from mlax import lax
from mlax.api.jit import jit
import mlax.numpy as mnp

__all__ = ["ResizeMethod", "resize", "scale_and_translate"]


class ResizeMethod(enum.Enum):
    """The resampling kernels: NEAREST, LINEAR (triangle), LANCZOS3/LANCZOS5 (windowed sinc),
    CUBIC (Keys, a=-0.5), CUBIC_PYTORCH (a=-0.75, edges repeated when not antialiasing) and
    AREA (each output pixel averages the input area it covers)."""
    NEAREST = 0
    LINEAR = 1
    LANCZOS3 = 2
    LANCZOS5 = 3
    CUBIC = 4
    CUBIC_PYTORCH = 5
    AREA = 6

    @staticmethod
    def from_string(s):
        """The method a name stands for ('bilinear' is LINEAR, 'bicubic' is CUBIC, ...)."""
        for method, names in _NAMES.items():
            if s in names:
                return method
        raise ValueError(f'Unknown resize method "{s}"')


_NAMES = {
    ResizeMethod.NEAREST: ("nearest",),
    ResizeMethod.LINEAR: ("linear", "bilinear", "trilinear", "triangle"),
    ResizeMethod.LANCZOS3: ("lanczos3",),
    ResizeMethod.LANCZOS5: ("lanczos5",),
    ResizeMethod.CUBIC: ("cubic", "bicubic", "tricubic"),
    ResizeMethod.CUBIC_PYTORCH: ("cubic-pytorch", "bicubic-pytorch"),
    ResizeMethod.AREA: ("area",),
}


def _lanczos(radius):
    def kernel(xp, d):
        # sinc(d) * sinc(d / radius), 1 near d = 0, 0 outside the radius.
        safe = xp.where(d > 1e-3, d, 1.0)
        value = radius * xp.sin(np.pi * safe) * xp.sin(np.pi * safe / radius) / (np.pi ** 2 * safe * safe)
        return xp.where(d > radius, 0.0, xp.where(d > 1e-3, value, 1.0))
    return kernel


def _cubic(a):
    def kernel(xp, d):
        near = ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0  # |d| < 1
        far = ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a  # 1 <= |d| < 2
        return xp.where(d >= 2.0, 0.0, xp.where(d >= 1.0, far, near))
    return kernel


# method -> (kernel radius, kernel weight as a function of the distance |d| >= 0)
_KERNELS = {
    ResizeMethod.LINEAR: (1, lambda xp, d: xp.maximum(0.0, 1.0 - d)),
    ResizeMethod.LANCZOS3: (3, _lanczos(3.0)),
    ResizeMethod.LANCZOS5: (5, _lanczos(5.0)),
    ResizeMethod.CUBIC: (2, _cubic(-0.5)),
    ResizeMethod.CUBIC_PYTORCH: (2, _cubic(-0.75)),
}


def _normalized(xp, weights):
    """weights (input x output) scaled so each output's weights sum to 1; all 0 where they sum to ~0."""
    total = xp.sum(weights, axis=0, keepdims=True)
    usable = xp.abs(total) > 1000.0 * float(np.finfo(np.float32).eps)
    return xp.where(usable, weights / xp.where(total != 0, total, 1.0), 0.0)


def _weights(xp, in_size, out_size, scale, translation, method, antialias, dtype):
    """The (in_size, out_size) resampling matrix of one dimension, computed by `xp`: NumPy when
    the scale and translation are Python numbers (the matrix is then a constant of the
    program), mlax.numpy when they are arrays."""
    dtype = np.dtype(dtype)
    scale, translation = xp.asarray(scale, dtype), xp.asarray(translation, dtype)
    inv_scale = 1.0 / scale
    outputs = xp.arange(out_size, dtype=dtype)
    if method is ResizeMethod.AREA:
        # the overlap of output pixel j's footprint [j, j + 1) / scale - t / scale with input pixel i's [i, i + 1)
        left = outputs * inv_scale - translation * inv_scale
        inputs = xp.arange(in_size, dtype=dtype)
        overlap = (xp.minimum((left + inv_scale)[None, :], (inputs + 1.0)[:, None])
                   - xp.maximum(left[None, :], inputs[:, None]))
        return _normalized(xp, xp.maximum(0.0, overlap))
    radius, kernel = _KERNELS[method]
    stretch = xp.maximum(inv_scale, 1.0) if antialias else 1.0
    position = (outputs + 0.5) * inv_scale - translation * inv_scale - 0.5  # in input sample coordinates
    repeat_edges = method is ResizeMethod.CUBIC_PYTORCH
    pad = radius if repeat_edges else 0
    taps = np.arange(-pad, in_size + pad)
    weights = kernel(xp, xp.abs(position[None, :] - xp.asarray(taps, dtype)[:, None]) / stretch)
    if repeat_edges:
        # taps beyond an edge read the edge sample: fold their rows onto it
        fold = (np.clip(taps, 0, max(in_size - 1, 0))[None, :] == np.arange(in_size)[:, None]).astype(dtype)
        return _normalized(xp, xp.asarray(fold) @ weights)
    inside = (position >= -0.5) & (position <= in_size - 0.5)
    return xp.where(inside[None, :], _normalized(xp, weights), 0.0)


def _resample(xp, image, shape, spatial_dims, scales, translations, method, antialias, precision, dtype):
    letters = string.ascii_letters
    for i, dim in enumerate(spatial_dims):
        dim = dim % image.ndim
        w = _weights(xp, image.shape[dim], shape[dim], scales[i], translations[i], method, antialias, dtype)
        source = letters[:image.ndim]
        target = source[:dim] + "Z" + source[dim + 1:]
        image = mnp.einsum(f"{source},{source[dim]}Z->{target}", image, mnp.asarray(w).astype(image.dtype),
                           precision=precision)
    return image


def _method(method):
    method = ResizeMethod.from_string(method) if isinstance(method, str) else method
    if not isinstance(method, ResizeMethod):
        raise TypeError(f"method must be a ResizeMethod or its name, got {method!r}")
    return method


def _inexact(image):
    image = mnp.asarray(image)
    if mnp.issubdtype(image.dtype, mnp.inexact):
        return image
    return image.astype(mnp.promote_types(image.dtype, mnp.float32))


def scale_and_translate(image, shape, spatial_dims, scale, translation, method, antialias=True,
                        precision=lax.Precision.HIGHEST):
    """image resampled to `shape`: along each of spatial_dims, output pixel centre j+0.5 sits at
    input position (j + 0.5 - translation) / scale. scale and translation may be traced.
    Nearest-neighbour sampling is not offered here (use resize), as in JAX."""
    return _scale_and_translate(image, tuple(shape), tuple(spatial_dims), scale, translation, _method(method),
                                antialias, precision)


@functools.partial(jit, static_argnums=(1, 2, 5, 6, 7))
def _scale_and_translate(image, shape, spatial_dims, scale, translation, method, antialias, precision):
    if method is ResizeMethod.NEAREST:
        raise ValueError("Nearest neighbor resampling is not supported by scale_and_translate; use resize")
    if method is ResizeMethod.CUBIC_PYTORCH and antialias:
        method = ResizeMethod.CUBIC  # antialiased, the PyTorch cubic is Keys' cubic without edge repetition
    image = _inexact(image)
    if len(shape) != image.ndim:
        raise ValueError(f"shape must have length equal to the number of dimensions of image: {tuple(shape)} vs "
                         f"{image.shape}")
    scale, translation = _inexact(scale), _inexact(translation)
    if len(spatial_dims) != scale.shape[0] or len(spatial_dims) != translation.shape[0]:
        raise ValueError(f"scale_and_translate: {len(spatial_dims)} spatial_dims need as many scales and translations, "
                         f"got shapes {scale.shape} and {translation.shape}")
    dtype = mnp.result_type(scale, translation)
    scales = [scale[i] for i in range(len(spatial_dims))]
    translations = [translation[i] for i in range(len(spatial_dims))]
    return _resample(mnp, image, shape, spatial_dims, scales, translations, method, antialias, precision, dtype)


def _resize_nearest(image, shape):
    for dim, (in_size, out_size) in enumerate(zip(image.shape, shape)):
        if in_size == out_size:
            continue
        # the input sample under each output pixel centre, computed in float32 as JAX does
        centres = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * np.float32(in_size) / np.float32(out_size)
        image = mnp.take(image, np.floor(centres).astype(np.int32), axis=dim)
    return image


def resize(image, shape, method, antialias=True, precision=lax.Precision.HIGHEST):
    """image resampled to `shape` by `method` (a ResizeMethod or its name: 'nearest', 'linear',
    'bilinear', 'cubic', 'lanczos3', 'lanczos5', 'area' ...). With antialias, downscaling averages
    over the whole footprint of each output pixel. Integer images give float32 results except
    with 'nearest'."""
    return _resize(image, tuple(shape), _method(method), antialias, precision)


@functools.partial(jit, static_argnums=(1, 2, 3, 4))
def _resize(image, shape, method, antialias, precision):
    if len(shape) != image.ndim:
        raise ValueError(f"shape must have length equal to the number of dimensions of image: {shape} vs "
                         f"{image.shape}")
    if method is ResizeMethod.NEAREST:
        return _resize_nearest(image, shape)
    if method is ResizeMethod.CUBIC_PYTORCH and antialias:
        method = ResizeMethod.CUBIC
    image = _inexact(image)
    dims = [d for d in range(image.ndim) if image.shape[d] != shape[d]]
    scales = [shape[d] / image.shape[d] if shape[d] else 1.0 for d in dims]
    dtype = mnp.result_type(float)
    return _resample(np, image, shape, dims, scales, [0.0] * len(dims), method, antialias, precision, dtype)
