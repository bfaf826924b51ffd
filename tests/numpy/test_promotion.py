"""Type promotion in mlax.numpy, which follows JAX rather than NumPy: a lattice
without silent 64-bit types, Python scalars that are weakly typed, float32 for
integer math, and 64-bit types only with x64."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from numpy_checks import assert_matches

DTYPES = {"b": np.bool_, "u8": np.uint8, "u32": np.uint32, "i8": np.int8, "i16": np.int16, "i32": np.int32,
          "i64": np.int64, "bf16": mnp.bfloat16.dtype, "f16": np.float16, "f32": np.float32, "f64": np.float64,
          "c64": np.complex64}

# JAX's result dtype of x + y, for x of the row's dtype and y of the column's.
PROMOTION_X32 = """
          b    u8   u32    i8   i16   i32  bf16   f16   f32
    b     b    u8   u32    i8   i16   i32  bf16   f16   f32
   u8    u8    u8   u32   i16   i16   i32  bf16   f16   f32
  u32   u32   u32   u32   i32   i32   i32  bf16   f16   f32
   i8    i8   i16   i32    i8   i16   i32  bf16   f16   f32
  i16   i16   i16   i32   i16   i16   i32  bf16   f16   f32
  i32   i32   i32   i32   i32   i32   i32  bf16   f16   f32
 bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16   f32   f32
  f16   f16   f16   f16   f16   f16   f16   f32   f16   f32
  f32   f32   f32   f32   f32   f32   f32   f32   f32   f32
"""
PROMOTION_X64 = """
          b    u8   u32    i8   i32   i64  bf16   f16   f32   f64
    b     b    u8   u32    i8   i32   i64  bf16   f16   f32   f64
   u8    u8    u8   u32   i16   i32   i64  bf16   f16   f32   f64
  u32   u32   u32   u32   i64   i64   i64  bf16   f16   f32   f64
   i8    i8   i16   i64    i8   i32   i64  bf16   f16   f32   f64
  i32   i32   i32   i64   i32   i32   i64  bf16   f16   f32   f64
  i64   i64   i64   i64   i64   i64   i64  bf16   f16   f32   f64
 bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16   f32   f32   f64
  f16   f16   f16   f16   f16   f16   f16   f32   f16   f32   f64
  f32   f32   f32   f32   f32   f32   f32   f32   f32   f32   f64
  f64   f64   f64   f64   f64   f64   f64   f64   f64   f64   f64
"""
# x + 1, x + 1.0 and x + 1j: (dtype, weakly typed?) for x of each dtype, without x64.
WEAK_SCALARS_X32 = {
    "b": [("i32", True), ("f32", True), ("c64", True)],
    "u8": [("u8", False), ("f32", True), ("c64", True)],
    "u32": [("u32", False), ("f32", True), ("c64", True)],
    "i8": [("i8", False), ("f32", True), ("c64", True)],
    "i32": [("i32", False), ("f32", True), ("c64", True)],
    "bf16": [("bf16", False), ("bf16", False), ("c64", False)],
    "f16": [("f16", False), ("f16", False), ("c64", False)],
    "f32": [("f32", False), ("f32", False), ("c64", False)],
}


def parse(table):
    """{(row dtype, column dtype): result dtype} from a table above."""
    header, *rows = [line.split() for line in table.strip().splitlines()]
    return {(DTYPES[row[0]], DTYPES[column]): np.dtype(DTYPES[result])
            for row in rows for column, result in zip(header, row[1:])}


def check_table(table):
    pairs = parse(table)
    for (a, b), expected in pairs.items():
        assert mnp.promote_types(a, b) == expected, (a, b)
        assert mnp.result_type(np.ones(1, a), np.ones(1, b)) == expected, (a, b)
    # Every sum in one program: one compilation.
    inputs = {np.dtype(a).name: np.ones(2, a) for a, _ in pairs}
    sums = mlax.jit(lambda xs: {(a, b): xs[a] + xs[b] for a in xs for b in xs})(inputs)
    for (a, b), expected in pairs.items():
        total = sums[np.dtype(a).name, np.dtype(b).name]
        assert_matches(total, np.full(2, 1 if expected == np.bool_ else 2), dtype=expected)
        assert not total.weak_type


def test_promotion_table():
    check_table(PROMOTION_X32)


def test_promotion_table_with_x64(x64):
    check_table(PROMOTION_X64)


def test_python_scalars_are_weak():
    inputs = {name: np.ones(2, DTYPES[name]) for name in WEAK_SCALARS_X32}
    traced = mlax.jit(lambda xs: {name: (x + 1, x + 1.0) for name, x in xs.items()})(inputs)
    for name, expected in WEAK_SCALARS_X32.items():
        for result, (dtype, weak) in zip(traced[name], expected):
            assert (result.dtype, result.weak_type) == (np.dtype(DTYPES[dtype]), weak), name
            assert_matches(result, np.full(2, 2), dtype=DTYPES[dtype])
        assert mnp.result_type(inputs[name], 1j) == DTYPES[expected[2][0]]
    for eager, (dtype, weak) in zip((mnp.asarray(np.int8([1])) + 1.0, np.float16([1]) + mnp.asarray(1.0)),
                                    (("f32", True), ("f16", False))):
        assert (eager.dtype, eager.weak_type) == (np.dtype(DTYPES[dtype]), weak)
    assert mnp.asarray(2.0).weak_type and not mnp.asarray(np.float32(2)).weak_type
    assert_matches(mnp.add(1, 2), np.int32(3))
    assert mnp.add(1, 2.0).weak_type and mnp.add(1, 2.0).dtype == np.float32
    # Weak values keep the dtype of the array they meet.
    assert (mnp.asarray(3) + np.int8([1])).dtype == np.int8
    assert (mnp.asarray(3.0) + np.int8([1])).dtype == np.float32
    assert (mnp.asarray(2.5) * np.float16([1]) + 1).dtype == np.float16
    assert (mlax.jit(lambda x: x * 2.5 + 1)(np.float16([1, 2]))).dtype == np.float16


def test_weak_type_survives_elementwise_functions():
    half = np.float16([1, 2])
    for fn in (mnp.reciprocal, mnp.deg2rad, mnp.sinc, mnp.sqrt, mnp.exp, mnp.negative, mnp.square,
               lambda x: mnp.logaddexp(x, x), lambda x: mnp.floor_divide(x, 2), lambda x: mnp.remainder(x, 2)):
        weak = fn(mnp.asarray(2.0))
        assert weak.weak_type, fn
        assert (weak * half).dtype == np.float16, fn
    assert (mnp.floor_divide(3, 2) + np.int8([1])).dtype == np.int8


def test_numpy_scalars_and_arrays_are_strong():
    assert (mnp.asarray(np.int8([1, 2])) + np.int32(2)).dtype == np.int32
    assert (mnp.asarray(np.float16([1, 2])) + np.float32(2)).dtype == np.float32
    # float64 NumPy data is float32 without x64.
    assert_matches(mnp.asarray(np.float16([1, 2])) + np.ones(2), np.float32([2, 3]))
    assert_matches(mnp.asarray(np.int8([1, 2])) + np.arange(2), np.int32([1, 3]))


def test_integer_and_bool_math():
    ints = np.array([1, 2, 4], np.int8)
    flags = np.array([True, False, True])
    assert_matches(mnp.sqrt(ints), np.sqrt(ints.astype(np.float32)))
    assert_matches(mnp.true_divide(ints, ints), np.ones(3), dtype=np.float32)
    assert_matches(mnp.mean(ints.astype(np.uint8)), np.mean(ints), dtype=np.float32)
    assert_matches(mnp.add(flags, flags), flags)
    assert_matches(mnp.multiply(flags, ints), flags * ints)
    assert_matches(mnp.asarray(flags) ** 2, flags.astype(np.int32))
    assert_matches(mnp.square(flags), flags.astype(np.int32))
    assert_matches(mnp.asarray(ints) + 300, (ints.astype(np.int32) + 300).astype(np.int8))
    with pytest.raises(TypeError, match="bool"):
        mnp.subtract(flags, flags)


def test_half_precision_arithmetic_stays_half():
    x = np.array([0.5, 1.5, -2.25], np.float32)
    for dtype in (np.float16, mnp.bfloat16.dtype):
        half = x.astype(dtype)
        for out in (mnp.asarray(half) * 2.5, mnp.exp(half), mnp.sum(half), mlax.jit(lambda h: mnp.tanh(h) + h)(half)):
            assert out.dtype == dtype
        assert_matches(mnp.asarray(half) * 2.5, x * 2.5, dtype=dtype)
        assert_matches(mnp.exp(half), np.exp(x), dtype=dtype)
    assert (mnp.asarray(x.astype(np.float16)) + x.astype(mnp.bfloat16.dtype)).dtype == np.float32


def test_x64_defaults_and_precision(x64):
    assert_matches(mnp.asarray(np.arange(3)), np.arange(3))
    assert_matches(mnp.arange(3), np.arange(3, dtype=np.int64))
    assert_matches(mnp.zeros(2), np.zeros(2))
    assert_matches(mnp.asarray([1.5]), np.array([1.5]))
    assert_matches(mnp.sum(np.int32([1, 2])), np.int64(3))
    assert (mnp.asarray(np.int32([1])) + 1.0).dtype == np.float64
    assert (mnp.asarray(np.float32([1])) + 1.0).dtype == np.float32
    # As in JAX, integers of up to 32 bits compute in float32 even with x64.
    assert mnp.sqrt(np.int32([4])).dtype == np.float32
    assert mnp.mean(np.int32([4])).dtype == np.float32
    assert mnp.sqrt(np.int64([4])).dtype == np.float64
    tiny = mlax.jit(lambda x: (x + 1e-12) - 1.0)(np.ones(2))
    assert_matches(tiny, np.full(2, 1e-12), rtol=1e-3, atol=0)


def test_float64_transcendentals(x64):
    """libm-backed float64 math (IREE links such modules as system libraries), in float64 precision."""
    x = np.array([0.3, 0.7, 0.9])
    for name in ("sin", "cos", "tan", "tanh", "arcsin", "exp", "log", "cbrt"):
        got = getattr(mnp, name)(x)
        assert got.dtype == np.float64, name
        np.testing.assert_allclose(np.asarray(got), getattr(np, name)(x), rtol=1e-13, err_msg=name)
    np.testing.assert_allclose(np.asarray(mnp.arctan2(x, x[::-1])), np.arctan2(x, x[::-1]), rtol=1e-13)


def test_complex_scalar_under_jit():
    assert_matches(mlax.jit(lambda x: x * 1j)(np.float32([1, 2])), np.complex64([1j, 2j]))
