"""jax.lax's convolutions built on conv_general_dilated (conv_transpose, the patch extraction
conv_general_dilated_patches, the unshared conv_general_dilated_local) and its shape
arithmetic (conv_shape_tuple, conv_general_shape_tuple, conv_transpose_shape_tuple,
conv_general_permutations, reduce_window_shape_tuple), with JAX's layouts and defaults."""

import math

import numpy as np

from mlax import ops
from mlax.api._staging import as_value
from mlax.lax._types import canonicalize_precision
from mlax.lax.convolution import conv_dimension_numbers, conv_general_dilated, padtype_to_pads


def _stride_count(size, window, stride):
    """How many windows of `window` fit in `size` at `stride` (0 when none does)."""
    return 0 if size < window else (size - window) // stride + 1


def conv_general_permutations(dimension_numbers):
    """For three layout strings (lhs, rhs, out), the permutations taking each array to the
    canonical layout (batch or output feature, feature or input feature, then the spatial axes
    in rhs's order)."""
    specs = tuple(dimension_numbers)
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (spec, (first, second)) in enumerate(zip(specs, pairs)):
        if spec.count(first) != 1 or spec.count(second) != 1:
            raise TypeError(f"conv_general_permutations: dimension_numbers[{i}] must contain '{first}' and "
                            f"'{second}' once each, got {spec!r}")
        if len(set(spec)) != len(spec):
            raise TypeError(f"conv_general_permutations: dimension_numbers[{i}] repeats a character: {spec!r}")
    if len({frozenset(set(spec) - set(pair)) for spec, pair in zip(specs, pairs)}) != 1:
        raise TypeError(f"conv_general_permutations: the layouts must name the same spatial axes, got {specs}")
    rhs = specs[1]

    def permutation(spec, pair):
        spatial = sorted((i for i, c in enumerate(spec) if c not in pair), key=lambda i: rhs.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)
    return tuple(permutation(spec, pair) for spec, pair in zip(specs, pairs))


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1):
    """The output shape of a convolution of arrays in the canonical layout (NC..., OI...)."""
    lhs_shape, rhs_shape = tuple(lhs_shape), tuple(rhs_shape)
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(f"conv_shape_tuple: expected {len(lhs_shape) - 2} (low, high) pads, got {len(pads)}")
    padded = [size + low + high for size, (low, high) in zip(lhs_shape[2:], pads)]
    if any(p < 0 for p in padded):
        raise ValueError(f"conv_shape_tuple: negative padding {pads} exceeds the spatial sizes {lhs_shape[2:]}")
    if lhs_shape[0] % batch_group_count:
        raise ValueError(f"conv_shape_tuple: batch size {lhs_shape[0]} is not a multiple of batch_group_count "
                         f"{batch_group_count}")
    spatial = tuple(_stride_count(p, w, s) for p, w, s in zip(padded, rhs_shape[2:], strides))
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + spatial


def _in_canonical(shape, permutation):
    return tuple(int(d) for d in np.take(shape, permutation))


def _from_canonical(shape, permutation):
    return tuple(int(d) for d in np.take(shape, np.argsort(permutation)))


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of conv_general_dilated (no dilation) for layout strings dimension_numbers."""
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    out = conv_shape_tuple(_in_canonical(lhs_shape, lhs_perm), _in_canonical(rhs_shape, rhs_perm), window_strides,
                           padding)
    return _from_canonical(out, out_perm)


def _transpose_padding(kernel, stride, padding):
    """(low, high) padding of the stride-dilated input that makes conv_transpose the gradient of
    a forward convolution with `padding` ('SAME', 'VALID' or a (low, high) pair)."""
    if padding == "SAME":
        total = kernel + stride - 2
        low = kernel - 1 if stride > kernel - 1 else -(-total // 2)
    elif padding == "VALID":
        total = kernel + stride - 2 + max(kernel - stride, 0)
        low = kernel - 1
    elif isinstance(padding, tuple) and len(padding) == 2:
        low, high = (kernel - p - 1 for p in padding)
        total = low + high
    else:
        raise ValueError(f"conv_transpose: invalid padding {padding!r}")
    return low, total - low


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of conv_transpose (no dilation) for layout strings dimension_numbers."""
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs, rhs = _in_canonical(lhs_shape, lhs_perm), _in_canonical(rhs_shape, rhs_perm)
    if isinstance(padding, str):
        padding = [_transpose_padding(k, s, padding) for k, s in zip(rhs[2:], window_strides)]
    spatial = tuple((i - 1) * s - k + 2 + int(sum(p)) for i, k, s, p in zip(lhs[2:], rhs[2:], window_strides,
                                                                              padding))
    return _from_canonical((lhs[0], rhs[0]) + spatial, out_perm)


def reduce_window_shape_tuple(operand_shape, window_dimensions, window_strides, padding, base_dilation=None,
                              window_dilation=None):
    """The output shape of reduce_window for (low, high) padding pairs."""
    def dilated(sizes, dilation):
        return tuple(sizes) if dilation is None else tuple(0 if n == 0 else 1 + d * (n - 1)
                                                           for n, d in zip(sizes, dilation))
    operand_shape, window_dimensions = dilated(operand_shape, base_dilation), dilated(window_dimensions,
                                                                                      window_dilation)
    padded = [n + low + high for n, (low, high) in zip(operand_shape, padding)]
    return tuple(_stride_count(p, w, s) for p, w, s in zip(padded, window_dimensions, window_strides))


_TRANSPOSE_LAYOUTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"), 4: ("NHWC", "HWIO", "NHWC"),
                      5: ("NHWDC", "HWDIO", "NHWDC")}


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None, transpose_kernel=False,
                   precision=None, preferred_element_type=None, use_consistent_padding=False):
    """The transposed ("fractionally strided") convolution: the input dilated by `strides` and
    convolved with rhs, padded so that 'SAME' and 'VALID' undo a forward convolution's shapes
    (explicit pairs are used as they are, unless use_consistent_padding reads them as the
    forward convolution's). Default layouts are channels-last (NHWC, HWIO, NHWC); with
    transpose_kernel, rhs is flipped spatially and its I and O axes swapped (the gradient of
    conv_general_dilated)."""
    canonicalize_precision(precision)
    lhs, rhs = as_value(lhs), as_value(rhs)
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ValueError(f"conv_transpose: lhs and rhs must have one rank of at least 2, got shapes {lhs.shape} and "
                         f"{rhs.shape}")
    if dimension_numbers is None:
        if lhs.ndim not in _TRANSPOSE_LAYOUTS:
            raise ValueError(f"conv_transpose: no default layout for rank {lhs.ndim}; give dimension_numbers")
        dimension_numbers = _TRANSPOSE_LAYOUTS[lhs.ndim]
    dn = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    kernel = [rhs.shape[a] for a in dn.rhs_spec[2:]]
    rhs_dilation = (1,) * (lhs.ndim - 2) if rhs_dilation is None else tuple(rhs_dilation)
    if use_consistent_padding or padding in ("SAME", "VALID"):
        forward = [padding] * len(strides) if isinstance(padding, str) else [tuple(p) for p in padding]
        padding = [_transpose_padding((k - 1) * d + 1, s, p) for k, d, s, p in zip(kernel, rhs_dilation, strides,
                                                                                    forward)]
    if transpose_kernel:
        rhs = ops.rev(rhs, tuple(dn.rhs_spec[2:]))
        order = list(range(rhs.ndim))
        order[dn.rhs_spec[0]], order[dn.rhs_spec[1]] = order[dn.rhs_spec[1]], order[dn.rhs_spec[0]]
        rhs = ops.transpose(rhs, tuple(order))
    return conv_general_dilated(lhs, rhs, (1,) * (lhs.ndim - 2), padding, tuple(strides), rhs_dilation, dn,
                                preferred_element_type=preferred_element_type)


def conv_general_dilated_patches(lhs, filter_shape, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                                 dimension_numbers=None, precision=None, preferred_element_type=None):
    """The patches conv_general_dilated would multiply by a kernel of spatial shape filter_shape,
    flattened into the output's feature axis (input feature first, then the window's positions
    in rhs's spatial order): a grouped convolution with a one-hot kernel, as in JAX."""
    canonicalize_precision(precision)
    lhs = as_value(lhs)
    filter_shape = tuple(int(d) for d in filter_shape)
    dn = conv_dimension_numbers(lhs.shape, (1, 1) + filter_shape, dimension_numbers)
    window, channels = math.prod(filter_shape), lhs.shape[dn.lhs_spec[1]]
    # Kernel (channels * window, 1, *filter_shape): output feature c * window + p picks window position p.
    one_hot = ops.convert_element_type(ops.eq(ops.broadcasted_iota(np.int32, (window, window), 0),
                                              ops.broadcasted_iota(np.int32, (window, window), 1)), lhs.dtype)
    kernel = ops.reshape(ops.broadcast_in_dim(one_hot, (channels, window, window), (1, 2)),
                         (channels * window, 1) + filter_shape)
    # Its feature axes go where rhs_spec puts O and I, the spatial axes keep their order (moveaxis).
    targets = [dn.rhs_spec[0], dn.rhs_spec[1]] + sorted(set(range(kernel.ndim)) - set(dn.rhs_spec[:2]))
    kernel = ops.transpose(kernel, tuple(int(d) for d in np.argsort(targets)))
    return conv_general_dilated(lhs, kernel, window_strides, padding, lhs_dilation, rhs_dilation, dn,
                                feature_group_count=channels, preferred_element_type=preferred_element_type)


def conv_general_dilated_local(lhs, rhs, window_strides, padding, filter_shape, lhs_dilation=None,
                               rhs_dilation=None, dimension_numbers=None, precision=None):
    """A convolution whose kernel differs at each output position (a locally connected layer):
    rhs's spatial axes are the output's, its input feature axis holds the input feature and the
    window positions (as conv_general_dilated_patches lays them out)."""
    canonicalize_precision(precision)
    lhs, rhs = as_value(lhs), as_value(rhs)
    patches = conv_general_dilated_patches(lhs, filter_shape, window_strides, padding, lhs_dilation, rhs_dilation,
                                           dimension_numbers)
    dn = conv_dimension_numbers(lhs.shape, (1, 1) + tuple(filter_shape), dimension_numbers)
    out_spatial, rhs_spatial = list(dn.out_spec[2:]), list(dn.rhs_spec[2:])
    # Batch over the spatial positions, in the order of the output's axes.
    order = sorted(range(len(out_spatial)), key=lambda k: out_spatial[k])
    numbers = (([dn.out_spec[1]], [dn.rhs_spec[1]]), ([out_spatial[k] for k in order], [rhs_spatial[k] for k in order]))
    out = ops.dot_general(patches, rhs, numbers)  # (spatial..., batch, output feature)
    rank = out.ndim
    axes = list(range(rank - 2))
    for target, source in sorted(((dn.out_spec[0], rank - 2), (dn.out_spec[1], rank - 1))):
        axes.insert(target, source)
    return ops.transpose(out, tuple(axes))
