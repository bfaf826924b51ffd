"""GPU backends for real, on a Vulkan device (Mesa's lavapipe in CI: device memory the host
may not map, subgroups of 8): targets derived from the device, memory moved by transfers,
programs a device cannot run refused with the reason. CUDA and ROCm targets are checked
by name here (no such GPU on CI); tools/gpu_check.py runs them where one is."""

import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from iree.compiler import ir

import mlax
import mlax.numpy as mnp
from mlax import errors, lax
from mlax.core import mlir
from mlax.runtime import backends, compiler, gpu_targets

try:
    VULKAN = mlax.devices("vulkan")[0]
except errors.BackendError:
    VULKAN = None
needs_vulkan = pytest.mark.skipif(VULKAN is None, reason="no Vulkan device here (apt-get install mesa-vulkan-drivers)")


def _module(fn):
    """`fn` lowered at f32[4] to StableHLO, as a module in mlax's context."""
    text = mlax.jit(fn).lower(np.ones(4, np.float32)).as_text("stablehlo")
    with mlir.context(), ir.Location.unknown():
        return ir.Module.parse(text)


@needs_vulkan
def test_vulkan_target_is_the_devices_own():
    device = gpu_targets.vulkan_devices()[0]
    target = backends.get("vulkan").compile_target()
    assert f"subgroup_size_choices = [{device.subgroup_size}]" in target.executable
    assert f"max_workgroup_memory_bytes = {device.max_workgroup_memory}" in target.executable
    assert not any(flag.startswith("--iree-vulkan-target") for flag in target.flags)


@needs_vulkan
def test_column_sum_uses_the_devices_subgroup_size():
    # Compiled for a target whose subgroups are wider than the device's, this sum added 16 of its 64 rows.
    x = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    got = mlax.jit(lambda a: a.sum(0), backend="vulkan")(x)
    np.testing.assert_allclose(np.asarray(got), x.sum(0), rtol=1e-5, atol=1e-5)


def test_named_target_overrides_the_device(monkeypatch):
    monkeypatch.setenv("MLAX_VULKAN_TARGET", "valhall")
    target = backends.get("vulkan").compile_target()
    assert target.executable is None and "--iree-vulkan-target=valhall" in target.flags
    monkeypatch.setenv("MLAX_CUDA_TARGET", "sm_86")
    assert "--iree-cuda-target=sm_86" in backends.get("cuda").flags()
    assert "--iree-cuda-target=sm_86" in backends.get("cuda").flags(portable=True)


def test_hopper_compiles_for_the_newest_target_iree_has_below_it(monkeypatch):
    # IREE 3.13 cannot generate sm_90 code; sm_89 PTX runs on an sm_90 GPU.
    monkeypatch.delenv("MLAX_CUDA_TARGET", raising=False)
    monkeypatch.setattr(gpu_targets, "cuda_arch", lambda: "sm_90")
    assert "--iree-cuda-target=sm_89" in backends.get("cuda").flags()
    module = _module(lambda a: a * 2.0)
    assert b"cuda-nvptx-fb" in compiler.compile_module(module, "cuda")


def test_exports_get_portable_targets(monkeypatch):
    for variable in ("MLAX_VULKAN_TARGET", "MLAX_CUDA_TARGET", "MLAX_ROCM_TARGET"):
        monkeypatch.delenv(variable, raising=False)
    portable_vulkan = backends.get("vulkan").compile_target(portable=True).executable
    assert "subgroup = none" in portable_vulkan and "fp64" in portable_vulkan
    assert f"--iree-cuda-target={backends.PORTABLE_CUDA_TARGET}" in backends.get("cuda").flags(portable=True)
    assert f"--iree-rocm-target={backends.PORTABLE_ROCM_TARGET}" in backends.get("rocm").flags(portable=True)


def test_jit_for_an_absent_gpu_names_the_override(monkeypatch):
    monkeypatch.delenv("MLAX_CUDA_TARGET", raising=False)
    monkeypatch.setattr(gpu_targets, "cuda_arch", lambda: (_ for _ in ()).throw(errors.BackendError("no CUDA")))
    with pytest.raises(errors.BackendError, match="MLAX_CUDA_TARGET"):
        backends.get("cuda").flags()


@pytest.mark.parametrize("version, name", [(90402, "gfx942"), (90010, "gfx90a"), (110001, "gfx1101")])
def test_rocm_names_from_kfd_versions(version, name):
    assert gpu_targets.gfx_name(version) == name


@needs_vulkan
def test_target_is_part_of_the_cache_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path))
    module = _module(lambda a: a * 2.0)
    compiler.compile_module(module, "vulkan")
    monkeypatch.setenv("MLAX_VULKAN_TARGET", "vp_android_baseline_2022")
    compiler.compile_module(module, "vulkan")
    assert len(list(tmp_path.rglob("*.vmfb"))) == 2


@needs_vulkan
def test_arrays_move_between_cpu_and_vulkan():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    on_gpu = mlax.device_put(x, VULKAN)
    assert on_gpu.device == VULKAN
    np.testing.assert_array_equal(np.asarray(on_gpu), x)
    assert on_gpu[1, 2].item() == 6.0 and float(on_gpu.sum()) == 66.0
    assert on_gpu.block_until_ready() is on_gpu and on_gpu.tolist() == x.tolist()
    assert "11." in repr(on_gpu) and "11." in str(on_gpu)
    on_cpu = mlax.device_put(on_gpu, mlax.devices("cpu")[0])
    assert on_cpu.device.platform == "cpu"
    back = mlax.device_put(on_cpu * 2, VULKAN)
    np.testing.assert_array_equal(np.asarray(back), 2 * x)


@needs_vulkan
def test_programs_that_overwrite_or_take_arguments_on_vulkan():
    x = np.arange(8, dtype=np.float32)
    on_gpu = mlax.device_put(x, VULKAN)
    set_first = mlax.jit(lambda a: a.at[0].set(5.0), backend="vulkan")
    np.testing.assert_array_equal(np.asarray(set_first(on_gpu)), np.r_[5.0, x[1:]])
    np.testing.assert_array_equal(np.asarray(on_gpu), x)  # the argument is unchanged
    donated = mlax.device_put(x, VULKAN)
    out = mlax.jit(lambda a: a + 1.0, backend="vulkan", donate_argnums=0)(donated)
    np.testing.assert_array_equal(np.asarray(out), x + 1.0)
    np.testing.assert_array_equal(np.asarray(mlax.pmap(lambda a: a * 3.0, backend="vulkan")(x[None])), 3 * x[None])


@needs_vulkan
def test_export_for_vulkan_runs_there():
    exported = mlax.export(mlax.jit(lambda a, b: mnp.tanh(a @ b).sum(0)), platforms=("vulkan",))(
        np.ones((16, 8), np.float32), np.ones((8, 4), np.float32))
    restored = mlax.deserialize(exported.serialize())
    a = np.random.default_rng(1).standard_normal((16, 8)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((8, 4)).astype(np.float32)
    platform = mlax.config.read("mlax_platform_name")
    mlax.config.update("mlax_platform_name", "vulkan")
    try:
        got = restored.call(a, b)
    finally:
        mlax.config.update("mlax_platform_name", platform)
    assert got.device == VULKAN
    np.testing.assert_allclose(np.asarray(got), np.tanh(a @ b).sum(0), rtol=1e-5, atol=1e-5)


@needs_vulkan
def test_grouped_convolution_is_refused_on_vulkan():
    x = np.ones((2, 4, 5, 5), np.float32)
    w = np.ones((6, 2, 3, 3), np.float32)
    grouped = mlax.jit(lambda a, b: lax.conv_general_dilated(a, b, (1, 1), "VALID", feature_group_count=2),
                       backend="vulkan")
    with pytest.raises(errors.BackendError, match="grouped convolutions.*vulkan|vulkan.*grouped convolutions"):
        grouped(x, w)


@needs_vulkan
def test_a_dtype_the_device_lacks_is_refused(monkeypatch, x64):
    device = gpu_targets.vulkan_devices()[0]
    monkeypatch.setattr(gpu_targets, "vulkan_devices", lambda: (dataclasses.replace(device, float64=False),))
    with pytest.raises(errors.BackendError) as error:
        mlax.jit(lambda a: a * 2.0, backend="vulkan")(np.ones(3, np.float64))
    assert "float64" in str(error.value) and re.escape(device.name)[:8] in str(error.value)


@needs_vulkan
def test_long_sorts_are_refused_on_vulkan_and_short_ones_are_right():
    reversed_keys = np.arange(backends.LONGEST_SPIRV_SORT, 0, -1).astype(np.float32)
    sort = mlax.jit(mnp.sort, backend="vulkan")
    np.testing.assert_array_equal(np.asarray(sort(reversed_keys)), np.sort(reversed_keys))
    columns = np.random.default_rng(3).standard_normal((backends.LONGEST_SPIRV_SORT, 5)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(mlax.jit(lambda a: mnp.sort(a, axis=0), backend="vulkan")(columns)),
                                  np.sort(columns, axis=0))
    with pytest.raises(errors.BackendError, match="sorts along an axis longer than 256"):
        sort(np.zeros(backends.LONGEST_SPIRV_SORT + 1, np.float32))
    with pytest.raises(errors.BackendError, match="sorts along an axis longer than 256"):
        mlax.jit(lambda a: lax.top_k(a, 3), backend="vulkan")(np.zeros((2, 300), np.float32))


@needs_vulkan
def test_cli_compiles_for_vulkan_and_runs_there(tmp_path):
    (tmp_path / "model_gpu_cli.py").write_text("import mlax.numpy as mnp\n\n\ndef loss(w, x):\n"
                                               "    return mnp.tanh(x @ w).sum(0)\n")
    w = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    x = np.random.default_rng(5).standard_normal((2, 3)).astype(np.float32)
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    mlax_script = os.path.join(os.path.dirname(sys.executable), "mlax")

    def mlax_command(*argv, platform="cpu"):
        done = subprocess.run([mlax_script, *argv], capture_output=True, text=True, cwd=tmp_path,
                              env=dict(os.environ, MLAX_PLATFORM=platform))
        assert (done.returncode, done.stderr) == (0, "")
        return done.stdout

    mlax_command("compile", "model_gpu_cli.py:loss", "--arg", "f32[3,4]", "--arg", "f32[2,3]", "--target", "vulkan",
                 "-o", "loss.mlaxpkg")
    out = mlax_command("run", "loss.mlaxpkg", "--input", "w.npy", "x.npy", "--output-dir", "out", platform="vulkan")
    assert out.startswith("out: f32[4]")
    np.testing.assert_allclose(np.load(tmp_path / "out" / "out_0.npy"), np.tanh(x @ w).sum(0), rtol=1e-5, atol=1e-6)


@needs_vulkan
def test_bools_as_floats_fused_into_a_matmul_compile_for_vulkan():
    # IREE's SPIR-V matmul could not take a bool-to-float conversion fused into it (eye, one_hot).
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_array_equal(np.asarray(mlax.jit(lambda m: m @ mnp.eye(4, dtype=np.float32),
                                                      backend="vulkan")(a)), a)
    labels = np.array([1, 3, 0])
    got = mlax.jit(lambda i: mlax.nn.one_hot(i, 4) @ a, backend="vulkan")(labels)
    np.testing.assert_array_equal(np.asarray(got), a[labels])
