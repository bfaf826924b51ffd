"""io_callback: a Python function called for its effects, with arrays in and out."""

from mlax.api.callbacks import pure_callback
from mlax.core.trace import current_trace


def io_callback(callback, result_shape_dtypes, *args, sharding=None, ordered=False, **kwargs):
    """callback(*args, **kwargs) run by Python on host copies of the arrays, for its effects;
    its result, shaped as result_shape_dtypes (ShapeDtypeStructs), comes back as arrays.
    Outside transformations only, as mlax.pure_callback (a compiled mlax program cannot call
    Python), where calls happen in program order whatever `ordered` says."""
    if sharding is not None:
        raise NotImplementedError(f"io_callback: sharding={sharding!r} is not supported")
    if current_trace() is not None:
        raise NotImplementedError("io_callback inside jit, grad, vmap or another transformation is not supported: "
                                  "a compiled mlax program cannot call back into Python; call it on concrete values")
    return pure_callback(callback, result_shape_dtypes, *args, **kwargs)
