"""What a GPU on this machine is, read from its driver, as an IREE compile target.

Vulkan: the physical device's properties and features (Vulkan's C API through
ctypes: subgroup size and operations, workgroup limits, the SPIR-V version its
API version brings, the arithmetic and storage widths it supports) become an
`#iree_gpu.target`. CUDA: the device's compute capability (`sm_XY`, from the
driver library). ROCm: the agent's `gfx` name (from the kernel driver's topology).
A program compiled for a device's own target uses what that device has (a
SPIR-V reduction is correct only at the device's subgroup size).
"""

import ctypes
import ctypes.util
import dataclasses
import functools
import glob

from mlax import errors

# Vulkan structure types and flags used here (values from the Vulkan registry).
_APPLICATION_INFO, _INSTANCE_CREATE_INFO = 0, 1
_FEATURES_2, _PROPERTIES_2 = 1000059000, 1000059001
_SUBGROUP_PROPERTIES = 1000094000
_FLOAT16_INT8_FEATURES, _STORAGE_16BIT_FEATURES, _STORAGE_8BIT_FEATURES = 1000082000, 1000083000, 1000177000
_SUBGROUP_ARITHMETIC, _SUBGROUP_SHUFFLE = 0x4, 0x10
_API_1_1 = (1 << 22) | (1 << 12)
# VkPhysicalDeviceFeatures is 55 VkBool32s; these are the ones read here.
_FEATURE_FLOAT64, _FEATURE_INT64, _FEATURE_INT16 = 39, 40, 41
# The SPIR-V version each Vulkan API version guarantees.
_SPIRV_OF_API = {(1, 0): "1.0", (1, 1): "1.3", (1, 2): "1.5", (1, 3): "1.6", (1, 4): "1.6"}


class _Chained(ctypes.Structure):
    """A Vulkan structure that heads a pNext chain."""
    _fields_ = [("sType", ctypes.c_uint32), ("pNext", ctypes.c_void_p)]


def _structure(name, fields):
    return type(name, (ctypes.Structure,), {"_fields_": _Chained._fields_ + fields})


_u32 = ctypes.c_uint32
_ApplicationInfo = _structure("ApplicationInfo", [
    ("pApplicationName", ctypes.c_char_p), ("applicationVersion", _u32), ("pEngineName", ctypes.c_char_p),
    ("engineVersion", _u32), ("apiVersion", _u32)])
_InstanceCreateInfo = _structure("InstanceCreateInfo", [
    ("flags", _u32), ("pApplicationInfo", ctypes.POINTER(_ApplicationInfo)), ("enabledLayerCount", _u32),
    ("ppEnabledLayerNames", ctypes.c_void_p), ("enabledExtensionCount", _u32),
    ("ppEnabledExtensionNames", ctypes.c_void_p)])
# VkPhysicalDeviceLimits up to the compute limits (the driver writes the whole structure, so the
# properties structure below is padded to its full size).
_Limits = type("Limits", (ctypes.Structure,), {"_fields_": [
    ("head", _u32 * 11), ("bufferImageGranularity", ctypes.c_uint64), ("sparseAddressSpaceSize", ctypes.c_uint64),
    ("middle", _u32 * 38), ("maxComputeSharedMemorySize", _u32), ("maxComputeWorkGroupCount", _u32 * 3),
    ("maxComputeWorkGroupInvocations", _u32), ("maxComputeWorkGroupSize", _u32 * 3)]})
_Properties = type("Properties", (ctypes.Structure,), {"_fields_": [
    ("apiVersion", _u32), ("driverVersion", _u32), ("vendorID", _u32), ("deviceID", _u32), ("deviceType", _u32),
    ("deviceName", ctypes.c_char * 256), ("pipelineCacheUUID", ctypes.c_uint8 * 16), ("limits", _Limits),
    ("rest", ctypes.c_uint8 * 512)]})
_Properties2 = _structure("Properties2", [("properties", _Properties)])
_SubgroupProperties = _structure("SubgroupProperties", [
    ("subgroupSize", _u32), ("supportedStages", _u32), ("supportedOperations", _u32),
    ("quadOperationsInAllStages", _u32)])
_Features2 = _structure("Features2", [("features", _u32 * 55)])
_Float16Int8Features = _structure("Float16Int8Features", [("shaderFloat16", _u32), ("shaderInt8", _u32)])
_Storage16Features = _structure("Storage16Features", [("storageBuffer16BitAccess", _u32), ("rest", _u32 * 3)])
_Storage8Features = _structure("Storage8Features", [("storageBuffer8BitAccess", _u32), ("rest", _u32 * 2)])


@dataclasses.dataclass(frozen=True)
class VulkanDevice:
    """What IREE's SPIR-V code generation needs to know of one Vulkan device."""
    name: str
    api_version: tuple
    subgroup_size: int
    subgroup_arithmetic: bool
    subgroup_shuffle: bool
    float64: bool
    float16: bool
    int64: bool
    int16: bool
    int8: bool
    storage16: bool
    storage8: bool
    max_workgroup_sizes: tuple
    max_workgroup_invocations: int
    max_workgroup_memory: int
    max_workgroup_counts: tuple

    def target(self):
        """This device as an IREE GPU target attribute (MLIR text)."""
        spirv = _SPIRV_OF_API.get(self.api_version[:2], "1.6")
        compute = "|".join(["fp64"] * self.float64 + ["fp32"] + ["fp16"] * self.float16 + ["int64"] * self.int64
                           + ["int32"] + ["int16"] * self.int16 + ["int8"] * self.int8)
        storage = "|".join(["b64"] * self.int64 + ["b32"] + ["b16"] * self.storage16 + ["b8"] * self.storage8)
        subgroup = "|".join(["shuffle"] * self.subgroup_shuffle + ["arithmetic"] * self.subgroup_arithmetic) or "none"
        return (f'#iree_gpu.target<arch = "", features = "spirv:v{spirv},cap:Shader", wgp = <compute = {compute}, '
                f"storage = {storage}, subgroup = {subgroup}, dot = none, mma = [], "
                f"subgroup_size_choices = [{self.subgroup_size}], "
                f"max_workgroup_sizes = [{', '.join(map(str, self.max_workgroup_sizes))}], "
                f"max_thread_count_per_workgroup = {self.max_workgroup_invocations}, "
                f"max_workgroup_memory_bytes = {self.max_workgroup_memory}, "
                f"max_workgroup_counts = [{', '.join(map(str, self.max_workgroup_counts))}]>>")

    def dtype_support(self):
        """Element widths the device computes in, by mlax dtype name."""
        return {"float64": self.float64, "complex128": self.float64, "int64": self.int64, "uint64": self.int64,
                "float16": self.float16, "bfloat16": self.float16, "int16": self.int16, "uint16": self.int16,
                "int8": self.int8, "uint8": self.int8}


def _vulkan_library():
    path = ctypes.util.find_library("vulkan") or "libvulkan.so.1"
    try:
        return ctypes.CDLL(path)
    except OSError as error:
        raise errors.BackendError(f"the Vulkan loader library could not be loaded ({error})") from None


@functools.cache
def vulkan_devices():
    """The Vulkan physical devices on this machine, in the driver's order."""
    vk = _vulkan_library()
    app = _ApplicationInfo(sType=_APPLICATION_INFO, pApplicationName=b"mlax", apiVersion=_API_1_1)
    info = _InstanceCreateInfo(sType=_INSTANCE_CREATE_INFO, pApplicationInfo=ctypes.pointer(app))
    instance = ctypes.c_void_p()
    status = vk.vkCreateInstance(ctypes.byref(info), None, ctypes.byref(instance))
    if status != 0:
        raise errors.BackendError(f"vkCreateInstance failed (VkResult {status}): no usable Vulkan driver")
    try:
        count = _u32()
        vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), None)
        handles = (ctypes.c_void_p * count.value)()
        vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), handles)
        return tuple(_describe(vk, handle) for handle in handles[:count.value])
    finally:
        vk.vkDestroyInstance(instance, None)


def _chain(*structures):
    for head, tail in zip(structures, structures[1:]):
        head.pNext = ctypes.cast(ctypes.pointer(tail), ctypes.c_void_p)
    return structures


def _describe(vk, handle):
    properties, subgroup = _chain(_Properties2(sType=_PROPERTIES_2), _SubgroupProperties(sType=_SUBGROUP_PROPERTIES))
    vk.vkGetPhysicalDeviceProperties2(ctypes.c_void_p(handle), ctypes.byref(properties))
    features, half, storage16, storage8 = _chain(
        _Features2(sType=_FEATURES_2), _Float16Int8Features(sType=_FLOAT16_INT8_FEATURES),
        _Storage16Features(sType=_STORAGE_16BIT_FEATURES), _Storage8Features(sType=_STORAGE_8BIT_FEATURES))
    vk.vkGetPhysicalDeviceFeatures2(ctypes.c_void_p(handle), ctypes.byref(features))
    core, limits = properties.properties, properties.properties.limits
    version = core.apiVersion
    return VulkanDevice(
        name=core.deviceName.decode(errors="replace"),
        api_version=((version >> 22) & 0x7F, (version >> 12) & 0x3FF, version & 0xFFF),
        subgroup_size=subgroup.subgroupSize,
        subgroup_arithmetic=bool(subgroup.supportedOperations & _SUBGROUP_ARITHMETIC),
        subgroup_shuffle=bool(subgroup.supportedOperations & _SUBGROUP_SHUFFLE),
        float64=bool(features.features[_FEATURE_FLOAT64]), int64=bool(features.features[_FEATURE_INT64]),
        int16=bool(features.features[_FEATURE_INT16]), float16=bool(half.shaderFloat16), int8=bool(half.shaderInt8),
        storage16=bool(storage16.storageBuffer16BitAccess), storage8=bool(storage8.storageBuffer8BitAccess),
        max_workgroup_sizes=tuple(limits.maxComputeWorkGroupSize),
        max_workgroup_invocations=limits.maxComputeWorkGroupInvocations,
        max_workgroup_memory=limits.maxComputeSharedMemorySize,
        max_workgroup_counts=tuple(limits.maxComputeWorkGroupCount))


# CUDA driver API: cuDeviceGetAttribute's compute capability attributes.
_CU_MAJOR, _CU_MINOR = 75, 76


@functools.cache
def cuda_arch(index=0):
    """The `sm_XY` name of CUDA device `index`, from the driver library."""
    try:
        cuda = ctypes.CDLL(ctypes.util.find_library("cuda") or "libcuda.so.1")
    except OSError as error:
        raise errors.BackendError(f"the CUDA driver library could not be loaded ({error})") from None
    device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    for status in (cuda.cuInit(0), cuda.cuDeviceGet(ctypes.byref(device), index),
                   cuda.cuDeviceGetAttribute(ctypes.byref(major), _CU_MAJOR, device),
                   cuda.cuDeviceGetAttribute(ctypes.byref(minor), _CU_MINOR, device)):
        if status != 0:
            raise errors.BackendError(f"the CUDA driver could not describe device {index} (CUresult {status})")
    return f"sm_{major.value}{minor.value}"


@functools.cache
def rocm_arch(index=0):
    """The `gfx` name of ROCm GPU agent `index`, from the kernel driver's topology."""
    versions = []
    for path in sorted(glob.glob("/sys/class/kfd/kfd/topology/nodes/*/properties")):
        with open(path) as f:
            fields = dict(line.split(None, 1) for line in f if len(line.split(None, 1)) == 2)
        version = int(fields.get("gfx_target_version", "0"))
        if version:
            versions.append(version)
    if index >= len(versions):
        raise errors.BackendError(f"no ROCm GPU agent {index} in the kernel driver's topology")
    return gfx_name(versions[index])


def gfx_name(version):
    """The LLVM name of a KFD gfx_target_version: 90402 -> gfx942, 90010 -> gfx90a, 110001 -> gfx1101."""
    major, minor, step = version // 10000, version // 100 % 100, version % 100
    return f"gfx{major}{minor:x}{step:x}"
