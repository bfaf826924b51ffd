"""Elementwise mlax.numpy functions and array operators against NumPy, eager and under jit."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import lax
from numpy_checks import assert_matches, eager_and_jit

FLOATS = np.array([[-2.5, -1.0, -0.5, 0.0], [0.25, 0.5, 1.5, 3.0]], np.float32)
SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0, 0.5], np.float32)
# Non-integral exponents, so that negative bases give NaN in NumPy as well.
ROW = np.array([1.5, 0.5, -0.5, 2.5], np.float32)
INTS = np.array([[-7, -3, -1, 0], [1, 3, 7, 10]], np.int32)
INT_ROW = np.array([3, -3, 2, -2], np.int32)

FLOAT_UNARY = ["sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh",
               "arctanh", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "abs", "fabs",
               "sign", "negative", "positive", "square", "reciprocal", "floor", "ceil", "trunc", "rint", "round",
               "isnan", "isfinite", "isinf", "signbit", "deg2rad", "rad2deg", "logical_not"]
# On integers these keep the dtype, in NumPy and JAX alike.
INT_UNARY = ["abs", "negative", "positive", "sign", "square", "floor", "ceil", "trunc", "isnan", "isfinite",
             "isinf", "signbit", "invert", "logical_not"]
FLOAT_BINARY = ["add", "subtract", "multiply", "true_divide", "maximum", "minimum", "power", "arctan2", "hypot",
                "logaddexp", "logaddexp2", "floor_divide", "remainder", "fmod", "copysign", "fmax", "fmin",
                "heaviside", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                "logical_and", "logical_or", "logical_xor"]
INT_BINARY = ["add", "subtract", "multiply", "maximum", "minimum", "floor_divide", "remainder", "fmod",
              "bitwise_and", "bitwise_or", "bitwise_xor", "equal", "not_equal", "less", "less_equal", "greater",
              "greater_equal", "logical_and", "logical_or", "logical_xor"]


def numpy_result(name, *args):
    with np.errstate(all="ignore"):
        return getattr(np, name)(*args)


@pytest.mark.parametrize("name", FLOAT_UNARY)
def test_unary_on_floats_and_special_values(name):
    for x in (FLOATS, SPECIALS):
        assert_matches(getattr(mnp, name)(x), numpy_result(name, x))


@pytest.mark.parametrize("name", INT_UNARY)
def test_unary_on_ints_keeps_integer_dtype(name):
    assert_matches(getattr(mnp, name)(INTS), numpy_result(name, INTS))


def test_integers_become_float32_in_float_functions():
    # NumPy computes these in float64; JAX (and mlax) in float32.
    for name in ("sqrt", "exp", "sin", "log1p", "tanh", "arctan"):
        assert_matches(getattr(mnp, name)(np.abs(INTS)), numpy_result(name, np.abs(INTS)), dtype=np.float32)
    assert_matches(mnp.true_divide(INTS, INT_ROW), INTS / INT_ROW, dtype=np.float32)


@pytest.mark.parametrize("name", FLOAT_BINARY)
def test_binary_on_floats_with_broadcasting(name):
    assert_matches(getattr(mnp, name)(FLOATS, ROW), numpy_result(name, FLOATS, ROW))
    assert_matches(getattr(mnp, name)(np.abs(ROW), FLOATS), numpy_result(name, np.abs(ROW), FLOATS))


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin", "copysign", "heaviside", "logaddexp",
                                  "arctan2", "hypot", "add", "multiply", "true_divide"])
def test_binary_on_special_values(name):
    assert_matches(getattr(mnp, name)(SPECIALS, SPECIALS[::-1]), numpy_result(name, SPECIALS, SPECIALS[::-1]))


@pytest.mark.parametrize("name", INT_BINARY)
def test_binary_on_ints_with_broadcasting(name):
    assert_matches(getattr(mnp, name)(INTS, INT_ROW), numpy_result(name, INTS, INT_ROW))


def test_all_ufuncs_under_jit():
    def everything(x, row, ints, int_row):
        return ({name: getattr(mnp, name)(x) for name in FLOAT_UNARY},
                {name: getattr(mnp, name)(ints) for name in INT_UNARY},
                {name: getattr(mnp, name)(x[0].reshape(2, 4), row) for name in FLOAT_BINARY},
                {name: getattr(mnp, name)(ints, int_row) for name in INT_BINARY})

    x = np.concatenate([FLOATS.ravel(), SPECIALS]).reshape(2, 8)
    unary, int_unary, binary, int_binary = mlax.jit(everything)(x, ROW, INTS, INT_ROW)
    for name in FLOAT_UNARY:
        assert_matches(unary[name], numpy_result(name, x))
    for name in INT_UNARY:
        assert_matches(int_unary[name], numpy_result(name, INTS))
    for name in FLOAT_BINARY:
        assert_matches(binary[name], numpy_result(name, FLOATS, ROW))
    for name in INT_BINARY:
        assert_matches(int_binary[name], numpy_result(name, INTS, INT_ROW))


def test_floor_divide_and_remainder_follow_the_divisor_sign():
    a = np.array([7, -7, 7, -7, 6, -6, 0, 1], np.int32)
    b = np.array([2, 2, -2, -2, 3, -3, 5, -5], np.int32)
    for x, y in ((a, b), (a.astype(np.float32), b.astype(np.float32))):
        for quotient, remainder, (q, r) in eager_and_jit(
                lambda x, y: (mnp.floor_divide(x, y), mnp.remainder(x, y), divmod(mnp.asarray(x), y)), x, y):
            for out in (quotient, q):
                assert_matches(out, np.floor_divide(x, y))
            for out in (remainder, r):
                assert_matches(out, np.remainder(x, y))
        assert_matches(mnp.fmod(x, y), np.fmod(x, y))
    assert_matches(mnp.asarray(a) // 2, a // 2)
    assert_matches(-7 % mnp.asarray(b), -7 % b)


def test_power():
    bases = np.array([0, 1, 2, 3, 5], np.int32)
    exponents = np.array([3, 0, 10, 2, 1], np.int32)
    assert_matches(mnp.power(bases, exponents), bases ** exponents)
    assert_matches(mnp.asarray(bases) ** 3, bases ** 3)
    assert_matches(mnp.asarray(FLOATS) ** -2, numpy_result("power", FLOATS, np.float32(-2)))
    assert_matches(2.0 ** mnp.asarray(ROW), 2.0 ** ROW)
    assert_matches(mnp.power(np.abs(FLOATS), ROW), np.power(np.abs(FLOATS), ROW))


def test_cbrt_of_finite_values():
    assert_matches(mnp.cbrt(FLOATS), np.cbrt(FLOATS))


def test_cbrt_of_infinities():
    assert_matches(mnp.cbrt(np.float32([np.inf, -np.inf])), np.float32([np.inf, -np.inf]))


def test_power_of_negative_base():
    base = np.float32([-2.0, -1.5, -np.inf, -np.inf, -np.inf, -2.0])
    exponent = np.float32([3.0, 2.0, -0.5, 3.0, 2.5, 0.5])
    with np.errstate(invalid="ignore"):
        expected = np.power(base, exponent)
    for out in eager_and_jit(mnp.power, base, exponent):
        assert_matches(out, expected)


def test_arctan2_takes_the_sign_of_y_where_y_over_x_underflows():
    # IREE gave +pi for atan2(-1e-15, -1e30): the quotient underflows and its sign was lost.
    y = np.array([-8.517532e-15, 8.5e-15, -1e-30, -1e-38, -1e-38], np.float32)
    x = np.array([-1e30, -1e30, -1e30, 1e30, -1e30], np.float32)
    for f in (mnp.arctan2, mlax.jit(mnp.arctan2)):
        result = np.asarray(f(y, x))
        np.testing.assert_array_equal(result, np.arctan2(y, x))
        np.testing.assert_array_equal(np.signbit(result), np.signbit(y))


def test_hypot_neither_overflows_nor_underflows_where_the_result_does_not():
    x = np.array([2e20, 1e-30, 3, 0, np.inf, np.nan, -np.inf, -3e38], np.float32)
    y = np.array([2e20, 1e-30, -4, 0, np.nan, 1, 2, 3e38], np.float32)
    for f in (mnp.hypot, mlax.jit(mnp.hypot)):
        np.testing.assert_allclose(np.asarray(f(x, y)), np.hypot(x.astype(np.float64), y).astype(np.float32),
                                   rtol=1e-6)
    np.testing.assert_allclose(mlax.grad(mnp.hypot, argnums=(0, 1))(4.0, -3.0), (0.8, -0.6), rtol=1e-6)


def test_select_picks_the_first_condition_that_holds():
    x = np.arange(6, dtype=np.float32)
    result = mnp.select([x < 2, x > 3, x > 0], [x, 10 * x, np.int32(7)], -1)
    np.testing.assert_array_equal(result, np.select([x < 2, x > 3, x > 0], [x, 10 * x, 7], -1))
    assert result.dtype == np.float32
    assert mnp.select([x < 2], [np.arange(6, dtype=np.int32)]).dtype == np.int32
    np.testing.assert_array_equal(mlax.jit(lambda v: mnp.select([v > 2.5], [v * 2], v))(x),
                                  np.where(x > 2.5, 2 * x, x))


@pytest.mark.parametrize("call, message", [
    (lambda: mnp.select([], []), "condlist must be non-empty"),
    (lambda: mnp.select([True], [1.0, 2.0]), r"condlist must have length equal to choicelist \(1 vs 2\)"),
])
def test_select_errors_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", ["fabs", "hypot"])
def test_complex_input_is_refused_where_numpy_refuses_it(name):
    with pytest.raises(TypeError, match=f"{name} does not take complex input"):
        getattr(mnp, name)(*[np.complex64(1j)] * (1 if name == "fabs" else 2))


def test_logaddexp_stays_finite_for_large_and_infinite_inputs():
    x = np.array([1000.0, -1000.0, -np.inf, np.inf, 0.0], np.float32)
    y = np.array([1000.0, -1000.5, -np.inf, np.inf, -np.inf], np.float32)
    for out in eager_and_jit(mnp.logaddexp, x, y):
        assert_matches(out, np.logaddexp(x, y))


def test_where_broadcasts_and_promotes():
    condition = FLOATS > 0
    for values, ints, scalars in eager_and_jit(
            lambda c, x, i: (mnp.where(c, x, -1.0), mnp.where(c[:, :1], x, i[0]), mnp.where(c, 1, 0)),
            condition, FLOATS, INTS):
        assert_matches(values, np.where(condition, FLOATS, np.float32(-1)))
        assert_matches(ints, np.where(condition[:, :1], FLOATS, INTS[0]), dtype=np.float32)
        assert_matches(scalars, np.where(condition, 1, 0), dtype=np.int32)
    rows, cols = mnp.where(condition)
    assert_matches(rows, np.nonzero(condition)[0], dtype=np.int32)
    assert_matches(cols, np.nonzero(condition)[1], dtype=np.int32)


def test_clip():
    x = np.concatenate([FLOATS.ravel(), [np.nan]]).astype(np.float32)
    for both, upper, keyword, arrays in eager_and_jit(
            lambda x: (mnp.clip(x, -1, 1), mnp.clip(x, None, 0.5), mnp.clip(x, min=0.0),
                       mnp.clip(x[:8].reshape(2, 4), np.float32([0, -2, 0, 0]), np.float32([[1], [2]]))), x):
        assert_matches(both, np.clip(x, -1, 1))
        assert_matches(upper, np.clip(x, None, 0.5))
        assert_matches(keyword, np.clip(x, 0.0, None))
        assert_matches(arrays, np.clip(FLOATS, np.float32([0, -2, 0, 0]), np.float32([[1], [2]])))
    assert_matches(mnp.clip(INTS, -2, 4), np.clip(INTS, -2, 4))


def test_round_is_half_to_even_with_decimals():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 12.75, -37.5], np.float32)
    for tenths, hundreds, even in eager_and_jit(lambda x: (mnp.round(x, 1), mnp.round(x, -1), mnp.round(x)), x):
        assert_matches(tenths, np.round(x, 1))
        assert_matches(hundreds, np.round(x, -1))
        assert_matches(even, np.round(x))
    assert_matches(mnp.round(INTS), INTS)


def test_operators_match_numpy():
    def float_ops(x, y):
        return [x + y, x - y, x * y, x / y, x // y, x % y, x ** 2, x ** y, -x, +x, abs(x), 2.0 - x, 3 * x,
                1 / y, 2 ** y, x < y, x <= y, x > y, x >= y, x == y, x != y, x @ y]

    def int_ops(x, y):
        return [x & y, x | y, x ^ y, ~x, x << 2, x >> 1, x // y, x % y, x * 3, 10 - x, x == 3, -x, 7 // y]

    with np.errstate(all="ignore"):
        float_expected, int_expected = float_ops(FLOATS, ROW), int_ops(INTS, INT_ROW)
    for float_results, int_results in eager_and_jit(
            lambda x, y, i, j: (float_ops(x, y), int_ops(i, j)),
            mnp.asarray(FLOATS), mnp.asarray(ROW), mnp.asarray(INTS), mnp.asarray(INT_ROW)):
        for actual, expected in zip(float_results + int_results, float_expected + int_expected):
            assert_matches(actual, expected)
    mixed = np.float32([1, 2, 3, 4]) + mnp.asarray(ROW)
    assert isinstance(mixed, mlax.Array)
    assert_matches(mixed, np.float32([1, 2, 3, 4]) + ROW)


def test_logical_and_bitwise_on_bools_and_unsigned():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    for name in ("logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"):
        assert_matches(getattr(mnp, name)(a, b), getattr(np, name)(a, b))
    assert_matches(mnp.invert(a), ~a)
    assert_matches(mnp.logical_and(FLOATS, INTS), np.logical_and(FLOATS, INTS))
    small = np.array([0, 1, 128, 255], np.uint8)
    assert_matches(mnp.invert(small), ~small)
    assert_matches(mnp.right_shift(small, np.uint8(1)), small >> 1)
    assert_matches(mnp.left_shift(small, np.uint8(1)), small << 1)
    assert_matches(mnp.right_shift(np.int32([-8, -1, 9]), np.int32(1)), np.int32([-8, -1, 9]) >> 1)
    assert_matches(mnp.sign(small), np.sign(small))


def test_lax_sign_of_unsigned_ints():
    assert_matches(lax.sign(np.array([0, 3], np.uint8)), np.array([0, 1], np.uint8))


def test_bitwise_ops_reject_floats():
    with pytest.raises(TypeError, match="bitwise_and.*float32"):
        mnp.bitwise_and(FLOATS, FLOATS)
    with pytest.raises(TypeError, match="invert.*float32"):
        ~mnp.asarray(FLOATS)


def test_shape_mismatch_names_both_shapes():
    for fn in (mnp.add, mnp.maximum, mnp.logaddexp, lambda x, y: mnp.asarray(x) * y):
        with pytest.raises(ValueError, match=r"\(2, 4\).*\(3,\)"):
            fn(FLOATS, np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(3,\)"):
        mlax.jit(lambda x, y: x - y)(FLOATS, np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 4\)"):
        mnp.where(np.ones(3, bool), FLOATS, 0.0)


# -- floats taken apart, integer divisors, complex arguments -----------------------------------

TINY = np.finfo(np.float32).smallest_subnormal
EDGES = np.array([0.0, -0.0, TINY, -3 * TINY, 1.1754944e-38, -3e-39, 3.4e38, -1e30, np.inf, -np.inf, np.nan,
                  -0.5, 0.5, -2.5, 1e-3, 8.0, -7.3, 1.0], np.float32)


def assert_bitwise(actual, expected):
    """Equal values (NaN included), dtypes and signs of zeros."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(np.signbit(actual), np.signbit(expected))


def test_frexp_and_modf_on_edge_values():
    for mantissa, exponent in eager_and_jit(mnp.frexp, EDGES):
        assert_bitwise(mantissa, np.frexp(EDGES)[0])
        assert_bitwise(exponent, np.frexp(EDGES)[1])
    for fraction, integral in eager_and_jit(mnp.modf, EDGES):
        assert_bitwise(fraction, np.modf(EDGES)[0])
        assert_bitwise(integral, np.modf(EDGES)[1])
    # Integers compute in float32 (NumPy: float64).
    assert_matches(mnp.frexp(INTS)[0], np.frexp(INTS)[0], dtype=np.float32)
    assert_matches(mnp.modf(INTS)[1], np.modf(INTS)[1], dtype=np.float32)


def test_ldexp_on_edge_values_and_exponents():
    exponents = np.array([0, 1, -1, 200, -200, -140, -149, 2**31 - 1, -2**31, 3, -3, 1, 127, -126, 5, 0, -1, 2],
                         np.int32)
    with np.errstate(over="ignore"):
        expected = np.ldexp(EDGES, exponents)
    for result in eager_and_jit(mnp.ldexp, EDGES, exponents):
        assert_bitwise(result, expected)
    # Broadcasting, integer mantissas (float32), exponents of any integer dtype.
    assert_matches(mnp.ldexp(FLOATS, INT_ROW), np.ldexp(FLOATS, INT_ROW))
    assert_matches(mnp.ldexp(INTS, np.int8(3)), np.ldexp(INTS, np.int8(3)), dtype=np.float32)
    with np.errstate(over="ignore"):
        assert_matches(mnp.ldexp(ROW, np.uint8(200)), np.ldexp(ROW, np.uint8(200)))
    with pytest.raises(TypeError, match="integer exponents"):
        mnp.ldexp(FLOATS, 1.5)


def test_float_parts_in_half_precision():
    info = np.finfo(np.float16)
    x = np.array([0, -0.0, info.smallest_subnormal, -3 * info.smallest_subnormal, info.tiny, info.max, -1e3,
                  np.inf, np.nan, -0.5, 2.5], np.float16)
    exponents = np.array([0, 1, -1, 3, -5, 1, -20, 3, 0, -1, 100], np.int32)
    assert_bitwise(mnp.frexp(x)[0], np.frexp(x)[0])
    assert_bitwise(mnp.frexp(x)[1], np.frexp(x)[1])
    assert_bitwise(mnp.modf(x)[0], np.modf(x)[0])
    assert_bitwise(mnp.nextafter(x, x[::-1]), np.nextafter(x, x[::-1]))
    with np.errstate(over="ignore"):
        assert_bitwise(mnp.ldexp(x, exponents), np.ldexp(x, exponents))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16])
def test_gcd_and_lcm_in_narrow_integers(dtype):
    info = np.iinfo(dtype)
    a = np.array([0, 12, info.max, info.min, 9, 0, 7], dtype)
    b = np.array([5, 18, 3, 6, info.max, 0, info.min], dtype)
    assert_matches(mnp.gcd(a, b), np.gcd(a, b))
    assert_matches(mnp.lcm(a, b), np.lcm(a, b))


def test_nextafter_steps_to_the_neighbouring_float():
    towards = np.array([1, 2, -2, 0, 1, 0, np.inf, 1, -1, 2, -np.inf, np.nan, 0, 1, -8, 0, -7, 0.5], np.float32)
    for result in eager_and_jit(mnp.nextafter, EDGES, towards):
        assert_bitwise(result, np.nextafter(EDGES, towards))
    assert_matches(mnp.nextafter(INTS, 0), np.nextafter(INTS, 0), dtype=np.float32)


def test_gcd_and_lcm_follow_numpy_on_signs_zeros_and_extremes():
    low = np.iinfo(np.int32).min
    a = np.array([0, 0, -4, 6, -12, low, 7, 6, low, 1071, 2**30, -15, 1, -1], np.int32)
    b = np.array([0, 5, 6, -4, -18, 0, low, low, low, 462, 3 * 2**20, 0, -1, 2**31 - 1], np.int32)
    for name in ("gcd", "lcm"):
        for result in eager_and_jit(getattr(mnp, name), a, b):
            assert_matches(result, getattr(np, name)(a, b))
        assert_matches(getattr(mnp, name)(INTS, INT_ROW), getattr(np, name)(INTS, INT_ROW))
        unsigned = np.array([4000000000, 0, 7, 12], np.uint32), np.array([3000000000, 9, 0, 18], np.uint32)
        assert_matches(getattr(mnp, name)(*unsigned), getattr(np, name)(*unsigned))
        for not_integers in ((FLOATS, 2), (np.array([True, False]), True)):
            with pytest.raises(TypeError, match="integer arrays"):
                getattr(mnp, name)(*not_integers)


def test_gcd_and_lcm_of_the_same_computed_arrays_in_one_program():
    # Regression: as a fixed-count while loop, IREE 3.13 failed to partition gcd and lcm started from one computed
    # value ("circular dependency: input operation uses partition output").
    a = np.array([0, 1, -1, 2, -2, 3, 7, -7, -127, 127], np.int8)
    b = np.roll(a, 3)
    gcd, lcm = mlax.jit(lambda x, y: (mnp.gcd(mnp.maximum(x, -127), y), mnp.lcm(mnp.maximum(x, -127), y)))(a, b)
    assert_matches(gcd, np.gcd(a, b))
    assert_matches(lcm, np.lcm(a, b))


def test_angle_of_complex_and_real_values():
    z = np.array([1 + 1j, complex(-0.0, 0), complex(-1, -0.0), complex(-1, 0), complex(0, -0.0),
                  complex(-0.0, -0.0), 3 - 4j, complex(np.nan, 1), complex(np.inf, -np.inf)], np.complex64)
    for result in eager_and_jit(mnp.angle, z):
        assert_matches(result, np.angle(z))
        assert_bitwise(np.signbit(result), np.signbit(np.angle(z)))
    for result in eager_and_jit(mnp.angle, EDGES):
        assert_bitwise(result, np.angle(EDGES))
    assert_matches(mnp.angle(z, deg=True), np.angle(z, deg=True), rtol=1e-5)
    assert_matches(mnp.angle(INTS), np.angle(INTS), dtype=np.float32)


def test_derivatives_of_the_new_ufuncs_match_finite_differences():
    x = np.array([0.3, -0.7, 1.4, -2.6, 5.3], np.float32)
    eps = 1e-3

    def central(f, x):
        return (f(x.astype(np.float64) + eps) - f(x.astype(np.float64) - eps)) / (2 * eps)

    grad = mlax.jit(mlax.grad(lambda x: mnp.sum(mnp.ldexp(x, 3) + mnp.frexp(x)[0] + 2 * mnp.modf(x)[0])))
    expected = central(lambda x: np.ldexp(x, 3) + np.frexp(x)[0] + 2 * np.modf(x)[0], x)
    np.testing.assert_allclose(np.asarray(grad(x)), expected, rtol=1e-3)
    z = np.array([1 + 2j, -0.5 + 1j, 2 - 1j], np.complex64)
    # d angle(z) / d(Re z, Im z) = (-Im z, Re z) / |z|^2; mlax.grad of a real function of z gives its conjugate.
    gradient = np.asarray(mlax.grad(lambda z: mnp.sum(mnp.angle(z)))(z))
    np.testing.assert_allclose(gradient, np.conj((-z.imag + 1j * z.real) / np.abs(z) ** 2), rtol=1e-5)
