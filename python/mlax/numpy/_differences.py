"""mlax.numpy's finite differences and what is built on them: diff, ediff1d, gradient,
trapezoid, cross, interp and unwrap.

Each works on static slices of its input (x[1:] - x[:-1] along an axis), so its
derivatives are those of the slices and the arithmetic; the axis sizes are static.
"""

import builtins
import operator

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.core.trace import Tracer
from mlax.numpy._dtypes import asarray, astype
from mlax.numpy._promotion import broadcast_to, inexact_dtype, promote_dtypes
from mlax.numpy._shape import _axes, _axis, concatenate, moveaxis, ravel, reshape, stack
from mlax.numpy._ufuncs import abs, not_equal, remainder, where  # noqa: A004 - NumPy's name
from mlax.numpy._reductions import cumsum, sum  # noqa: A004 - NumPy's name
from mlax.numpy._sorting import argsort, searchsorted


def _static_int(value, what):
    if isinstance(value, Tracer):
        raise value._concretization_error(what)
    return operator.index(value)


def _sliced(a, start, stop, axis):
    """a[start:stop] along `axis` (NumPy's slice bounds, negatives from the end)."""
    start, stop, _ = slice(start, stop).indices(a.shape[axis])
    return lax.slice_in_dim(a, start, builtins.max(start, stop), axis=axis)


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The n-th discrete difference along `axis` (a[1:] - a[:-1], repeated n times; `!=` for bools)."""
    a = asarray(a)
    n = _static_int(n, "the 'n' argument of diff")
    axis = _static_int(axis, "the 'axis' argument of diff")
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if a.ndim == 0:
        raise ValueError(f"diff requires input that is at least one dimensional; got shape {a.shape}")
    axis = _axis(axis, a.ndim)
    pieces = []
    for extra in (prepend, a, append):
        if extra is None:
            continue
        extra = asarray(extra)
        if extra.ndim == 0:  # a scalar stands for a slice of a along the axis
            extra = broadcast_to(extra, a.shape[:axis] + (1,) + a.shape[axis + 1:])
        pieces.append(extra)
    if len(pieces) > 1:
        a = concatenate(pieces, axis)
    for _ in range(n):
        upper, lower = _sliced(a, 1, None, axis), _sliced(a, None, -1, axis)
        a = not_equal(upper, lower) if a.dtype == dtypes.bool_ else upper - lower
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences of the flattened array, with `to_begin` and `to_end` (cast to its dtype) around them."""
    a = ravel(asarray(ary))
    out = lax.sub(_sliced(a, 1, None, 0), _sliced(a, None, -1, 0))
    if to_begin is not None:
        out = concatenate((ravel(astype(asarray(to_begin), a.dtype)), out))
    if to_end is not None:
        out = concatenate((out, ravel(astype(asarray(to_end), a.dtype))))
    return out


def gradient(f, *varargs, axis=None, edge_order=None):
    """The gradient of sampled f along each axis (central differences inside, one-sided at the edges)."""
    # varargs: one spacing for all axes or one per axis, each a scalar or the axis's coordinates.
    if edge_order is not None:
        raise NotImplementedError("gradient: the 'edge_order' argument is not supported, as in JAX")
    a, *spacing = _promote_inexact(f, *varargs)
    axes = tuple(range(a.ndim)) if axis is None else _axes(axis, a.ndim)
    if not axes:
        return []
    if builtins.min(a.shape[ax] for ax in axes) < 2:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least 2 elements are required.")
    if not spacing:
        spacing = [1.0] * len(axes)
    elif len(spacing) == 1:
        spacing = spacing * len(axes)
    elif len(spacing) != len(axes):
        raise TypeError(f"Invalid number of spacing arguments {len(spacing)} for axis={axis}")
    out = [_gradient_along(a, h, ax) for ax, h in zip(axes, spacing)]
    return out[0] if len(axes) == 1 else out


def _promote_inexact(*args):
    """The args in their common inexact dtype, shapes untouched (JAX's promote_dtypes_inexact)."""
    args = promote_dtypes(*args)
    dtype = inexact_dtype(args[0].dtype)
    return [lax.convert_element_type(x, dtype, weak_type=x.weak_type) for x in args]


def _gradient_along(a, h, axis):
    piece = lambda start, stop: _sliced(a, start, stop, axis)  # noqa: E731
    upper, lower = piece(1, 2) - piece(0, 1), piece(-1, None) - piece(-2, -1)
    if np.ndim(h) == 0:
        inner = (piece(2, None) - piece(None, -2)) * 0.5 / h
        upper, lower = upper / h, lower / h
    elif np.ndim(h) == 1:
        if h.shape[0] != a.shape[axis]:
            raise ValueError("Spacing arrays must have the same length as the dimension along which the "
                             "gradient is calculated.")
        h = reshape(h, [h.shape[0] if i == axis else 1 for i in range(a.ndim)])
        step = lambda start, stop: _sliced(h, start, stop, axis)  # noqa: E731
        upper = upper / (step(1, 2) - step(0, 1))
        lower = lower / (step(-1, None) - step(-2, -1))
        dx1, dx2 = step(1, -1) - step(0, -2), step(2, None) - step(1, -1)
        inner = (-dx2 / (dx1 * (dx1 + dx2)) * piece(0, -2) + (dx2 - dx1) / (dx1 * dx2) * piece(1, -1)
                 + dx1 / (dx2 * (dx1 + dx2)) * piece(2, None))
    else:
        raise ValueError("Spacing arrays must be 1D arrays or scalars.")
    return concatenate((upper, inner, lower), axis=axis)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of sampled y along `axis` by the trapezoidal rule, at points x (or spacing dx)."""
    if x is None:
        (y,) = _promote_inexact(y)
        step = asarray(dx)
        if step.ndim > 0:
            step = moveaxis(reshape(step, (1,) * (y.ndim - step.ndim) + step.shape), axis, -1)
    else:
        y, x = _promote_inexact(y, x)
        step = diff(x) if x.ndim == 1 else moveaxis(diff(x, axis=axis), axis, -1)
    y = moveaxis(y, axis, -1)
    if step.ndim == 0 or step.shape[-1] == 1:  # one spacing along the axis
        step = step if step.ndim == 0 else step[..., 0]
        return step * (sum(y, -1) - 0.5 * (y[..., 0] + y[..., -1]))
    return 0.5 * sum(step * (y[..., 1:] + y[..., :-1]), -1)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of vectors of length 2 or 3 along axisa of a and axisb of b (both `axis` if given)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(asarray(a), axisa, -1), moveaxis(asarray(b), axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(f"Dimension must be either 2 or 3 for cross product, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    a2 = a[..., 2] if a.shape[-1] == 3 else lax.full(a0.shape, 0, a0.dtype, weak_type=a0.weak_type)
    b2 = b[..., 2] if b.shape[-1] == 3 else lax.full(b0.shape, 0, b0.dtype, weak_type=b0.weak_type)
    return moveaxis(stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0]), 0, axisc)


def interp(x, xp, fp, left=None, right=None, period=None):
    """The piecewise-linear interpolant through the points (xp, fp), at x."""
    # Below xp[0] it is fp[0] (or `left`), above xp[-1] fp[-1] (or `right`), unless "extrapolate";
    # with `period`, x and xp are taken modulo period.
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    if xp.shape != fp.shape or xp.ndim != 1:
        raise ValueError(f"xp and fp must be one-dimensional arrays of equal size, got shapes {xp.shape} and "
                         f"{fp.shape}")
    if xp.shape[0] == 0:
        raise ValueError("xp and fp must not be empty")
    if dtypes.is_complex(x.dtype) or dtypes.is_complex(xp.dtype):
        raise ValueError("jnp.interp: complex x values not supported.")
    for name, bound in (("left", left), ("right", right)):
        if isinstance(bound, str) and bound != "extrapolate":
            raise ValueError(f"the only valid string value of `{name}` is 'extrapolate', but got: {bound!r}")
    x, xp = _promote_inexact(x, xp)
    (fp,) = _promote_inexact(fp)
    if period is not None:
        if asarray(period).ndim:
            raise ValueError(f"period must be a scalar; got {period}")
        period = lax.abs(asarray(period))
        x = x % period
        xp = xp % period
        order = argsort(xp)
        xp, fp = xp[order], fp[order]
        xp = concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = concatenate([fp[-1:], fp, fp[:1]])
    i = lax.clamp(1, searchsorted(xp, x, side="right"), xp.shape[0] - 1)
    df, dx = fp[i] - fp[i - 1], xp[i] - xp[i - 1]
    delta = x - xp[i - 1]
    epsilon = np.spacing(np.finfo(xp.dtype).eps)
    dx0 = lax.abs(dx) <= epsilon  # Prevent NaN gradients when dx is zero
    f = where(dx0, fp[i - 1], fp[i - 1] + (delta / where(dx0, 1, dx)) * df)
    if period is None:
        if not (isinstance(left, str) and left == "extrapolate"):
            f = where(x < xp[0], fp[0] if left is None else left, f)
        if not (isinstance(right, str) and right == "extrapolate"):
            f = where(x > xp[-1], fp[-1] if right is None else right, f)
    return f



def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """p with multiples of `period` added along `axis` wherever consecutive values jump by more
    than `discont` (default period / 2), so that the jumps become less than period / 2."""
    p, period = promote_dtypes(p, period)
    if dtypes.is_complex(p.dtype):
        raise ValueError("unwrap does not support complex inputs")
    axis = _axis(_static_int(axis, "the 'axis' argument of unwrap"), p.ndim)
    if p.shape[axis] == 0:
        return p
    if discont is None:
        discont = period / 2
    half = period // 2 if dtypes.is_integer(p.dtype) else period / 2
    step = diff(p, axis=axis)
    wrapped = remainder(step + half, period) - half
    wrapped = where((wrapped == -half) & (step > 0), half, wrapped)  # a jump of exactly +half stays +half
    correction = where(abs(step) < discont, 0, wrapped - step)
    return concatenate((_sliced(p, 0, 1, axis), _sliced(p, 1, None, axis) + cumsum(correction, axis=axis)), axis)
