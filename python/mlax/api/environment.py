"""The process and its arrays: process_count/process_index (mlax runs in one
process), device_get, live_arrays, copy_to_host_async, effects_barrier,
clear_caches and print_environment_info.
"""

import gc
import platform as _platform
import sys
import warnings

import numpy as np
from iree.compiler import version as compiler_version
from iree.runtime import version as runtime_version

from mlax import _version
from mlax.api.jit import clear_all_caches
from mlax.runtime import backends, eager
from mlax.runtime.array import Array
from mlax.runtime.device import devices
from mlax.tree_util import tree_leaves, tree_map


def _check_backend(backend):
    if backend is not None:
        backends.get(backend)  # BackendError naming the known ones


def process_count(backend=None):
    """The number of processes running the program: 1 (mlax runs in one process)."""
    _check_backend(backend)
    return 1


def process_index(backend=None):
    """This process's index among process_count(): 0."""
    _check_backend(backend)
    return 0


def process_indices(backend=None):
    """The indices of all processes: [0]."""
    _check_backend(backend)
    return [0]


def _renamed(old, new):
    warnings.warn(f"mlax.{old} has been renamed to mlax.{new}, as in JAX; please update your code.", UserWarning,
                  stacklevel=3)


def host_count(backend=None):
    """process_count under its old name (warns, as JAX does)."""
    _renamed("host_count", "process_count")
    return process_count(backend)


def host_id(backend=None):
    """process_index under its old name (warns, as JAX does)."""
    _renamed("host_id", "process_index")
    return process_index(backend)


def host_ids(backend=None):
    """process_indices under its old name (warns, as JAX does)."""
    _renamed("host_ids", "process_indices")
    return process_indices(backend)


def device_get(x):
    """A host copy of `x`: its arrays become numpy arrays; other leaves stay as they are."""
    return tree_map(lambda leaf: np.asarray(leaf) if isinstance(leaf, Array) else leaf, x)


def copy_to_host_async(x):
    """Start copying the arrays of `x` to the host; returns `x`."""
    for leaf in tree_leaves(x):
        copy = getattr(leaf, "copy_to_host_async", None)
        if copy is not None:
            copy()
    return x


def live_arrays(platform=None):
    """The arrays alive (not deleted) on the devices of `platform` (default: the default backend)."""
    name = platform or backends.default_name()
    backends.get(name)
    return [x for x in gc.get_objects()
            if type(x) is Array and not x.is_deleted() and x.device.platform == name]


def effects_barrier():
    """Wait for the side effects of the functions called so far: mlax finishes each call
    before returning, so there is nothing to wait for."""


def clear_caches():
    """Forget every compiled program (of jitted and transformed functions, and eager ops):
    the next call traces and compiles again (or reads the disk cache)."""
    clear_all_caches()
    eager.clear_kernels()


def print_environment_info(return_string=False):
    """Print (or, with return_string, return) the versions of mlax and its dependencies,
    and the devices."""
    info = "\n".join([
        f"mlax:   {_version.__version__}",
        f"iree-base-compiler: {compiler_version.VERSION}",
        f"iree-base-runtime:  {runtime_version.VERSION}",
        f"numpy:  {np.__version__}",
        f"python: {sys.version}",
        f"device info: {backends.default_name()}-{len(devices())}, {len(devices())} local devices",
        "process_count: 1",
        f"platform: {_platform.uname()}",
    ])
    if return_string:
        return info
    print(info)
