"""mlax against JAX on the same inputs, at the points where implementations differ:
zeros of both signs, ties, infinities, NaN, the ends of integer ranges. One row per
case: `fn(lib, lnp, *args)` runs with (mlax, mlax.numpy) and with (jax, jax.numpy), and
the results must agree in structure, shape, dtype and value, NaNs and signs of zeros
included."""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp

jax.config.update("jax_platforms", "cpu")

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, np.inf, -np.inf, np.nan], np.float32)
GRID_X, GRID_Y = (g.ravel() for g in np.meshgrid(SPECIAL, SPECIAL))
TO_INTEGER = np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 2147483520.0, -2147483648.0, -1.0, -0.5, 0.5, 255.9,
                       256.0, -129.0, 1e20, 65535.0], np.float32)


@dataclasses.dataclass
class Row:
    name: str
    fn: Callable
    args: tuple = ()
    exact: bool = True  # else within a few ulps (IREE's and XLA's math libraries differ)

    def __str__(self):
        return self.name


def _grad_at(f, points):
    return lambda lib, lnp: [lib.grad(lambda x: f(lnp, x))(np.float32(p)) for p in points]


ROWS = [
    Row("power special values", lambda lib, lnp, x, y: lnp.power(x, y), (GRID_X, GRID_Y), exact=False),
    Row("0 ** 0", lambda lib, lnp: lnp.power(lnp.float32(0), lnp.float32(0))),
    Row("grad abs at zeros", _grad_at(lambda lnp, x: lnp.abs(x), [0.0, -0.0, 2.0, -2.0])),
    Row("grad x ** 0.", _grad_at(lambda lnp, x: x ** 0.0, [0.0, 2.0])),
    Row("grad x ** 0", _grad_at(lambda lnp, x: x ** 0, [0.0, 2.0])),
    Row("grad x ** 2.5", _grad_at(lambda lnp, x: x ** 2.5, [0.0, 4.0])),
    Row("grad 2 ** x", _grad_at(lambda lnp, x: lnp.power(lnp.float32(2.0), x), [0.0, 1.0])),
    *[Row(f"float32 to {dtype}", lambda lib, lnp, x, dtype=dtype: x.astype(dtype), (TO_INTEGER,))
      for dtype in ("int8", "uint8", "int16", "uint16", "int32", "uint32")],
    Row("float32 to int32 under jit", lambda lib, lnp, x: lib.jit(lambda v: v.astype(lnp.int32))(x), (TO_INTEGER,)),
    *[Row(f"{name} special values", lambda lib, lnp, x, y, name=name: getattr(lnp, name)(x, y), (GRID_X, GRID_Y),
          exact=False) for name in ("logaddexp", "logaddexp2")],
    *[Row(f"grad {name} special values", lambda lib, lnp, x, y, name=name: lib.vmap(lib.grad(
        getattr(lnp, name), argnums=(0, 1)))(x, y), (GRID_X, GRID_Y), exact=False) for name in ("logaddexp", "logaddexp2")],
    Row("softplus derivatives at 0 (Newton's start)", lambda lib, lnp: [
        lib.grad(lib.nn.softplus)(0.0), lib.hessian(lib.nn.softplus)(0.0),
        lib.grad(lib.grad(lib.grad(lib.nn.softplus)))(0.0)]),
    Row("complex logaddexp", lambda lib, lnp, x, y: [lnp.logaddexp(x, y), lnp.logaddexp2(x, y)],
        (np.array([1 + 2j, -3 + 0.5j, 0j, 2 - 3j], np.complex64), np.array([0.5 - 1j, 2 + 3j, 0j, 2 + 3j], np.complex64)),
        exact=False),
    Row("complex max and min", lambda lib, lnp, x, y: [lib.lax.max(x, y), lib.lax.min(x, y)],
        (np.array([1 + 2j, 1 + 3j, 2, np.nan], np.complex64), np.array([1 + 3j, 5j, 2, 1 + 1j], np.complex64))),
    # (+ 0: the sign of a zero derivative is an accident of each library's summation order)
    *[Row(f"grad of cumprod through zeros {v}", lambda lib, lnp, x: [d + 0 for d in (
        lib.grad(lambda u: lnp.cumprod(u).sum())(x), lib.grad(lambda u: lnp.flip(lnp.cumprod(lnp.flip(u))).sum())(x),
        lib.hessian(lambda u: lnp.cumprod(u).sum())(x))], (np.array(v, np.float32),))
      for v in ([1, 0, 2, 3], [0, 0, 2, 3], [2, 3, 0, 5, 0.5, 1.5, -2])],
    *[Row(f"random {fn} {dtype}", lambda lib, lnp, fn=fn, dtype=dtype: getattr(lib.random, fn)(
        lib.random.PRNGKey(7), (64,), dtype=dtype)) for fn, dtype in (
        ("uniform", "float16"), ("uniform", "bfloat16"), ("uniform", "float32"), ("normal", "float16"),
        ("normal", "float32"))],
    Row("random bits of every width", lambda lib, lnp: [lib.random.bits(lib.random.PRNGKey(3), (9,), dtype=d)
                                                       for d in ("uint8", "uint16", "uint32")]),
    Row("random choice with p", lambda lib, lnp, p: [
        lib.random.choice(lib.random.PRNGKey(5), 4, (40,), p=p),
        lib.random.choice(lib.random.PRNGKey(5), lnp.arange(8.0).reshape(4, 2), (7,), p=p),
        lib.random.choice(lib.random.PRNGKey(5), 4, (3,), replace=False, p=p)], (np.array([0.1, 0.2, 0.3, 0.4], np.float32),)),
    *[Row(f"searchsorted {side}", lambda lib, lnp, a, v, side=side: lnp.searchsorted(a, v, side=side),
          (np.array([0, 1, 1, 2, 5, np.nan], np.float32), np.array([-1, 0, 1, 1.5, 2, 5, 6, np.nan, np.inf], np.float32)))
      for side in ("left", "right")],
    Row("logical_and of unsigned", lambda lib, lnp, a, b: lnp.logical_and(a, b),
        (np.array([1, 0, 2], np.uint32), np.array([1, 1, 0], np.uint32))),
    Row("unsigned to bool", lambda lib, lnp, a: a.astype(bool), (np.array([1, 0, 255], np.uint8),)),
    *[Row(f"integer division by zero {x.dtype}", lambda lib, lnp, x, y: [
        lnp.floor_divide(x, y), lnp.remainder(x, y), lnp.fmod(x, y), *lnp.divmod(x, y)], (x, np.zeros_like(x)))
      for x in (np.array([2, -2, 0, 7, -128, 127], np.int8), np.array([2, 0, 255], np.uint8))],
    Row("integer power of integer arrays", lambda lib, lnp, x, y: [lnp.power(x, y), lnp.power(y, x)],
        (np.array([2, -2, 7, -7, 0, -128, 5, 3, 0, 1, -1], np.int8), np.array([0, 3, 2, -1, 0, -1, -3, -1, -2, 70, 65],
                                                                        np.int8))),
    Row("concrete integer exponents", lambda lib, lnp, x: [lnp.power(x, e) for e in (0, 3, 70, np.int32(5), np.array(2))]
        + [lnp.power(x.astype(lnp.float32), e) for e in (-3, -2, np.int64(-1))], (np.array([2, 3, -1, 1 << 20], np.int32),)),
]


def _as_arrays(lnp, args):
    return [lnp.asarray(a) for a in args]


def assert_same(got, expected, exact):
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    expected_leaves, expected_tree = jax.tree_util.tree_flatten(expected)
    assert str(got_tree) == str(expected_tree)
    for g, e in zip(got_leaves, expected_leaves):
        g, e = np.asarray(g), np.asarray(e)
        assert (g.shape, g.dtype) == (e.shape, e.dtype)
        if exact or not np.issubdtype(e.dtype, np.inexact):
            np.testing.assert_array_equal(g, e)
        else:
            np.testing.assert_allclose(g, e, rtol=4e-7 * 8, atol=4e-8)
        if np.issubdtype(e.dtype, np.floating):
            # Signs must agree everywhere when exact, at JAX's zeros when within ulps.
            checked = ~(np.isnan(g) & np.isnan(e)) if exact else (e == 0)
            np.testing.assert_array_equal(np.signbit(g)[checked], np.signbit(e)[checked], "signs of zeros")


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_agrees_with_jax(row):
    expected = row.fn(jax, jnp, *_as_arrays(jnp, row.args))
    got = row.fn(mlax, mnp, *_as_arrays(mnp, row.args))
    assert_same(got, expected, row.exact)


def _custom_jvps(lib, lnp):
    f = lib.custom_jvp(lambda x, y: lnp.sin(x) * y)
    f.defjvps(lambda t, ans, x, y: lnp.cos(x) * y * t, lambda t, ans, x, y: lnp.sin(x) * t)
    g = lib.custom_jvp(lambda x, y: x * y)
    g.defjvps(None, lambda t, ans, x, y: x * t)
    return lib.grad(f, argnums=(0, 1))(0.5, 2.0), lib.grad(g, argnums=(0, 1))(3.0, 2.0)


def test_custom_jvp_defjvps():
    assert_same(_custom_jvps(mlax, mnp), _custom_jvps(jax, jnp), exact=True)


def _second_derivative_through_ans(lib, lnp):
    # The rule's `ans` is differentiated again by the rule (4 e^x), not through the body (2 e^x).
    f = lib.custom_jvp(lambda x: lnp.exp(x))
    f.defjvps(lambda t, ans, x: 2.0 * ans * t)
    return lib.grad(lib.grad(f))(0.5), lib.jvp(lib.grad(f), (0.5,), (1.0,))[1]


def test_custom_jvp_defjvps_second_derivative_uses_the_rule():
    assert_same(_second_derivative_through_ans(mlax, mnp), _second_derivative_through_ans(jax, jnp), exact=False)


def test_unknown_backend_is_a_runtime_error_as_in_jax():
    with pytest.raises(RuntimeError):
        jax.devices("no_such_backend")
    with pytest.raises(RuntimeError, match="no_such_backend"):
        mlax.devices("no_such_backend")
