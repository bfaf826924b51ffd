"""Convolution speed figures of mlax next to NumPy and JAX, in one run.

    python benchmarks/bench_conv.py [--backend cpu,vulkan]

--backend names the mlax backends to measure, comma-separated (default: cpu); each
gets its own mlax column. A workload a backend cannot run shows "-" and a footnote.

- 3x3 convolution, batch 32, 28x28, 16 -> 32 channels, NHWC, SAME padding:
  forward GFLOP/s (NumPy: sliding windows and one tensordot), and forward +
  backward (gradients of input and kernel) GFLOP/s
- small CNN training step (conv-relu-pool twice, dense, softmax
  cross-entropy, SGD), batch 32 of 28x28x1: steps/s and the first call's time
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, backends_from_argv, best_time, have_jax, mlax_on, per_backend, pick  # noqa: E402

import mlax  # noqa: E402
import mlax.numpy as mnp  # noqa: E402

LAYOUT = ("NHWC", "HWIO", "NHWC")
BATCH, SIZE, IN, OUT = 32, 28, 16, 32
CONV_FLOPS = 2 * BATCH * SIZE * SIZE * OUT * 3 * 3 * IN
LR = 0.01


def numpy_conv(x, w):
    """SAME 3x3 convolution: every 3x3 window of the padded input against the kernel."""
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # N, H, W, C, 3, 3
    return np.tensordot(windows, w, axes=([4, 5, 3], [0, 1, 2]))


def conv_fns(lib, jit):
    """Forward, and forward + backward (gradients of input and kernel), written once for mlax and JAX."""
    def forward(x, w):
        return lib.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=LAYOUT)

    def backward(x, w, ct):
        return lib.grad(lambda x, w: (forward(x, w) * ct).sum(), (0, 1))(x, w)
    return jit(forward), jit(backward)


def cnn_step(lib, np_, jit):
    """One SGD step of conv(1->16)-relu-pool-conv(16->32)-relu-pool-dense(10)."""
    def predict(params, x):
        for w in (params[0], params[1]):
            x = lib.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=LAYOUT)
            x = lib.lax.reduce_window(np_.maximum(x, 0.0), -np_.inf, lib.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        return np_.reshape(x, (x.shape[0], -1)) @ params[2]

    def loss(params, x, y):
        logits = predict(params, x)
        shifted = logits - np_.max(logits, axis=-1, keepdims=True)
        log_probs = shifted - np_.log(np_.sum(np_.exp(shifted), axis=-1, keepdims=True))
        return -np_.mean(np_.sum(log_probs * lib.nn.one_hot(y, 10), axis=-1))

    def step(params, x, y):
        value, grads = lib.value_and_grad(loss)(params, x, y)
        return [p - LR * g for p, g in zip(params, grads)], value
    return jit(step)


def time_training(step, params, x, y):
    start = time.perf_counter()
    params, loss = step(params, x, y)
    loss.block_until_ready()
    first = time.perf_counter() - start

    def run():
        nonlocal params
        params, value = step(params, x, y)
        value.block_until_ready()
    return first, 1 / best_time(run, repeat=3, number=10)


def measure(lib, np_, jit, asarray, conv_data, params, images, labels):
    """(forward GFLOP/s, forward + backward GFLOP/s, first training step s, training steps/s)."""
    x, w, ct = (asarray(a) for a in conv_data)
    forward, backward = conv_fns(lib, jit)
    forward(x, w).block_until_ready()
    forward_rate = CONV_FLOPS / best_time(lambda: forward(x, w).block_until_ready()) / 1e9
    backward(x, w, ct)[1].block_until_ready()
    backward_rate = 3 * CONV_FLOPS / best_time(lambda: backward(x, w, ct)[1].block_until_ready()) / 1e9
    first, rate = time_training(cnn_step(lib, np_, jit), [asarray(p) for p in params], asarray(images),
                                asarray(labels))
    return forward_rate, backward_rate, first, rate


def mlax_measure(backend, conv_data, *training):
    """measure() for mlax on `backend`, after checking its convolution against NumPy's."""
    jit, put = mlax_on(backend)
    x, w = (put(a) for a in conv_data[:2])
    np.testing.assert_allclose(np.asarray(conv_fns(mlax, jit)[0](x, w)), numpy_conv(*conv_data[:2]),
                               rtol=1e-4, atol=1e-4)
    return measure(mlax, mnp, jit, put, conv_data, *training)


def main():
    backends = backends_from_argv(__doc__)
    rng = np.random.default_rng(0)
    x, w, ct = (rng.standard_normal(shape).astype(np.float32)
                for shape in [(BATCH, SIZE, SIZE, IN), (3, 3, IN, OUT), (BATCH, SIZE, SIZE, OUT)])
    training = ([(rng.standard_normal(s) * 0.1).astype(np.float32) for s in [(3, 3, 1, 16), (3, 3, 16, 32),
                                                                              (7 * 7 * 32, 10)]],
                rng.standard_normal((BATCH, SIZE, SIZE, 1)).astype(np.float32),
                rng.integers(0, 10, BATCH).astype(np.int32))
    mlax_figures = per_backend(backends, mlax_measure, (x, w, ct), *training)
    numpy_forward = CONV_FLOPS / best_time(lambda: numpy_conv(x, w)) / 1e9
    jax_figures = [None] * 4
    if have_jax():
        import jax
        import jax.numpy as jnp

        jax_figures = measure(jax, jnp, jax.jit, jnp.asarray, (x, w, ct), *training)
    table = Table("mlax convolution benchmarks", backends)
    table.add(f"conv 3x3 fwd, {BATCH}x{SIZE}x{SIZE}x{IN} -> {OUT}, NHWC", "GFLOP/s", pick(mlax_figures, 0),
              numpy_forward, jax_figures[0])
    table.add("conv 3x3 fwd + bwd (input and kernel grads)", "GFLOP/s", pick(mlax_figures, 1), None, jax_figures[1])
    table.add(f"CNN train step, batch {BATCH} of 28x28x1", "steps/s", pick(mlax_figures, 3), None, jax_figures[3])
    table.add("CNN train step, first call (compile)", "s", pick(mlax_figures, 2), None, jax_figures[2])
    table.print()


if __name__ == "__main__":
    main()
