"""Arguments a transformation does not transform reach the function as they were given,
as in JAX: a class count for one_hot, a slice bound, a mode string, a settings dict under
grad; an unmapped count under vmap. And jit works on methods (issue 8)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp


def loss(np_, w, x, y, num_classes, mode="mse"):
    onehot = (y[:, None] == np_.arange(num_classes)).astype(np_.float32)
    logits = x @ w
    return ((logits - onehot) ** 2).sum() if mode == "mse" else -(onehot * logits).sum()


W = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
X = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
Y = np.array([0, 3], np.int32)


@pytest.mark.parametrize("call", [
    lambda g, w: g(w, X, Y, 4),
    lambda g, w: g(w, X, Y, 4, "dot"),
    lambda g, w: g(w, X, Y, num_classes=4, mode="dot"),
], ids=["positional int", "positional string", "keywords"])
def test_grad_keeps_undifferentiated_python_values(call):
    got = call(mlax.grad(functools.partial(loss, mnp)), mnp.asarray(W))
    expected = call(jax.grad(functools.partial(loss, jnp)), jnp.asarray(W))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_grad_slices_by_an_int_argument_and_reads_a_settings_dict():
    f = lambda w, n, settings: (w[:n] * settings["scale"]).sum()  # noqa: E731
    np.testing.assert_array_equal(mlax.grad(f)(mnp.ones(5), 3, {"scale": 2.0}), [2, 2, 2, 0, 0])
    np.testing.assert_array_equal(mlax.grad(f)(mnp.ones(5), 2, {"scale": 3.0}), [3, 3, 0, 0, 0])
    value, grads = mlax.value_and_grad(f, argnums=0)(mnp.ones(4), 1, {"scale": 1.0})
    assert float(value) == 1.0


def test_differentiated_python_numbers_are_still_traced():
    assert float(mlax.grad(lambda x, k: x * k)(2.0, 3)) == 3.0
    with pytest.raises(TypeError, match="argument 1 has dtype int32"):
        mlax.grad(lambda x, k: x * k, argnums=1)(2.0, 3)


def test_vmap_keeps_unmapped_python_values():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    f = lambda row, n, how: row[:n].sum() if how == "sum" else row[:n].max()  # noqa: E731
    got = mlax.vmap(f, in_axes=(0, None, None))(mnp.asarray(x), 2, "sum")
    np.testing.assert_array_equal(got, jax.vmap(f, in_axes=(0, None, None))(x, 2, "sum"))
    np.testing.assert_array_equal(mlax.vmap(mlax.grad(lambda w, n: (w[:n] ** 2).sum()), in_axes=(0, None))(
        mnp.ones((2, 3)), 2), [[2, 2, 0], [2, 2, 0]])


class Scaler:
    def __init__(self, scale):
        self.scale = scale

    @functools.partial(mlax.jit, static_argnums=0)
    def apply(self, x):
        return x * self.scale


def test_jit_on_a_method_binds_self():
    np.testing.assert_array_equal(Scaler(3.0).apply(mnp.ones(2)), [3, 3])
    np.testing.assert_array_equal(Scaler(2.0).apply(mnp.ones(2)), [2, 2])
    np.testing.assert_array_equal(Scaler.apply(Scaler(4.0), mnp.ones(1)), [4])
