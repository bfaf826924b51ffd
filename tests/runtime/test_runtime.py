"""The runtime: devices and backends, eager kernels and their cache, arrays
staying on the device, and a clean interpreter exit."""

import collections
import os
import subprocess
import sys

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors
from mlax.runtime import compiler, eager, kernels


def test_devices_and_default_backend():
    devices = mlax.devices()
    assert devices and devices[0].platform == "cpu"
    assert repr(devices[0]) == "CpuDevice(id=0)"
    assert mlax.default_backend() == "cpu"
    assert mlax.device_count() == len(devices)
    x = mlax.device_put(np.arange(3.0), devices[0])
    assert x.devices() == {devices[0]}


def test_unknown_platform_is_a_clear_error():
    with pytest.raises(errors.BackendError, match="unknown backend 'tpu'.*cpu"):
        mlax.devices("tpu")


def test_platform_from_environment_is_used():
    script = "import mlax\ntry:\n    print(mlax.devices())\nexcept mlax.errors.BackendError as e:\n    print(e)\n"
    env = dict(os.environ, MLAX_PLATFORM="vulkan")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert mlax.default_backend() == "cpu"
    # The vulkan backend is picked up: its devices, or (without a Vulkan driver) why there are none.
    assert run.stdout.startswith("[VulkanDevice(id=0)") or "backend 'vulkan' is not available here" in run.stdout


def test_eager_elementwise_kernels_are_shape_polymorphic(monkeypatch):
    monkeypatch.setattr(kernels, "_loaded", collections.OrderedDict())
    monkeypatch.setattr(eager, "_applications", {})
    a = mnp.asarray(np.arange(6, dtype=np.float32))
    b = mnp.asarray(np.arange(35, dtype=np.float32).reshape(5, 7))
    np.testing.assert_allclose(np.asarray(a * a), np.arange(6) ** 2)
    np.testing.assert_allclose(np.asarray(b * b), np.arange(35).reshape(5, 7) ** 2)
    np.testing.assert_allclose(np.asarray(a * a + a), np.arange(6) ** 2 + np.arange(6))
    assert len(kernels._loaded) == 2, "one kernel for mul and one for add, whatever the shapes"


def test_eager_reshapes_compile_nothing(monkeypatch):
    compiled = []
    original = compiler.compile_module
    monkeypatch.setattr(compiler, "compile_module", lambda *a, **k: compiled.append(1) or original(*a, **k))
    monkeypatch.setattr(kernels, "_loaded", collections.OrderedDict())
    monkeypatch.setattr(eager, "_applications", {})
    x = mnp.asarray(np.arange(24, dtype=np.float32))
    for shape in [(2, 12), (4, 3, 2), (24, 1), (1, 2, 1, 12)]:
        np.testing.assert_array_equal(np.asarray(x.reshape(shape)), np.arange(24).reshape(shape))
    np.testing.assert_array_equal(np.asarray(mnp.squeeze(mnp.expand_dims(x, (0, 2)), 0)), np.arange(24)[:, None])
    assert not compiled, "reshapes read their operand's buffer with another shape"


def test_arrays_stay_on_device_until_read():
    f = mlax.jit(lambda x: x * 2)
    x = mnp.ones(4)
    y = f(f(x))
    assert y._host is None, "nothing was copied to the host between the calls"
    assert y.tolist() == [4.0] * 4
    assert y._host is not None


def test_clean_exit_without_leak_reports():
    script = ("import numpy as np, mlax, mlax.numpy as mnp\n"
              "x = mnp.ones(3)\n"
              "y = mlax.jit(lambda a: a * 2)(x)\n"
              "g = mlax.grad(lambda a: (a ** 2).sum())(x)\n"
              "z = x + 1\n"
              "print(float(y.sum() + g.sum() + z.sum()))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "18.0"
    assert run.stderr == "", f"unexpected output at exit: {run.stderr}"


def test_the_eager_kernel_cache_is_bounded(monkeypatch):
    import mlax.numpy as mnp
    from mlax.runtime import eager

    monkeypatch.setattr(kernels, "KERNEL_CACHE_SIZE", 3)
    eager.clear_kernels()
    for n in range(1, 7):  # cumsum (of no kernel form) compiles one kernel per shape
        np.testing.assert_array_equal(np.asarray(mnp.cumsum(mnp.arange(float(n)))), np.cumsum(np.arange(n)))
    assert len(kernels._loaded) <= 3


def test_device_out_of_memory_is_an_mlax_error_naming_the_device():
    from mlax import errors

    too_big = mlax.jit(lambda x: mnp.broadcast_to(x, (1_000_000, 1_000_000)).sum())  # 4 TB of float32
    with pytest.raises(errors.DeviceOutOfMemoryError, match=r"CpuDevice\(id=0\) ran out of memory running a "
                                                            r"compiled program .*1000000000000 elements"):
        too_big(mnp.ones(()))
    assert isinstance(errors.DeviceOutOfMemoryError("x"), MemoryError)
    assert float(mlax.jit(lambda x: x + 1)(1.0)) == 2.0  # the process goes on
