"""mlax: NumPy-style arrays and composable transformations, compiled through MLIR and IREE.

`import mlax as jax` works for the features mlax has: jit, make_mlir,
mlax.numpy, mlax.lax, mlax.tree_util, devices and config (each setting also a
context manager: `with mlax.enable_x64(True):`); `mlax.export`, `mlax.load`
and `mlax.deserialize` save compiled functions ahead of time.
"""

import atexit as _atexit
import gc as _gc

from mlax._version import __version__  # noqa: F401
from mlax import config, errors, tree_util  # noqa: F401
from mlax import tree  # noqa: F401  (jax.tree: short names for tree_util's functions)
from mlax import ops as _ops  # noqa: F401  (defines the op table)
from mlax.core.aval import ShapeDtypeStruct  # noqa: F401
from mlax.runtime import eager as _eager, pipeline as _pipeline  # noqa: F401  (eager installs its hook)
from mlax.runtime.array import Array  # noqa: F401
from mlax.runtime.device import Device  # noqa: F401
from mlax.runtime.export import Exported, deserialize, load  # noqa: F401
from mlax.api.autodiff import grad, hessian, jacfwd, jacrev, jvp, linearize, value_and_grad, vjp  # noqa: F401
from mlax.api.autodiff import jacrev as jacobian  # noqa: F401  (JAX's alias of jacrev)
from mlax.api.custom_rules import checkpoint, custom_jvp, custom_vjp, remat  # noqa: F401
from mlax.api.export import export  # noqa: F401
from mlax.api.jit import jit, make_mlir  # noqa: F401
from mlax.api.pmap import pmap  # noqa: F401
from mlax.api.vmap import vmap  # noqa: F401
from mlax.api import checkpoint_policies  # noqa: F401
from mlax.api.callbacks import pure_callback  # noqa: F401
from mlax.api.environment import (clear_caches, copy_to_host_async, device_get, effects_barrier, host_count,  # noqa: F401
                                  host_id, host_ids, live_arrays, print_environment_info, process_count,
                                  process_index, process_indices)
from mlax.api.extra_transforms import closure_convert, custom_gradient, fwd_and_bwd, linear_transpose  # noqa: F401
from mlax.api.introspection import (ensure_compile_time_eval, eval_shape, make_jaxpr, named_call,  # noqa: F401
                                    named_scope, typeof)
from mlax.config import (allow_f16_reductions, array_garbage_collection_guard, check_tracer_leaks,  # noqa: F401
                         checking_leaks, debug_infs, debug_key_reuse, debug_nans, default_device,
                         default_matmul_precision, default_prng_impl, disable_jit, enable_checks, enable_custom_prng,
                         enable_x64, explain_cache_misses, jax2tf_associative_scan_reductions, legacy_prng_key,
                         log_compiles, make_user_context, no_execution, no_tracing, numpy_dtype_promotion,
                         numpy_rank_promotion, softmax_custom_jvp, thread_guard, threefry_partitionable,
                         transfer_guard, transfer_guard_device_to_device, transfer_guard_device_to_host,
                         transfer_guard_host_to_device)
from mlax import _version as version  # noqa: F401  (jax.version: version.__version__)
from mlax import custom_derivatives, debug, dtypes, stages, typing  # noqa: F401
from mlax.api.sharding import (NamedSharding, Shard, device_put, make_array_from_callback,  # noqa: F401
                               make_array_from_process_local_data, make_array_from_single_device_arrays, make_mesh,
                               reshard, set_mesh, shard_map, smap)
from mlax.api.sharding import PartitionSpec as P  # noqa: F401
from mlax import dlpack, experimental, image, monitoring, profiler, sharding  # noqa: F401
from mlax.dtypes import float0  # noqa: F401
from mlax import lax, nn, numpy, random, scipy  # noqa: F401
from mlax import passes as _passes
from mlax.core import mlir as _mlir
from mlax.runtime import array as _array, backends as _backends, compiler as _compiler, device as _device
from mlax.runtime import interpreter as _interpreter, kernels as _kernels

# Load the passes and the MLIR context now, so that a program's first call pays
# only for tracing, passes and compiling (or a disk-cache read).

_passes.available()
_mlir.context()


def devices(backend=None):
    """The devices of `backend` (default: the configured backend, cpu unless set)."""
    return list(_device.devices(backend))


def local_devices(process_index=None, backend=None, host_id=None):
    """The devices of `backend` that process `process_index` (default: this one) drives: mlax
    runs in one process, 0, which drives them all. host_id is JAX's old name of process_index."""
    index = process_index if process_index is not None else host_id if host_id is not None else 0
    if index != 0:
        raise ValueError(f"Unknown process_index {index}: mlax runs in one process, 0")
    return devices(backend)


def device_count(backend=None):
    """The number of devices of `backend` (MLAX_NUM_CPU_DEVICES sets it for the CPU)."""
    return len(devices(backend))


def local_device_count(backend=None):
    """The number of devices of `backend` this process drives: all of them (see local_devices)."""
    return device_count(backend)


def default_backend():
    """The name of the backend arrays go to by default ("cpu", "cuda", ...)."""
    return _backends.get(_backends.default_name()).name


def block_until_ready(tree):
    """Wait for every array in `tree`; returns `tree`."""
    for leaf in tree_util.tree_leaves(tree):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return tree


@_atexit.register
def _release_native_state():
    # The IREE compiler and runtime must be torn down before Python's own
    # module teardown, in this order, or they crash or report leaks at exit.
    _interpreter.stop_compilations()
    _eager.clear_kernels()
    _kernels.unload_all()
    _gc.collect()
    _device.wait_for_queued_work()
    _array.drop_fences()
    _device.release_all()
    _compiler.close_sessions()
    _mlir.close()
