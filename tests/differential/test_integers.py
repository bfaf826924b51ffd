"""mlax.numpy on integer and boolean arrays, at the ends of each integer range, and on empty
arrays, against jax.numpy: one compiled program per dtype holds every function of the table
(a compilation per function would dominate the test's time)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp

from .test_special_points import assert_same

jax.config.update("jax_platforms", "cpu")

UNARY = ["abs", "negative", "positive", "sign", "square", "invert", "bitwise_not", "logical_not", "isfinite", "isnan",
         "floor", "ceil", "round", "trunc", "sqrt", "exp", "sin", "reciprocal", "cbrt", "signbit", "fabs"]
BINARY = ["add", "subtract", "multiply", "floor_divide", "remainder", "mod", "fmod", "power", "maximum", "minimum",
          "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "equal", "not_equal", "less",
          "greater_equal", "logical_and", "logical_or", "logical_xor", "true_divide", "divide", "heaviside", "copysign", "arctan2", "hypot", "float_power", "fmax", "fmin"]
# JAX's gcd and lcm loop forever on the most negative integer (its absolute value is itself):
# they are compared away from it.
AWAY_FROM_MIN = ["gcd", "lcm"]
REDUCTIONS = ["sum", "prod", "mean", "var", "std", "max", "min", "argmax", "argmin", "cumsum", "cumprod", "all", "any",
              "ptp", "count_nonzero", "median"]
DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "bool"]
# Functions NumPy and JAX leave undefined for a dtype, or reject: not in that dtype's table.
SKIP = {"bool": {"negative", "subtract", "square", "invert", "sign", "floor_divide", "remainder", "mod", "fmod",
                 "power", "left_shift", "right_shift", "gcd", "lcm", "cbrt", "reciprocal", "abs", "positive",
                 "heaviside", "copysign", "ptp", "median", "var", "std", "mean", "cumprod", "prod", "cumsum",
                 "floor", "ceil", "round", "trunc", "fabs"}}
# Results in floating point (computed by each library's math functions): within rounding.
INEXACT = {"sqrt", "exp", "sin", "cbrt", "true_divide", "divide", "arctan2", "hypot", "float_power", "mean", "var",
           "std", "median", "reciprocal", "fabs", "copysign", "heaviside", "signbit"}


def _values(dtype):
    if dtype == "bool":
        return np.array([True, False, True, True, False, False, True]), np.array([False, True, True, False, True,
                                                                                  False, False])
    info = np.iinfo(dtype)
    if info.min < 0:
        x = [0, 1, -1, 2, -2, 3, 7, -7, info.min, info.max, info.min + 1, info.max - 1, 5]
    else:
        x = [0, 1, 2, 3, 7, info.max, info.max - 1, info.max // 2 + 1, 5, 6, 9, 4, 12]
    x = np.array(x, dtype)
    return x, np.roll(x, 3)


def _table(lnp, dtype, x, y):
    skip = SKIP.get(dtype, set())
    out = {name: getattr(lnp, name)(x) for name in UNARY if name not in skip}
    out.update({name: getattr(lnp, name)(x, y) for name in BINARY if name not in skip})
    out.update({name: getattr(lnp, name)(x) for name in REDUCTIONS if name not in skip})
    if dtype != "bool":
        low = np.iinfo(dtype).min + 1
        out.update({name: getattr(lnp, name)(lnp.maximum(x, low), lnp.maximum(y, low)) for name in AWAY_FROM_MIN})
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_integer_extremes(dtype):
    x, y = _values(dtype)
    with np.errstate(all="ignore"):
        expected = _table(jnp, dtype, x, y)
    got = mlax.jit(lambda a, b: _table(mnp, dtype, a, b))(x, y)
    for name in expected:
        if name in INEXACT and np.issubdtype(np.asarray(expected[name]).dtype, np.inexact):
            e, g = np.asarray(expected[name]), np.asarray(got[name])
            assert (g.shape, g.dtype) == (e.shape, e.dtype), name
            # IREE's float32 pow loses accuracy as |y log x| grows (docs/compatibility.md). A float32
            # mean is a sum, right to within eps times the sum of |x| in any order of additions
            # (int32's extremes cancel: JAX adds in order, mlax in partial sums, docs/compatibility.md).
            atol = np.finfo(np.float32).eps * np.abs(x.astype(np.float64)).sum() if name == "mean" else 0
            np.testing.assert_allclose(g, e, rtol=2e-5 if name == "float_power" else 2e-6, atol=atol,
                                       err_msg=f"{name} {dtype}")
        else:
            assert_same(got[name], expected[name], exact=True), name


EMPTY_REDUCTIONS = ["sum", "prod", "mean", "var", "std", "cumsum", "cumprod", "all", "any", "count_nonzero", "nansum",
                    "nanmean"]


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_empty_arrays(dtype):
    def table(lnp, v, m):
        out = {}
        for name in EMPTY_REDUCTIONS:
            if dtype == "bool" and name in ("var", "std", "cumprod", "prod", "mean", "nanmean", "cumsum", "nansum"):
                continue
            out[name] = getattr(lnp, name)(v)
            out[name + " of axis 0"] = getattr(lnp, name)(m, axis=0)
            out[name + " of axis 1"] = getattr(lnp, name)(m, axis=1)
        out["max of axis 0"] = lnp.max(m, axis=0)  # (3,) maxima of empty columns would fail; rows: none
        out["sort"], out["flip"], out["concatenate"] = lnp.sort(v), lnp.flip(v), lnp.concatenate([v, v])
        out["stack"], out["where"] = lnp.stack([v, v]), lnp.where(v, v, v)
        out["matmul"] = lnp.zeros((2, 0), v.dtype) @ lnp.zeros((0, 3), v.dtype) if dtype != "bool" else v
        return out
    v, m = np.zeros((0,), dtype), np.zeros((0, 3), dtype).T
    with np.errstate(all="ignore"):
        expected = table(jnp, v, m)
    got = table(mnp, v, m)
    for name in expected:
        assert_same(got[name], expected[name], exact=True), name


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_empty_reductions_without_identity_raise_as_in_jax(name):
    with pytest.raises(ValueError):
        getattr(jnp, name)(jnp.zeros((0,)))
    with pytest.raises(ValueError, match="empty|zero-size|identity"):
        getattr(mnp, name)(mnp.zeros((0,)))
