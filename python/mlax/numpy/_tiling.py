"""mlax.numpy's tile, repeat and pad: arrays made by repeating the elements of
another. tile broadcasts; repeat (by a sequence of counts) and pad (in the modes
other than "constant") take the elements at an index vector that NumPy computes
from the static shape.
"""

import builtins

import numpy as np

from mlax import lax
from mlax.runtime.array import Array
from mlax.core.trace import Tracer
from mlax.numpy._dtypes import asarray, ndim
from mlax.numpy._indexing import take
from mlax.numpy._shape import _axis, ravel, reshape


def tile(A, reps):  # noqa: N803 - NumPy's name
    """A repeated `reps` times along each axis."""
    a = asarray(A)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    rank = builtins.max(len(reps), a.ndim)
    reps = (1,) * (rank - len(reps)) + reps
    a = reshape(a, (1,) * (rank - a.ndim) + a.shape)
    # Broadcast to (r0, s0, r1, s1, ...) and merge each pair of axes.
    expanded = [d for pair in zip(reps, a.shape) for d in pair]
    out = lax.broadcast_in_dim(a, expanded, [2 * i + 1 for i in range(rank)])
    return lax.reshape(out, [r * s for r, s in zip(reps, a.shape)])


def repeat(a, repeats, axis=None, total_repeat_length=None):
    """Repeat each element `repeats` times (a static int or sequence) along `axis`. With
    `total_repeat_length` the result has that length along `axis`, as in JAX: cut short, or
    continued with a's last element."""
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, a.ndim)
    if isinstance(repeats, (Tracer,)):
        raise repeats._concretization_error("the repeats of repeat")
    repeats_np = np.asarray(repeats if not isinstance(repeats, Array) else repeats._value())
    if total_repeat_length is not None:
        index = np.repeat(np.arange(a.shape[axis]), repeats_np)[:total_repeat_length]
        if a.shape[axis]:
            index = np.pad(index, (0, total_repeat_length - index.size), constant_values=a.shape[axis] - 1)
        return take(a, index.astype(np.int32), axis=axis)
    if repeats_np.ndim == 0:
        count = int(repeats_np)
        shape = list(a.shape)
        expanded = lax.broadcast_in_dim(a, shape[:axis + 1] + [count] + shape[axis + 1:],
                                        list(range(axis + 1)) + list(range(axis + 2, a.ndim + 1)))
        shape[axis] *= count
        return lax.reshape(expanded, shape)
    index = np.repeat(np.arange(a.shape[axis]), repeats_np)
    return take(a, index.astype(np.int32), axis=axis)


def pad(array, pad_width, mode="constant", constant_values=0):
    """Pad with a constant (mode "constant"), or by "edge", "reflect", "symmetric", "wrap"."""
    a = asarray(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2)).tolist()
    if mode == "constant":
        if ndim(constant_values) == 0:
            return lax.pad(a, constant_values, [(lo, hi, 0) for lo, hi in widths])
        # One (before, after) value pair per axis, applied axis by axis as NumPy does.
        values = np.broadcast_to(np.asarray(constant_values), (a.ndim, 2))
        for ax, ((lo, hi), (before, after)) in enumerate(zip(widths, values)):
            no_pad = [(0, 0, 0)] * a.ndim
            a = lax.pad(a, before, no_pad[:ax] + [(lo, 0, 0)] + no_pad[ax + 1:])
            a = lax.pad(a, after, no_pad[:ax] + [(0, hi, 0)] + no_pad[ax + 1:])
        return a
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise NotImplementedError(f"pad mode {mode!r}")
    for ax, (lo, hi) in enumerate(widths):
        # numpy pads an index vector the same way; gather along the axis with it.
        index = np.pad(np.arange(a.shape[ax]), (lo, hi), mode=mode)
        a = take(a, index.astype(np.int32), axis=ax)
    return a
