"""Statistics of samples: mode, rankdata and sem, as jax.scipy.stats's."""

from typing import NamedTuple, Optional

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.scipy.stats._common import Array, ArrayLike, compiled, promote

_NAN_POLICIES = ("propagate", "omit", "raise")


def _check_nan_policy(name, nan_policy):
    """Only "propagate" is supported (as in JAX): "omit" and "raise" would need the data's NaNs
    known when compiling."""
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}; expected one of {set(_NAN_POLICIES)}")
    if nan_policy != "propagate":
        raise NotImplementedError(f"{name} with nan_policy={nan_policy!r}: only 'propagate' is supported (as in "
                                  "JAX); check for NaNs outside the function")


def _axis_index(axis, ndim):
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


class ModeResult(NamedTuple):
    """The most common value along an axis, and how many times it appears."""
    mode: Array
    count: Array


def _equal_or_both_nan(x, y):
    if mnp.issubdtype(x.dtype, mnp.inexact):
        return (x == y) | (mnp.isnan(x) & mnp.isnan(y))
    return x == y


@compiled("axis", "nan_policy", "keepdims")
def mode(a: ArrayLike, axis: Optional[int] = 0, nan_policy: str = "propagate", keepdims: bool = False) -> ModeResult:
    """The most common value along axis (the smallest of those tied; NaNs count as equal) and its
    count; over all of a when axis is None. Over an empty axis, NaN with count 0 (both floats)."""
    x = mnp.atleast_1d(mnp.asarray(a))
    _check_nan_policy("mode", nan_policy)
    if axis is None:
        shape = (1,) * x.ndim if keepdims else ()
        x, axis = mnp.ravel(x), 0
    else:
        axis = _axis_index(axis, x.ndim)
        shape = tuple(1 if i == axis else d for i, d in enumerate(x.shape) if keepdims or i != axis)
    x = mnp.moveaxis(x, axis, 0)
    x = mnp.reshape(x, (x.shape[0], int(np.prod(x.shape[1:], dtype=int))))  # (-1 is ambiguous for an empty axis)
    if x.shape[0] == 0:
        modes = mnp.full(x.shape[1:], np.nan, mnp.asarray(0.0, float).dtype)
        return ModeResult(mnp.reshape(modes, shape), mnp.reshape(mnp.zeros_like(modes), shape))
    ordered = mnp.sort(x, axis=0)
    position = mnp.arange(x.shape[0])[:, None]
    repeat = _equal_or_both_nan(ordered[1:], ordered[:-1])
    starts_run = mnp.concatenate([mnp.ones_like(repeat[:1]), ~repeat], axis=0)
    # How many equal values end at each position: its run so far. The first position where that
    # is largest ends the first (smallest) of the longest runs.
    so_far = position - lax.cummax(mnp.where(starts_run, position, 0), axis=0) + 1
    longest = mnp.argmax(so_far, axis=0)
    modes = mnp.take_along_axis(ordered, longest[None], axis=0)[0]
    return ModeResult(mnp.reshape(modes, shape), mnp.reshape(mnp.max(so_far, axis=0), shape))


_RANK_METHODS = ("average", "min", "max", "dense", "ordinal")


def _ranks_along_last_axis(a, method):
    length = a.shape[-1]
    out_dtype = mnp.asarray(0.0, float).dtype
    if length == 0:
        return mnp.zeros(a.shape, out_dtype)
    order = mnp.argsort(a, axis=-1, stable=True)
    ordered = mnp.take_along_axis(a, order, axis=-1)
    position = mnp.broadcast_to(mnp.arange(length), a.shape)
    new = mnp.concatenate([mnp.ones_like(ordered[..., :1], bool), ordered[..., 1:] != ordered[..., :-1]], -1)
    if method == "ordinal":
        ranks = position + 1
    elif method == "dense":
        ranks = mnp.cumsum(new, axis=-1)
    else:  # from the ranks of the first and the last of each run of ties
        first = lax.cummax(mnp.where(new, position, 0), axis=a.ndim - 1) + 1
        ends = mnp.concatenate([new[..., 1:], mnp.ones_like(new[..., :1])], -1)
        last = lax.cummin(mnp.where(ends, position + 1, length), axis=a.ndim - 1, reverse=True)
        if method == "min":
            ranks = first
        elif method == "max":
            ranks = last
        else:
            ranks = (first.astype(out_dtype) + last.astype(out_dtype)) / 2
    ranks = mnp.take_along_axis(ranks, mnp.argsort(order, axis=-1), axis=-1).astype(out_dtype)
    if mnp.issubdtype(a.dtype, mnp.inexact):
        ranks = mnp.where(mnp.any(mnp.isnan(a), axis=-1, keepdims=True), np.nan, ranks)
    return ranks


@compiled("method", "axis", "nan_policy")
def rankdata(a: ArrayLike, method: str = "average", *, axis: Optional[int] = None,
             nan_policy: str = "propagate") -> Array:
    """The ranks (from 1) of a's values, flattened or along axis; ties get their average rank,
    or the smallest ("min"), largest ("max"), consecutive ("dense") or order of appearance
    ("ordinal"). All NaN where the data has a NaN. In the default float dtype."""
    _check_nan_policy("rankdata", nan_policy)
    if method not in _RANK_METHODS:
        raise ValueError(f"unknown method '{method}'")
    a = mnp.asarray(a)
    if axis is None:
        return _ranks_along_last_axis(mnp.ravel(a), method)
    axis = _axis_index(axis, a.ndim)
    return mnp.moveaxis(_ranks_along_last_axis(mnp.moveaxis(a, axis, -1), method), -1, axis)


@compiled("axis", "nan_policy", "keepdims")
def sem(a: ArrayLike, axis: Optional[int] = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False) -> Array:
    """The standard error of the mean, std(a, ddof) / sqrt(n), along axis (all of a when None);
    with nan_policy="omit", of the values that are not NaN."""
    (b,) = promote("sem", a)
    if nan_policy == "propagate":
        size = b.size if axis is None else b.shape[axis]
        return mnp.std(b, axis, ddof=ddof, keepdims=keepdims) / mnp.sqrt(size).astype(b.dtype)
    if nan_policy == "omit":
        count = mnp.sum(~mnp.isnan(b), axis, keepdims=keepdims)
        return mnp.nanstd(b, axis, ddof=ddof, keepdims=keepdims) / mnp.sqrt(count).astype(b.dtype)
    raise ValueError(f"sem: nan_policy={nan_policy!r} is not supported (use 'propagate' or 'omit')")
