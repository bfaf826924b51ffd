"""pmap: run a function on several devices at once, one slice of its arguments each.

The function is traced once for one slice (with its axis name bound, so that
collectives over it can be traced) and a "mlax.pmap" op names it; the mlax-pmap
pass writes the program that runs it on every device. Outside any trace the
mapped function runs as a compiled program over the devices.
"""

import functools

from mlax.api.jit import Jitted
from mlax.core.trace import aval_of
from mlax.runtime import device as device_lib
from mlax.core.axes import bind_axis, bound_kinds
from mlax.ops import higher_order
from mlax.api._staging import FunctionCache, emit_transform, leaves_of, trace_function
from mlax.api.vmap import broadcast_prefix, freeze, mapped_outputs, normalize_axis
from mlax.tree_util import tree_flatten


def pmap(fun, axis_name=None, *, in_axes=0, out_axes=0, static_broadcasted_argnums=(), devices=None,
         backend=None):
    """fun run on one device per index of the mapped axis `in_axes` of its arguments (the
    first devices of the backend, or `devices`); results stacked along `out_axes`.
    Collectives (mlax.lax.psum ...) over `axis_name` in fun work across the devices."""
    if not callable(fun):
        raise TypeError(f"pmap requires a callable, got {fun!r}")
    static = (static_broadcasted_argnums,) if isinstance(static_broadcasted_argnums, int) \
        else tuple(static_broadcasted_argnums)
    device_ids = None if devices is None else tuple(d.id for d in devices)
    options = (in_axes, out_axes, axis_name, device_ids, backend, static)

    @functools.wraps(fun)
    def mapped(*args, **kwargs):
        return _staged_pmap(fun, options, (freeze(in_axes), freeze(out_axes)) + options[2:])(*args, **kwargs)
    return mapped


_pmap_cache = FunctionCache()


def _staged_pmap(fun, options, key_options):
    """The compiled-when-called-outside-a-trace pmap of fun, one per (fun, options)."""
    return _pmap_cache.get(fun, key_options, lambda f: Jitted(functools.partial(_pmap_traced, f, *options),
                                                               static_argnums=options[-1], backend=options[-2]))


def _devices_for(size, device_ids, backend):
    """The device ids a pmap over `size` instances runs on."""
    if device_ids is not None:
        if len(device_ids) != size:
            raise ValueError(f"pmap got devices= with {len(device_ids)} devices for a mapped axis of size {size}: "
                             "the mapped axis size must equal the number of devices")
        return device_ids
    available = device_lib.devices(backend)
    if size > len(available):
        hint = (f"; set the environment variable MLAX_NUM_CPU_DEVICES={size} (before the devices are first listed) "
                "for more CPU devices" if available[0].platform == "cpu" else "")
        raise ValueError(f"pmap over a mapped axis of size {size} needs {size} devices, but only {len(available)} "
                         f"{available[0].platform} device(s) are available{hint}")
    return tuple(range(size))


def _pmap_traced(fun, in_axes, out_axes, axis_name, device_ids, backend, static, *args, **kwargs):
    if "pmap" in bound_kinds():
        raise NotImplementedError("pmap inside pmap is not supported; use vmap with an axis_name for the inner axis")
    statics = {i: args[i] for i in static if i < len(args)}
    dynamic = tuple(a for i, a in enumerate(args) if i not in statics)
    specs = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    if isinstance(specs, tuple) and statics and len(specs) == len(args):
        specs = tuple(s for i, s in enumerate(specs) if i not in statics)
    leaves = leaves_of(dynamic, kwargs)
    leaf_axes = broadcast_prefix(specs, dynamic, "in_axes", "pmap") + [0] * len(tree_flatten(kwargs)[0])
    leaf_axes = [normalize_axis(a, aval_of(x).ndim, "in_axes", i, "pmap")
                 for i, (a, x) in enumerate(zip(leaf_axes, leaves))]
    sizes = {aval_of(x).shape[a] for x, a in zip(leaves, leaf_axes) if a is not None}
    if len(sizes) != 1:
        detail = ", ".join(f"argument leaf {i} has size {aval_of(x).shape[a]} along axis {a}"
                           for i, (x, a) in enumerate(zip(leaves, leaf_axes)) if a is not None)
        raise ValueError(f"pmap got inconsistent sizes for the mapped axes: {detail}" if sizes else
                         "pmap must have at least one non-None value in in_axes")
    size = sizes.pop()
    devices = _devices_for(size, device_ids, backend)
    example_avals = []
    for x, a in zip(leaves, leaf_axes):
        aval = aval_of(x)
        example_avals.append(aval if a is None else aval.update(shape=aval.shape[:a] + aval.shape[a + 1:]))

    def body(*dynamic_args, **kw):
        merged, rest = [], iter(dynamic_args)
        for i in range(len(args)):
            merged.append(statics[i] if i in statics else next(rest))
        return fun(*merged, **kw)

    body.__name__ = getattr(fun, "__name__", "fn")
    with bind_axis(axis_name, size, "pmap"):
        sub, out_tree = trace_function(body, dynamic, kwargs, avals=example_avals)
    out_avals, out_axes_flat = mapped_outputs(sub, out_tree, out_axes, size, "pmap")
    in_axes_flat = [-1 if a is None else a for a in leaf_axes] + [-1] * len(sub.captures)
    results = emit_transform(higher_order.pmap_p, sub, leaves + sub.captures, out_avals, in_axes=tuple(in_axes_flat),
                             out_axes=out_axes_flat, axis_size=size, axis_name=axis_name, devices=tuple(devices))
    return out_tree.unflatten(results)
