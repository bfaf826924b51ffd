"""Data-parallel training with pmap over 2 CPU devices, next to the same step on one
device, for mlax and (when installed) JAX.

    python benchmarks/bench_pmap.py

One SGD step of a tanh MLP with softmax cross-entropy per call (the first call
compiles: mlax's cache starts empty). Without pmap: jit of
the step on the whole batch. With pmap over 2 devices: each device takes half the
batch, the gradients (and the loss) are averaged with pmean, and each device applies
the update; the parameters enter replicated (in_axes=None) and leave as the first
device's copy (out_axes=None). mlax gets its devices from MLAX_NUM_CPU_DEVICES=2, JAX
from XLA_FLAGS=--xla_force_host_platform_device_count=2 (in a process of its own).

This machine has 2 cores, and both libraries' two CPU "devices" share them: pmap
cannot beat one device using both cores here. The figures show what splitting the
step across devices costs (transfers, synchronisation, two half-size matmuls).
"""

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ["MLAX_NUM_CPU_DEVICES"] = "2"
os.environ["MLAX_CACHE_DIR"] = tempfile.mkdtemp(prefix="mlax-bench-")  # first calls compile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, best_time, have_jax  # noqa: E402

LR = 0.01
MODELS = [  # (input, hidden, classes, global batch)
    (64, 128, 10, 256),
    (784, 512, 10, 2048),
]

# The step, written once for both libraries: `lib` is mlax or jax, `np_` its numpy.
STEP = """
def loss(params, x, y):
    (w1, b1), (w2, b2) = params
    logits = np_.tanh(x @ w1 + b1) @ w2 + b2
    shifted = logits - np_.max(logits, axis=-1, keepdims=True)
    log_probs = shifted - np_.log(np_.sum(np_.exp(shifted), axis=-1, keepdims=True))
    return -np_.mean(np_.sum(log_probs * lib.nn.one_hot(y, w2.shape[1]), axis=-1))


def update(params, grads):
    return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]


def step(params, x, y):
    value, grads = lib.value_and_grad(loss)(params, x, y)
    return update(params, grads), value


def parallel_step(params, x, y):
    value, grads = lib.value_and_grad(loss)(params, x, y)
    return update(params, lib.lax.pmean(grads, "i")), lib.lax.pmean(value, "i")


single = lib.jit(step)
parallel = lib.pmap(parallel_step, axis_name="i", in_axes=(None, 0, 0), out_axes=None)
"""

# Timing, also written once: `put` places host data on the library's default device.
TIMING = """
def data(d_in, hidden, classes, batch):
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((d_in, hidden)).astype(np.float32) / np.sqrt(d_in), np.zeros(hidden, np.float32)),
              (rng.standard_normal((hidden, classes)).astype(np.float32) / np.sqrt(hidden),
               np.zeros(classes, np.float32))]
    x = rng.standard_normal((batch, d_in)).astype(np.float32)
    y = rng.integers(0, classes, batch).astype(np.int32)
    return [(put(w), put(b)) for w, b in params], x, y


def rate(fn, params, x, y):
    '''(first call in s, steps per second) of fn, fed its own parameters back.'''
    start = time.perf_counter()
    params, value = fn(params, x, y)
    value.block_until_ready()
    first = time.perf_counter() - start

    def run():
        nonlocal params
        params, value = fn(params, x, y)
        value.block_until_ready()
    return first, 1 / best_time(run, repeat=3, budget=0.5)


def measure(model, n=2):
    params, x, y = data(*model)
    shards = (put(x.reshape((n, -1) + x.shape[1:])), put(y.reshape(n, -1)))
    return rate(single, params, put(x), put(y)) + rate(parallel, params, *shards)
"""


def jax_figures(model):
    code = ("import time, numpy as np, jax, jax.numpy as np_\nlib = jax\n"
            "from _harness import best_time\n"
            f"LR = {LR}\nput = jax.device_put\n{STEP}\n{TIMING}\n"
            f"print(','.join(map(str, measure({model}))))\n")
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "PYTHONPATH": os.path.dirname(os.path.abspath(__file__))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=dict(os.environ, JAX_PLATFORMS="cpu", **env))
    return [float(v) for v in result.stdout.strip().splitlines()[-1].split(",")]


def main():
    import mlax
    import mlax.numpy as np_

    assert mlax.device_count() == 2
    namespace = {"np": np, "np_": np_, "lib": mlax, "LR": LR, "time": time, "best_time": best_time,
                 "put": mlax.device_put}
    exec(STEP + TIMING, namespace)  # noqa: S102 - the benchmark's own code, shared with the JAX run
    table = Table("mlax pmap: data-parallel MLP training step, 2 CPU devices on 2 cores")
    for model in MODELS:
        d_in, hidden, classes, batch = model
        name = f"{d_in}-{hidden}-{classes} batch {batch}"
        _, single_rate, parallel_first, parallel_rate = namespace["measure"](model)
        jax_values = jax_figures(model) if have_jax() else [None] * 4
        table.add(f"{name}: jit, 1 device", "steps/s", single_rate, None, jax_values[1])
        table.add(f"{name}: pmap, 2 devices", "steps/s", parallel_rate, None, jax_values[3])
        table.add(f"{name}: pmap, first call", "s", parallel_first, None, jax_values[2])
    table.print()


if __name__ == "__main__":
    main()
