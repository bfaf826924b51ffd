"""Devices, device buffers and loaded executables, over the IREE runtime.

A `Device` is one IREE HAL device of a backend. On the CPU it also holds a
local-sync device: small programs run inline on the calling thread there (a
call costs a few µs), large ones on the local-task device's worker threads.
Both use host memory, so buffers move freely between the two. The CPU has
MLAX_NUM_CPU_DEVICES local-task devices (default 1); a program over several
devices (pmap) is loaded with all of them.

CPU devices allocate through IREE's caching allocator: a buffer that dies (an
Array collected, a program's temporary) goes back to a pool and serves the next
request of the same size, so a steady loop takes no fresh memory from the
system per call (a fresh 64 MiB buffer costs 16,384 page faults and ~30 ms; a
pooled one 0.1 ms). The pool keeps at most MLAX_DEVICE_POOL_BYTES of memory,
live buffers included (default: a quarter of the host's memory); past that,
dying buffers are freed. 0 turns pooling off. GPU drivers pool device memory
themselves (Vulkan's allocator sub-allocates from large blocks; CUDA and HIP
queue allocations come from the driver's memory pools), and IREE 3.13's caching
allocator over its Vulkan allocator fails every queue allocation.
"""

import os
import threading

import numpy as np

import iree.runtime as rt

from mlax import config, errors
from mlax.core import dtypes
from mlax.runtime import backends

_ELEMENT_TYPES = {
    dtypes.bool_: rt.HalElementType.BOOL_8,
    dtypes.int8: rt.HalElementType.SINT_8, dtypes.int16: rt.HalElementType.SINT_16,
    dtypes.int32: rt.HalElementType.SINT_32, dtypes.int64: rt.HalElementType.SINT_64,
    dtypes.uint8: rt.HalElementType.UINT_8, dtypes.uint16: rt.HalElementType.UINT_16,
    dtypes.uint32: rt.HalElementType.UINT_32, dtypes.uint64: rt.HalElementType.UINT_64,
    dtypes.bfloat16: rt.HalElementType.BFLOAT_16, dtypes.float16: rt.HalElementType.FLOAT_16,
    dtypes.float32: rt.HalElementType.FLOAT_32, dtypes.float64: rt.HalElementType.FLOAT_64,
    dtypes.complex64: rt.HalElementType.COMPLEX_64, dtypes.complex128: rt.HalElementType.COMPLEX_128,
}

# The wait fence of work whose inputs are all ready: a fence of no timepoints.
_NO_WAIT = rt.HalFence(0)

_instance = None
_devices = {}  # backend name -> [Device]
_multi_device_modules = {}  # device ids -> HAL module over those devices


def vm_instance():
    global _instance
    if _instance is None:
        _instance = rt.VmInstance()
    return _instance


def out_of_memory(error, device, doing):
    """`error` from IREE as a DeviceOutOfMemoryError naming `device` and what was being done
    (`doing`, with its bytes) when it is an out-of-memory failure (RESOURCE_EXHAUSTED); else
    `error` itself."""
    if "RESOURCE_EXHAUSTED" not in str(error):
        return error
    return errors.DeviceOutOfMemoryError(
        f"{device} ran out of memory {doing} (IREE: {str(error).splitlines()[0].strip()})")


class Device:
    """One device of a backend, e.g. `CpuDevice(id=0)`."""

    def __init__(self, backend, index, hal_device, inline_hal_device=None):
        self.platform = backend.name
        self.backend = backend
        self.id = index
        self.hal_device = hal_device
        self.inline_hal_device = inline_hal_device
        self._hal_modules = {}

    @property
    def device_kind(self):
        return self.backend.driver

    def hal_module(self, inline=False):
        if inline not in self._hal_modules:
            device = self.inline_hal_device if inline else self.hal_device
            self._hal_modules[inline] = rt.create_hal_module(vm_instance(), device)
        return self._hal_modules[inline]

    def put(self, value):
        """Copy the numpy array `value` into a new device buffer view."""
        value = np.asarray(value, order="C")
        raw = value.reshape(-1).view(np.uint8) if value.size else np.zeros(1, np.uint8)
        buffer = self._upload(raw, f"copying {value.nbytes} bytes to it")
        return rt.HalBufferView(buffer, list(value.shape), _ELEMENT_TYPES[value.dtype])

    def copy(self, buffer_view):
        """A new buffer view on this device holding the same data: a copy of the mapped bytes for host
        memory (faster than a queued copy on the CPU), else a transfer on the device's queue."""
        source = buffer_view.get_buffer()
        size = source.byte_length()
        doing = f"copying {size} bytes on it"
        if _mappable(source) and size:
            mapped = buffer_view.map()
            fresh = self._upload(mapped.asarray((size,), np.dtype(np.uint8)), doing)
            del mapped
        else:
            fresh = self._allocate(max(size, 1), rt.MemoryType.DEVICE_LOCAL, rt.BufferUsage.DEFAULT, doing)
            if size:
                self._transfer(source, fresh)
        return rt.HalBufferView(fresh, list(buffer_view.shape), buffer_view.element_type)

    def fetch(self, buffer_view, shape, dtype):
        """Copy a device buffer view (a ready one) into a new numpy array: mapped where the buffer
        allows it (host memory), else through a host-visible staging buffer the device copies into."""
        return self.finish_fetch(self.start_fetch(buffer_view) or buffer_view.get_buffer(), shape, dtype)

    def start_fetch(self, buffer_view, wait=None):
        """Queue the copy of a device buffer the host cannot map into a host-visible staging buffer,
        after the HalFence `wait` (None: now); return (the staging buffer, the HalFence it is full
        at). None for a buffer the host maps: there is nothing to copy."""
        buffer = buffer_view.get_buffer()
        if _mappable(buffer):
            return None
        size = buffer.byte_length()
        staging = self._allocate(size, rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE,
                                 rt.BufferUsage.TRANSFER_TARGET | rt.BufferUsage.MAPPING_SCOPED,
                                 f"reading {size} bytes back from it")
        copied = rt.HalFence.create_at(self.hal_device.create_semaphore(0), 1)
        self.hal_device.queue_copy(buffer, staging, wait_semaphores=wait or _NO_WAIT, signal_semaphores=copied)
        return staging, copied

    def finish_fetch(self, source, shape, dtype):
        """The numpy array of `shape` and `dtype` in `source`: a host-mappable buffer, or what
        start_fetch returned (waited for here)."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes == 0:
            return np.zeros(shape, dtype)
        if isinstance(source, tuple):
            source, copied = source
            copied.wait()
        mapped = source.map()
        raw = np.array(mapped.asarray((nbytes,), np.dtype(np.uint8)), copy=True)
        del mapped
        return raw.view(dtype).reshape(shape)

    def _upload(self, raw, doing):
        """A new device-local buffer holding the bytes `raw`; DeviceOutOfMemoryError names `doing`."""
        try:
            return self.hal_device.allocator.allocate_buffer_copy(
                memory_type=rt.MemoryType.DEVICE_LOCAL, allowed_usage=rt.BufferUsage.DEFAULT,
                device=self.hal_device, buffer=raw)
        except (RuntimeError, ValueError) as error:
            raise out_of_memory(error, self, doing)

    def _allocate(self, size, memory_type, usage, doing):
        """A new uninitialised buffer of `size` bytes; DeviceOutOfMemoryError names `doing`."""
        try:
            return self.hal_device.allocator.allocate_buffer(memory_type=memory_type, allowed_usage=usage,
                                                             allocation_size=size)
        except (RuntimeError, ValueError) as error:
            raise out_of_memory(error, self, doing)

    def _transfer(self, source, target):
        """Copy buffer `source` into `target` on this device's queue and wait for it."""
        semaphore = self.hal_device.create_semaphore(0)
        self.hal_device.queue_copy(source, target, wait_semaphores=rt.HalFence.create_at(semaphore, 0),
                                   signal_semaphores=rt.HalFence.create_at(semaphore, 1))
        rt.HalFence.create_at(semaphore, 1).wait()

    def __repr__(self):
        return f"{self.platform.capitalize()}Device(id={self.id})"


def _mappable(buffer):
    """Whether the host may map `buffer` (host memory allocated with mapping allowed)."""
    host_visible = buffer.memory_type() & int(rt.MemoryType.HOST_VISIBLE)
    return bool(host_visible and buffer.allowed_usage() & int(rt.BufferUsage.MAPPING_SCOPED))


def device_pool_bytes():
    """The bytes a device's allocator may keep pooled, live buffers included (MLAX_DEVICE_POOL_BYTES;
    default a quarter of the host's memory)."""
    value = os.environ.get("MLAX_DEVICE_POOL_BYTES")
    if value is None:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    try:
        size = int(value)
    except ValueError:
        size = -1
    if size < 0:
        raise errors.BackendError(f"MLAX_DEVICE_POOL_BYTES must be a number of bytes (0: no pooling), got {value!r}")
    return size


def _cpu_allocators():
    """IREE allocator specs for a new CPU device: a caching pool on its memory heap whose buffers, at
    most device_pool_bytes() of them, are reused by size; none when that is 0."""
    size = device_pool_bytes()
    return [f"caching:*={size};{size};{POOLED_BUFFERS}"] if size else None


# Dead buffers a device's pool keeps, of any sizes (IREE's default free-list length).
POOLED_BUFFERS = 64


def num_cpu_devices():
    try:
        return max(1, int(os.environ.get("MLAX_NUM_CPU_DEVICES", "1")))
    except ValueError:
        raise errors.BackendError("MLAX_NUM_CPU_DEVICES must be a positive integer, got "
                                  f"{os.environ['MLAX_NUM_CPU_DEVICES']!r}") from None


def devices(backend_name=None):
    """The devices of a backend (default: the configured one). The CPU's count is read
    from MLAX_NUM_CPU_DEVICES at each call; devices once created stay, so device 0 and
    what lives on it are the same whatever the count."""
    name = backend_name or backends.default_name()
    backend = backends.get(name)
    if name == "cpu":
        count = num_cpu_devices()
        created = _devices.setdefault(name, [])
        if len(created) < count:
            driver = _driver(name, backend)
            allocators = _cpu_allocators()
            inline = (created[0].inline_hal_device if created
                      else rt.get_driver("local-sync").create_default_device(allocators=allocators))
            created.extend(Device(backend, i, driver.create_default_device(allocators=allocators), inline)
                           for i in range(len(created), count))
        return created[:count]
    if name not in _devices:
        driver = _driver(name, backend)
        infos = driver.query_available_devices()
        if not infos:
            raise errors.BackendError(f"backend {name!r} has no devices on this machine")
        _devices[name] = [Device(backend, i, driver.create_device(info)) for i, info in enumerate(infos)]
    return _devices[name]


def devices_for(backend_name, count):
    """The first `count` devices of a backend, for a program that runs on that many."""
    available = devices(backend_name)
    if count > len(available):
        raise errors.BackendError(
            f"the program runs on {count} devices, but only {len(available)} {backend_name} device(s) are "
            "available" + (f" (set MLAX_NUM_CPU_DEVICES={count} for more CPU devices)" if backend_name == "cpu"
                           else ""))
    return available[:count]


def _driver(name, backend):
    try:
        return rt.get_driver(backend.driver)
    except Exception as error:  # the IREE runtime raises RuntimeError/ValueError variants
        raise errors.BackendError(
            f"backend {name!r} is not available here: the IREE HAL driver {backend.driver!r} "
            f"could not be loaded ({error}); available drivers: {rt.HalDriver.query()}") from None


def _multi_device_module(device_list):
    """The HAL module of a program over `device_list` (its device k is `__device_k`)."""
    key = tuple(d.id for d in device_list)
    if key not in _multi_device_modules:
        _multi_device_modules[key] = rt.create_hal_module(vm_instance(), devices=[d.hal_device for d in device_list])
    return _multi_device_modules[key]


def default_device(backend_name=None):
    """The device arrays and single-device programs go to when none is given: the configured
    one (config default_device: a Device, or a platform name for its first device) when it is
    on `backend_name` (any backend when None), else the first device of `backend_name`."""
    chosen = config.default_device.value
    if isinstance(chosen, str):
        chosen = devices(chosen)[0]
    elif chosen is not None and not isinstance(chosen, Device):
        raise TypeError(f"default_device must be a Device, a platform name or None, got {chosen!r}")
    if chosen is not None and backend_name in (None, chosen.platform):
        return chosen
    return devices(backend_name)[0]


class Executable:
    """A compiled module loaded on a device (with `devices`, on several: the module's
    device k is devices[k], and device 0 holds its arguments and results); `run` calls its
    function `entry`. `label` names it in errors (default: `entry`).

    A module compiled for asynchronous calls (IREE's coarse-fences ABI, see
    backends.ASYNC_FLAGS) is `asynchronous`: `submit` queues a call and returns its results
    with the fence they are ready at, before the device computes them."""

    def __init__(self, vmfb, device, inline=False, entry="main", devices=None, label=None):
        self.device = device
        self.name = label or entry  # in errors
        self.inline = inline and device.inline_hal_device is not None and not devices
        self.vm_module = rt.VmModule.copy_buffer(vm_instance(), vmfb)
        hal_module = _multi_device_module(devices) if devices else device.hal_module(self.inline)
        self.context = rt.VmContext(vm_instance(), [hal_module, self.vm_module])
        self.function = self.vm_module.lookup_function(entry)
        self._lock = threading.Lock()
        if self.function is None:
            raise errors.CompilationError("loading", f"the module has no function @{entry}")
        self.asynchronous = self.function.reflection.get("iree.abi.model") == "coarse-fences"
        self._hal_device = device.inline_hal_device if self.inline else device.hal_device

    def run(self, buffer_views, num_results):
        """Call the function on device buffer views (ready ones); return the result buffer views
        once they are ready."""
        if self.asynchronous:
            results, ready = self.submit(buffer_views, num_results)
            wait_ready(ready, self)
            return results
        args = rt.VmVariantList(len(buffer_views))
        for view in buffer_views:
            args.push_ref(view)
        results = rt.VmVariantList(num_results)
        with self._lock:  # a VM context runs one invocation at a time
            self.context.invoke(self.function, args, results)
        return [results.get_as_object(i, rt.HalBufferView) for i in range(num_results)]

    def submit(self, buffer_views, num_results):
        """Queue a call of an asynchronous function on ready device buffer views; return the result
        buffer views and the HalFence they are ready at."""
        args = rt.VmVariantList(len(buffer_views) + 2)
        for view in buffer_views:
            args.push_ref(view)
        # A fresh semaphore per call (0.2 µs): a failed one stays failed, and would fail every
        # later call that signals it.
        semaphore = self._hal_device.create_semaphore(0)
        ready = rt.HalFence.create_at(semaphore, 1)
        args.push_ref(_NO_WAIT)
        args.push_ref(ready)
        results = rt.VmVariantList(num_results)
        with self._lock:
            self.context.invoke(self.function, args, results)
        with _queued_lock:
            _queued.append(semaphore)
            if len(_queued) > QUEUED_CHECK:
                _queued[:] = [s for s in _queued if not _reached(s)]
        return [results.get_as_object(i, rt.HalBufferView) for i in range(num_results)], ready


# The semaphores of the calls that may still run (each signals 1 when done), so that work still
# queued at exit is waited for before the runtime goes. Past this many, those reached are dropped.
QUEUED_CHECK = 64
_queued = []
_queued_lock = threading.Lock()


def _reached(semaphore):
    try:
        return semaphore.query() >= 1
    except RuntimeError:  # failed: done too
        return True


def wait_for_queued_work():
    """Wait for every call still queued or running (failures ignored: nothing will read them)."""
    with _queued_lock:
        for semaphore in _queued:
            try:
                semaphore.wait(1)
            except RuntimeError:
                pass
        _queued.clear()


def wait_ready(fence, executable):
    """Wait for `fence`, signalled by a call of `executable`; a failure of the call (on the device,
    or upstream: a call it waited for) raises execution_error."""
    try:
        fence.wait()
    except (RuntimeError, ValueError) as error:
        raise execution_error(error, executable, f"running {executable.name}") from None


def execution_error(error, executable, doing):
    """`error` from IREE, raised by a call of `executable` or by its fence, as DeviceOutOfMemoryError
    (naming `doing`) or DeviceExecutionError, each naming the program and the device."""
    raised = out_of_memory(error, executable.device, doing)
    if raised is error:
        raised = errors.DeviceExecutionError(
            f"{executable.name} failed on {executable.device} (IREE: {_first_line(error)})")
    return raised


def _first_line(error):
    return str(error).strip().splitlines()[0].strip() if str(error).strip() else type(error).__name__


def release_all():
    """Drop every runtime object, in dependency order (at interpreter exit)."""
    global _instance
    _multi_device_modules.clear()
    _devices.clear()
    _instance = None
