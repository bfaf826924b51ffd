"""Fit a small nonlinear regression model with mlax.jit on the CPU.

A model y = w2 . tanh(W1 x + b1) + b2 is trained by full-batch gradient
descent; the gradient is written out by hand here (examples/train_mlp.py uses
mlax.grad instead). Every step runs as one compiled IREE program.
"""

import time

import numpy as np

import mlax
import mlax.numpy as mnp


def init(rng, hidden=32):
    return {
        "W1": mnp.asarray(rng.normal(size=(1, hidden)).astype(np.float32)),
        "b1": mnp.zeros(hidden),
        "w2": mnp.asarray(rng.normal(size=(hidden,)).astype(np.float32) / np.sqrt(hidden)),
        "b2": mnp.zeros(()),
    }


@mlax.jit
def step(params, x, y, lr):
    hidden = mnp.tanh(x @ params["W1"] + params["b1"])          # (n, h)
    prediction = hidden @ params["w2"] + params["b2"]            # (n,)
    error = prediction - y
    loss = mnp.mean(error ** 2)
    d_prediction = 2 * error / y.shape[0]
    d_hidden = mnp.outer(d_prediction, params["w2"]) * (1 - hidden ** 2)
    grads = {
        "W1": x.T @ d_hidden,
        "b1": d_hidden.sum(0),
        "w2": hidden.T @ d_prediction,
        "b2": d_prediction.sum(),
    }
    new_params = {k: params[k] - lr * grads[k] for k in params}
    return new_params, loss


def main():
    rng = np.random.default_rng(0)
    x_np = np.linspace(-3, 3, 256, dtype=np.float32).reshape(-1, 1)
    y_np = (np.sin(2 * x_np[:, 0]) + 0.1 * rng.normal(size=256)).astype(np.float32)
    x, y = mnp.asarray(x_np), mnp.asarray(y_np)
    params = init(rng)
    start = time.perf_counter()
    params, loss = step(params, x, y, 0.02)
    print(f"first step (trace + compile): {time.perf_counter() - start:.2f} s, loss {float(loss):.4f}")
    start = time.perf_counter()
    for i in range(1, 2001):
        params, loss = step(params, x, y, 0.02)
        if i % 400 == 0:
            print(f"step {i:5d}  loss {float(loss):.4f}")
    elapsed = time.perf_counter() - start
    print(f"2000 steps in {elapsed:.2f} s ({2000 / elapsed:.0f} steps/s) on {mlax.devices()[0]}")


if __name__ == "__main__":
    main()
