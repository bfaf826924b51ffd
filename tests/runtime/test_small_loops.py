"""Loops over a few small values run whole in one dispatch (runtime/small_loops.py): their
results agree with JAX's and NumPy's, and the lowered text shows which loops moved."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax import lax
from mlax.runtime import small_loops


def _affine(lib, x):
    return lib.lax.fori_loop(0, 1000, lambda i, v: v * 0.999 + 0.001, x)


def _basel(lib, x):
    """Partial sums of 1/(i+1)^2, the index used as a float."""
    return lib.lax.fori_loop(0, 5000, lambda i, s: s + 1.0 / ((i + 1.0) * (i + 1.0)), x)


def _newton_sqrt(lib, a):
    """Newton's iteration until converged: a data-dependent condition and two carries."""
    def keep_going(state):
        guess, steps = state
        return (lib.numpy.abs(guess * guess - a) > 1e-5 * a) & (steps < 60)
    return lib.lax.while_loop(keep_going, lambda s: ((s[0] + a / s[0]) / 2, s[1] + 1), (a, 0))


def _collatz(lib, n):
    """Integer steps to reach 1."""
    def step(state):
        value, steps = state
        value = lib.numpy.where(value % 2 == 0, value // 2, 3 * value + 1)
        return value, steps + 1
    return lib.lax.while_loop(lambda s: s[0] != 1, step, (n, 0))[1]


def _rotations(lib, v):
    """A 4-vector carry through a scalar product, a reduction, tanh and a rotation of its elements."""
    def step(i, u):
        return lib.numpy.roll(u, 1) * 0.9 + 0.01 * lib.numpy.tanh(u @ u - u.max())
    return lib.lax.fori_loop(0, 300, step, v)


def _flags(lib, x):
    """A boolean carry beside a float one."""
    def step(i, state):
        flag, value = state
        return ~flag, lib.numpy.where(flag, value * 1.5, value - 1.0)
    return lib.lax.fori_loop(0, 41, step, (x > 0, x))


def _nested(lib, x):
    """A scalar loop inside another: the inner loop moves, and then the outer one too."""
    inner = lambda j, w: w * 0.5 + 1.0  # noqa: E731
    return lib.lax.fori_loop(0, 20, lambda i, v: lib.lax.fori_loop(0, 7, inner, v) - 1.5, x)


# name: (function of (lib, argument), argument, loops kept in a dispatch)
PROGRAMS = {
    "affine": (_affine, np.float32(0.5), 1),
    "basel": (_basel, np.float32(0.0), 1),
    "newton sqrt": (_newton_sqrt, np.float32(7.0), 1),
    "collatz": (_collatz, np.int32(27), 1),
    "rotations": (_rotations, np.array([1.0, 0.5, -0.25, 2.0], np.float32), 1),
    "flags": (_flags, np.float32(0.75), 1),
    "nested": (_nested, np.float32(3.0), 1),
}
# Rounding over a thousand float32 steps: with or without fused multiply-adds (JAX's CPU code
# and mlax's fuse them, Vulkan's lavapipe does not) the affine recurrence differs by 1e-5.
RTOL = 5e-5
JAX = type("Lib", (), {"lax": jax.lax, "numpy": jnp})
MLAX = type("Lib", (), {"lax": lax, "numpy": mnp})


def _regions(fun, *args):
    return mlax.jit(fun).lower(*args).as_text("stablehlo").count("flow.dispatch.region")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_loops_over_small_values_agree_with_jax(name):
    fun, argument, _ = PROGRAMS[name]
    got = mlax.jit(lambda x: fun(MLAX, x))(argument)
    expected = jax.jit(lambda x: fun(JAX, x))(argument)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        assert np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_loops_over_small_values_run_in_one_dispatch(name):
    fun, argument, regions = PROGRAMS[name]
    assert _regions(lambda x: fun(MLAX, x), argument) == regions


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(lower=st.integers(-5, 5), steps=st.integers(0, 300), start=st.floats(-4, 4, width=32),
       scale=st.floats(-1.25, 1.25, width=32))
def test_fori_loops_agree_with_a_python_loop(lower, steps, start, scale):
    got = mlax.jit(lambda x: lax.fori_loop(lower, lower + steps, lambda i, v: v * scale + i * 1e-3, x))(
        np.float32(start))
    expected = np.float32(start)
    for i in range(lower, lower + steps):
        expected = expected * np.float32(scale) + np.float32(i) * np.float32(1e-3)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6)


# Steps over a 4x3 carry (name: (step, loops kept in a dispatch)): reductions and products to
# scalars move with the loop; those to vectors or matrices keep it on the host (see TO_SCALARS),
# and so does a padding (a cumulative sum pads).
STEPS = {
    "sum of all": (lambda lib, c: c + c.sum() * 0.1, 1),
    "sum along an axis": (lambda lib, c: c - c.sum(0) * 0.1, 0),
    "max along an axis": (lambda lib, c: c - c.max(1, keepdims=True), 0),
    "matrix product": (lambda lib, c: (c @ c.T) @ c * 0.1, 0),
    "argmax along an axis": (lambda lib, c: c + lib.numpy.argmax(c, 0), 0),
    "argmax of all": (lambda lib, c: c * 0.5 + lib.numpy.argmax(c), 1),
    "transpose": (lambda lib, c: c.T.reshape(4, 3) * 0.5, 1),
    "concatenated slices": (lambda lib, c: lib.numpy.concatenate([c[1:], c[:1]]) + 1, 1),
    "iota": (lambda lib, c: c + lib.numpy.arange(3.0), 1),
    "cumulative sum": (lambda lib, c: lib.numpy.cumsum(c, 0) * 0.1, 0),
    "sort": (lambda lib, c: -lib.numpy.sort(c, 0), 0),
}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_loops_over_a_small_matrix_agree_with_jax(name):
    step, regions = STEPS[name]
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    fun = lambda v: lax.fori_loop(0, 5, lambda i, c: step(MLAX, c), v)  # noqa: E731
    assert _regions(fun, x) == regions
    expected = jax.jit(lambda v: jax.lax.fori_loop(0, 5, lambda i, c: step(JAX, c), v))(x)
    np.testing.assert_allclose(np.asarray(mlax.jit(fun)(x)), np.asarray(expected), rtol=RTOL, atol=1e-5)


def test_batched_loops_move_while_small():
    """vmap makes the carry a vector: 8 lanes still move, a carry over LARGEST_CARRY does not."""
    def fun(x):
        return mlax.vmap(lambda v: _affine(MLAX, v))(x)
    for lanes, regions in ((8, 1), (small_loops.LARGEST_CARRY + 1, 0)):
        x = np.linspace(-1, 1, lanes, dtype=np.float32)
        assert _regions(fun, x) == regions
        expected = jax.vmap(lambda v: _affine(JAX, v))(x)
        np.testing.assert_allclose(np.asarray(mlax.jit(fun)(x)), np.asarray(expected), rtol=RTOL, atol=1e-6)


def test_loops_reading_large_values_stay_on_the_host():
    """A scalar carry whose body reads a large array: each step is a real dispatch's work."""
    table = np.linspace(0, 1, 1000, dtype=np.float32)

    def fun(x, t):
        return lax.fori_loop(0, 5, lambda i, v: v + (t * v).sum(), x)
    assert _regions(fun, np.float32(1.0), table) == 0
    got = mlax.jit(fun)(np.float32(1.0), table)
    expected = jax.jit(lambda x, t: jax.lax.fori_loop(0, 5, lambda i, v: v + (t * v).sum(), x))(np.float32(1.0), table)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.uint32, np.complex64])
def test_loops_over_unsigned_or_complex_values_stay_on_the_host(dtype):
    """tensor.extract would carry them as scalars IREE's StableHLO conversion does not expect."""
    def fun(x):
        return lax.fori_loop(0, 10, lambda i, v: v * dtype(3) + dtype(1), x)
    x = np.asarray(2, dtype)
    assert _regions(fun, x) == 0
    expected = x
    for _ in range(10):
        expected = expected * dtype(3) + dtype(1)
    np.testing.assert_array_equal(np.asarray(mlax.jit(fun)(x)), expected)


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16", np.int8, np.int64, np.float64])
def test_loops_over_narrow_and_wide_types_agree_with_jax(dtype, x64):
    dtype = jnp.dtype(dtype)

    def fun(lib, x):
        return lib.lax.fori_loop(0, 30, lambda i, v: v * dtype.type(3) // dtype.type(2) - dtype.type(1), x)
    x = np.asarray(3, dtype)
    assert _regions(lambda v: fun(MLAX, v), x) == 1
    got = mlax.jit(lambda v: fun(MLAX, v))(x)
    with jax.enable_x64(True):
        expected = jax.jit(lambda v: fun(JAX, v))(x)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(np.asarray(got).astype(np.float64), np.asarray(expected).astype(np.float64))
