"""The backends mlax knows: each maps to an IREE compile target and a HAL driver.

One row per backend. Its `target` names what IREE generates code for: for jit,
this machine's device (the host CPU; a GPU's own target, read from its driver by
runtime/gpu_targets.py); for export, any device of the backend's kind; an
MLAX_<BACKEND>_TARGET variable names one instead (to compile for a device that is
not here). `feature_flags` add flags for modules with a feature (see
compiler.module_features). A module
over several devices (pmap) names device k `__device_k` in its IR
(#hal.device.affinity<@__device_k>; ops/collectives.py owns that naming and the
module attribute saying how many there are) and is compiled for that many devices
of the backend.
"""

import dataclasses
import os
import re

from mlax import config, errors
from mlax.ops.collectives import device_symbol
from mlax.runtime import gpu_targets


@dataclasses.dataclass(frozen=True)
class Target:
    """What one compilation targets: iree-compile flags, and for a device-derived GPU target the
    `#hal.executable.target` the module carries (in its `hal.device.targets`) in place of a named one."""
    flags: tuple
    executable: str | None = None

    def device_targets(self, device, count):
        """The module's `hal.device.targets` attribute for `count` devices (its device k is `__device_k`)."""
        one = f'#hal.device.target<"{device}", [{self.executable}]> : !hal.device'
        return "[" + ", ".join([one] * count) + "]"


@dataclasses.dataclass(frozen=True)
class Backend:
    name: str
    driver: str                 # IREE HAL driver that runs its modules
    device: str                 # IREE target device (--iree-hal-target-device)
    target: object              # (portable) -> the flags naming the code generation target, or a Target
    feature_flags: dict = dataclasses.field(default_factory=dict)  # feature -> extra flags
    miscompiles: tuple = ()     # (whether the StableHLO text holds it, why IREE gets it wrong here)
    dtype_support: object = None  # () -> (device name, {dtype name: whether the device computes in it})

    def compile_target(self, portable=False, features=(), num_devices=1, asynchronous=False):
        """The Target of a module with `features` over `num_devices` devices: for this machine's device
        (`portable` False: jit) or for any device of the backend's kind (True: export); `asynchronous`
        gives its functions wait and signal fences (ASYNC_FLAGS)."""
        chosen = self.target(portable)
        extra = tuple(flag for feature in sorted(features) for flag in self.feature_flags.get(feature, ()))
        extra += ASYNC_FLAGS if asynchronous else ()
        if isinstance(chosen, Target):
            return Target(COMMON_FLAGS + chosen.flags + extra, chosen.executable)
        return Target(COMMON_FLAGS + self.device_flags(num_devices) + chosen + extra)

    def check_program(self, text, portable=False):
        """Raise BackendError when this backend cannot run the StableHLO program `text` correctly:
        an element type its device lacks, or a construct IREE compiles wrongly for it."""
        for found, reason in self.miscompiles:
            if found(text):
                raise errors.BackendError(f"the program cannot run on {self.name}: {reason}; run it on the cpu "
                                          "backend (jit(..., backend='cpu') or mlax.device_put to a CPU device)")
        if self.dtype_support is not None and not portable:
            device, supported = self.dtype_support()
            for mlir_type in sorted(set(_ELEMENT_TYPE.findall(text))):
                dtype = _DTYPE_OF_MLIR[mlir_type]
                if not supported.get(dtype, True):
                    raise errors.BackendError(f"{device} has no {dtype} arithmetic, which the program uses; "
                                              f"compute in another dtype or on the cpu backend")

    def flags(self, portable=False, features=(), num_devices=1):
        """The iree-compile flags of `compile_target` (a device-derived target adds its attribute)."""
        return self.compile_target(portable, features, num_devices).flags

    def device_flags(self, count):
        """The flags naming `count` target devices: one named, numbered
        `--iree-hal-target-device=__device_k=<device>[k]` each (unnumbered devices of one
        target would be folded into one)."""
        if count == 1:
            return (f"--iree-hal-target-device={self.device}",)
        return tuple(f"--iree-hal-target-device={device_symbol(k)}={self.device}[{k}]" for k in range(count))


# f64 really is computed in f64 (IREE demotes it by default); mlax has already
# canonicalized dtypes, so no f64 appears unless x64 is enabled. Const-eval (IREE
# running constant subexpressions at compile time) costs ~0.3 s per program and
# buys little: traced programs hold small constants. (--iree-dispatch-creation-fuse-multi-use=false
# would fix tests/runtime/test_multi_use_fusion.py but makes reduce_window's derivatives and
# batched reduce_window wrong: IREE 3.13 miscompiles one way or the other.)
COMMON_FLAGS = ("--iree-input-demote-f64-to-f32=false", "--iree-opt-const-eval=false")

# Functions compiled for asynchronous calls take a wait fence and a signal fence after their
# arguments (IREE's coarse-fences ABI): a call queues its work after the wait fence and returns,
# and the results are ready at the signal fence. jit's programs are compiled so; kernels and
# exports keep the plain synchronous ABI (an export runs under iree-run-module as it is).
ASYNC_FLAGS = ("--iree-execution-model=async-external",)


# IREE keeps a float reduction's additions in source order unless told otherwise, so a
# vectorized reduction along a row folds each vector into one scalar at every step; with
# reassociation it keeps one partial sum per lane and folds them at the end, as XLA's CPU
# code does. Softmax over 4096x1024 float32: 4.0 -> 2.3 ms. Partial sums also round less.
_CPU_FLAGS = ("--iree-hal-local-target-device-backends=llvm-cpu", "--iree-llvmcpu-reassociate-fp-reductions")


def _cpu_target(portable):
    return _CPU_FLAGS + ("--iree-llvmcpu-target-cpu=" + ("generic" if portable else "host"),)


def _gpu_target(flag, variable, detect, portable_default, stand_ins=None):
    """The target of a GPU backend whose targets IREE names (`flag`=name): the `variable` override
    (cross-compiling), else the device's own (`detect()`, for jit), else `portable_default` (export);
    a device IREE cannot generate code for gets its `stand_ins` entry."""
    def target(portable):
        named = os.environ.get(variable)
        if not named and not portable:
            try:
                named = detect()
            except errors.BackendError as error:
                raise errors.BackendError(f"{error}; to compile for a device that is not here, name its target "
                                          f"in {variable}") from None
        named = named or portable_default
        return (f"{flag}={(stand_ins or {}).get(named, named)}",)
    return target


# IREE 3.13 has no code generation target for these CUDA architectures ("missing GPU target in
# #hal.executable.target"): they get the newest it has below them. IREE embeds PTX, which the
# driver compiles for the newer GPU.
CUDA_STAND_INS = {"sm_90": "sm_89", "sm_90a": "sm_89", "sm_100": "sm_89", "sm_100a": "sm_89"}


def _vulkan_target(portable):
    """Vulkan: MLAX_VULKAN_TARGET (an IREE target name), else the first device's properties as a
    target (jit), else a baseline profile every Vulkan 1.1 device runs (export)."""
    named = os.environ.get("MLAX_VULKAN_TARGET")
    if named:
        return (f"--iree-vulkan-target={named}",)
    try:
        device = PORTABLE_VULKAN_DEVICE if portable else gpu_targets.vulkan_devices()[0]
    except IndexError:
        raise errors.BackendError("no Vulkan device on this machine; to compile for a device that is not "
                                  "here, name its target in MLAX_VULKAN_TARGET") from None
    return Target((), f'#hal.executable.target<"vulkan-spirv", "vulkan-spirv-fb", '
                      f'{{iree_codegen.target_info = {device.target()}}}>')


def _vulkan_dtype_support():
    device = gpu_targets.vulkan_devices()[0]
    return f"the Vulkan device {device.name!r}", device.dtype_support()


# MLIR element types a device may lack, by mlax dtype name.
_DTYPE_OF_MLIR = {"f64": "float64", "f16": "float16", "bf16": "bfloat16", "i64": "int64", "ui64": "uint64",
                  "i16": "int16", "ui16": "uint16", "i8": "int8", "ui8": "uint8"}
_ELEMENT_TYPE = re.compile(r"[x<](" + "|".join(_DTYPE_OF_MLIR) + r")>")

_GROUPED_CONVOLUTION = re.compile(r"stablehlo\.convolution.*(feature|batch)_group_count = (?!1 :)\d+")
_SORT = re.compile(r'"stablehlo\.sort"\(.*?dimension = (\d+).*?\}\) : \(tensor<((?:\d+x)*)[a-z]', re.DOTALL)
LONGEST_SPIRV_SORT = 256


def _long_sort(text):
    """Whether the program sorts along an axis longer than LONGEST_SPIRV_SORT."""
    for dimension, shape in _SORT.findall(text):
        sizes = shape.rstrip("x").split("x")
        if int(sizes[int(dimension)]) > LONGEST_SPIRV_SORT:
            return True
    return False


# IREE 3.13's SPIR-V code gets these wrong (measured on lavapipe, against the CPU): grouped
# convolutions (every feature_group_count or batch_group_count above 1, float and integer alike)
# come out as zeros; sorts (sort, argsort, top_k) along an axis longer than 256 leave elements out
# of order (about a quarter of them at 300, nine in ten at 1000; 256 and shorter are right for
# every input tried, reversed ones included).
_SPIRV_MISCOMPILES = (
    (_GROUPED_CONVOLUTION.search, "IREE's SPIR-V code for grouped convolutions (feature_group_count or "
                                  "batch_group_count above 1) gives wrong results"),
    (_long_sort, f"IREE's SPIR-V code for sorts along an axis longer than {LONGEST_SPIRV_SORT} "
                 "(sort, argsort, top_k) gives wrong results"),
)

# Exports name no device: they get targets that run on any device of the kind (MLAX_*_TARGET overrides).
# Vulkan's: a Vulkan 1.1 device with 64-bit arithmetic (float32 sin and cos reduce their arguments in
# float64), no subgroup operations (so no subgroup size to match) and small workgroups: desktop GPUs
# and lavapipe; IREE's mobile baseline (vp_android_baseline_2022) lacks the 64-bit types.
PORTABLE_VULKAN_DEVICE = gpu_targets.VulkanDevice(
    name="portable Vulkan 1.1", api_version=(1, 1, 0), subgroup_size=64, subgroup_arithmetic=False,
    subgroup_shuffle=False, float64=True, float16=False, int64=True, int16=False, int8=False, storage16=False,
    storage8=False, max_workgroup_sizes=(128, 128, 64), max_workgroup_invocations=128, max_workgroup_memory=16384,
    max_workgroup_counts=(65535, 65535, 65535))
PORTABLE_CUDA_TARGET = "sm_80"
PORTABLE_ROCM_TARGET = "gfx942"

BACKENDS = {
    b.name: b for b in [
        Backend("cpu", "local-task", "local", _cpu_target,
                feature_flags={
                    # float64 sin, tanh, ... are libm calls, which IREE's embedded ELF
                    # linker cannot resolve: link those modules as system libraries.
                    "float64": ("--iree-llvmcpu-link-embedded=false",),
                    # Data tiling from dispatch creation packs matmul operands: long
                    # contractions run faster (1024^3: 147 -> 184 GFLOP/s here), but a
                    # program takes ~1 s longer to compile, so only those get it.
                    "large_matmul": ("--iree-dispatch-creation-data-tiling=true",),
                    # A contraction of dynamic sizes (the interpreter tier's batched matmul): IREE's
                    # generic code ran 256x784x512 at 16 GFLOP/s and 1024^3 at 10; data tiling with
                    # its microkernels at 95 and 34 (iree-compile + iree.runtime, one core busy).
                    "dynamic_matmul": ("--iree-dispatch-creation-data-tiling=true",
                                       "--iree-llvmcpu-enable-ukernels=all"),
                }),
        Backend("cuda", "cuda", "cuda",
                _gpu_target("--iree-cuda-target", "MLAX_CUDA_TARGET", lambda: gpu_targets.cuda_arch(),
                            PORTABLE_CUDA_TARGET, CUDA_STAND_INS)),
        Backend("vulkan", "vulkan", "vulkan", _vulkan_target, miscompiles=_SPIRV_MISCOMPILES,
                dtype_support=_vulkan_dtype_support),
        Backend("rocm", "hip", "hip",
                _gpu_target("--iree-rocm-target", "MLAX_ROCM_TARGET", lambda: gpu_targets.rocm_arch(),
                            PORTABLE_ROCM_TARGET)),
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
