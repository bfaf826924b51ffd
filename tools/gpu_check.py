"""Check mlax's GPU path (CUDA, ROCm; Vulkan too) on a machine with a GPU, and its ahead-of-time path.

Three modes:

    python tools/gpu_check.py [--backend cuda|rocm|vulkan] [--timeout-per-step SECONDS]

On the GPU machine (default backend: the first of cuda, rocm that has a device). Runs, each
step in its own process with a timeout: the tests marked `gpu` under MLAX_PLATFORM=<backend>;
benchmarks/bench_core.py, bench_autodiff.py and bench_conv.py with `--backend cpu,<backend>`
(their tables are printed as they are); and an export + run-exports round trip for the device's
own target and the portable one. Each step may take --timeout-per-step seconds (default 90: the
five steps fit in 7.5 minutes); one that takes longer is killed and reported as timed out.
Then prints a summary table: one row per step, its result and its seconds, under the device
and its GPU target. Exit status 0 when every step succeeded (a test selection that ran no test
did not), 1 when one did not, 2 when there is no GPU.

    python tools/gpu_check.py export OUTDIR [--targets cuda:sm_80,cuda:sm_90,rocm:gfx942] [--functions ...]

On any machine (no GPU needed): exports a few representative functions (an MLP's value and
gradient, a sum over axis 0, a matmul, a lax.scan, a softmax) for each target PLATFORM[:ARCH]
(the architecture is given to the compiler in MLAX_<PLATFORM>_TARGET; without one, the
platform's portable target: sm_80, gfx942, or for `vulkan` a baseline Vulkan 1.1 device, named
vulkan-portable). Writes OUTDIR/<function>.<arch>.vmfb (plain IREE modules whose entry function
`main` takes the flattened arguments and returns the flattened results), the inputs and the
outputs mlax's CPU backend computes as .npy files, and manifest.json describing them (function,
module, entry, input and expected files, tolerance). A target that fails to compile is reported
and left out of the manifest (exit status 1).

    python tools/gpu_check.py run-exports OUTDIR [--driver cuda|hip|vulkan]

On the GPU machine, with numpy and the IREE runtime alone (mlax is never imported): runs
each module of OUTDIR for the driver (default: the first of cuda, hip that has a device) on
its inputs, compares the results with the expected outputs at the manifest's tolerance, and
prints a table. A module for a newer GPU than the one here (sm_90 on an sm_80 GPU; a ROCm
module for another gfx) is reported as skipped, not run. Exit status 0 when none failed, 2
when there is no device for the driver.
"""

import argparse
import ctypes
import ctypes.util
import dataclasses
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = ("bench_core.py", "bench_autodiff.py", "bench_conv.py")
# The variable each platform's compile target is named in, read when mlax compiles.
TARGET_VARIABLES = {"cuda": "MLAX_CUDA_TARGET", "rocm": "MLAX_ROCM_TARGET", "vulkan": "MLAX_VULKAN_TARGET"}
DEFAULT_TARGETS = "cuda:sm_80,cuda:sm_90,rocm:gfx942"
EXIT_NO_GPU = 2


# -- the representative functions -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Example:
    """A function to export, its example arguments (built from a seeded generator) and the
    tolerance its GPU results are held to against mlax's CPU results."""
    name: str
    make: Callable[[], Callable]                        # () -> the function (mlax imported inside)
    arguments: Callable[[np.random.Generator], tuple]
    rtol: float
    atol: float


def _mlp_value_and_grad():
    import mlax
    import mlax.numpy as mnp

    def loss(params, x, labels):
        (w1, b1), (w2, b2) = params
        logits = mnp.tanh(x @ w1 + b1) @ w2 + b2
        return -(mlax.nn.log_softmax(logits) * labels).sum(-1).mean()
    return mlax.value_and_grad(loss)


def _mlp_arguments(rng):
    def layer(m, n):
        return rng.standard_normal((m, n), np.float32) / m ** 0.5, rng.standard_normal(n, np.float32) * 0.1
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    return ((layer(64, 128), layer(128, 10)), rng.standard_normal((32, 64), np.float32), labels)


def _rnn():
    import mlax
    import mlax.numpy as mnp

    def rnn(h0, xs, w):
        def step(h, x):
            h = mnp.tanh(h @ w + x)
            return h, h.sum()
        return mlax.lax.scan(step, h0, xs)
    return rnn


def _sum0():
    def sum0(x):
        return x.sum(0)
    return sum0


def _matmul():
    def matmul(a, b):
        return a @ b
    return matmul


def _softmax():
    import mlax

    def softmax(x):
        return mlax.nn.softmax(x, axis=-1)
    return softmax


EXAMPLES = {e.name: e for e in [
    Example("mlp_grad", _mlp_value_and_grad, _mlp_arguments, 1e-3, 1e-4),
    Example("sum0", _sum0, lambda rng: (rng.standard_normal((64, 32), np.float32),), 1e-4, 1e-5),
    Example("matmul", _matmul, lambda rng: (rng.standard_normal((128, 64), np.float32) / 8,
                                            rng.standard_normal((64, 96), np.float32)), 1e-4, 1e-5),
    Example("scan", _rnn, lambda rng: (rng.standard_normal((8, 16), np.float32),
                                       rng.standard_normal((12, 8, 16), np.float32),
                                       rng.standard_normal((16, 16), np.float32) / 4), 1e-3, 1e-4),
    Example("softmax", _softmax, lambda rng: (rng.standard_normal((16, 100), np.float32) * 3,), 1e-4, 1e-6),
]}


# -- export ---------------------------------------------------------------------------------------
def parse_targets(text: str) -> list[tuple[str, str | None]]:
    """`cuda:sm_80,vulkan` as [("cuda", "sm_80"), ("vulkan", None)] (None: the portable target)."""
    targets = []
    for spec in filter(None, (s.strip() for s in text.split(","))):
        platform, _, arch = spec.partition(":")
        if platform not in TARGET_VARIABLES:
            raise ValueError(f"unknown platform {platform!r} in {spec!r}: expected one of {sorted(TARGET_VARIABLES)}")
        targets.append((platform, arch or None))
    return targets


def export(outdir: str, targets: list[tuple[str, str | None]], names: list[str]) -> int:
    """Export the functions `names` for each (platform, arch) target into `outdir` with its
    manifest.json (which lists the modules written), print a table; the exit status (0: all written)."""
    import mlax
    from iree.compiler import version as compiler_version
    from mlax import errors
    from mlax.runtime import backends

    # Vulkan's portable target is a device description, not a name: it is chosen by naming none.
    portable = {"cuda": backends.PORTABLE_CUDA_TARGET, "rocm": backends.PORTABLE_ROCM_TARGET, "vulkan": None}
    targets = list(dict.fromkeys((platform, arch or portable[platform]) for platform, arch in targets))
    os.makedirs(outdir, exist_ok=True)
    modules, rows = [], []
    for name in names:
        example = EXAMPLES[name]
        fun = example.make()
        arguments = example.arguments(np.random.default_rng(0))
        inputs = [np.asarray(x) for x in mlax.tree_util.tree_leaves(arguments)]
        expected = [np.asarray(y) for y in mlax.tree_util.tree_leaves(mlax.jit(fun, backend="cpu")(*arguments))]
        input_files = _save_arrays(outdir, f"{name}.in", inputs)
        expected_files = _save_arrays(outdir, f"{name}.out", expected)
        for platform, arch in targets:
            started = time.perf_counter()
            label = arch or f"{platform}-portable"
            try:
                with _environment(TARGET_VARIABLES[platform], arch):
                    exported = mlax.export(mlax.jit(fun), platforms=(platform,))(*arguments)
            except (errors.CompilationError, errors.BackendError) as error:
                rows.append((name, f"{platform}:{label}", "FAILED", _first_line(error), time.perf_counter() - started))
                continue
            module_file = f"{name}.{label}.vmfb"
            vmfb = exported.vmfb(platform)
            with open(os.path.join(outdir, module_file), "wb") as f:
                f.write(vmfb)
            modules.append({"function": name, "signature": exported.signature(), "platform": platform,
                            "driver": backends.get(platform).driver, "target": label, "module": module_file,
                            "entry": "main", "inputs": input_files, "expected": expected_files,
                            "rtol": example.rtol, "atol": example.atol})
            rows.append((name, f"{platform}:{label}", "ok", f"{module_file} ({len(vmfb) // 1024} KiB)",
                         time.perf_counter() - started))
    manifest = {"mlax_version": mlax.__version__, "iree_version": compiler_version.VERSION, "modules": modules}
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"\n== export to {outdir} (IREE {compiler_version.VERSION}) ==")
    _print_table(("function", "target", "result", "detail", "seconds"), rows)
    failed = sum(row[2] != "ok" for row in rows)
    print(f"{len(rows) - failed} exported, {failed} failed")
    return 1 if failed else 0


def _first_line(error):
    """An error's first line without MLIR's location prefix, at most 160 characters."""
    line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return re.sub(r"loc\((?:[^()]|\([^()]*\))*\): ", "", line)[:160]


def _save_arrays(outdir, prefix, arrays):
    files = [f"{prefix}{i}.npy" for i in range(len(arrays))]
    for file, array in zip(files, arrays):
        np.save(os.path.join(outdir, file), array)
    return files


class _environment:
    """Sets os.environ[name] = value (None: removes it) inside a `with` block, restoring the previous value."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def __enter__(self):
        self.previous = os.environ.pop(self.name, None)
        if self.value is not None:
            os.environ[self.name] = self.value

    def __exit__(self, *exc):
        os.environ.pop(self.name, None)
        if self.previous is not None:
            os.environ[self.name] = self.previous


# -- run-exports: numpy and iree.runtime only ------------------------------------------------------
def cuda_arch() -> str | None:
    """The `sm_XY` of CUDA device 0, from the driver library; None when it cannot be read.
    (mlax.runtime.gpu_targets has the same, but importing it imports mlax.)"""
    try:
        cuda = ctypes.CDLL(ctypes.util.find_library("cuda") or "libcuda.so.1")
    except OSError:
        return None
    device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if (cuda.cuInit(0) or cuda.cuDeviceGet(ctypes.byref(device), 0)
            or cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, device)  # compute capability major
            or cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, device)):  # and minor
        return None
    return f"sm_{major.value}{minor.value}"


def rocm_arch() -> str | None:
    """The `gfx` name of the first ROCm GPU agent, from the kernel driver's topology; None if none."""
    for path in sorted(glob.glob("/sys/class/kfd/kfd/topology/nodes/*/properties")):
        with open(path) as f:
            fields = dict(line.split(None, 1) for line in f if len(line.split(None, 1)) == 2)
        version = int(fields.get("gfx_target_version", "0"))
        if version:
            return f"gfx{version // 10000}{version // 100 % 100:x}{version % 100:x}"
    return None


def cannot_run_here(module_arch: str, driver: str, device_arch: str | None) -> bool:
    """Whether a module for `module_arch` cannot run on the GPU here (`device_arch`; None: unknown):
    CUDA runs PTX of its own compute capability or older, ROCm code objects only on their own gfx."""
    if device_arch is None:
        return False
    if driver == "cuda":
        return int(re.sub(r"\D", "", module_arch)) > int(re.sub(r"\D", "", device_arch))
    return driver == "hip" and module_arch != device_arch


def _element_type(dtype):
    import iree.runtime as rt

    return {np.dtype(np.float32): rt.HalElementType.FLOAT_32, np.dtype(np.float16): rt.HalElementType.FLOAT_16,
            np.dtype(np.float64): rt.HalElementType.FLOAT_64, np.dtype(np.int32): rt.HalElementType.SINT_32,
            np.dtype(np.int64): rt.HalElementType.SINT_64, np.dtype(np.int8): rt.HalElementType.SINT_8,
            np.dtype(np.uint8): rt.HalElementType.UINT_8, np.dtype(np.bool_): rt.HalElementType.BOOL_8}[dtype]


def _to_device(device, array):
    import iree.runtime as rt

    array = np.ascontiguousarray(array)
    return device.allocator.allocate_buffer_copy(
        memory_type=rt.MemoryType.DEVICE_LOCAL, allowed_usage=rt.BufferUsage.DEFAULT, device=device,
        buffer=array, element_type=_element_type(array.dtype))


def _to_host(device, view):
    """A buffer view's contents as a numpy array: mapped when the host can map it, else copied
    through a host-visible staging buffer (DeviceArray.to_host imports host memory instead,
    which lavapipe's Vulkan rejects for numpy's alignment)."""
    import iree.runtime as rt

    dtype = np.dtype(rt.HalElementType.map_to_dtype(view.element_type))
    shape = tuple(view.shape)
    buffer = view.get_buffer()
    mappable = (buffer.memory_type() & int(rt.MemoryType.HOST_VISIBLE)
                and buffer.allowed_usage() & int(rt.BufferUsage.MAPPING_SCOPED))
    if not mappable:
        staging = device.allocator.allocate_buffer(
            memory_type=rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE,
            allowed_usage=rt.BufferUsage.TRANSFER_TARGET | rt.BufferUsage.MAPPING_SCOPED,
            allocation_size=buffer.byte_length())
        semaphore = device.create_semaphore(0)
        device.queue_copy(buffer, staging, wait_semaphores=rt.HalFence.create_at(semaphore, 0),
                          signal_semaphores=rt.HalFence.create_at(semaphore, 1))
        rt.HalFence.create_at(semaphore, 1).wait()
        buffer = staging
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return np.array(buffer.map().asarray((nbytes,), np.dtype(np.uint8))).view(dtype).reshape(shape)


def run_module(instance, device, hal_module, vmfb: bytes, entry: str, inputs: list) -> list:
    """Load a .vmfb on `device` and call its `entry` on numpy `inputs`; return the results as numpy arrays."""
    import iree.runtime as rt

    module = rt.VmModule.copy_buffer(instance, vmfb)
    context = rt.VmContext(instance, [hal_module, module])
    function = module.lookup_function(entry)
    if function is None:
        raise ValueError(f"the module has no function {entry!r}")
    arguments = rt.VmVariantList(len(inputs))
    for array in inputs:
        arguments.push_ref(_to_device(device, array))
    results = rt.VmVariantList(4)  # a capacity: the call appends every result
    context.invoke(function, arguments, results)
    return [_to_host(device, results.get_as_object(i, rt.HalBufferView)) for i in range(len(results))]


def first_driver_with_device(drivers=("cuda", "hip")) -> str | None:
    """The first of `drivers` the IREE runtime finds a device for."""
    import iree.runtime as rt

    for driver in drivers:
        try:
            if rt.get_driver(driver).query_available_devices():
                return driver
        except (RuntimeError, ValueError):
            continue
    return None


def run_exports(outdir: str, driver: str | None) -> int:
    """Run the modules of `outdir` for `driver` and print a table; the exit status (0: none failed)."""
    import iree.runtime as rt

    driver = driver or first_driver_with_device()
    if driver is None:
        print("no GPU: the IREE runtime found no cuda or hip device")
        return EXIT_NO_GPU
    with open(os.path.join(outdir, "manifest.json")) as f:
        entries = [m for m in json.load(f)["modules"] if m["driver"] == driver]
    if not entries:
        print(f"{outdir}/manifest.json has no module for the {driver} driver")
        return 1
    try:
        hal_driver = rt.get_driver(driver)
        infos = hal_driver.query_available_devices()
        device = hal_driver.create_device(infos[0]) if infos else None
    except (RuntimeError, ValueError) as error:
        print(f"no {driver} device: {_first_line(error)}")
        return EXIT_NO_GPU
    if device is None:
        print(f"no {driver} device: the driver found none")
        return EXIT_NO_GPU
    device_arch = {"cuda": cuda_arch, "hip": rocm_arch}.get(driver, lambda: None)()
    instance = rt.VmInstance()
    hal_module = rt.create_hal_module(instance, device)
    rows = []
    for entry in entries:
        started = time.perf_counter()
        status, detail = _run_entry(outdir, entry, driver, device_arch, instance, device, hal_module)
        rows.append((entry["function"], entry["target"], status, detail, time.perf_counter() - started))
    print(f"\n== run-exports: {driver} driver, {infos[0]['name']}" + (f" ({device_arch})" if device_arch else "")
          + f", {outdir} ==")
    _print_table(("function", "target", "result", "detail", "seconds"), rows)
    counts = {status: sum(row[2] == status for row in rows) for status in ("pass", "FAIL", "skipped")}
    print(", ".join(f"{n} {status.lower()}" for status, n in counts.items()))
    return 1 if counts["FAIL"] else 0


def _run_entry(outdir, entry, driver, device_arch, instance, device, hal_module):
    """(status, detail) of one manifest entry: pass with the largest error, FAIL with why, or skipped."""
    if cannot_run_here(entry["target"], driver, device_arch):
        needed = "a newer GPU" if driver == "cuda" else f"a {entry['target']} GPU"
        return "skipped", f"needs {needed} ({entry['target']} module, {device_arch} here)"
    inputs = [np.load(os.path.join(outdir, file)) for file in entry["inputs"]]
    expected = [np.load(os.path.join(outdir, file)) for file in entry["expected"]]
    with open(os.path.join(outdir, entry["module"]), "rb") as f:
        vmfb = f.read()
    try:
        outputs = run_module(instance, device, hal_module, vmfb, entry["entry"], inputs)
    except (RuntimeError, ValueError) as error:
        return "FAIL", f"load/run error: {_first_line(error)}"
    if len(outputs) != len(expected):
        return "FAIL", f"{len(outputs)} results, expected {len(expected)}"
    worst = 0.0
    for i, (got, want) in enumerate(zip(outputs, expected)):
        if got.shape != want.shape or got.dtype != want.dtype:
            return "FAIL", f"result {i} is {got.dtype}{list(got.shape)}, expected {want.dtype}{list(want.shape)}"
        error = float(np.abs(got.astype(np.float64) - want).max(initial=0))
        try:
            np.testing.assert_allclose(got, want, rtol=entry["rtol"], atol=entry["atol"])
        except AssertionError:
            return "FAIL", f"result {i} differs: max |error| {error:.3g} (rtol {entry['rtol']}, atol {entry['atol']})"
        worst = max(worst, error)
    return "pass", f"max |error| {worst:.2g}"


# -- the GPU check --------------------------------------------------------------------------------
@dataclasses.dataclass
class Step:
    """One row of the summary."""
    name: str
    status: str      # ok, FAILED, TIMEOUT, or NO TESTS (the tests selected none: not a success)
    detail: str
    seconds: float


def run_process(command: list[str], timeout: float, env: dict | None = None) -> tuple[int | None, str, str, float]:
    """(exit status, stdout, stderr, seconds) of `command` run in ROOT; status None when it timed
    out (it and the processes it started in its session are then killed)."""
    started = time.perf_counter()
    env = dict(env or os.environ, PYTHONUNBUFFERED="1")  # what a killed process printed is kept
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=max(timeout, 1))
        status = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        status = None
    return status, stdout, stderr, time.perf_counter() - started


def last_line(*texts: str) -> str:
    """The last non-empty line of the first text that has one."""
    for text in texts:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[-1]
    return "(no output)"


_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|xfailed|xpassed|skipped|errors?|deselected)\b")


def pytest_counts(output: str) -> dict[str, int]:
    """The counts on pytest's summary line ("3 passed, 1 failed, 2 skipped in 4.1s"), errors as `error`."""
    for line in reversed(output.splitlines()):
        found = _PYTEST_COUNT.findall(line)
        if found and re.search(r"\bin [\d.]+s\b", line):
            return {word.rstrip("s") if word.startswith("error") else word: int(n) for n, word in found}
    return {}


def gpu_tests_step(backend: str, timeout: float) -> Step:
    """The tests marked `gpu`, under MLAX_PLATFORM=backend."""
    name = "tests (-m gpu)"
    status, stdout, stderr, seconds = run_process(
        [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"], timeout,
        dict(os.environ, MLAX_PLATFORM=backend))
    _show(name, stdout, stderr if status not in (0, 1, 5) else "")
    if status is None:
        return Step(name, "TIMEOUT", f"timed out after {timeout:g} s", seconds)
    counts = pytest_counts(stdout)
    summary = ", ".join(f"{counts.get(word, 0)} {word}" for word in ("passed", "failed", "xfailed", "skipped"))
    summary += f", {counts['error']} errors" if counts.get("error") else ""
    if status == 5:
        return Step(name, "NO TESTS", f"no tests ran ({counts.get('deselected', 0)} deselected)", seconds)
    if status in (0, 1):
        return Step(name, "ok" if status == 0 else "FAILED", summary, seconds)
    return Step(name, "FAILED", f"pytest exit status {status}: {last_line(stderr, stdout)}", seconds)


def benchmark_step(script: str, backend: str, timeout: float) -> Step:
    """One benchmark script on cpu and `backend`; its table is shown as it printed it."""
    status, stdout, stderr, seconds = run_process(
        [sys.executable, os.path.join("benchmarks", script), "--backend", f"cpu,{backend}"], timeout)
    _show(script, stdout, stderr if status else "")
    if status is None:
        return Step(script, "TIMEOUT", f"timed out after {timeout:g} s", seconds)
    if status:
        return Step(script, "FAILED", last_line(stderr, stdout), seconds)
    return Step(script, "ok", "", seconds)


def round_trip_step(backend: str, device_arch: str | None, timeout: float) -> Step:
    """export for the device's own target (`device_arch`, if known) and the portable one, then
    run-exports on the modules written (all or some), in fresh processes."""
    from mlax.runtime import backends

    name = "export + run-exports"
    targets = f"{backend}:{device_arch},{backend}" if device_arch else backend
    deadline = time.perf_counter() + timeout
    with tempfile.TemporaryDirectory() as outdir:
        exported, stdout, stderr, seconds = run_process(
            [sys.executable, os.path.abspath(__file__), "export", outdir, "--targets", targets], timeout)
        _show(f"export --targets {targets}", stdout, stderr if exported else "")
        if exported is None:
            return Step(name, "TIMEOUT", f"export timed out after {timeout:g} s", seconds)
        if not os.path.exists(os.path.join(outdir, "manifest.json")):  # it wrote nothing
            return Step(name, "FAILED", f"export: {last_line(stderr, stdout)}", seconds)
        export_summary = last_line(stdout)
        ran, stdout, stderr, run_seconds = run_process(
            [sys.executable, os.path.abspath(__file__), "run-exports", outdir, "--driver",
             backends.get(backend).driver], deadline - time.perf_counter())
        _show("run-exports", stdout, stderr if ran else "")
    seconds += run_seconds
    if ran is None:
        return Step(name, "TIMEOUT", f"export: {export_summary}; run-exports timed out", seconds)
    return Step(name, "ok" if exported == ran == 0 else "FAILED",
                f"export: {export_summary}; run-exports: {last_line(stdout, stderr)}", seconds)


def _show(title, stdout, stderr=""):
    print(f"\n---- {title} ----")
    print(stdout.rstrip() or "(no output)")
    if stderr.strip():
        print("stderr (last lines):\n" + "\n".join(stderr.rstrip().splitlines()[-15:]))
    sys.stdout.flush()


def _print_table(header, rows):
    cells = [tuple(f"{c:.1f}" if isinstance(c, float) else str(c) for c in row) for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for row in cells:
        print("  ".join(f"{c:<{w}}" for c, w in zip(row, widths)))


def gpu_target(backend: str) -> str:
    """The GPU's target as mlax reads it from the driver: sm_XY, gfxNNN, or the Vulkan device's name."""
    from mlax.runtime import gpu_targets

    return {"cuda": gpu_targets.cuda_arch, "rocm": gpu_targets.rocm_arch,
            "vulkan": lambda: gpu_targets.vulkan_devices()[0].name}[backend]()


def check(backend: str | None, timeout: float) -> int:
    """The whole GPU check; its exit status."""
    import mlax
    from mlax import errors

    candidates = [backend] if backend else ["cuda", "rocm"]
    device = None
    for name in candidates:
        try:
            device = mlax.devices(name)[0]
            backend = name
            break
        except errors.BackendError as error:
            print(f"no {name} device: {error}")
    if device is None:
        print("no GPU is present: nothing to check")
        return EXIT_NO_GPU
    try:
        target = gpu_target(backend)
        own_arch = None if backend == "vulkan" else target  # Vulkan exports name no device
    except (errors.BackendError, IndexError) as error:
        target, own_arch = f"unknown ({error})", None
    print(f"mlax GPU check: backend {backend}, device {device}, target {target}")
    steps = [gpu_tests_step(backend, timeout)]
    steps += [benchmark_step(script, backend, timeout) for script in BENCHMARKS]
    steps.append(round_trip_step(backend, own_arch, timeout))
    print(f"\n== mlax GPU check: {backend}, {device}, {target} (step limit {timeout:g} s) ==")
    _print_table(("step", "status", "result", "seconds"), [(s.name, s.status, s.detail, s.seconds) for s in steps])
    return 0 if all(step.status == "ok" for step in steps) else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen mode; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "export":
        parser = argparse.ArgumentParser(prog="gpu_check.py export", description="Export the functions for GPUs.")
        parser.add_argument("outdir")
        parser.add_argument("--targets", default=DEFAULT_TARGETS, help="PLATFORM[:ARCH],... (default %(default)s)")
        parser.add_argument("--functions", default=",".join(EXAMPLES), help="which (default %(default)s)")
        args = parser.parse_args(argv[1:])
        names = [n for n in args.functions.split(",") if n]
        unknown = set(names) - set(EXAMPLES)
        if unknown:
            parser.error(f"unknown functions {sorted(unknown)}; known: {', '.join(EXAMPLES)}")
        try:
            targets = parse_targets(args.targets)
        except ValueError as error:
            parser.error(str(error))
        return export(args.outdir, targets, names)
    if argv and argv[0] == "run-exports":
        parser = argparse.ArgumentParser(prog="gpu_check.py run-exports", description="Run exported modules.")
        parser.add_argument("outdir")
        parser.add_argument("--driver", choices=("cuda", "hip", "vulkan"))
        args = parser.parse_args(argv[1:])
        return run_exports(args.outdir, args.driver)
    parser = argparse.ArgumentParser(prog="gpu_check.py", description=__doc__.split("\n\n")[0],
                                     epilog="subcommands: export OUTDIR, run-exports OUTDIR (see the module docstring)")
    parser.add_argument("--backend", choices=("cuda", "rocm", "vulkan"))
    parser.add_argument("--timeout-per-step", type=float, default=90, help="seconds (default %(default)s)")
    args = parser.parse_args(argv)
    return check(args.backend, args.timeout_per_step)


if __name__ == "__main__":
    sys.exit(main())
