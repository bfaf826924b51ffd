"""Time in mlax's passes (transformations, simplification, lowering; not IREE) as programs
grow: grad of a function nested in d vmaps, d = 40, 80, 160, 320.

Each of the d vmaps batches every op nested inside it, so the batching rules run
about d^2/2 times in all (as JAX's nested batch tracers do); the last column, the
time per batching-rule application, stays flat when nothing else grows faster.

    python benchmarks/bench_passes.py
"""

import sys
import time

import mlax
import mlax.numpy as mnp
from mlax.passes import vmap as vmap_pass

sys.setrecursionlimit(20_000)  # tracing the nested lambdas recurses once per level


def nested(depth):
    f = lambda x: mnp.sin(x).sum()  # noqa: E731
    for _ in range(depth):
        f = (lambda g: lambda x: mlax.vmap(g)(x[None]).sum())(f)
    return mlax.grad(f)


def main():
    applications = [0]
    apply = vmap_pass.Batch.apply

    def counted(self, *args):
        applications[0] += 1
        return apply(self, *args)
    vmap_pass.Batch.apply = counted
    print(f"{'vmap depth':>10s} {'traced ops':>11s} {'batched ops':>12s} {'passes (s)':>11s} "
          f"{'µs per traced op':>17s} {'µs per batched op':>18s}")
    for depth in (40, 80, 160, 320):
        program = mlax.jit(nested(depth)).lower(mnp.ones(3))
        ops = program.as_text("mlax").count(" = ")
        applications[0] = 0
        start = time.perf_counter()
        program.as_text("stablehlo")
        seconds = time.perf_counter() - start
        print(f"{depth:10d} {ops:11d} {applications[0]:12d} {seconds:11.2f} {seconds / ops * 1e6:17.0f} "
              f"{seconds / applications[0] * 1e6:18.0f}")


if __name__ == "__main__":
    main()
