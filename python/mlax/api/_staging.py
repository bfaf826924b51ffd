"""Shared machinery of the transformations: tracing a Python function into a
function of the module being traced, emitting the transformation op that
names it, and running transformations outside any trace as compiled programs.
"""

import functools
import inspect
import weakref

import numpy as np

from mlax.core import dtypes
from mlax.api.jit import Jitted
from mlax.core.mlir import Symbol
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import Trace, aval_of, current_trace, user_frame
from mlax import ops
from mlax.tree_util import tree_flatten


def trace_function(fun, args, kwargs=None, name=None, post=None, avals=None, started=None):
    """Trace fun(*args, **kwargs) into a new private function of the current module.

    Returns (trace, out_tree). The function takes the flat leaves of (args,
    kwargs) (typed as `avals` when given), then the values it closed over
    (`trace.captures`); it returns the flat leaves of post(output) (post may
    check or restructure the output). `started(trace)` runs once the function is named,
    before fun runs."""
    parent = current_trace()
    leaves, in_tree = tree_flatten((tuple(args), dict(kwargs or {})))
    avals = [aval_of(x) for x in leaves] if avals is None else avals
    sub = Trace(parent.builder, name or getattr(fun, "__name__", "fn"), avals, parent=parent, origin=user_frame())
    if started is not None:
        started(sub)
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


def staged(fn, static_argnums=(), static_argnames=()):
    """fn, run inline inside a trace and as its own compiled program outside one (one per
    value of the static arguments)."""
    return Jitted(fn, static_argnums=static_argnums, static_argnames=static_argnames)


class Concrete:
    """An argument a transformation hands the function as it was given: hashed by value,
    or by identity when it is unhashable (a dict of settings)."""

    __slots__ = ("value", "_key")

    def __init__(self, value):
        self.value = value
        try:
            hash(value)
            self._key = (True, value)
        except TypeError:
            self._key = (False, id(value))

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Concrete) and self._key == other._key and (self._key[0] or self.value is other.value)


def _holds_array(x):
    return any(isinstance(leaf, (ArrayMethods, np.ndarray, np.generic)) for leaf in tree_flatten(x)[0])


def concrete_positions(args, transformed):
    """The positions of `args` a transformation keeps as given, as JAX does: those it does not
    transform (differentiate, map) that hold no array (Python numbers, strings, settings)."""
    count = len(args)
    transformed = {i % count for i in transformed if -count <= i < count}
    return tuple(i for i, a in enumerate(args) if i not in transformed and not _holds_array(a))


def concrete_names(kwargs):
    """The keyword arguments a transformation keeps as given: those that hold no array."""
    return tuple(sorted(name for name, value in kwargs.items() if not _holds_array(value)))


def hold_concrete(args, kwargs, positions, names):
    """(args, kwargs) with those at `positions` and `names` wrapped as Concrete (static
    arguments of a staged function)."""
    return (tuple(Concrete(a) if i in positions else a for i, a in enumerate(args)),
            {k: Concrete(v) if k in names else v for k, v in kwargs.items()})


def bind_concrete(fun, args, kwargs, positions):
    """(fun of the other arguments, those arguments, where each went, the keyword arguments
    left): the arguments at `positions` and the Concrete keyword arguments fixed to their values."""
    values = [a.value if isinstance(a, Concrete) else a for a in args]
    fixed = {k: v.value for k, v in kwargs.items() if isinstance(v, Concrete)}
    dynamic = [i for i in range(len(values)) if i not in positions]

    def bound(*dynamic_args, **dynamic_kwargs):
        full = list(values)
        for i, a in zip(dynamic, dynamic_args):
            full[i] = a
        return fun(*full, **fixed, **dynamic_kwargs)
    bound.__name__ = getattr(fun, "__name__", "fn")
    return (bound, tuple(values[i] for i in dynamic), {i: k for k, i in enumerate(dynamic)},
            {k: v for k, v in kwargs.items() if k not in fixed})


def weakly(fun):
    """A callable that calls `fun` without keeping it alive (`fun` itself when it cannot
    be weakly referenced, as builtins cannot)."""
    try:
        ref = weakref.WeakMethod(fun) if inspect.ismethod(fun) else weakref.ref(fun)
    except TypeError:
        return fun

    def call(*args, **kwargs):
        target = ref()
        if target is None:
            raise ReferenceError("the function this transformation was built for no longer exists")
        return target(*args, **kwargs)
    call.__name__ = getattr(fun, "__name__", "fn")
    call.__qualname__ = getattr(fun, "__qualname__", call.__name__)
    return call


class FunctionCache:
    """What a transformation built per (function, options), so that `mlax.grad(f)(x)` in a
    loop compiles once. An entry holds its function weakly and goes when the function does,
    freeing its compiled programs and the arrays the function closed over; a bound method's
    entries go with its object. Functions that cannot be weakly referenced (builtins) are
    kept for the life of the process; unhashable ones are built afresh on every call."""

    def __init__(self) -> None:
        self._entries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # owner -> {key: built}
        self._kept: dict = {}

    def get(self, fun, options, build):
        """`build(weakly(fun))` for (fun, options), built on first use."""
        owner, key = (fun.__self__, (fun.__func__, options)) if inspect.ismethod(fun) else (fun, options)
        try:
            hash(owner)
            hash(key)
        except TypeError:
            return build(fun)
        try:
            table = self._entries.setdefault(owner, {})
        except TypeError:  # not weakly referenceable
            table = self._kept.setdefault(owner, {})
        if key not in table:
            table[key] = build(weakly(fun))
        return table[key]


def memoized_transform(build):
    """`build(fun, *options)`, cached per (fun, options) in a FunctionCache."""
    cache = FunctionCache()

    @functools.wraps(build)
    def get(fun, *options):
        return cache.get(fun, options, lambda f: build(f, *options))
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
