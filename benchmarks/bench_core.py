"""Core speed figures of mlax next to NumPy and (when installed) JAX, in one run.

    python benchmarks/bench_core.py

- jit dispatch latency of a tiny function (µs per call, argument on the device)
- first call of a 30-op function: cold (new process, empty compile cache) and
  from the disk cache (new process, cache filled by the cold run)
- a fused 8-op elementwise chain on 1M and 16M float32 elements (ms)
- float32 sums of 1M and 50M elements (ms, with each library's relative error)
- float32 matmul 1024x1024 (GFLOP/s)
"""

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, best_time, have_jax, run_python  # noqa: E402

import mlax  # noqa: E402
import mlax.numpy as mnp  # noqa: E402


def chain(np_):
    """Eight elementwise ops, written once for every library."""
    def f(x):
        y = x * 1.5 + 0.5
        y = np_.tanh(y) * x
        y = np_.exp(-y * y) + np_.sin(x)
        return y * 0.25
    return f


THIRTY_OPS = """
def f(x):
    for i in range(10):
        x = np_.sin(x) * 1.01 + 0.5
    return x
"""


def first_call_seconds(library, cache_dir):
    setup = {"mlax": "import mlax, mlax.numpy as np_\njit = mlax.jit\nx = np_.ones(128)",
             "jax": "import jax, jax.numpy as np_\njit = jax.jit\nx = np_.ones(128)"}[library]
    code = (f"{setup}\n{THIRTY_OPS}\nimport time\nt = time.perf_counter()\n"
            "jit(f)(x).block_until_ready()\nprint(time.perf_counter() - t)")
    return run_python(code, {"MLAX_CACHE_DIR": cache_dir})


def main():
    jax = jnp = None
    if have_jax():
        import jax
        import jax.numpy as jnp

    table = Table("mlax core benchmarks (CPU)")

    # Dispatch latency.
    tiny = mlax.jit(lambda x: x + 1.0)
    x = mnp.ones(())
    tiny(x)
    mlax_us = best_time(lambda: tiny(x), number=20000) * 1e6
    numpy_us = best_time(lambda: np.add(np.float32(1), 1.0), number=20000) * 1e6
    jax_us = None
    if jax:
        jtiny = jax.jit(lambda x: x + 1.0)
        jx = jnp.ones(())
        jtiny(jx).block_until_ready()
        jax_us = best_time(lambda: jtiny(jx), number=20000) * 1e6
    table.add("jit dispatch, tiny function", "µs/call", mlax_us, numpy_us, jax_us)

    # First call of a 30-op function, in fresh processes.
    with tempfile.TemporaryDirectory() as cache:
        cold = first_call_seconds("mlax", cache)
        warm = first_call_seconds("mlax", cache)
    jax_cold = first_call_seconds("jax", "") if jax else None
    table.add("first call, 30 ops, cold (new process)", "ms", cold * 1e3, None, jax_cold and jax_cold * 1e3)
    table.add("first call, 30 ops, from disk cache", "ms", warm * 1e3, None, None)

    # Fused elementwise chain.
    for n in (1 << 20, 1 << 24):
        data = np.random.default_rng(0).standard_normal(n).astype(np.float32)
        mf = mlax.jit(chain(mnp))
        md = mnp.asarray(data)
        mf(md).block_until_ready()
        mlax_ms = best_time(lambda: mf(md).block_until_ready()) * 1e3
        numpy_ms = best_time(lambda: chain(np)(data)) * 1e3
        jax_ms = None
        if jax:
            jf = jax.jit(chain(jnp))
            jd = jnp.asarray(data)
            jf(jd).block_until_ready()
            jax_ms = best_time(lambda: jf(jd).block_until_ready()) * 1e3
        table.add(f"8-op elementwise chain, {n >> 20}M f32", "ms", mlax_ms, numpy_ms, jax_ms)

    # Long float32 sums (a tree of short blocks: accurate past 2**24 terms), with each
    # library's relative error against a float64 sum.
    for n in (1_000_000, 50_000_000):
        data = np.random.default_rng(2).random(n, dtype=np.float32)
        exact = data.astype(np.float64).sum()
        msum = mlax.jit(mnp.sum)
        md = mnp.asarray(data)
        msum(md).block_until_ready()
        mlax_ms = best_time(lambda: msum(md).block_until_ready(), number=5) * 1e3
        numpy_ms = best_time(lambda: data.sum(), number=5) * 1e3
        errors = {"mlax": abs(float(msum(md)) / exact - 1), "numpy": abs(float(data.sum()) / exact - 1)}
        jax_ms = None
        if jax:
            jsum = jax.jit(jnp.sum)
            jd = jnp.asarray(data)
            jsum(jd).block_until_ready()
            jax_ms = best_time(lambda: jsum(jd).block_until_ready(), number=5) * 1e3
            errors["jax"] = abs(float(jsum(jd)) / exact - 1)
        table.add(f"sum of {n / 1e6:g}M f32", "ms", mlax_ms, numpy_ms, jax_ms)
        table.add("  its error relative to float64", "rel.", errors["mlax"], errors["numpy"], errors.get("jax"))

    # Matmul.
    size = 1024
    flops = 2 * size ** 3
    a = np.random.default_rng(1).standard_normal((size, size)).astype(np.float32)
    mm = mlax.jit(lambda p, q: p @ q)
    ma = mnp.asarray(a)
    mm(ma, ma).block_until_ready()
    mlax_gflops = flops / best_time(lambda: mm(ma, ma).block_until_ready()) / 1e9
    numpy_gflops = flops / best_time(lambda: a @ a) / 1e9
    jax_gflops = None
    if jax:
        jmm = jax.jit(lambda p, q: p @ q)
        ja = jnp.asarray(a)
        jmm(ja, ja).block_until_ready()
        jax_gflops = flops / best_time(lambda: jmm(ja, ja).block_until_ready()) / 1e9
    table.add("matmul 1024x1024 f32", "GFLOP/s", mlax_gflops, numpy_gflops, jax_gflops)
    table.print()


if __name__ == "__main__":
    main()
