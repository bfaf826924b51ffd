"""FFT speed figures of mlax next to NumPy (pocketfft) and JAX (XLA's ducc), in one run.

    python benchmarks/bench_fft.py

mlax builds its transforms from StableHLO ops (IREE 3.13 compiles stablehlo.fft only
at power-of-two lengths on CPU, and on no GPU target): radix-4 Stockham stages for
powers of two, matrix stages for small odd factors, and Bluestein's chirp-z transform
for lengths with large prime factors. Per-call times of jitted functions on inputs
already on the device, after a first call that compiles (into an empty compile
cache); its time is reported too.
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


def cases(rng):
    """(name, function name, input) for each transform measured."""
    complex_input = lambda *shape: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)  # noqa: E731
    real_input = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    return [
        ("fft, complex64, 2^16", "fft", complex_input(2 ** 16)),
        ("rfft, float32, 2^16", "rfft", real_input(2 ** 16)),
        ("irfft, complex64, 2^15+1 -> 2^16", "irfft", complex_input(2 ** 15 + 1)),
        ("fft, complex64, 4099 (prime)", "fft", complex_input(4099)),
        ("fft, complex64, 3^4*5^2*7 = 14175", "fft", complex_input(14175)),
        ("fft, complex64, 256 x 256 batch", "fft", complex_input(256, 256)),
        ("fft2, complex64, 512 x 512", "fft2", complex_input(512, 512)),
        ("rfft2, float32, 512 x 512", "rfft2", real_input(512, 512)),
    ]


def main():
    rng = np.random.default_rng(0)
    if have_jax():
        import jax
        import jax.numpy as jnp
    table = Table("mlax.numpy.fft, jitted, steady state (CPU)")
    for name, function, x in cases(rng):
        jitted = mlax.jit(getattr(mnp.fft, function))
        on_device = mlax.device_put(x)
        start = time.perf_counter()
        mlax.block_until_ready(jitted(on_device))
        first_call = time.perf_counter() - start
        mlax_time = best_time(lambda: mlax.block_until_ready(jitted(on_device)))
        numpy_time = best_time(lambda: getattr(np.fft, function)(x))
        jax_time = jax_first = None
        if have_jax():
            jax_fn, jax_x = jax.jit(getattr(jnp.fft, function)), jnp.asarray(x)
            start = time.perf_counter()
            jax.block_until_ready(jax_fn(jax_x))
            jax_first = time.perf_counter() - start
            jax_time = best_time(lambda: jax.block_until_ready(jax_fn(jax_x)))
        table.add(name, "ms/call", mlax_time * 1e3, numpy_time * 1e3, jax_time * 1e3 if jax_time is not None else None)
        table.add(f"{name}, first call (compile)", "s", first_call, None, jax_first)
    table.print()


if __name__ == "__main__":
    main()
