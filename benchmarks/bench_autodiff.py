"""Autodiff speed figures of mlax next to NumPy (hand-written backprop) and JAX, in one run.

    python benchmarks/bench_autodiff.py [--backend cpu,vulkan]

--backend names the mlax backends to measure, comma-separated (default: cpu); each
gets its own mlax column. A workload a backend cannot run shows "-" and a footnote.

- MLP training step, 784-512-512-10, batch 256, softmax cross-entropy, SGD:
  steps/s and the first call's time (trace + compile)
- Hessian of a 50-dimensional function: first call and per-call time
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, backends_from_argv, best_time, have_jax, mlax_on, per_backend, pick  # noqa: E402

import mlax  # noqa: E402
import mlax.numpy as mnp  # noqa: E402

SIZES = [784, 512, 512, 10]
BATCH = 256
LR = 0.01


def init(rng):
    return [(rng.standard_normal((m, n)).astype(np.float32) * np.sqrt(2 / m), np.zeros(n, np.float32))
            for m, n in zip(SIZES[:-1], SIZES[1:])]


def loss_fn(np_, one_hot):
    """Softmax cross-entropy of a ReLU MLP, written once for mlax and JAX."""
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = np_.maximum(h @ w + b, 0.0)
        logits = h @ params[-1][0] + params[-1][1]
        shifted = logits - np_.max(logits, axis=-1, keepdims=True)
        log_probs = shifted - np_.log(np_.sum(np_.exp(shifted), axis=-1, keepdims=True))
        return -np_.mean(np_.sum(log_probs * one_hot(y, SIZES[-1]), axis=-1))
    return loss


def sgd_step(value_and_grad, loss):
    def step(params, x, y):
        value, grads = value_and_grad(loss)(params, x, y)
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)], value
    return step


def numpy_step(params, x, y):
    """The same training step with backpropagation written by hand."""
    activations, h = [x], x
    for w, b in params[:-1]:
        h = np.maximum(h @ w + b, 0.0)
        activations.append(h)
    logits = h @ params[-1][0] + params[-1][1]
    shifted = logits - logits.max(-1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(-1, keepdims=True)
    labels = np.eye(SIZES[-1], dtype=np.float32)[y]
    loss = -np.mean(np.sum(np.log(probs) * labels, -1))
    delta = (probs - labels) / x.shape[0]
    new = []
    for i in reversed(range(len(params))):
        w, b = params[i]
        grad_w, grad_b = activations[i].T @ delta, delta.sum(0)
        if i:
            delta = (delta @ w.T) * (activations[i] > 0)
        new.append((w - LR * grad_w, b - LR * grad_b))
    return new[::-1], loss


def hessian_target(np_):
    def f(x):
        return np_.sum(np_.sin(x) * np_.cos(x[::-1]) + x ** 4) + np_.sum(x) ** 2
    return f


def time_training(step, params, x, y, block):
    start = time.perf_counter()
    params, loss = step(params, x, y)
    block(loss)
    first = time.perf_counter() - start

    def run():
        nonlocal params
        params, value = step(params, x, y)
        block(value)
    per_step = best_time(run, repeat=3, number=10)
    return first, 1 / per_step


def mlax_training(backend, params_np, x_np, y_np):
    """(first training step s, training steps/s) on `backend`."""
    jit, put = mlax_on(backend)
    step = jit(sgd_step(mlax.value_and_grad, loss_fn(mnp, mlax.nn.one_hot)))
    params = [(put(w), put(b)) for w, b in params_np]
    return time_training(step, params, put(x_np), put(y_np), lambda v: v.block_until_ready())


def mlax_hessian(backend, point):
    """(first call s, µs/call) of the jitted hessian on `backend`."""
    jit, put = mlax_on(backend)
    hessian, mp = jit(mlax.hessian(hessian_target(mnp))), put(point)
    start = time.perf_counter()
    hessian(mp).block_until_ready()
    first = time.perf_counter() - start
    return first, best_time(lambda: hessian(mp).block_until_ready()) * 1e6


def main():
    backends = backends_from_argv(__doc__)
    rng = np.random.default_rng(0)
    params_np = init(rng)
    x_np = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y_np = rng.integers(0, SIZES[-1], BATCH).astype(np.int32)
    point = rng.standard_normal(50).astype(np.float32)
    table = Table("mlax autodiff benchmarks", backends)

    mlax_training_figures = per_backend(backends, mlax_training, params_np, x_np, y_np)
    _, numpy_rate = time_training(numpy_step, params_np, x_np, y_np, lambda v: v)

    jax_first = jax_rate = jax_hessian_first = jax_hessian_us = None
    if have_jax():
        import jax
        import jax.numpy as jnp

        jax_step = jax.jit(sgd_step(jax.value_and_grad, loss_fn(jnp, jax.nn.one_hot)))
        jax_params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params_np]
        jax_first, jax_rate = time_training(jax_step, jax_params, jnp.asarray(x_np), jnp.asarray(y_np),
                                            lambda v: v.block_until_ready())
    table.add("MLP train step 784-512-512-10, batch 256", "steps/s", pick(mlax_training_figures, 1), numpy_rate,
              jax_rate)
    table.add("MLP train step, first call (compile)", "s", pick(mlax_training_figures, 0), None, jax_first)

    mlax_hessian_figures = per_backend(backends, mlax_hessian, point)
    if have_jax():
        jax_hessian = jax.jit(jax.hessian(hessian_target(jnp)))
        jp = jnp.asarray(point)
        start = time.perf_counter()
        jax_hessian(jp).block_until_ready()
        jax_hessian_first = time.perf_counter() - start
        jax_hessian_us = best_time(lambda: jax_hessian(jp).block_until_ready()) * 1e6
    table.add("hessian, 50-dim function, first call", "s", pick(mlax_hessian_figures, 0), None, jax_hessian_first)
    table.add("hessian, 50-dim function", "µs/call", pick(mlax_hessian_figures, 1), None, jax_hessian_us)
    table.print()


if __name__ == "__main__":
    main()
