"""Linear-algebra speed figures of mlax next to NumPy (LAPACK) and JAX, in one run.

    python benchmarks/bench_linalg.py

IREE compiles no StableHLO decomposition, so mlax's are loops of mlax ops
(lax.linalg): LU with partial pivoting (solve, det), Cholesky, Householder QR,
and Jacobi sweeps (eigh, svd). Per-call times of jitted functions, after a
first call that compiles (into an empty compile cache); its time is reported too.
"""

import os
import sys
import tempfile
import time

import numpy as np

os.environ["MLAX_CACHE_DIR"] = tempfile.mkdtemp(prefix="mlax-bench-")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, best_time, have_jax  # noqa: E402

import mlax  # noqa: E402
import mlax.numpy as mnp  # noqa: E402

SIZE = 128


def cases(linalg, spd, general, rhs):
    """(name, function, its arguments) for one library's linalg namespace."""
    return [
        ("solve", linalg.solve, (general, rhs)),
        ("cholesky", linalg.cholesky, (spd,)),
        ("qr", linalg.qr, (general,)),
        ("eigh", linalg.eigh, (spd,)),
        ("svd", lambda a: linalg.svd(a, full_matrices=False), (general,)),
    ]


def main():
    rng = np.random.default_rng(0)
    general = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    spd = general @ general.T + SIZE * np.eye(SIZE, dtype=np.float32)
    rhs = rng.standard_normal((SIZE, 8)).astype(np.float32)
    mlax_cases = cases(mnp.linalg, spd, general, rhs)
    numpy_cases = cases(np.linalg, spd, general, rhs)
    jax_cases = [None] * len(mlax_cases)
    if have_jax():
        import jax
        import jax.numpy as jnp

        jax_cases = [(name, jax.jit(fn), args) for name, fn, args in cases(jnp.linalg, spd, general, rhs)]

    table = Table(f"mlax linear algebra, {SIZE}x{SIZE} float32 (CPU)")
    for (name, fn, args), (_, np_fn, np_args), jax_case in zip(mlax_cases, numpy_cases, jax_cases):
        jitted = mlax.jit(fn)
        start = time.perf_counter()
        mlax.block_until_ready(jitted(*args))
        first_call = time.perf_counter() - start
        mlax_time = best_time(lambda: mlax.block_until_ready(jitted(*args)), repeat=3)
        numpy_time = best_time(lambda: np_fn(*np_args), repeat=3)
        jax_time = jax_first = None
        if jax_case is not None:
            jax_fn = jax_case[1]
            start = time.perf_counter()
            jax.block_until_ready(jax_fn(*args))
            jax_first = time.perf_counter() - start
            jax_time = best_time(lambda: jax.block_until_ready(jax_fn(*args)), repeat=3)
        table.add(f"{name}", "ms/call", mlax_time * 1e3, numpy_time * 1e3,
                  jax_time * 1e3 if jax_time is not None else None)
        table.add(f"{name}, first call (compile)", "s", first_call, None, jax_first)
    table.print()


if __name__ == "__main__":
    main()
