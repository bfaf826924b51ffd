"""sin, cos and tan of float32, float16 and bfloat16: reduction modulo pi/2 in float64
(Cody-Waite up to 2**20 * pi/2, Payne-Hanek past it) and one rounding, checked against
NumPy's float64 functions rounded to the dtype, eagerly and under jit.

The hard cases are the float32 values closest to nonzero multiples of pi/2, from a scan of
every float32 from 0.5 to 2**128 (x * 2/pi modulo 1 in 96-bit fixed point): remainders of
2**-22 to 2**-30, where a reduction short of exact loses the result's digits.
"""

import ml_dtypes
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax.ops import elementwise

FUNCTIONS = ["sin", "cos", "tan"]

# (m, e): m * 2**e, the float32 values closest to a multiple of pi/2 (remainders 2**-29.2 ...).
HARD_HUGE = [(16367173, 72), (10741887, 11), (10057457, 62), (11617958, 17), (9012376, 53), (14173733, 88),
             (10695401, 2), (14015064, 66), (8895696, 34), (12558490, 78), (10838702, -2), (11405107, 50),
             (13518564, 54), (9688229, 6), (12438944, 103), (14946604, 41), (12615508, 92)]
# Below the Cody-Waite limit (2**-27.8 ...); 13131518 * 2**-3 = 1641439.75 was 1 ulp off in cos
# while the three parts of pi/2 were fdlibm's pio2_1, pio2_1t and pio2_2t, which do not add up.
HARD_SMALL = [(16573937, -16), (9882596, -21), (13444207, -8), (8545886, -5), (14823894, -20), (13176795, -23),
              (9168424, -12), (12353245, -19), (9796642, -6), (13752636, -11), (13131518, -3)]


def _values(pairs):
    x = np.array([np.ldexp(float(m), e) for m, e in pairs], np.float32)
    assert np.array_equal(x.astype(np.float64), [np.ldexp(float(m), e) for m, e in pairs])  # exact float32s
    return np.concatenate([x, -x])


def _ulps(got, expected):
    """Distance in units in the last place (of got's dtype); NaN against NaN is 0."""
    bits = {2: np.int16, 4: np.int32}[got.dtype.itemsize]
    sign = np.int64(1) << (8 * got.dtype.itemsize - 1)

    def ordered(v):
        i = v.view(bits).astype(np.int64)
        return np.where(i < 0, -(i & (sign - 1)), i)
    distance = np.abs(ordered(got) - ordered(expected)).astype(np.float64)
    got_nan, expected_nan = np.isnan(got.astype(np.float32)), np.isnan(expected.astype(np.float32))
    distance[got_nan & expected_nan] = 0
    distance[got_nan ^ expected_nan] = np.inf
    return distance


def _expected(name, x):
    with np.errstate(invalid="ignore", over="ignore"):  # tan of float16: past 65504 near odd multiples of pi/2
        return getattr(np, name)(x.astype(np.float64)).astype(x.dtype)


def _check(name, x, max_ulps, eager=True):
    expected = _expected(name, x)
    for how, fn in [("eager", getattr(mnp, name))] * eager + [("jit", mlax.jit(getattr(mnp, name)))]:
        got = np.asarray(fn(x))
        assert got.dtype == x.dtype
        distance = _ulps(got, expected)
        worst = int(np.argmax(distance))
        assert distance[worst] <= max_ulps, \
            f"{how} {name}({x[worst]!r}) = {got[worst]!r}, expected {expected[worst]!r} ({distance[worst]} ulps)"
        np.testing.assert_array_equal(np.signbit(got[x == 0]), np.signbit(expected[x == 0]))


def test_constants_are_fdlibms():
    # fdlibm's ipio2 (2/pi in 24-bit chunks), pio2_1, pio2_2 and pio2_2t, and pi/2 in two doubles.
    ipio2 = [0xA2F983, 0x6E4E44, 0x1529FC, 0x2757D1, 0xF534DD, 0xC0DB62, 0x95993C, 0x439041, 0xFE5163, 0xABDEBB]
    assert elementwise._TWO_OVER_PI == [d * 2.0 ** (-24 * (i + 1)) for i, d in enumerate(ipio2)]
    assert [p.hex() for p in elementwise._PIO2] == ["0x1.921fb54400000p+0", "0x1.0b4611a600000p-34",
                                                    "0x1.3198a2e037073p-69"]
    assert (elementwise._PIO2_HI.hex(), elementwise._PIO2_LO.hex()) == ("0x1.921fb54442d18p+0",
                                                                       "0x1.1a62633145c07p-54")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_huge_arguments(name):
    rng = np.random.default_rng(0)
    count = 4096
    magnitudes = np.exp(rng.uniform(np.log(1e6), np.log(3.4e38), count))
    random = (magnitudes * rng.choice([-1.0, 1.0], count)).astype(np.float32)
    limit = np.float32(elementwise._REDUCTION_LIMIT)
    edges = np.array([np.finfo(np.float32).max, 2.0 ** 127, 2.0 ** 128 * (1 - 2 ** -24) / 2, 1e30, 2.0 ** 24,
                      2.0 ** 21, 2.0 ** 20, 1.6e6, limit, np.nextafter(limit, np.float32(np.inf)),
                      np.nextafter(limit, np.float32(0))], np.float32)
    specials = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, 1e-45, -3e-40, 100.0], np.float32)
    _check(name, np.concatenate([random, edges, -edges, specials]), max_ulps=1)
    # The hard cases exactly (NumPy's float64 results round to the exact ones there), among
    # small arguments: Payne-Hanek for some elements, Cody-Waite for the others.
    _check(name, np.concatenate([_values(HARD_HUGE), _values(HARD_SMALL)]), max_ulps=0)
    if name == "sin":  # as JAX; IREE's own float32 sine said -inf
        assert np.asarray(mnp.sin(np.float32(1e30))) == np.float32(-0.79116344)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_special_values(name):
    x = np.array([np.inf, -np.inf, np.nan, 2.0 ** 127, -0.0, 0.0], np.float32)
    got = np.asarray(getattr(mnp, name)(x))
    assert np.isnan(got[:3]).all()
    assert np.isfinite(got[3:]).all()
    if name != "cos":
        assert np.signbit(got[4]) and not np.signbit(got[5])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_arguments_below_the_limit(name):
    # No huge element: the Cody-Waite branch only.
    rng = np.random.default_rng(1)
    count = 4096
    x = np.concatenate([rng.uniform(-1.6e6, 1.6e6, count),
                        np.exp(rng.uniform(np.log(1e-40), np.log(1.6e6), count)) * rng.choice([-1.0, 1.0], count),
                        [0.0, -0.0, 1e-45, -1e-45]]).astype(np.float32)
    _check(name, x, max_ulps=1)
    _check(name, _values(HARD_SMALL), max_ulps=0)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_16_bit_value(name, dtype):
    # Rounded once from float64 (IREE's float64 -> float16 conversion rounds twice, through
    # float32, and flushes subnormals): NumPy's results exactly.
    x = np.arange(1 << 16, dtype=np.uint16).view(dtype)
    _check(name, x, max_ulps=0, eager=False)
