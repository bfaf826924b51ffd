"""Train a small convolutional network with mlax.value_and_grad and SGD on synthetic images.

The data: 12x12 noisy images of one of three shapes (a horizontal bar, a
vertical bar, a cross) at random places. The network: conv 3x3 -> relu ->
max pool 2x2 -> conv 3x3 -> relu -> max pool 2x2 -> dense, in NHWC layout,
built from lax.conv_general_dilated and lax.reduce_window. The training step
is one jitted function compiled by IREE.
"""

import time

import numpy as np

import mlax
import mlax.numpy as mnp
from mlax import lax, nn

SIZE, CLASSES = 12, 3
LAYOUT = ("NHWC", "HWIO", "NHWC")


def shapes(rng, count):
    """Images with a bar or cross of length 5 somewhere inside, plus noise; and their labels."""
    labels = rng.integers(0, CLASSES, count)
    images = rng.normal(scale=0.3, size=(count, SIZE, SIZE, 1)).astype(np.float32)
    for image, label, (row, col) in zip(images, labels, rng.integers(2, SIZE - 2, (count, 2))):
        if label in (0, 2):
            image[row, col - 2:col + 3] += 1
        if label in (1, 2):
            image[row - 2:row + 3, col] += 1
    return images, labels.astype(np.int32)


def init_params(rng):
    def he(shape, fan_in):
        return mnp.asarray((rng.normal(size=shape) * np.sqrt(2 / fan_in)).astype(np.float32))
    return {"conv1": he((3, 3, 1, 8), 9), "conv2": he((3, 3, 8, 16), 72),
            "dense": he((3 * 3 * 16, CLASSES), 144), "bias": mnp.zeros(CLASSES)}


def max_pool(x):
    return lax.reduce_window(x, -mnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def predict(params, images):
    x = images
    for kernel in (params["conv1"], params["conv2"]):
        x = max_pool(nn.relu(lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=LAYOUT)))
    return mnp.reshape(x, (x.shape[0], -1)) @ params["dense"] + params["bias"]


def loss_fn(params, images, labels):
    logits = predict(params, images)
    return -mnp.mean(mnp.sum(nn.log_softmax(logits) * nn.one_hot(labels, CLASSES), axis=-1))


@mlax.jit
def train_step(params, images, labels, lr):
    loss, grads = mlax.value_and_grad(loss_fn)(params, images, labels)
    return mlax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss


@mlax.jit
def accuracy(params, images, labels):
    return mnp.mean(mnp.argmax(predict(params, images), axis=-1) == labels)


def main():
    rng = np.random.default_rng(0)
    train_x, train_y = shapes(rng, 2048)
    test_x, test_y = (mnp.asarray(a) for a in shapes(rng, 512))
    params = init_params(rng)
    batch, lr = 128, 0.1
    start = time.perf_counter()
    steps = 0
    for epoch in range(1, 16):
        order = rng.permutation(len(train_x))
        for first in range(0, len(order), batch):
            chosen = order[first:first + batch]
            params, loss = train_step(params, mnp.asarray(train_x[chosen]), mnp.asarray(train_y[chosen]), lr)
            steps += 1
            if steps == 1:
                print(f"first step (trace + autodiff pass + IREE compile): {time.perf_counter() - start:.2f} s, "
                      f"loss {float(loss):.4f}")
        print(f"epoch {epoch}  loss {float(loss):.4f}  test accuracy {float(accuracy(params, test_x, test_y)):.3f}")
    elapsed = time.perf_counter() - start
    print(f"{steps} steps in {elapsed:.2f} s ({steps / elapsed:.0f} steps/s) on {mlax.devices()[0]}")


if __name__ == "__main__":
    main()
