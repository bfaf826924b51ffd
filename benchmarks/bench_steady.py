"""Steady-state speed of mlax next to NumPy and (when installed) JAX, in one run.

    python benchmarks/bench_steady.py [--backend cpu,vulkan] [--mode fresh|one-process|both] [--only NAME,...]

--backend names the mlax backends to measure, comma-separated (default: cpu); each
gets its own mlax column. --mode fresh (default) measures each workload in a new
process (compile cache warm, one warm-up call); one-process measures them all in this
process after 1,000 calls of other small jitted programs; both does both and compares
each time per call (one-process / fresh). --only picks workloads by name.

Every result is checked against NumPy's (JAX's where NumPy has no version) before it
is timed; a workload an mlax backend cannot run, or gets wrong, shows "-" and a
footnote. GFLOP/s and steps/s: higher is better; ms and µs/call: lower is better. A
second table gives the minor page faults per call of each mlax and JAX timing.

- matmul512, matmul1024, matmul2048: float32 p @ q (GFLOP/s)
- bmm16x256: batched float32 matmul (16, 256, 256) @ (16, 256, 256) (GFLOP/s)
- matmul_tn1024, matmul_nt1024: p.T @ q and p @ q.T, 1024 (GFLOP/s)
- mlp: MLP training step 784-512-512-10, batch 256, softmax cross-entropy, SGD (steps/s)
- scan_rnn: lax.scan tanh RNN, 256 -> 256, T=100, batch 32: value_and_grad of the
  final state's sum of squares (ms)
- vmap_grad: per-example gradients of the logistic loss, X 1024x256 (ms)
- softmax, layernorm: over the last axis of 4096x1024 float32 (ms)
- cnn: training step of conv3x3(16)-relu-conv3x3/2(32)-relu-mean pool-dense(10) on
  (32, 3, 32, 32) NCHW, softmax cross-entropy, SGD (steps/s; no NumPy version)
- dispatch: jit of x + 1.0 on a 0-d float32 (µs/call)
- chain1M, chain16M: 18-op elementwise chain, 6 x (mul-add, tanh, sin) (ms)
- hessian: jit(hessian) of a 50-dim function (µs/call; NumPy: the closed form)
- fori10k: lax.fori_loop of 10,000 scalar steps (ms; NumPy: a Python loop)
"""

import argparse
import json
import os
import resource
import subprocess
import sys
from types import SimpleNamespace
from typing import Callable, NamedTuple, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_autodiff as autodiff  # noqa: E402
from _harness import (Table, backends_from_argv, best_time, have_jax, mlax_on, only_names, per_backend,  # noqa: E402
                      pick)

import mlax  # noqa: E402
import mlax.numpy as mnp  # noqa: E402
from mlax.tree_util import tree_leaves, tree_map  # noqa: E402

TRANSFORMS = ("lax", "nn", "grad", "value_and_grad", "vmap", "hessian", "block_until_ready")


def python_fori_loop(lower, upper, body, value):
    """lax.fori_loop as a Python loop, for the NumPy version of fori."""
    for i in range(lower, upper):
        value = body(i, value)
    return value


NUMPY = SimpleNamespace(np=np, lax=SimpleNamespace(fori_loop=python_fori_loop))


def library(module, np_, jit, put):
    """What a workload needs of mlax or JAX: its numpy, jit, device put and transforms."""
    return SimpleNamespace(np=np_, jit=jit, put=put, **{name: getattr(module, name) for name in TRANSFORMS})


def mlax_library(backend):
    return library(mlax, mnp, *mlax_on(backend))


def jax_library():
    import jax
    import jax.numpy as jnp
    return library(jax, jnp, jax.jit, jnp.asarray)


# The workloads, each written once for mlax and JAX (and NumPy where the same code runs there).

def normal(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def matmul(p, q):
    return p @ q


def add_one(x):
    return x + 1.0


def cross_entropy(np_, one_hot, logits, y):
    shifted = logits - np_.max(logits, axis=-1, keepdims=True)
    log_probs = shifted - np_.log(np_.sum(np_.exp(shifted), axis=-1, keepdims=True))
    return -np_.mean(np_.sum(log_probs * one_hot(y, logits.shape[-1]), axis=-1))


def mlp_step(lib):
    return autodiff.sgd_step(lib.value_and_grad, autodiff.loss_fn(lib.np, lib.nn.one_hot))


def mlp_data(rng):
    x = normal(rng, autodiff.BATCH, autodiff.SIZES[0])
    return autodiff.init(rng), x, rng.integers(0, autodiff.SIZES[-1], autodiff.BATCH).astype(np.int32)


RNN_STEPS, RNN_BATCH, RNN_HIDDEN = 100, 32, 256


def rnn_value_and_grad(lib):
    """h = tanh(x_t @ wx + h @ wh + b) over a scan; loss = sum of the final h squared."""
    def loss(params, xs):
        wx, wh, b = params

        def cell(h, x):
            return lib.np.tanh(x @ wx + h @ wh + b), None
        h, _ = lib.lax.scan(cell, lib.np.zeros((RNN_BATCH, RNN_HIDDEN), np.float32), xs)
        return lib.np.sum(h * h)
    return lib.value_and_grad(loss)


def rnn_data(rng):
    scale = RNN_HIDDEN ** -0.5
    params = (normal(rng, RNN_HIDDEN, RNN_HIDDEN, scale=scale), normal(rng, RNN_HIDDEN, RNN_HIDDEN, scale=0.5 * scale),
              normal(rng, RNN_HIDDEN, scale=0.1))
    return params, normal(rng, RNN_STEPS, RNN_BATCH, RNN_HIDDEN)


def per_example_grads(lib):
    def logistic_loss(w, x, y):
        z = x @ w
        return lib.np.logaddexp(0.0, z) - y * z
    return lib.vmap(lib.grad(logistic_loss), in_axes=(None, 0, 0))


def numpy_per_example_grads(w, x, y):
    return (1 / (1 + np.exp(-(x @ w))) - y)[:, None] * x


def logistic_data(rng):
    return normal(rng, 256, scale=0.1), normal(rng, 1024, 256), rng.integers(0, 2, 1024).astype(np.float32)


def softmax(lib):
    def f(x):
        e = lib.np.exp(x - lib.np.max(x, axis=-1, keepdims=True))
        return e / lib.np.sum(e, axis=-1, keepdims=True)
    return f


def layernorm(lib):
    def f(x, scale, bias):
        centred = x - lib.np.mean(x, axis=-1, keepdims=True)
        return centred / lib.np.sqrt(lib.np.mean(centred * centred, axis=-1, keepdims=True) + 1e-5) * scale + bias
    return f


CNN_LAYOUT = ("NCHW", "OIHW", "NCHW")


def cnn_step(lib):
    def loss(params, x, y):
        (w1, b1), (w2, b2), (wd, bd) = params
        for w, b, stride in ((w1, b1, 1), (w2, b2, 2)):
            x = lib.lax.conv_general_dilated(x, w, (stride, stride), "SAME", dimension_numbers=CNN_LAYOUT)
            x = lib.np.maximum(x + b[:, None, None], 0.0)
        return cross_entropy(lib.np, lib.nn.one_hot, lib.np.mean(x, axis=(2, 3)) @ wd + bd, y)
    return autodiff.sgd_step(lib.value_and_grad, loss)


def cnn_data(rng):
    params = [(normal(rng, 16, 3, 3, 3, scale=(2 / 27) ** 0.5), np.zeros(16, np.float32)),
              (normal(rng, 32, 16, 3, 3, scale=(2 / 144) ** 0.5), np.zeros(32, np.float32)),
              (normal(rng, 32, 10, scale=(2 / 32) ** 0.5), np.zeros(10, np.float32))]
    return params, normal(rng, 32, 3, 32, 32), rng.integers(0, 10, 32).astype(np.int32)


def chain(lib):
    def f(x):
        for _ in range(6):
            x = lib.np.sin(lib.np.tanh(x * 1.5 + 0.25))
        return x
    return f


def hessian(lib):
    return lib.hessian(lambda x: lib.np.sum(lib.np.sin(x) * x ** 2) + (x @ x) ** 2)


def numpy_hessian(x):
    """The closed form of hessian's Hessian."""
    diagonal = 2 * np.sin(x) + 4 * x * np.cos(x) - x * x * np.sin(x)
    return np.diag(diagonal) + 4 * (x @ x) * np.eye(x.size) + 8 * np.outer(x, x)


def fori(lib):
    return lambda x: lib.lax.fori_loop(0, 10_000, lambda i, v: v * 0.999 + 0.001, x)


class Workload(NamedTuple):
    name: str
    label: str
    unit: str
    make: Callable  # lib -> the function of data(rng) that mlax and JAX jit
    data: Callable  # rng -> the NumPy arguments
    numpy: Optional[Callable] = None  # the NumPy version; None: check against JAX, no NumPy figure
    tol: tuple = (1e-4, 1e-5)  # rtol, atol
    loop: bool = False  # a training step: (params, *rest) -> (new params, loss), new params fed back in
    flops: float = 0.0  # per call, for GFLOP/s


def matmul_workload(name, label, f, shape_p, shape_q, flops):
    return Workload(name, label, "GFLOP/s", lambda lib: f, lambda rng: (normal(rng, *shape_p), normal(rng, *shape_q)),
                    f, (1e-3, 1e-3), flops=flops)


WORKLOADS = [
    *(matmul_workload(f"matmul{n}", f"matmul {n}x{n} f32", matmul, (n, n), (n, n), 2 * n ** 3)
      for n in (512, 1024, 2048)),
    matmul_workload("bmm16x256", "batched matmul 16x(256x256) f32", matmul, (16, 256, 256), (16, 256, 256),
                    2 * 16 * 256 ** 3),
    matmul_workload("matmul_tn1024", "matmul p.T @ q 1024 f32", lambda p, q: p.T @ q, (1024, 1024), (1024, 1024),
                    2 * 1024 ** 3),
    matmul_workload("matmul_nt1024", "matmul p @ q.T 1024 f32", lambda p, q: p @ q.T, (1024, 1024), (1024, 1024),
                    2 * 1024 ** 3),
    Workload("mlp", "MLP train step 784-512-512-10, batch 256", "steps/s", mlp_step, mlp_data, autodiff.numpy_step,
             loop=True),
    Workload("scan_rnn", "scan RNN 256, T=100, batch 32, fwd+bwd", "ms", rnn_value_and_grad, rnn_data,
             tol=(1e-3, 1e-4)),
    Workload("vmap_grad", "vmap(grad) logistic loss, 1024x256", "ms", per_example_grads, logistic_data,
             numpy_per_example_grads),
    Workload("softmax", "softmax, last axis of 4096x1024 f32", "ms", softmax, lambda rng: (normal(rng, 4096, 1024),),
             softmax(NUMPY), (1e-5, 1e-7)),
    Workload("layernorm", "layernorm, last axis of 4096x1024 f32", "ms", layernorm,
             lambda rng: (normal(rng, 4096, 1024), normal(rng, 1024), normal(rng, 1024)), layernorm(NUMPY),
             (1e-4, 1e-4)),
    Workload("cnn", "CNN train step, 32x3x32x32 NCHW", "steps/s", cnn_step, cnn_data, loop=True),
    Workload("dispatch", "jit dispatch, x + 1.0 on a 0-d f32", "µs/call", lambda lib: add_one,
             lambda rng: (np.ones((), np.float32),), add_one),
    *(Workload(f"chain{n}M", f"18-op elementwise chain, {n}M f32", "ms", chain,
               lambda rng, n=n: (normal(rng, n << 20),), chain(NUMPY), (1e-4, 1e-4)) for n in (1, 16)),
    Workload("hessian", "jit(hessian), 50-dim function", "µs/call", hessian, lambda rng: (normal(rng, 50),),
             numpy_hessian, (1e-4, 1e-3)),
    Workload("fori10k", "lax.fori_loop, 10,000 scalar steps", "ms", fori,
             lambda rng: (np.full((), 0.5, np.float32),), fori(NUMPY), (1e-3, 0)),
]
BY_NAME = {w.name: w for w in WORKLOADS}


def figure(workload, seconds):
    """Seconds per call in the workload's unit."""
    if workload.unit == "GFLOP/s":
        return workload.flops / seconds / 1e9
    if workload.unit == "steps/s":
        return 1 / seconds
    return seconds * {"ms": 1e3, "µs/call": 1e6}[workload.unit]


# Measuring.

def as_numpy(tree):
    return tree_map(np.asarray, tree)


def check(actual, expected, tol):
    rtol, atol = tol
    for a, e in zip(tree_leaves(as_numpy(actual)), tree_leaves(expected), strict=True):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def caller(fn, args, loop, block):
    """fn(*args) as a call that waits for its result; a training step's new parameters
    become the next call's."""
    if not loop:
        return lambda: block(fn(*args))
    state = list(args)

    def step():
        state[0], _ = block(fn(*state))
    return step


def faults_per_call(call, seconds):
    """Minor page faults per call over about 0.1 s of calls (at least 2)."""
    calls = max(2, min(10_000, round(0.1 / seconds)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        call()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def measure(lib, workload, args, expected):
    """(s/call, minor faults/call, first result as NumPy) of the jitted workload on `lib`,
    its arguments on the device and its first result checked against `expected`."""
    fn, args = lib.jit(workload.make(lib)), tree_map(lib.put, args)
    first = as_numpy(lib.block_until_ready(fn(*args)))  # also the warm-up call
    if expected is not None:
        check(first, expected, workload.tol)
    call = caller(fn, args, workload.loop, lib.block_until_ready)
    seconds = best_time(call, repeat=3, budget=0.3)
    return seconds, faults_per_call(call, seconds), first


def measure_workload(workload, backends, jax_lib):
    """{"numpy": s/call, "jax": (s/call, faults/call), "mlax": {backend: (s/call, faults/call) or the error}}."""
    args = workload.data(np.random.default_rng(0))
    result = {"numpy": None, "jax": None}
    expected = None
    if workload.numpy:
        expected = as_numpy(workload.numpy(*args))
        result["numpy"] = best_time(caller(workload.numpy, args, workload.loop, lambda v: v), repeat=3, budget=0.3)
    if jax_lib:
        seconds, faults, first = measure(jax_lib, workload, args, expected)
        result["jax"] = seconds, faults
        expected = first if expected is None else expected
    result["mlax"] = per_backend(backends, lambda backend: measure(mlax_library(backend), workload, args, expected)[:2])
    return result


def age(libs):
    """1,000 calls of five small jitted programs of different shapes on each library."""
    for lib in libs:
        programs = [(lib.jit(f), lib.put(np.ones(shape, np.float32))) for f, shape in [
            (lambda x: lib.np.sin(x) * 2.0 + 1.0, (7,)), (lambda x: lib.np.sin(x) * 2.0 + 1.0, (64, 64)),
            (lambda x: lib.np.sum(x, axis=0), (33, 5)), (lambda x: x @ x.T, (16, 8)),
            (lambda x: lib.np.exp(-x * x), (1000,))]]
        for i in range(1000):
            f, x = programs[i % len(programs)]
            f(x).block_until_ready()


def one_process(workloads, backends, aged=True):
    jax_lib = jax_library() if have_jax() else None
    if aged:
        age([mlax_library(b) for b in backends] + ([jax_lib] if jax_lib else []))
    return {w.name: measure_workload(w, backends, jax_lib) for w in workloads}


def fresh(workloads, backends):
    """Each workload measured by this script in a new process (--json)."""
    results = {}
    for w in workloads:
        print(f"  {w.name} ...", file=sys.stderr, flush=True)
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--json", "--only", w.name,
                                "--backend", ",".join(backends)], capture_output=True, text=True, check=False)
        if child.returncode:  # the child's last unindented line: its exception
            lines = child.stderr.strip().splitlines()
            message = next((line for line in reversed(lines) if not line[:1].isspace()),
                           f"exit status {child.returncode}")
            error = RuntimeError(f"child process: {message}")
            results[w.name] = {"numpy": None, "jax": None, "mlax": {b: error for b in backends}}
        else:
            results.update(decode(json.loads(child.stdout.strip().splitlines()[-1])))
    return results


def encode(results):
    def value(v):
        return {"error": [type(v).__name__, str(v)]} if isinstance(v, Exception) else v
    return {name: {**r, "mlax": {b: value(v) for b, v in r["mlax"].items()}} for name, r in results.items()}


def decode(results):
    def value(v):
        return type(v["error"][0], (Exception,), {})(v["error"][1]) if isinstance(v, dict) else v
    return {name: {**r, "mlax": {b: value(v) for b, v in r["mlax"].items()}} for name, r in results.items()}


# Reporting.

def print_tables(title, workloads, results, backends):
    speed = Table(f"mlax steady-state speed, {title}", backends)
    faults = Table(f"minor page faults per call, {title}", backends)
    for w in workloads:
        r = results[w.name]
        jax = r["jax"]
        speed.add(w.label, w.unit, {b: v if isinstance(v, Exception) else figure(w, v)
                                    for b, v in pick(r["mlax"], 0).items()},
                  r["numpy"] and figure(w, r["numpy"]), jax and figure(w, jax[0]))
        faults.add(w.label, "faults", pick(r["mlax"], 1), None, jax and jax[1])
    speed.print()
    faults.print()


def print_comparison(workloads, fresh_results, aged_results, backends):
    print("\n== time per call, one-process / fresh (above 1: slower in the aged process) ==")
    for w in workloads:
        pairs = [(f"mlax[{b}]", pick(fresh_results[w.name]["mlax"], 0)[b], pick(aged_results[w.name]["mlax"], 0)[b])
                 for b in backends]
        if fresh_results[w.name]["jax"] and aged_results[w.name]["jax"]:
            pairs.append(("jax", fresh_results[w.name]["jax"][0], aged_results[w.name]["jax"][0]))
        cells = [f"{name} {aged / fresh:.2f}x" if not isinstance(fresh, Exception) and not isinstance(aged, Exception)
                 else f"{name} -" for name, fresh, aged in pairs]
        print(f"{w.label:44s} " + "  ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="cpu", metavar="NAMES",
                        help="comma-separated mlax backends (default: cpu)")
    parser.add_argument("--mode", choices=("fresh", "one-process", "both"), default="fresh")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated workloads: " + ", ".join(BY_NAME))
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # measure here, print one JSON line
    options = parser.parse_args()
    backends = backends_from_argv(__doc__, ["--backend", options.backend])
    names = only_names(parser, options.only, BY_NAME)
    workloads = [BY_NAME[n] for n in names]
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    # Steady state is the compiled program's: with the interpreter tier on, a cold compile cache
    # left the timed calls on the interpreter until IREE was done (the scan RNN at 6x JAX's time).
    mlax.config.update("mlax_jit_tiering", False)

    if options.json:
        print(json.dumps(encode(one_process(workloads, backends, aged=False))))
        return
    if options.mode in ("fresh", "both"):
        fresh_results = fresh(workloads, backends)
        print_tables("fresh process per workload", workloads, fresh_results, backends)
    if options.mode in ("one-process", "both"):
        aged_results = one_process(workloads, backends)
        print_tables("one aged process", workloads, aged_results, backends)
    if options.mode == "both":
        print_comparison(workloads, fresh_results, aged_results, backends)


if __name__ == "__main__":
    main()
