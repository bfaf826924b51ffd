"""Asynchronous dispatch: how soon a call returns, and what that buys a training loop; mlax
next to (when installed) JAX, each workload in a fresh process of its own.

    python benchmarks/bench_async.py [--only NAME,...] [--steps N]

- matmul_chain: jit of a chain of four float32 1024x1024 products. "returns" is the best time
  for the call to return, "ready" the best time to its result being ready
  (block_until_ready), and "returns / ready" their ratio: how much of the computation the
  caller does not wait for.
- mlp_loop: the MLP training step of bench_steady (784-512-512-10, batch 256) in a loop of
  --steps steps (default 40) whose host prepares each batch with NumPy (normal noise added
  to a base batch and scaled, ~2 ms) and puts it on the device. "asynchronous" lets each
  call return at once, so the next batch is prepared while the step computes; "synchronous"
  waits for each step's loss before preparing the next batch. Steps/s, best of 3 loops.
- dispatch: jit of x + 1.0 on a 0-d float32, called 10,000 times without waiting, then
  waited for once (µs/call, best of 5).
"""

import argparse
import json
import os
import sys
import time
from typing import Callable, NamedTuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, best_time, jax_imports, only_names, run_python  # noqa: E402

CHILD = """import sys
sys.path.insert(0, {folder!r})
import bench_async
bench_async.measure({library!r}, {workload!r}, {steps!r})
"""


# The workloads, run in the child on bench_steady's library namespace; each returns {figure: value}.

def matmul_chain(lib, steps):
    def chain(a, b):
        for _ in range(4):
            a = a @ b
        return a
    rng = np.random.default_rng(0)
    a, b = (lib.put((rng.standard_normal((1024, 1024)) / 32).astype(np.float32)) for _ in range(2))
    f = lib.jit(chain)
    lib.block_until_ready(f(a, b))
    returns, ready = float("inf"), float("inf")
    for _ in range(10):
        start = time.perf_counter()
        result = f(a, b)
        returned = time.perf_counter()
        lib.block_until_ready(result)
        done = time.perf_counter()
        returns, ready = min(returns, returned - start), min(ready, done - start)
    return {"returns": returns, "ready": ready, "fraction": returns / ready}


def mlp_loop(lib, steps):
    import bench_steady
    workload = bench_steady.BY_NAME["mlp"]
    rng = np.random.default_rng(0)
    params, base, labels = workload.data(rng)
    params, labels = bench_steady.tree_map(lib.put, params), lib.put(labels)
    step = lib.jit(workload.make(lib))

    def batch():  # the host's share of a step: augment the base batch
        return lib.put((base + 0.1 * rng.standard_normal(base.shape, np.float32)) * 0.9)

    def loop(synchronous):
        state = params
        for _ in range(steps):
            state, loss = step(state, batch(), labels)
            if synchronous:
                lib.block_until_ready(loss)
        lib.block_until_ready(loss)

    lib.block_until_ready(step(params, batch(), labels))
    return {mode: steps / best_time(lambda: loop(mode == "synchronous"), repeat=3, number=1)
            for mode in ("asynchronous", "synchronous")}


def dispatch(lib, steps):
    f = lib.jit(lambda x: x + 1.0)
    x = lib.put(np.float32(1.0))
    lib.block_until_ready(f(x))

    def calls():
        for _ in range(10_000):
            y = f(x)
        lib.block_until_ready(y)
    return {"call": best_time(calls, repeat=5, number=1) / 10_000}


class Workload(NamedTuple):
    name: str
    run: Callable  # (lib, steps) -> {figure: value}, in the child


WORKLOADS = [Workload("matmul_chain", matmul_chain), Workload("mlp_loop", mlp_loop), Workload("dispatch", dispatch)]
BY_NAME = {w.name: w for w in WORKLOADS}


def measure(library, name, steps):
    """In the child: run the workload, print its figures as one JSON line."""
    import bench_steady
    lib = bench_steady.mlax_library("cpu") if library == "mlax" else bench_steady.jax_library()
    print(json.dumps(BY_NAME[name].run(lib, steps)))


def run_child(library, name, steps):
    """{figure: value} of `name` on `library` in a fresh process, or the exception it raised."""
    code = CHILD.format(folder=os.path.dirname(os.path.abspath(__file__)), library=library, workload=name,
                        steps=steps)
    try:
        return run_python(code, parse=json.loads)
    except Exception as error:  # noqa: BLE001  (shown as a footnote)
        return error


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", metavar="NAMES", help="comma-separated workloads: " + ", ".join(BY_NAME))
    parser.add_argument("--steps", type=int, default=40, metavar="N", help="steps of mlp_loop's loop (default 40)")
    options = parser.parse_args()
    names = only_names(parser, options.only, BY_NAME)
    if options.steps < 1:
        parser.error("--steps needs at least 1")
    libraries = ("mlax", "jax") if jax_imports() else ("mlax",)
    table = Table("asynchronous dispatch, CPU, each workload in a fresh process", numpy=False)
    for name in names:
        print(f"  {name} ...", file=sys.stderr, flush=True)
        figures = {library: run_child(library, name, options.steps) for library in libraries}

        def row(metric, unit, figure, scale):
            values = {lib: f if isinstance(f, Exception) else f[figure] * scale for lib, f in figures.items()}
            table.add(metric, unit, values["mlax"], None, values.get("jax"))
        if name == "matmul_chain":
            row("4 x 1024^3 matmul chain: call returns", "ms", "returns", 1e3)
            row("  result ready", "ms", "ready", 1e3)
            row("  returns / ready", "%", "fraction", 100)
        elif name == "mlp_loop":
            row("MLP loop, host-prepared batches: asynchronous", "steps/s", "asynchronous", 1)
            row("  waiting for each step (synchronous)", "steps/s", "synchronous", 1)
        else:
            row("jit dispatch, x + 1.0 on a 0-d f32", "µs/call", "call", 1e6)
    table.print()


if __name__ == "__main__":
    main()
