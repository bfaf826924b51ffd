"""mlax.numpy's functions against jax.numpy's on the same inputs: random ones (hypothesis,
derandomized so that CI draws the same examples every run) with the special values mixed
in, and the values' first and second derivatives in all four mode combinations. Adding a
function is one entry in a list."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp

from .test_special_points import assert_same

jax.config.update("jax_platforms", "cpu")

UNARY = ["abs", "negative", "positive", "sign", "floor", "ceil", "round", "rint", "trunc", "exp", "exp2", "expm1",
         "log", "log1p", "log2", "log10", "sqrt", "cbrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
         "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "square", "reciprocal", "deg2rad", "rad2deg", "isfinite",
         "isnan", "isinf", "signbit", "logical_not", "sinc", "nan_to_num", "fabs", "degrees", "radians"]
BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "mod", "fmod", "power",
          "float_power", "arctan2", "hypot", "maximum", "minimum", "fmax", "fmin", "logaddexp", "logaddexp2",
          "copysign", "nextafter", "heaviside", "equal", "not_equal", "less", "less_equal", "greater",
          "greater_equal", "logical_and", "logical_or", "logical_xor"]
REDUCTIONS = ["sum", "prod", "mean", "var", "std", "max", "min", "argmax", "argmin", "cumsum", "cumprod", "all", "any",
              "nansum", "nanprod", "nanmean", "nanmax", "nanmin", "median", "ptp", "count_nonzero"]
# Smooth where they are defined: their derivatives are compared too.
DIFFERENTIABLE = ["sin", "cos", "tan", "exp", "expm1", "log1p", "sqrt", "arctan", "sinh", "cosh", "tanh", "arcsinh",
                  "square", "reciprocal", "logaddexp", "multiply", "divide", "power", "arctan2", "hypot", "sinc",
                  "abs", "maximum", "minimum", "sum", "prod", "mean", "var", "std", "max", "min", "cumsum",
                  "cumprod", "median"]

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 3.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 1e-30]
values = st.one_of(st.sampled_from(SPECIAL), st.floats(-100, 100, width=32))
arrays = st.lists(values, min_size=1, max_size=8).map(lambda v: np.array(v, np.float32))
# Reductions and scans add and multiply in another order than XLA (pairwise, in a tree), so
# values near overflow cancel or overflow differently: those are left out of their inputs.
moderate = st.one_of(st.sampled_from([v for v in SPECIAL if abs(v) != 1e30]), st.floats(-100, 100, width=32))
moderate_arrays = st.lists(moderate, min_size=1, max_size=8).map(lambda v: np.array(v, np.float32))
pairs = st.integers(1, 8).flatmap(lambda n: st.tuples(*[st.lists(values, min_size=n, max_size=n)] * 2)).map(
    lambda p: tuple(np.array(v, np.float32) for v in p))
EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None)
# Elementwise math in IREE's and XLA's libraries differs in the last bits; tan/power/hypot near
# their poles and overflow points by more.
LOOSE = dict(rtol=2e-5, atol=1e-6)


def _close(got, expected):
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        g, e = np.asarray(g), np.asarray(e)
        assert (g.shape, g.dtype) == (e.shape, e.dtype)
        if np.issubdtype(e.dtype, np.inexact):
            finite = np.isfinite(e) & (np.abs(e) < 1e30)
            np.testing.assert_array_equal(np.isnan(g), np.isnan(e), "NaNs")
            np.testing.assert_array_equal(g[np.isinf(e)], e[np.isinf(e)], "infinities")
            np.testing.assert_allclose(g[finite], e[finite], **LOOSE)
        else:
            np.testing.assert_array_equal(g, e)


def _both(call):
    with np.errstate(all="ignore"):
        expected = call(jnp)
        got = call(mnp)
    return got, expected


@pytest.mark.parametrize("name", UNARY)
@EXAMPLES
@given(x=arrays)
def test_unary(name, x):
    _close(*_both(lambda lnp: getattr(lnp, name)(x)))


@pytest.mark.parametrize("name", BINARY)
@EXAMPLES
@given(xy=pairs)
def test_binary(name, xy):
    _close(*_both(lambda lnp: getattr(lnp, name)(*xy)))


@pytest.mark.parametrize("name", REDUCTIONS)
@EXAMPLES
@given(x=moderate_arrays)
def test_reduction(name, x):
    x = x.reshape(1, -1).repeat(2, 0)
    x[1] = x[1][::-1]
    for axis in (None, 0, 1):
        _close(*_both(lambda lnp: getattr(lnp, name)(x, axis=axis)))


def test_special_values_exactly_where_both_are_exact():
    # Signs of zeros and exact results at the special points, for the functions whose
    # results there are exact (no rounding to disagree on).
    x = np.array(SPECIAL, np.float32)
    for name in ("abs", "negative", "sign", "floor", "ceil", "round", "trunc", "sqrt", "square", "isfinite",
                 "isnan", "isinf", "signbit", "sin", "tan", "arctan", "sinh", "tanh", "expm1", "log1p"):
        got, expected = _both(lambda lnp: getattr(lnp, name)(x))
        exact = np.abs(x) <= 1e-30  # zeros and the tiny value: f(x) = x or f(0) exactly
        assert_same(np.asarray(got)[exact], np.asarray(expected)[exact], exact=True)


def _modes(lib, f, x, t):
    """First derivative and the four second-order compositions of f at x along t."""
    scalar = lambda v: f(v).sum()  # noqa: E731
    grad = lib.grad(scalar)
    return {
        "grad": grad(x),
        "jvp.jvp": lib.jvp(lambda v: lib.jvp(scalar, (v,), (t,))[1], (x,), (t,))[1],
        "jvp.vjp": lib.jvp(grad, (x,), (t,))[1],
        "vjp.jvp": lib.grad(lambda v: lib.jvp(scalar, (v,), (t,))[1])(x),
        "vjp.vjp": lib.grad(lambda v: (grad(v) * t).sum())(x),
    }


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(x=st.lists(st.floats(-2, 2, width=32).filter(lambda v: abs(v) > 1e-3), min_size=2, max_size=5).map(
    lambda v: np.array(v, np.float32)))
def test_derivatives_in_all_modes(name, x):
    t = np.linspace(0.5, 1.5, x.size).astype(np.float32)
    if name in BINARY:
        other = (x[::-1] + 3.0).astype(np.float32)  # away from ties and from zero
        fn = {lib: (lambda lnp: lambda v: getattr(lnp, name)(v, other))(lnp) for lib, lnp in ((jax, jnp), (mlax, mnp))}
    else:
        fn = {lib: (lambda lnp: lambda v: getattr(lnp, name)(v))(lnp) for lib, lnp in ((jax, jnp), (mlax, mnp))}
    if name in ("sqrt",):
        x = np.abs(x)
    expected, got = _modes(jax, fn[jax], x, t), _modes(mlax, fn[mlax], x, t)
    for mode in expected:
        # Second derivatives subtract nearly equal terms (sinc near 0): float32 rounding in
        # another order moves them by more than first ones.
        np.testing.assert_allclose(got[mode], expected[mode], rtol=1e-4 if mode == "grad" else 1e-3, atol=1e-5,
                                   err_msg=f"{name} {mode}")
