"""Backends and IREE compilation: every target compiles here (no GPU needed), the CPU
module runs, failures are reported by stage with the IR saved, and the disk cache
spares a second process the compilation."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from iree.compiler import ir

import mlax
import mlax.numpy as mnp
from mlax import errors
from mlax.core import mlir
from mlax.runtime import backends, compiler, device as device_lib

# The executable format each backend's .vmfb must embed.
EXECUTABLE_FORMATS = {
    "cpu": b"embedded-elf-",
    "cuda": b"cuda-nvptx-fb",
    "vulkan": b"vulkan-spirv-fb",
    "rocm": b"rocm-hsaco-fb",
}


def _program(x):
    return mnp.sin(x) * 2.0 + 1.0


def lowered_module(fn=_program):
    """`fn` traced at f32[4] and lowered to StableHLO, as a module in mlax's context."""
    text = mlax.jit(fn).lower(mlax.ShapeDtypeStruct((4,), np.float32)).as_text("stablehlo")
    with mlir.context(), ir.Location.unknown():
        return ir.Module.parse(text)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty MLAX_CACHE_DIR, so that compilation really happens."""
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("name", sorted(backends.BACKENDS))
def test_every_backend_compiles(name, fresh_cache):
    # For export (a portable target): jit compiles for a device that is here (test_gpu_backends).
    vmfb = compiler.compile_module(lowered_module(), name, portable=True)
    assert EXECUTABLE_FORMATS[name] in vmfb
    assert len(list(fresh_cache.rglob("*.vmfb"))) == 1


def test_cpu_module_runs(fresh_cache):
    vmfb = compiler.compile_module(lowered_module(), "cpu")
    device = device_lib.devices("cpu")[0]
    x = np.array([0.0, 0.5, -1.0, 3.0], np.float32)
    [out] = device_lib.Executable(vmfb, device).run([device.put(x)], 1)
    np.testing.assert_allclose(device.fetch(out, (4,), np.float32), np.sin(x) * 2 + 1, rtol=1e-6)


def test_unknown_backend_names_the_known_ones():
    with pytest.raises(errors.BackendError) as error:
        compiler.compile_module(lowered_module(), "tpu")
    message = str(error.value)
    assert "'tpu'" in message
    for name in backends.BACKENDS:
        assert f"'{name}'" in message


def test_failed_iree_compilation_names_stage_and_saves_ir(fresh_cache):
    text = """
    func.func @main(%x: tensor<3x3xf32>) -> tensor<3xf32> {
      %0 = stablehlo.custom_call @lapack_sgesvd(%x) : (tensor<3x3xf32>) -> tensor<3xf32>
      return %0 : tensor<3xf32>
    }
    """
    with mlir.context(), ir.Location.unknown():
        module = ir.Module.parse(text)
    with pytest.raises(errors.CompilationError) as error:
        compiler.compile_module(module, "cpu")
    failure = error.value
    assert failure.stage == "IREE compilation for backend 'cpu'"
    assert str(failure).startswith(f"{failure.stage} failed: ")
    assert "stablehlo.custom_call" in str(failure)
    assert failure.ir_path in str(failure)
    with open(failure.ir_path) as f:
        assert "lapack_sgesvd" in f.read()


# Runs a jit program, counting the IREE compiler invocations it starts.
_CACHE_SCRIPT = """
import json, numpy as np
import mlax, mlax.numpy as mnp
from mlax.runtime import compiler

invocations = []
original = compiler._worker.compile


def counted(*args):
    invocations.append(1)
    return original(*args)


compiler._worker.compile = counted
out = mlax.jit(lambda x: mnp.cos(x) * 3.0 + x)(np.arange(4, dtype=np.float32))
print(json.dumps({"invocations": len(invocations), "out": np.asarray(out).tolist()}))
"""


def test_disk_cache_spares_a_second_process_compilation(tmp_path):
    env = dict(os.environ, MLAX_CACHE_DIR=str(tmp_path / "cache"))

    def run():
        done = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env, capture_output=True, text=True,
                              check=True)
        return json.loads(done.stdout)

    first, second = run(), run()
    assert first["invocations"] == 1 and second["invocations"] == 0
    assert second["out"] == first["out"]
    np.testing.assert_allclose(first["out"], np.cos(np.arange(4)) * 3 + np.arange(4), rtol=1e-6)
