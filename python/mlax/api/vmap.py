"""vmap: map a function over an axis of its arguments.

The function is traced once for one example and a "mlax.vmap" op names it;
the mlax-vmap pass writes the batched function from the op table's batching
rules. Outside any trace the mapped function runs as a compiled program.
"""

import functools

from mlax.core.trace import aval_of
from mlax.core.axes import bind_axis
from mlax.ops import higher_order
from mlax.api._staging import (FunctionCache, bind_concrete, concrete_positions, emit_transform, hold_concrete,
                               leaves_of, staged, trace_function)
from mlax.tree_util import tree_flatten, tree_structure


def broadcast_prefix(spec, tree, what, transform="vmap"):
    """Per-leaf values of `spec`, a pytree prefix of `tree` (None and ints apply to whole subtrees)."""
    if spec is None or isinstance(spec, int):
        return [spec] * len(tree_flatten(tree)[0])
    if isinstance(spec, (list, tuple)) and isinstance(tree, (list, tuple)):
        if len(spec) != len(tree):
            raise ValueError(f"{transform} {what} must be an int, None, or a tuple with one entry per "
                             f"{'positional argument' if what == 'in_axes' else 'output'}, but got "
                             f"len({what})={len(spec)} for {len(tree)} of them")
        return [axis for s, t in zip(spec, tree) for axis in broadcast_prefix(s, t, what, transform)]
    if isinstance(spec, dict) and isinstance(tree, dict):
        if set(spec) != set(tree):
            raise ValueError(f"{transform} {what} keys {sorted(spec)} do not match {sorted(tree)}")
        return [axis for k in sorted(tree) for axis in broadcast_prefix(spec[k], tree[k], what, transform)]
    raise ValueError(f"{transform} {what} specification {spec!r} does not match the structure "
                     f"{tree_structure(tree)}")


def mapped_outputs(sub, out_tree, out_axes, size, transform="vmap"):
    """(avals, flat out_axes with -1 for None) of a mapped function's results, whose
    traced (per-example) results are `sub.out_avals`."""
    out_axes_leaves = broadcast_prefix(out_axes, out_tree.unflatten(sub.out_avals), "out_axes", transform)
    out_avals, out_axes_flat = [], []
    for i, (aval, axis) in enumerate(zip(sub.out_avals, out_axes_leaves)):
        aval = aval.strip_weak_type()
        if axis is None:
            out_avals.append(aval)
            out_axes_flat.append(-1)
            continue
        axis = normalize_axis(axis, aval.ndim + 1, "out_axes", i, transform)
        out_avals.append(aval.update(shape=aval.shape[:axis] + (size,) + aval.shape[axis:]))
        out_axes_flat.append(axis)
    return out_avals, tuple(out_axes_flat)


def normalize_axis(axis, ndim, what, index, transform="vmap"):
    if axis is None:
        return None
    if not -ndim <= axis < max(ndim, 1) or ndim == 0 and axis is not None and what == "in_axes":
        raise ValueError(f"{transform} {what}: axis {axis} is out of bounds for "
                         f"{'argument' if what == 'in_axes' else 'output'} {index} of rank {ndim}")
    return axis % max(ndim, 1)


def freeze(spec):
    if isinstance(spec, list):
        return tuple(freeze(s) for s in spec)
    if isinstance(spec, dict):
        return tuple(sorted((k, freeze(v)) for k, v in spec.items()))
    return spec


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None):
    """fun mapped over axis in_axes of its arguments; results stacked along out_axes.
    Collectives (mlax.lax.psum ...) over `axis_name` in fun work across the examples."""
    if not callable(fun):
        raise TypeError(f"vmap requires a callable, got {fun!r}")

    @functools.wraps(fun)
    def mapped(*args, **kwargs):
        # Unmapped arguments holding no array reach fun as they were given, as in JAX.
        concrete = concrete_positions(args, _mapped_positions(in_axes, len(args)))
        args, kwargs = hold_concrete(args, kwargs, concrete, ())
        return _staged_vmap(fun, in_axes, out_axes, axis_size, axis_name, freeze(in_axes),
                            freeze(out_axes), concrete)(*args, **kwargs)
    return mapped


def _mapped_positions(in_axes, count):
    if isinstance(in_axes, (tuple, list)):
        return [i for i, spec in enumerate(in_axes) if spec is not None]
    return [] if in_axes is None else list(range(count))


_vmap_cache = FunctionCache()


def _staged_vmap(fun, in_axes, out_axes, axis_size, axis_name, in_key, out_key, concrete):
    return _vmap_cache.get(fun, (in_key, out_key, axis_size, axis_name, concrete), lambda f: staged(
        functools.partial(_vmap_traced, f, in_axes, out_axes, axis_size, axis_name, concrete),
        static_argnums=concrete))


def _vmap_traced(fun, in_axes, out_axes, axis_size, axis_name, concrete, *args, **kwargs):
    if concrete:
        fun, args, _, kwargs = bind_concrete(fun, args, kwargs, concrete)
        if isinstance(in_axes, (tuple, list)):
            in_axes = type(in_axes)(spec for i, spec in enumerate(in_axes) if i not in concrete)
    specs = in_axes if isinstance(in_axes, (int, type(None))) else tuple(in_axes) \
        if isinstance(in_axes, list) else in_axes
    leaves = leaves_of(args, kwargs)
    leaf_axes = broadcast_prefix(specs, tuple(args), "in_axes") + [0] * len(tree_flatten(kwargs)[0])
    leaf_axes = [normalize_axis(a, aval_of(x).ndim, "in_axes", i) for i, (a, x) in enumerate(zip(leaf_axes, leaves))]
    sizes = {aval_of(x).shape[a] for x, a in zip(leaves, leaf_axes) if a is not None}
    if len(sizes) > 1:
        detail = ", ".join(f"argument leaf {i} has size {aval_of(x).shape[a]} along axis {a}"
                           for i, (x, a) in enumerate(zip(leaves, leaf_axes)) if a is not None)
        raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {detail}")
    if not sizes and axis_size is None:
        raise ValueError("vmap must have at least one non-None value in in_axes (or be given axis_size)")
    size = sizes.pop() if sizes else axis_size
    if axis_size is not None and size != axis_size:
        raise ValueError(f"vmap axis_size={axis_size} differs from the mapped axis size {size}")
    example_avals = []
    for x, a in zip(leaves, leaf_axes):
        aval = aval_of(x)
        example_avals.append(aval if a is None else aval.update(shape=aval.shape[:a] + aval.shape[a + 1:]))
    with bind_axis(axis_name, size, "vmap"):
        sub, out_tree = trace_function(fun, args, kwargs, avals=example_avals)
    out_avals, out_axes_flat = mapped_outputs(sub, out_tree, out_axes, size)
    in_axes_flat = [-1 if a is None else a for a in leaf_axes] + [-1] * len(sub.captures)
    results = emit_transform(higher_order.vmap_p, sub, leaves + sub.captures, out_avals, in_axes=tuple(in_axes_flat),
                             out_axes=out_axes_flat, axis_size=size, axis_name=axis_name)
    return out_tree.unflatten(results)
