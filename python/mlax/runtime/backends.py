"""The backends mlax knows: each maps to an IREE compile target and a HAL driver.

One row per backend. `jit_flags` tune for this machine (host CPU); export uses
`export_flags`, which run on any machine of the backend's kind; `feature_flags`
add flags for modules with a feature (see compiler.module_features). A module
over several devices (pmap) names device k `__device_k` in its IR
(#hal.device.affinity<@__device_k>; ops/collectives.py owns that naming and the
module attribute saying how many there are) and is compiled for that many devices
of the backend.
"""

import dataclasses
import os

from mlax import config, errors
from mlax.ops.collectives import device_symbol


@dataclasses.dataclass(frozen=True)
class Backend:
    name: str
    driver: str                 # IREE HAL driver that runs its modules
    target_flags: tuple         # iree-compile flags naming the target device
    jit_flags: tuple = ()       # extra flags for modules compiled for this machine
    export_flags: tuple = ()    # extra flags for portable modules
    feature_flags: dict = dataclasses.field(default_factory=dict)  # feature -> extra flags

    def flags(self, portable=False, features=(), num_devices=1):
        extra = self.export_flags if portable else self.jit_flags
        for feature in sorted(features):
            extra += self.feature_flags.get(feature, ())
        return COMMON_FLAGS + self.device_flags(num_devices) + extra

    def device_flags(self, count):
        """The target flags for a module over `count` devices: one named, numbered
        `--iree-hal-target-device=__device_k=<target>[k]` each (unnumbered devices of one
        target would be folded into one)."""
        if count == 1:
            return self.target_flags
        target = self.target_flags[0].split("=", 1)[1]
        return (tuple(f"--iree-hal-target-device={device_symbol(k)}={target}[{k}]" for k in range(count))
                + self.target_flags[1:])


# f64 really is computed in f64 (IREE demotes it by default); mlax has already
# canonicalized dtypes, so no f64 appears unless x64 is enabled. Const-eval (IREE
# running constant subexpressions at compile time) costs ~0.3 s per program and
# buys little: traced programs hold small constants. (--iree-dispatch-creation-fuse-multi-use=false
# would fix tests/runtime/test_multi_use_fusion.py but makes reduce_window's derivatives and
# batched reduce_window wrong: IREE 3.13 miscompiles one way or the other.)
COMMON_FLAGS = ("--iree-input-demote-f64-to-f32=false", "--iree-opt-const-eval=false")

_CUDA_TARGET = os.environ.get("MLAX_CUDA_TARGET", "sm_80")
_ROCM_TARGET = os.environ.get("MLAX_ROCM_TARGET", "gfx942")
_VULKAN_TARGET = os.environ.get("MLAX_VULKAN_TARGET", "ampere")

BACKENDS = {
    b.name: b for b in [
        Backend("cpu", "local-task",
                ("--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu"),
                jit_flags=("--iree-llvmcpu-target-cpu=host",),
                export_flags=("--iree-llvmcpu-target-cpu=generic",),
                feature_flags={
                    # float64 sin, tanh, ... are libm calls, which IREE's embedded ELF
                    # linker cannot resolve: link those modules as system libraries.
                    "float64": ("--iree-llvmcpu-link-embedded=false",),
                    # Data tiling from dispatch creation packs matmul operands: long
                    # contractions run faster (1024^3: 147 -> 184 GFLOP/s here), but a
                    # program takes ~1 s longer to compile, so only those get it.
                    "large_matmul": ("--iree-dispatch-creation-data-tiling=true",),
                }),
        Backend("cuda", "cuda", ("--iree-hal-target-device=cuda", f"--iree-cuda-target={_CUDA_TARGET}")),
        Backend("vulkan", "vulkan", ("--iree-hal-target-device=vulkan",
                                     f"--iree-vulkan-target={_VULKAN_TARGET}")),
        Backend("rocm", "hip", ("--iree-hal-target-device=hip", f"--iree-rocm-target={_ROCM_TARGET}")),
    ]
}


def get(name):
    """The Backend called `name`; raises BackendError naming the known ones."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise errors.BackendError(f"unknown backend {name!r}; mlax knows {sorted(BACKENDS)}") from None


def default_name():
    """The backend in use: the config/MLAX_PLATFORM setting, else cpu."""
    name = config.read("mlax_platform_name") or "cpu"
    return name.split(",")[0].strip().lower()
