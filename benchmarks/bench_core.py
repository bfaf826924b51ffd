"""Core speed figures of mlax next to NumPy and (when installed) JAX, in one run.

    python benchmarks/bench_core.py [--backend cpu,vulkan]

--backend names the mlax backends to measure, comma-separated (default: cpu); each
gets its own mlax column. A workload a backend cannot run (or whose chain or matmul
result differs from NumPy's) shows "-" and a footnote.

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
from _harness import Table, backends_from_argv, best_time, have_jax, mlax_on, per_backend, pick, run_python  # noqa: E402

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


def first_call_seconds(library, cache_dir, backend="cpu"):
    setup = {"mlax": "import mlax, mlax.numpy as np_\njit = mlax.jit\nx = np_.ones(128)",
             "jax": "import jax, jax.numpy as np_\njit = jax.jit\nx = np_.ones(128)"}[library]
    code = (f"{setup}\n{THIRTY_OPS}\nimport time\nt = time.perf_counter()\n"
            "jit(f)(x).block_until_ready()\nprint(time.perf_counter() - t)")
    return run_python(code, {"MLAX_CACHE_DIR": cache_dir, "MLAX_PLATFORM": backend})


def dispatch_us(backend):
    jit, put = mlax_on(backend)
    tiny = jit(lambda x: x + 1.0)
    x = put(np.ones((), np.float32))
    tiny(x)
    return best_time(lambda: tiny(x), number=20000) * 1e6


def first_calls_ms(backend):
    """(cold, from the disk cache) first-call times in fresh processes."""
    with tempfile.TemporaryDirectory() as cache:
        return tuple(first_call_seconds("mlax", cache, backend) * 1e3 for _ in range(2))


def chain_ms(backend, data):
    jit, put = mlax_on(backend)
    mf, md = jit(chain(mnp)), put(data)
    np.testing.assert_allclose(np.asarray(mf(md)), chain(np)(data), rtol=1e-4, atol=1e-5)
    return best_time(lambda: mf(md).block_until_ready()) * 1e3


def sum_ms_and_error(backend, data, exact):
    jit, put = mlax_on(backend)
    msum, md = jit(mnp.sum), put(data)
    msum(md).block_until_ready()
    return best_time(lambda: msum(md).block_until_ready(), number=5) * 1e3, abs(float(msum(md)) / exact - 1)


def matmul_gflops(backend, a):
    jit, put = mlax_on(backend)
    mm, ma = jit(lambda p, q: p @ q), put(a)
    np.testing.assert_allclose(np.asarray(mm(ma, ma)), a @ a, rtol=1e-3, atol=1e-3)
    return 2 * a.shape[0] ** 3 / best_time(lambda: mm(ma, ma).block_until_ready()) / 1e9


def main():
    backends = backends_from_argv(__doc__)
    jax = jnp = None
    if have_jax():
        import jax
        import jax.numpy as jnp

    table = Table("mlax core benchmarks", backends)

    # Dispatch latency.
    numpy_us = best_time(lambda: np.add(np.float32(1), 1.0), number=20000) * 1e6
    jax_us = None
    if jax:
        jtiny = jax.jit(lambda x: x + 1.0)
        jx = jnp.ones(())
        jtiny(jx).block_until_ready()
        jax_us = best_time(lambda: jtiny(jx), number=20000) * 1e6
    table.add("jit dispatch, tiny function", "µs/call", per_backend(backends, dispatch_us), numpy_us, jax_us)

    # First call of a 30-op function, in fresh processes.
    first = per_backend(backends, first_calls_ms)
    jax_cold = first_call_seconds("jax", "") if jax else None
    table.add("first call, 30 ops, cold (new process)", "ms", pick(first, 0), None, jax_cold and jax_cold * 1e3)
    table.add("first call, 30 ops, from disk cache", "ms", pick(first, 1), None, None)

    # Fused elementwise chain.
    for n in (1 << 20, 1 << 24):
        data = np.random.default_rng(0).standard_normal(n).astype(np.float32)
        numpy_ms = best_time(lambda: chain(np)(data)) * 1e3
        jax_ms = None
        if jax:
            jf = jax.jit(chain(jnp))
            jd = jnp.asarray(data)
            jf(jd).block_until_ready()
            jax_ms = best_time(lambda: jf(jd).block_until_ready()) * 1e3
        table.add(f"8-op elementwise chain, {n >> 20}M f32", "ms", per_backend(backends, chain_ms, data), numpy_ms,
                  jax_ms)

    # Long float32 sums (a tree of short blocks: accurate past 2**24 terms), with each
    # library's relative error against a float64 sum.
    for n in (1_000_000, 50_000_000):
        data = np.random.default_rng(2).random(n, dtype=np.float32)
        exact = data.astype(np.float64).sum()
        mlax_figures = per_backend(backends, sum_ms_and_error, data, exact)
        numpy_ms = best_time(lambda: data.sum(), number=5) * 1e3
        errors = {"numpy": abs(float(data.sum()) / exact - 1)}
        jax_ms = None
        if jax:
            jsum = jax.jit(jnp.sum)
            jd = jnp.asarray(data)
            jsum(jd).block_until_ready()
            jax_ms = best_time(lambda: jsum(jd).block_until_ready(), number=5) * 1e3
            errors["jax"] = abs(float(jsum(jd)) / exact - 1)
        table.add(f"sum of {n / 1e6:g}M f32", "ms", pick(mlax_figures, 0), numpy_ms, jax_ms)
        table.add("  its error relative to float64", "rel.", pick(mlax_figures, 1), errors["numpy"], errors.get("jax"))

    # Matmul.
    size = 1024
    flops = 2 * size ** 3
    a = np.random.default_rng(1).standard_normal((size, size)).astype(np.float32)
    numpy_gflops = flops / best_time(lambda: a @ a) / 1e9
    jax_gflops = None
    if jax:
        jmm = jax.jit(lambda p, q: p @ q)
        ja = jnp.asarray(a)
        jmm(ja, ja).block_until_ready()
        jax_gflops = flops / best_time(lambda: jmm(ja, ja).block_until_ready()) / 1e9
    table.add(f"matmul {size}x{size} f32", "GFLOP/s", per_backend(backends, matmul_gflops, a), numpy_gflops,
              jax_gflops)
    table.print()


if __name__ == "__main__":
    main()
