"""Shared helpers for the benchmarks: timing loops and a side-by-side table."""

import importlib.util
import os
import subprocess
import sys
import time


def have_jax():
    return importlib.util.find_spec("jax") is not None


def best_time(fn, repeat=5, number=None, budget=0.2):
    """Best per-call time of fn() in seconds over `repeat` runs of `number` calls."""
    if number is None:
        start = time.perf_counter()
        fn()
        once = max(time.perf_counter() - start, 1e-7)
        number = max(1, int(budget / once))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def run_python(code, env_updates=None):
    """Run `code` in a fresh interpreter; return the last line it prints (a number)."""
    env = dict(os.environ)
    env.update(env_updates or {})
    env.setdefault("JAX_PLATFORMS", "cpu")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(result.stdout.strip().splitlines()[-1])


class Table:
    """Rows of one metric measured for mlax, NumPy and JAX, printed with ratios."""

    def __init__(self, title):
        self.title = title
        self.rows = []

    def add(self, metric, unit, mlax_value, numpy_value=None, jax_value=None):
        self.rows.append((metric, unit, mlax_value, numpy_value, jax_value))

    def print(self):
        print(f"\n== {self.title} ==")
        header = f"{'metric':44s} {'unit':9s} {'mlax':>10s} {'numpy':>10s} {'jax':>10s}  {'mlax/numpy':>10s} {'mlax/jax':>9s}"
        print(header)
        print("-" * len(header))
        for metric, unit, m, n, j in self.rows:
            def fmt(v):
                if v is None:
                    return f"{'-':>10s}"
                return f"{v:10.1e}" if 0 < abs(v) < 1e-2 else f"{v:10.3f}"

            def ratio(v):
                return f"{m / v:9.2f}x" if v else f"{'-':>10s}"
            print(f"{metric:44s} {unit:9s} {fmt(m)} {fmt(n)} {fmt(j)}  {ratio(n)} {ratio(j)}")
        print("(ratio = mlax / other: for GFLOP/s and steps/s higher is better, for times lower is better)")
