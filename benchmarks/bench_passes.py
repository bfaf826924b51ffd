"""Time in mlax's passes (transformations, simplification, lowering; not IREE) as programs
grow: grad of a function nested in d vmaps, d = 40, 80, 160.

    python benchmarks/bench_passes.py
"""

import sys
import time

import mlax
import mlax.numpy as mnp

sys.setrecursionlimit(20_000)  # tracing the nested lambdas recurses once per level


def nested(depth):
    f = lambda x: mnp.sin(x).sum()  # noqa: E731
    for _ in range(depth):
        f = (lambda g: lambda x: mlax.vmap(g)(x[None]).sum())(f)
    return mlax.grad(f)


def main():
    print(f"{'vmap depth':>10s} {'traced ops':>11s} {'passes (s)':>11s} {'µs per traced op':>17s}")
    for depth in (40, 80, 160):
        program = mlax.jit(nested(depth)).lower(mnp.ones(3))
        ops = program.as_text("mlax").count(" = ")
        start = time.perf_counter()
        program.as_text("stablehlo")
        seconds = time.perf_counter() - start
        print(f"{depth:10d} {ops:11d} {seconds:11.2f} {seconds / ops * 1e6:17.0f}")


if __name__ == "__main__":
    main()
