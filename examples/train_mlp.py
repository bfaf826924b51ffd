"""Train a small MLP classifier with mlax.value_and_grad and SGD on synthetic data.

The data: points in 2-D labelled by which of three interleaved spirals they
lie on. The whole training step (forward, backward by reverse-mode autodiff,
update) is one jitted function compiled by IREE.
"""

import time

import numpy as np

import mlax
import mlax.numpy as mnp
from mlax import nn


def spirals(rng, points_per_class=200, classes=3):
    xs, ys = [], []
    for c in range(classes):
        radius = np.linspace(0.05, 1.0, points_per_class)
        angle = np.linspace(c * 4, (c + 1) * 4, points_per_class) * 1.25 + rng.normal(scale=0.2, size=points_per_class)
        xs.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        ys.append(np.full(points_per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int32)


def init_params(rng, sizes):
    return [{"w": mnp.asarray((rng.normal(size=(m, n)) * np.sqrt(2 / m)).astype(np.float32)),
             "b": mnp.zeros(n)} for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for layer in params[:-1]:
        x = nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, x, labels):
    logits = predict(params, x)
    return -mnp.mean(mnp.sum(nn.log_softmax(logits) * nn.one_hot(labels, logits.shape[-1]), axis=-1))


@mlax.jit
def train_step(params, x, labels, lr):
    loss, grads = mlax.value_and_grad(loss_fn)(params, x, labels)
    return mlax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss


@mlax.jit
def accuracy(params, x, labels):
    return mnp.mean(mnp.argmax(predict(params, x), axis=-1) == labels)


def main():
    rng = np.random.default_rng(0)
    x_np, y_np = spirals(rng)
    x, labels = mnp.asarray(x_np), mnp.asarray(y_np)
    params = init_params(rng, [2, 64, 64, 3])
    start = time.perf_counter()
    params, loss = train_step(params, x, labels, 0.5)
    print(f"first step (trace + autodiff pass + IREE compile): {time.perf_counter() - start:.2f} s, "
          f"loss {float(loss):.4f}")
    start = time.perf_counter()
    for step in range(1, 1501):
        params, loss = train_step(params, x, labels, 0.5)
        if step % 300 == 0:
            print(f"step {step:5d}  loss {float(loss):.4f}  accuracy {float(accuracy(params, x, labels)):.3f}")
    elapsed = time.perf_counter() - start
    print(f"1500 steps in {elapsed:.2f} s ({1500 / elapsed:.0f} steps/s) on {mlax.devices()[0]}")


if __name__ == "__main__":
    main()
