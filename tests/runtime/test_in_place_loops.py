"""Arrays a loop carries and changes are pinned to the program's device, so that IREE updates
them in place (runtime/in_place_loops.py): results agree with JAX's, carries that start from
equal constants stay apart, and a loop never writes into an argument."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax import lax


def _stablehlo(fun, *args):
    return mlax.jit(fun).lower(*args).as_text("stablehlo")


def _rnn_loss(lib, params, xs):
    wx, wh = params

    def cell(h, x):
        h = lib.numpy.tanh(x @ wx + h @ wh)
        return h, h.sum()
    h, ys = lib.lax.scan(cell, lib.numpy.zeros((4, 8), np.float32), xs)
    return (h * h).sum() + ys.sum()


def _rnn_data():
    rng = np.random.default_rng(0)
    params = (rng.standard_normal((8, 8)).astype(np.float32) * 0.3,
              rng.standard_normal((8, 8)).astype(np.float32) * 0.3)
    return params, rng.standard_normal((12, 4, 8)).astype(np.float32)


def test_a_scans_stacked_outputs_and_gradient_sums_are_pinned():
    params, xs = _rnn_data()
    text = _stablehlo(mlax.value_and_grad(lambda p, x: _rnn_loss(mlax, p, x)), params, xs)
    # The forward scan stacks its outputs and the states it starts from; the backward scan
    # sums two weight gradients, both starting from zeros.
    assert text.count("flow.tensor.transfer") >= 4
    assert "stablehlo.optimization_barrier" in text


def test_scan_gradients_with_pinned_carries_agree_with_jax():
    params, xs = _rnn_data()
    got = mlax.jit(mlax.value_and_grad(lambda p, x: _rnn_loss(MLAX, p, x)))(params, xs)
    expected = jax.jit(jax.value_and_grad(lambda p, x: _rnn_loss(JAX, p, x)))(params, xs)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=2e-5, atol=2e-5)


MLAX = type("Lib", (), {"lax": lax, "numpy": mnp})
JAX = type("Lib", (), {"lax": jax.lax, "numpy": jnp})


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(sums=st.integers(1, 3), stacked=st.integers(0, 2), reverse=st.booleans(), length=st.integers(1, 9))
def test_carries_starting_from_equal_constants_stay_apart(sums, stacked, reverse, length):
    """Several sums start from zeros (IREE merges the constants) and several outputs are
    stacked; each must keep its own buffer."""
    x = np.linspace(-1, 1, length * 3, dtype=np.float32).reshape(length, 3)

    def fun(lib, x):
        def step(carry, row):
            new = tuple(c + row * (k + 1) for k, c in enumerate(carry))
            return new, tuple(row * (k + 2) + new[0] for k in range(stacked))
        init = tuple(lib.numpy.zeros(3, np.float32) for _ in range(sums))
        return lib.lax.scan(step, init, x, reverse=reverse)
    got = mlax.jit(lambda v: fun(MLAX, v))(x)
    expected = jax.jit(lambda v: fun(JAX, v))(x)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6, atol=1e-6)


def test_a_loop_never_writes_into_its_argument():
    """A carry starting from an argument is not pinned: the argument keeps its values."""
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    before = x.copy()
    array = mnp.asarray(x)

    def fun(a):
        return lax.fori_loop(0, 4, lambda i, c: c.at[i].set(c[i] * 2 + 1), a)
    text = _stablehlo(fun, array)
    assert "flow.tensor.transfer" not in text
    got = mlax.jit(fun)(array)
    np.testing.assert_array_equal(np.asarray(array), before)
    np.testing.assert_array_equal(np.asarray(got), before * 2 + 1)


def test_a_carry_starting_from_a_constant_that_is_not_a_splat_leaves_the_program_unpinned():
    table = np.arange(6, dtype=np.float32)

    def fun(x):
        return lax.fori_loop(0, 3, lambda i, c: c.at[i].add(x), mnp.asarray(table))
    assert "flow.tensor.transfer" not in _stablehlo(fun, np.float32(2.0))
    np.testing.assert_array_equal(np.asarray(mlax.jit(fun)(np.float32(2.0))), table + np.array([2, 2, 2, 0, 0, 0]))


def test_programs_over_several_devices_are_left_alone(monkeypatch):
    monkeypatch.setenv("MLAX_NUM_CPU_DEVICES", "2")
    x = np.linspace(-1, 1, 30, dtype=np.float32).reshape(2, 5, 3)
    fun = mlax.pmap(lambda v: lax.scan(lambda c, r: (c + r, c * r), mnp.zeros(3), v), devices=mlax.devices("cpu")[:2])
    on_cpu = mlax.jit(fun, backend="cpu")
    text = on_cpu.lower(x).as_text("stablehlo")
    assert "mlax.num_devices = 2" in text and "stablehlo.optimization_barrier" not in text
    got = on_cpu(x)
    expected = jax.vmap(lambda v: jax.lax.scan(lambda c, r: (c + r, c * r), jnp.zeros(3), v))(x)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6)
