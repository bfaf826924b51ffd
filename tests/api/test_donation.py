"""donate_argnums / donate_argnames as in JAX: a donated array whose shape and dtype a
result has is deleted after the call, and using it raises; others are kept, with a warning."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp


def test_a_donated_array_a_result_can_take_is_deleted():
    f = mlax.jit(lambda x, y: x + y, donate_argnums=0)
    x, y = mnp.ones(3), mnp.full(3, 2.0)
    np.testing.assert_array_equal(np.asarray(f(x, y)), [3, 3, 3])
    assert x.is_deleted() and not y.is_deleted()
    for use in (lambda: x + 1, lambda: np.asarray(x), lambda: f(x, y), lambda: x.sum()):
        with pytest.raises(RuntimeError, match=r"Array has been deleted with shape=f32\[3\].*donated"):
            use()


def test_donation_by_name_over_a_pytree():
    step = mlax.jit(lambda params, lr: {k: v - lr * v for k, v in params.items()}, donate_argnames="params")
    params = {"w": mnp.ones((2, 2)), "b": mnp.zeros(2)}
    new = step(params=params, lr=0.5)
    np.testing.assert_allclose(np.asarray(new["w"]), 0.5)
    assert params["w"].is_deleted() and params["b"].is_deleted()


def test_a_donated_array_no_result_fits_is_kept_with_a_warning():
    total = mlax.jit(lambda x: x.sum(), donate_argnums=(0,))
    x = mnp.ones(3)
    with pytest.warns(UserWarning, match=r"Some donated buffers were not usable: f32\[3\]"):
        assert float(total(x)) == 3.0
    assert not x.is_deleted()
    assert float(x.sum()) == 3.0


def test_each_result_takes_one_donated_buffer():
    f = mlax.jit(lambda a, b: a * b, donate_argnums=(0, 1))
    a, b = mnp.ones(2), mnp.ones(2)
    with pytest.warns(UserWarning, match="not usable"):
        f(a, b)
    assert a.is_deleted() and not b.is_deleted()


def test_without_donation_arguments_survive_and_delete_is_explicit():
    f = mlax.jit(lambda x: x * 2)
    x = mnp.ones(3)
    f(x)
    f(x)
    assert not x.is_deleted()
    x.delete()
    with pytest.raises(RuntimeError, match="deleted"):
        np.asarray(x)
