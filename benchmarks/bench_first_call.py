"""First-call latency of mlax next to (when installed) JAX: import, then compile and first call.

    python benchmarks/bench_first_call.py [--only NAME,...] [--repeat N]

Every figure comes from a fresh Python process, one per workload and library. The
process times the import of the library (`import mlax, mlax.numpy` or `import jax,
jax.numpy`, before anything else, NumPy included), then the start of its CPU backend
(the first array put on the device and read back), then, with its arguments already
on the device, the workload's first call: trace, compile and run, the result read to
the host with np.asarray. mlax runs three ways: with a compile cache (MLAX_CACHE_DIR a
new folder) holding only the interpreter tier's kernel library, as `mlax warm` or a first
use leaves it (the first call runs on the interpreter while IREE compiles); with an empty
cache and the interpreter tier off (MLAX_JIT_TIERING=0: the call waits for IREE); and
once more in a second fresh process reusing the first folder ("disk cache warm"). The
library is compiled once, before the runs, into a folder each run copies. JAX runs
with its persistent compilation cache off (its default:
JAX_COMPILATION_CACHE_DIR is removed from the environment). JAX's process also imports
mlax, untimed, after its own import: the workloads are bench_steady's.

--repeat N runs every process N times and prints two tables, the minimum and the
median of the N figures (times: lower is better). --only picks workloads by name:

- import: the import, and the backend's start (ms)
- mlp: MLP training step 784-512-512-10, batch 256, softmax cross-entropy, SGD
- chain30: 29 elementwise ops (mul, add, tanh, exp, sub, max) on 1000x1000 f32, then a sum
- scan_rnn: value_and_grad of bench_steady's lax.scan tanh RNN (256, T=100, batch 32)
- hessian: jit(hessian) of bench_steady's 50-dim function
- eager_add: eager a + b on (1000,) f32: first call (ms) and then per op (µs, best of 5 loops)
- eager_index: 20 distinct eager x[i] (i = 0..19, x of 100x100 f32), each read to the host (ms, all 20)
"""

import argparse
import json
import os
import shutil
import subprocess
import statistics
import sys
import tempfile
import time
from typing import Callable, NamedTuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, best_time, jax_imports, only_names, run_python  # noqa: E402

# Runs in the child: the import first, timed, then this file's measure().
CHILD = """import time
start = time.perf_counter()
{imports}
import_seconds = time.perf_counter() - start
import sys
sys.path.insert(0, {folder!r})
import bench_first_call
bench_first_call.measure({library!r}, {workload!r}, import_seconds)
"""
IMPORTS = {"mlax": "import mlax, mlax.numpy", "jax": "import jax, jax.numpy"}


# The workloads, run in the child: each takes the library (bench_steady's namespace)
# and returns {figure name: seconds}. bench_steady imports mlax: only the child imports it.

def first_jit_call(lib, make, data):
    """Seconds of the first call of jit(make(lib)) on data(rng) put on the device,
    its results read to the host."""
    import bench_steady
    args = bench_steady.tree_map(lib.put, data(np.random.default_rng(0)))
    start = time.perf_counter()
    bench_steady.as_numpy(lib.jit(make(lib))(*args))
    return {"first": time.perf_counter() - start}


def steady_workload(name):
    """bench_steady's workload `name`, its first call."""
    def run(lib):
        import bench_steady
        workload = bench_steady.BY_NAME[name]
        return first_jit_call(lib, workload.make, workload.data)
    return run


def chain30(lib):
    """30 ops: 29 elementwise (4 x mul, add, tanh, exp, sub, mul, max; then a square) and a sum."""
    def f(x):
        for _ in range(4):
            y = lib.np.tanh(x * 0.9 + 0.1)
            x = lib.np.maximum(lib.np.exp(y) - x, y * 0.5)
        return lib.np.sum(x * x)
    return f


def run_chain30(lib):
    return first_jit_call(lib, chain30, lambda rng: (rng.standard_normal((1000, 1000)).astype(np.float32),))


def eager_add(lib):
    rng = np.random.default_rng(0)
    a, b = (lib.put(rng.standard_normal(1000).astype(np.float32)) for _ in range(2))
    start = time.perf_counter()
    np.asarray(a + b)
    first = time.perf_counter() - start
    return {"first": first, "steady": best_time(lambda: lib.block_until_ready(a + b), repeat=5)}


def eager_index(lib):
    x = lib.put(np.random.default_rng(0).standard_normal((100, 100)).astype(np.float32))
    start = time.perf_counter()
    for i in range(20):
        np.asarray(x[i])
    return {"first": time.perf_counter() - start}


class Workload(NamedTuple):
    name: str
    label: str
    run: Callable  # lib -> {figure name: seconds}, in the child


WORKLOADS = [
    Workload("import", "import", lambda lib: {}),
    Workload("mlp", "MLP train step 784-512-512-10, batch 256", steady_workload("mlp")),
    Workload("chain30", "29 elementwise ops + sum, 1000x1000 f32", run_chain30),
    Workload("scan_rnn", "scan RNN 256, T=100, batch 32, fwd+bwd", steady_workload("scan_rnn")),
    Workload("hessian", "jit(hessian), 50-dim function", steady_workload("hessian")),
    Workload("eager_add", "eager a + b, (1000,) f32", eager_add),
    Workload("eager_index", "20 distinct eager x[i], 100x100 f32", eager_index),
]
BY_NAME = {w.name: w for w in WORKLOADS}


def measure(library, name, import_seconds):
    """In the child: start the backend, run the workload, print its figures as one JSON line."""
    import bench_steady
    start = time.perf_counter()
    lib = bench_steady.mlax_library("cpu") if library == "mlax" else bench_steady.jax_library()
    np.asarray(lib.put(np.ones(4, np.float32)))
    figures = {"import": import_seconds, "backend": time.perf_counter() - start}
    print(json.dumps({**figures, **BY_NAME[name].run(lib)}))


# In the parent.

def run_child(library, name, cache_dir=None, tiering=True):
    """{figure: seconds} of `name` on `library` in a fresh process, or the exception it raised."""
    code = CHILD.format(imports=IMPORTS[library], folder=os.path.dirname(os.path.abspath(__file__)),
                        library=library, workload=name)
    env = {"MLAX_CACHE_DIR": cache_dir, "JAX_COMPILATION_CACHE_DIR": None, "MLAX_JIT_TIERING": "1" if tiering else "0"}
    try:
        return run_python(code, env, parse=json.loads)
    except Exception as error:  # noqa: BLE001  (shown as a footnote)
        return error


def warm_library(folder):
    """Compile the kernel library into `folder` (python -m mlax.warm); its seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlax.warm", "--quiet"], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, MLAX_CACHE_DIR=folder))
    return time.perf_counter() - start


def run_all(names, repeat, jax, library):
    """{(workload, "cold" | "untiered" | "warm" | "jax"): [the figures of each repeat]}; `library`
    a folder holding the kernel library alone."""
    runs = {}
    for r in range(repeat):
        for name in names:
            print(f"  {name} ({r + 1}/{repeat}) ...", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix="mlax-first-call-") as cache:
                shutil.copytree(library, cache, dirs_exist_ok=True)
                runs.setdefault((name, "cold"), []).append(run_child("mlax", name, cache))
                if name != "import":
                    runs.setdefault((name, "warm"), []).append(run_child("mlax", name, cache))
            if name != "import":
                with tempfile.TemporaryDirectory(prefix="mlax-first-call-") as cache:
                    runs.setdefault((name, "untiered"), []).append(run_child("mlax", name, cache, tiering=False))
            if jax:
                runs.setdefault((name, "jax"), []).append(run_child("jax", name))
    return runs


def summary(runs, figure, statistic, scale):
    """statistic() of `figure` over the runs, times `scale`; the first exception instead if one failed."""
    if runs is None:
        return None
    failed = next((r for r in runs if isinstance(r, Exception)), None)
    return failed or statistic([r[figure] for r in runs]) * scale


def print_table(title, names, runs, statistic):
    table = Table(title, numpy=False)

    def row(label, unit, name, figure, scale=1e3, mode="cold"):
        table.add(label, unit, summary(runs.get((name, mode)), figure, statistic, scale),
                  None, summary(runs.get((name, "jax")), figure, statistic, scale) if mode == "cold" else None)

    for name in names:
        w = BY_NAME[name]
        if name == "import":
            row("import (library and its numpy)", "ms", name, "import")
            row("backend start (first array put and read)", "ms", name, "backend")
            continue
        row(f"{w.label}", "ms", name, "first")
        row("  interpreter tier off, empty cache (mlax)", "ms", name, "first", mode="untiered")
        row("  disk cache warm (mlax)", "ms", name, "first", mode="warm")
        if name == "eager_add":
            row("  then per op, steady", "µs/op", name, "steady", scale=1e6)
    table.print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", metavar="NAMES", help="comma-separated workloads: " + ", ".join(BY_NAME))
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="fresh processes per figure (default 1)")
    options = parser.parse_args()
    names = only_names(parser, options.only, BY_NAME)
    if options.repeat < 1:
        parser.error("--repeat needs at least 1")
    with_jax = jax_imports()
    with tempfile.TemporaryDirectory(prefix="mlax-kernel-library-") as library:
        print(f"  the kernel library: compiled in {warm_library(library):.1f} s", file=sys.stderr, flush=True)
        runs = run_all(names, options.repeat, with_jax, library)
    if options.repeat == 1:
        print_table("first call in a fresh process (1 run)", names, runs, min)
    else:
        print_table(f"first call in a fresh process, min of {options.repeat}", names, runs, min)
        print_table(f"first call in a fresh process, median of {options.repeat}", names, runs, statistics.median)


if __name__ == "__main__":
    main()
