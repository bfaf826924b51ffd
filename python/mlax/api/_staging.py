"""Shared machinery of the transformations: tracing a Python function into a
function of the module being traced, emitting the transformation op that
names it, and running transformations outside any trace as compiled programs.
"""

import functools

import numpy as np

from mlax.core import dtypes
from mlax.api.jit import Jitted
from mlax.core.mlir import Symbol
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Trace, aval_of, current_trace, user_frame
from mlax import ops
from mlax.tree_util import tree_flatten


def trace_function(fun, args, kwargs=None, name=None, post=None, avals=None):
    """Trace fun(*args, **kwargs) into a new private function of the current module.

    Returns (trace, out_tree). The function takes the flat leaves of (args,
    kwargs) (typed as `avals` when given), then the values it closed over
    (`trace.captures`); it returns the flat leaves of post(output) (post may
    check or restructure the output)."""
    parent = current_trace()
    leaves, in_tree = tree_flatten((tuple(args), dict(kwargs or {})))
    avals = [aval_of(x) for x in leaves] if avals is None else avals
    sub = Trace(parent.builder, name or getattr(fun, "__name__", "fn"), avals, parent=parent, origin=user_frame())
    with sub:
        inner_args, inner_kwargs = in_tree.unflatten(sub.args)
        out = fun(*inner_args, **inner_kwargs)
        out_leaves, out_tree = tree_flatten(post(out) if post else out)
        sub.finish(out_leaves)
    return sub, out_tree


def leaves_of(args, kwargs=None):
    return tree_flatten((tuple(args), dict(kwargs or {})))[0]


def emit_transform(op, sub, operands, out_avals, **attrs):
    """Emit `op` (an entry of ops/higher_order.py) naming the traced function `sub`."""
    parent = current_trace()
    return parent.emit(op, list(operands), {"callee": Symbol(sub.name), **attrs}, out_avals)


def call_function(sub, operands):
    """A func.call of the traced function `sub` (its results)."""
    return current_trace().call(sub.name, list(operands) + list(sub.captures), sub.out_avals)


def staged(fn):
    """fn, run inline inside a trace and as its own compiled program outside one."""
    return Jitted(fn)


def memoized_transform(build):
    """Cache the staged functions a transformation builds, per (function, options),
    so `mlax.grad(f)(x)` in a loop compiles once."""
    cache = {}

    @functools.wraps(build)
    def get(fun, *options):
        try:
            key = (fun, options)
            hash(key)
        except TypeError:
            return build(fun, *options)
        if key not in cache:
            cache[key] = build(fun, *options)
        return cache[key]
    return get


def is_differentiable(aval):
    return dtypes.is_inexact(aval.dtype)


def zeros_like_aval(aval):
    return ops.full(aval.shape, 0, aval.dtype)


def ones_like_aval(aval):
    return ops.full(aval.shape, 1, aval.dtype)


def as_value(x):
    """x as an mlax value: Python scalars and numpy data become constants (weakly typed
    for Python scalars)."""
    if isinstance(x, ArrayMethods):
        return x
    aval = aval_of(x)
    return ops.full(aval.shape, x, aval.dtype, weak_type=aval.weak_type)


def check_shape_dtype(what, expected, got):
    if tuple(expected.shape) != tuple(got.shape) or np.dtype(expected.dtype) != np.dtype(got.dtype):
        raise TypeError(f"{what}: expected shape/dtype {expected.str_short()}, got {got.str_short()}")
