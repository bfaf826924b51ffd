"""Compiler flags chosen per module: features of the lowered program pick extra IREE flags; the
process-wide options are part of the cache key."""

import numpy as np

import mlax
from mlax.core import mlir
from mlax.runtime import backends, compiler

MATMUL = ("%0 = stablehlo.dot_general %a, %b, contracting_dims = [1] x [0] : "
          "(tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32>")


def test_module_features():
    assert compiler.module_features(MATMUL.format(m=4, k=8, n=4)) == set()
    assert compiler.module_features(MATMUL.format(m=2048, k=512, n=512)) == set()
    assert compiler.module_features(MATMUL.format(m=8, k=1024, n=8)) == {"large_matmul"}
    batched = ("%0 = stablehlo.dot_general %a, %b, batching_dims = [0] x [0], contracting_dims = [2] x [1] : "
               "(tensor<4x8x2048xf32>, tensor<4x2048x8xf32>) -> tensor<4x8x8xf32>")
    assert compiler.module_features(batched) == {"large_matmul"}
    assert compiler.module_features("%0 = stablehlo.sine %a : tensor<3xf64>") == {"float64"}
    # The interpreter tier's kernel, of sizes known only at run time.
    assert compiler.module_features(MATMUL.replace("{m}x{k}", "?x?").replace("{k}x{n}", "?x?")
                                    .replace("{m}x{n}", "?x?")) == {"dynamic_matmul"}


def test_cpu_flags_per_feature():
    cpu = backends.get("cpu")
    plain = cpu.flags()
    assert "--iree-llvmcpu-target-cpu=host" in plain and "--iree-input-demote-f64-to-f32=false" in plain
    assert "--iree-dispatch-creation-data-tiling=true" in cpu.flags(features={"large_matmul"})
    assert "--iree-llvmcpu-link-embedded=false" in cpu.flags(features={"float64"})
    assert "--iree-llvmcpu-enable-ukernels=all" in cpu.flags(features={"dynamic_matmul"})
    assert "--iree-llvmcpu-target-cpu=generic" in cpu.flags(portable=True)
    cuda = backends.get("cuda")
    assert cuda.flags(portable=True, features={"large_matmul"}) == cuda.flags(portable=True)


def _lowered(fn, *args):
    program = mlax.jit(fn).lower(*args)._program
    program.lower()
    return program


def test_the_process_wide_options_are_part_of_the_cache_key(monkeypatch, tmp_path):
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path))
    keys = []
    monkeypatch.setattr(compiler.disk_cache, "read", lambda key: keys.append(key) or b"cached")
    program = _lowered(lambda x: x * 3.0, np.ones(3, np.float32))
    compiler.compile_module(program.module, "cpu", text=program.as_text("stablehlo"))
    monkeypatch.setattr(compiler.mlir, "GLOBAL_COMPILER_OPTIONS", mlir.GLOBAL_COMPILER_OPTIONS + ("--x",))
    compiler.compile_module(program.module, "cpu", text=program.as_text("stablehlo"))
    assert len(set(keys)) == 2
