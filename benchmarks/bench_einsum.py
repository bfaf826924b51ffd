"""einsum's contraction order: a 4-operand chain with a small last operand, in one run,
mlax next to NumPy (np.einsum with optimize=True) and JAX, and mlax contracting left
to right (optimize=False) to show what the path is worth.

    python benchmarks/bench_einsum.py

'ij,jk,kl,lm->im' with i=j=k=l=512 and m=2: left to right costs three 512^3 products;
from the right, three 512^2 x 2 ones. Per-call times of jitted functions.
"""

import os
import sys
import tempfile

import numpy as np

os.environ["MLAX_CACHE_DIR"] = tempfile.mkdtemp(prefix="mlax-bench-")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, best_time, have_jax  # noqa: E402

import mlax  # noqa: E402
import mlax.numpy as mnp  # noqa: E402

SUBSCRIPTS = "ij,jk,kl,lm->im"
SIZE, LAST = 512, 2


def main():
    rng = np.random.default_rng(0)
    operands = [rng.standard_normal(shape).astype(np.float32)
                for shape in [(SIZE, SIZE), (SIZE, SIZE), (SIZE, SIZE), (SIZE, LAST)]]
    table = Table(f"einsum {SUBSCRIPTS!r}, {SIZE}^3 with a last operand of {LAST} columns, float32 (CPU)")
    jax_time = None
    if have_jax():
        import jax
        import jax.numpy as jnp

        jax_fn = jax.jit(lambda *xs: jnp.einsum(SUBSCRIPTS, *xs))
        jax.block_until_ready(jax_fn(*operands))
        jax_time = best_time(lambda: jax.block_until_ready(jax_fn(*operands)), repeat=3)
    numpy_time = best_time(lambda: np.einsum(SUBSCRIPTS, *operands, optimize=True), repeat=3)
    for optimize in ("auto", False):
        fn = mlax.jit(lambda *xs, optimize=optimize: mnp.einsum(SUBSCRIPTS, *xs, optimize=optimize))
        mlax.block_until_ready(fn(*operands))
        mlax_time = best_time(lambda: mlax.block_until_ready(fn(*operands)), repeat=3)
        table.add(f"optimize={optimize!r}", "ms/call", mlax_time * 1e3, numpy_time * 1e3,
                  jax_time * 1e3 if jax_time is not None else None)
    table.print()


if __name__ == "__main__":
    main()
