"""Calling Python from mlax code: pure_callback, and the debugging callbacks
debug_print and debug_callback (mlax.debug.print, mlax.debug.callback).

They run outside transformations, with the arrays read to the host. A compiled
mlax program cannot call back into Python yet, so inside jit, grad, vmap and
the other transformations they raise NotImplementedError; call them on
concrete values (outside the transformed function, or under mlax.disable_jit).
"""

import numpy as np

from mlax.core import dtypes
from mlax.core.array_methods import ArrayMethods
from mlax.core.trace import current_trace
from mlax.runtime.array import device_put
from mlax.tree_util import tree_flatten, tree_map

VMAP_METHODS = (None, "sequential", "sequential_unrolled", "expand_dims", "broadcast_all", "legacy_vectorized")


def _outside_transformations(what):
    if current_trace() is not None:
        raise NotImplementedError(
            f"{what} inside jit, grad, vmap or another transformation is not supported: a compiled mlax program "
            "cannot call back into Python; call it on concrete values (outside the transformed function, or "
            "inside `with mlax.disable_jit():`)")


def _to_host(tree):
    """Arrays (and numpy values) in `tree` as numpy arrays; other leaves as they are."""
    return tree_map(lambda x: np.asarray(x) if isinstance(x, (ArrayMethods, np.ndarray, np.generic)) else x, tree)


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None, **kwargs):
    """callback(*args, **kwargs) computed by Python on host copies (numpy arrays) of the
    arguments; its result, of the structure, shapes and dtypes of `result_shape_dtypes`
    (ShapeDtypeStructs), comes back as arrays. Outside transformations only (see the
    module docstring); `vmap_method` is validated and matters only under vmap."""
    if sharding is not None:
        raise NotImplementedError(f"pure_callback: sharding={sharding!r} is not supported (mlax has no sharding)")
    if vmap_method not in VMAP_METHODS:
        raise ValueError(f"pure_callback: vmap_method must be one of {list(VMAP_METHODS)}, got {vmap_method!r}")
    _outside_transformations("pure_callback")
    result = callback(*_to_host(args), **_to_host(kwargs))
    expected, expected_tree = tree_flatten(result_shape_dtypes)
    got, got_tree = tree_flatten(result)
    if got_tree != expected_tree:
        raise TypeError(f"pure_callback: the callback returned a result of structure {got_tree}, but "
                        f"result_shape_dtypes has structure {expected_tree}")
    arrays = []
    for i, (value, spec) in enumerate(zip(got, expected)):
        value = np.asarray(value)
        want = (tuple(spec.shape), dtypes.canonicalize(spec.dtype))
        have = (value.shape, dtypes.canonicalize(value.dtype))
        if have != want:
            raise TypeError(f"pure_callback: result {i} of the callback has shape {have[0]} and dtype {have[1].name}, "
                            f"but result_shape_dtypes gives shape {want[0]} and dtype {want[1].name}")
        arrays.append(device_put(value.astype(want[1])))
    return expected_tree.unflatten(arrays)


def debug_callback(callback, *args, ordered=False, partitioned=False, **kwargs):
    """Call callback(*args, **kwargs) for its side effect, on host copies (numpy arrays) of
    the arrays; returns None. Outside transformations only (see the module docstring),
    where calls happen in program order whatever `ordered` says."""
    if partitioned:
        raise NotImplementedError("debug.callback: partitioned=True is not supported (mlax has no sharding)")
    _outside_transformations("debug.callback")
    callback(*_to_host(args), **_to_host(kwargs))


def debug_print(fmt, *args, ordered=False, partitioned=False, skip_format_check=False, **kwargs):
    """Print fmt.format(*args, **kwargs) with the arrays read to the host. Outside
    transformations only (see the module docstring), where prints happen in program
    order whatever `ordered` says, and the format is checked by formatting it."""
    if partitioned:
        raise NotImplementedError("debug.print: partitioned=True is not supported (mlax has no sharding)")
    if not isinstance(fmt, str):
        raise TypeError(f"debug.print: fmt must be a format string, got {type(fmt).__name__}")
    _outside_transformations("debug.print")
    print(fmt.format(*_to_host(args), **_to_host(kwargs)))

