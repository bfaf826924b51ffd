"""mlax.lax's functions against jax.lax's on the same inputs. Elementwise functions are lists
of names, compared at derandomized hypothesis inputs with the special values mixed in (as
in test_functions.py); every other function is a row of ROWS, `name: (fn, build)`, where
`fn(lax, *args)` runs with mlax.lax and with jax.lax and `build(draw)` makes its arguments
from a Draw (special-valued floats, or smooth ones without ties for the derivative tests).
Rows named in DIFFERENTIABLE also have their first derivative and the four second-order
mode combinations compared (all five under one jit, which compiles once). Adding a
function is one entry."""

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax

from ._oracle import marked, on_both
from .test_functions import SPECIAL, _close, _modes
from .test_special_points import assert_same

jax.config.update("jax_platforms", "cpu")

# The lax functions whose semantics jax.numpy's do not carry over (round away from zero, rem
# with the dividend's sign, ...) or that jax.numpy lacks; the others (sin, exp, add, ...) are
# what jax.numpy's functions call, compared in test_functions.py.
UNARY = ["sign", "round", "exp2", "logistic", "rsqrt", "cbrt", "is_finite", "erf", "erf_inv", "lgamma", "digamma"]
BINARY = ["div", "rem", "pow", "max", "min", "atan2"]
INT_UNARY = ["abs", "neg", "sign", "square", "bitwise_not"]
INT_BINARY = ["add", "sub", "mul", "div", "rem", "max", "min", "bitwise_and", "bitwise_or", "bitwise_xor",
              "shift_left", "shift_right_arithmetic", "shift_right_logical", "eq", "lt", "ge"]
# Smooth on (-2, 2) (after DOMAIN): their derivatives are compared too. (The ones jax.numpy
# calls, sin, exp, pow, max, ..., are compared through it in test_functions.py.)
DIFFERENTIABLE_ELEMENTWISE = ["logistic", "rsqrt", "erf", "erf_inv", "lgamma", "digamma", "rem"]
DOMAIN = {"log": lambda x: np.abs(x) + 0.1, "sqrt": lambda x: np.abs(x) + 0.1, "rsqrt": lambda x: np.abs(x) + 0.1,
          "asin": lambda x: x / 2.5, "erf_inv": lambda x: x / 2.5, "lgamma": lambda x: np.abs(x) + 0.5,
          "digamma": lambda x: np.abs(x) + 0.5, "reciprocal": lambda x: np.sign(x) * (np.abs(x) + 0.5),
          "pow": lambda x: np.abs(x) + 0.1, "cbrt": lambda x: np.sign(x) * (np.abs(x) + 0.1)}

ints = st.one_of(st.sampled_from([0, 1, -1, 2, 31, 32, 33, -32, 2 ** 31 - 1, -2 ** 31]), st.integers(-100, 100))
# Subnormals are flushed to zero by IREE's CPU code (docs/compatibility.md): left out.
finite = st.floats(-100, 100, width=32, allow_subnormal=False)
values = st.one_of(st.sampled_from(SPECIAL), finite)
# Reductions, scans and products add and multiply in another order than XLA: values near
# overflow cancel or overflow differently there, so their rows draw from `moderate`.
moderate = st.one_of(st.sampled_from([v for v in SPECIAL if abs(v) != 1e30]), finite)
smooth = st.floats(-2, 2, width=32).filter(lambda v: abs(v) > 1e-3)
EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None)
FEW = settings(max_examples=3, deadline=None, derandomize=True, database=None)
ELEMENTS = 8
FIXED = np.array([0.0, -0.0, 1.5, -2.0, np.inf, np.nan], np.float32)


def _array(elements, shape, dtype, unique=False):
    size = math.prod(shape)
    return st.lists(elements, min_size=size, max_size=size, unique=unique).map(
        lambda v: np.array(v, dtype).reshape(shape))


class Draw:
    """Arguments for a row: `f` floats with the special values mixed in, `m` moderate ones
    (no values near overflow), `i` integers in [lo, hi]; with smooth=True, both float kinds
    are distinct values in (-2, 2), away from kinks and ties."""

    def __init__(self, data, smooth=False):
        self.data, self.smooth = data, smooth

    def f(self, *shape):
        return self.data.draw(_array(smooth, shape, np.float32, unique=True) if self.smooth else
                              _array(values, shape, np.float32))

    def m(self, *shape):
        return self.data.draw(_array(smooth, shape, np.float32, unique=True) if self.smooth else
                              _array(moderate, shape, np.float32))

    def i(self, *shape, lo=-5, hi=5):
        return self.data.draw(_array(st.integers(lo, hi), shape, np.int32))


def _i32(*v):
    return np.array(v, np.int32)


def _gather_numbers(lax, offset, collapsed, start):
    return lax.GatherDimensionNumbers(offset_dims=offset, collapsed_slice_dims=collapsed, start_index_map=start)


def _scatter_numbers(lax, window, inserted, to_operand):
    return lax.ScatterDimensionNumbers(update_window_dims=window, inserted_window_dims=inserted,
                                       scatter_dims_to_operand_dims=to_operand)


# x[rows] and x.at[rows] as jnp writes them: index vectors along the last axis of the indices.
ROW_INDICES = _i32([0], [3], [1], [3])
UNIQUE_ROWS = _i32([4], [0], [2])
OUT_OF_BOUNDS_ROWS = _i32([-1], [2], [7], [0])
DUPLICATE_ROWS = _i32([0], [3], [0], [6], [-1], [3])

ROWS = {
    # Shapes
    "broadcast_in_dim": (lambda lax, x: lax.broadcast_in_dim(x, (2, 3, 4), (1,)), lambda d: (d.f(3),)),
    "reshape": (lambda lax, x: lax.reshape(x, (4, 6)), lambda d: (d.f(2, 3, 4),)),
    "transpose": (lambda lax, x: lax.transpose(x, (2, 0, 1)), lambda d: (d.f(2, 3, 4),)),
    "rev": (lambda lax, x: lax.rev(x, (0, 1)), lambda d: (d.f(3, 4),)),
    "pad": (lambda lax, x: lax.pad(x, np.float32(-1.5), ((1, 2, 0), (0, 1, 0))), lambda d: (d.f(3, 4),)),
    "pad negative": (lambda lax, x: lax.pad(x, np.float32(0), ((-1, 2, 0), (2, -2, 0))), lambda d: (d.f(3, 4),)),
    "pad interior and negative": (lambda lax, x: lax.pad(x, np.float32(9), ((-2, 1, 2), (1, -3, 1))),
                                  lambda d: (d.f(3, 4),)),
    "slice strided": (lambda lax, x: lax.slice(x, (1, 0), (5, 5), (2, 3)), lambda d: (d.f(5, 6),)),
    "slice_in_dim": (lambda lax, x: lax.slice_in_dim(x, 1, 6, 2, axis=1), lambda d: (d.f(3, 6),)),
    # IREE folded a pad of an interior pad (a strided slice's transpose) into one without it.
    "strided slice of a slice": (lambda lax, x: lax.slice(lax.slice(x, (1,), (7,)), (0,), (6,), (2,)),
                                 lambda d: (d.f(8),)),
    # Negative starts count from the end, then starts are clamped so that the slice fits.
    "dynamic_slice clamped": (lambda lax, x, i, j: lax.dynamic_slice(x, (i, j), (3, 2)),
                              lambda d: (d.f(5, 6), d.i(lo=-9, hi=9), d.i(lo=-9, hi=9))),
    "dynamic_slice allow_negative_indices": (lambda lax, x, i, j: lax.dynamic_slice(
        x, (i, j), (3, 2), allow_negative_indices=(False, True)), lambda d: (d.f(5, 6), d.i(lo=-9, hi=9),
                                                                           d.i(lo=-9, hi=9))),
    "dynamic_index_in_dim": (lambda lax, x, i: lax.dynamic_index_in_dim(x, i, axis=1, keepdims=False),
                             lambda d: (d.f(3, 4), d.i(lo=-5, hi=5))),
    "dynamic_update_slice": (lambda lax, x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
                             lambda d: (d.f(5, 6), d.f(2, 3), d.i(lo=-3, hi=7), d.i(lo=-3, hi=7))),
    "concatenate": (lambda lax, x, y, z: lax.concatenate([x, y, z], 0), lambda d: (d.f(2, 3), d.f(1, 3), d.f(3, 3))),
    "squeeze": (lambda lax, x: lax.squeeze(x, (0, 2)), lambda d: (d.f(1, 3, 1),)),
    "expand_dims": (lambda lax, x: lax.expand_dims(x, (0, 2)), lambda d: (d.f(3, 2),)),
    "select": (lambda lax, x, y: lax.select(lax.gt(y, x), x, y), lambda d: (d.f(6), d.f(6))),
    "clamp": (lambda lax, lo, x: lax.clamp(lo, x, lax.add(lo, 1.5)), lambda d: (d.f(6), d.f(6))),
    # (XFAIL rows take fixed arguments: hypothesis would shrink drawn ones on every run.)
    "clamp with scalar bounds": (lambda lax, x: lax.clamp(np.float32(-1), x, np.float32(2)), lambda d: (FIXED,)),
    "add with a 0-d operand": (lambda lax, x: [lax.add(x, np.float32(1.5)), lax.mul(np.array(2, np.float32), x)],
                               lambda d: (FIXED,)),
    "sub with axes of size 1": (lambda lax, x, y: [lax.sub(x, y), lax.max(y, x), lax.mul(x[:1], y)],
                                lambda d: (d.f(2, 3), d.f(2, 1))),
    "iota and broadcasted_iota": (lambda lax: [lax.iota(np.int32, 5), lax.broadcasted_iota(np.float32, (2, 3), 1)],
                                  lambda d: ()),
    "convert_element_type to bfloat16": (lambda lax, x: lax.convert_element_type(x, jax.numpy.bfloat16),
                                         lambda d: (d.f(ELEMENTS),)),
    "convert_element_type of int32": (lambda lax, i: [lax.convert_element_type(i, np.dtype(t))
                                                      for t in ("float32", "int8", "uint16", "bool")],
                                      lambda d: (d.i(6, lo=-300, hi=300),)),
    **{f"bitcast_convert_type to {t}": (lambda lax, x, t=t: lax.bitcast_convert_type(x, np.dtype(t)),
                                        lambda d: (d.f(ELEMENTS),)) for t in ("int32", "uint32")},
    **{f"bitcast_convert_type to {t}": (lambda lax, x, t=t: lax.bitcast_convert_type(x, np.dtype(t)),
                                        lambda d: (FIXED,)) for t in ("uint16", "uint8")},
    "bitcast_convert_type of uint16 pairs": (lambda lax, i: lax.bitcast_convert_type(i, np.float32), lambda d: (
        np.array([[0, 16256], [65535, 32640], [1, 49152]], np.uint16),)),
    # Reductions
    **{f"{name} over {axes}": (lambda lax, x, name=name, axes=axes: getattr(lax, name)(x, axes), lambda d: (d.m(3, 4),))
       for name, axes in (("reduce_sum", (0,)), ("reduce_max", (1,)), ("reduce_min", (0, 1)), ("reduce_prod", (1,)))},
    **{f"{name} axis {axis}": (lambda lax, x, name=name, axis=axis: getattr(lax, name)(x, axis, np.int32),
                               lambda d: (d.f(3, 4),)) for name, axis in (("argmax", 0), ("argmin", 1))},
    "reduce_and and reduce_or": (lambda lax, x: [lax.reduce_and(lax.gt(x, 0.0), (1,)),
                                                 lax.reduce_or(lax.gt(x, 0.0), (0,))], lambda d: (d.f(3, 4),)),
    # reduce_and of an unsigned dtype starts from all bits set (its lowering took -1, out of range)
    **{f"bitwise reduce_and and reduce_or of {t}": (lambda lax, i: [lax.reduce_and(i, (1,)), lax.reduce_or(i, (0,))],
                                                    lambda d, t=t: (d.i(3, 4, lo=0, hi=1000).astype(t),))
       for t in ("uint32", "uint8", "int32")},
    # Scans and sorting
    **{f"{name} axis {axis}{' reverse' if reverse else ''}": (
        lambda lax, x, name=name, axis=axis, reverse=reverse: getattr(lax, name)(x, axis=axis, reverse=reverse),
        lambda d: (d.m(3, 4),)) for name, axis, reverse in (
            ("cumsum", 0, False), ("cumsum", 1, True), ("cumprod", 0, False), ("cummax", 1, False),
            ("cummax", 0, True), ("cummin", 0, True))},
    "sort": (lambda lax, x: lax.sort(x, dimension=1), lambda d: (d.f(3, 5),)),
    "sort axis 0": (lambda lax, x: lax.sort(x, dimension=0), lambda d: (d.f(4, 3),)),
    "sort with ties and zeros": (lambda lax, x: lax.sort(x), lambda d: (np.array(
        [0.0, -0.0, 1.0, np.nan, -np.inf, 1.0, -0.0, 0.0, np.inf, -1.0], np.float32),)),
    "sort of several operands": (lambda lax, x, i: lax.sort((x, i), num_keys=1), lambda d: (d.f(6), d.i(6))),
    "sort_key_val": (lambda lax, x, y: lax.sort_key_val(x, y, dimension=0), lambda d: (d.f(5, 2), d.f(5, 2))),
    "top_k": (lambda lax, x: lax.top_k(x, 3), lambda d: (d.f(2, 6),)),
    "top_k of ties": (lambda lax, x: lax.top_k(x, 4), lambda d: (np.array([1, 3, 1, 3, np.nan, 0, -0.0, 3],
                                                                          np.float32),)),
    # Contractions and windows
    "dot": (lambda lax, x, y: lax.dot(x, y), lambda d: (d.m(3, 4), d.m(4, 2))),
    "dot_general": (lambda lax, x, y: lax.dot_general(x, y, (((0,), (1,)), ((), ()))), lambda d: (d.m(4, 3),
                                                                                                   d.m(2, 4))),
    "dot_general with batch dims": (lambda lax, x, y: lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
                                    lambda d: (d.m(2, 3, 4), d.m(2, 4, 5))),
    "conv_general_dilated": (lambda lax, x, w: lax.conv_general_dilated(
        x, w, (1, 2), ((1, 0), (0, 1)), rhs_dilation=(1, 2), dimension_numbers=("NHWC", "HWIO", "NHWC")),
        lambda d: (d.m(1, 5, 6, 2), d.m(2, 2, 2, 3))),
    "reduce_window sum": (lambda lax, x: lax.reduce_window(x, np.float32(0), lax.add, (2, 2), (1, 1), "VALID"),
                          lambda d: (d.m(4, 5),)),
    "reduce_window sum from 1": (lambda lax, x: lax.reduce_window(x, np.float32(1), lax.add, (2,), (1,),
                                                                  ((1, 1),)), lambda d: (d.m(6),)),
    "reduce_window max SAME": (lambda lax, x: lax.reduce_window(x, np.float32(-np.inf), lax.max, (3, 2), (1, 1),
                                                                "SAME"), lambda d: (d.f(4, 5),)),
    "reduce_window min dilated": (lambda lax, x: lax.reduce_window(x, np.float32(np.inf), lax.min, (2,), (1,),
                                                                   ((0, 1),), window_dilation=(2,)),
                                  lambda d: (d.f(7),)),
    # Gather and scatter, as x[rows], x[:, rows], x[i, j] and x.at[rows] index them
    "gather rows": (lambda lax, x: lax.gather(x, ROW_INDICES, _gather_numbers(lax, (1,), (0,), (0,)), (1, 4)),
                    lambda d: (d.f(5, 4),)),
    "gather columns": (lambda lax, x: lax.gather(x, ROW_INDICES, _gather_numbers(lax, (0,), (1,), (1,)), (5, 1)),
                       lambda d: (d.f(5, 4),)),
    "gather points": (lambda lax, x: lax.gather(x, _i32([0, 1], [4, 3], [2, 0]), _gather_numbers(lax, (), (0, 1),
                                                                                                   (0, 1)), (1, 1)),
                      lambda d: (d.f(5, 4),)),
    "gather windows": (lambda lax, x: lax.gather(x, _i32([0], [2]), _gather_numbers(lax, (1, 2), (), (0,)), (2, 4)),
                       lambda d: (d.f(5, 4),)),
    **{f"gather out of bounds {mode}": (lambda lax, x, mode=mode: lax.gather(
        x, OUT_OF_BOUNDS_ROWS, _gather_numbers(lax, (1,), (0,), (0,)), (1, 4), mode=mode), lambda d: (d.f(5, 4),))
       for mode in ("clip", "fill")},
    "scatter": (lambda lax, x, u: lax.scatter(x, UNIQUE_ROWS, u, _scatter_numbers(lax, (1,), (0,), (0,))),
                lambda d: (d.f(5, 4), d.f(3, 4))),
    **{f"{name} with duplicates and out of bounds": (lambda lax, x, u, name=name: getattr(lax, name)(
        x, DUPLICATE_ROWS, u, _scatter_numbers(lax, (1,), (0,), (0,))), lambda d: (d.m(5, 4), d.m(6, 4)))
       for name in ("scatter_add", "scatter_mul", "scatter_max")},
    "scatter_add clip": (lambda lax, x, u: lax.scatter_add(x, OUT_OF_BOUNDS_ROWS, u, _scatter_numbers(
        lax, (1,), (0,), (0,)), mode="clip"), lambda d: (d.m(5, 4), d.m(4, 4))),
    # Control flow
    "cond": (lambda lax, x: lax.cond(lax.reduce_sum(x, (0,)) > 0, lambda v: lax.sin(v) * v, lambda v: lax.neg(v), x),
             lambda d: (d.m(4),)),
    "cond on an integer": (lambda lax, x, i: lax.cond(i, lambda v: v * 2.0, lambda v: v - 1.0, x),
                           lambda d: (d.m(4), d.i(lo=-2, hi=2))),
    "switch": (lambda lax, x, i: lax.switch(i, [lambda v: v + 1.0, lambda v: lax.exp(v), lambda v: v * v], x),
               lambda d: (d.m(4), d.i(lo=-3, hi=5))),
    "while_loop": (lambda lax, x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, lax.sin(c[1]) * 1.5 + 1.0),
                                                 (0, x))[1], lambda d: (d.m(4),)),
    "while_loop of data": (lambda lax, x: lax.while_loop(lambda c: lax.reduce_sum(c, (0,)) < 100.0,
                                                         lambda c: c * 2.0 + 1.0, lax.abs(x)), lambda d: (d.m(3),)),
    "fori_loop": (lambda lax, x: lax.fori_loop(0, 4, lambda i, c: lax.sin(c) * c + lax.convert_element_type(
        i, np.float32), x), lambda d: (d.m(3),)),
    "fori_loop with array bounds": (lambda lax, x, n: lax.fori_loop(np.int32(1), n, lambda i, c: c * 0.5 + 1.0, x),
                                    lambda d: (d.m(3), d.i(lo=-1, hi=6))),
    "scan": (lambda lax, x: lax.scan(lambda c, a: (c * a + 1.0, lax.sin(c) + a), np.float32(0.5), x), lambda d: (
        d.m(5),)),
    "scan reverse unrolled": (lambda lax, x: lax.scan(lambda c, a: (c * lax.cos(a), c - a), np.float32(1.0), x,
                                                      reverse=True, unroll=2), lambda d: (d.m(5),)),
    "scan of pytrees": (lambda lax, x, y: lax.scan(lambda c, a: ({"s": c["s"] + a[0] * a[1], "n": c["n"] + 1},
                                                                 (a[0] * c["s"], c["n"])),
                                                   {"s": np.zeros(2, np.float32), "n": np.int32(0)}, (x, y)),
                        lambda d: (d.m(4, 2), d.m(4, 2))),
    "scan without xs": (lambda lax, x: lax.scan(lambda c, _: (lax.sin(c) + c, c * 2.0), x, None, length=3),
                        lambda d: (d.m(2),)),
    "map": (lambda lax, x: lax.map(lambda r: lax.reduce_sum(lax.tanh(r), (0,)) * r, x), lambda d: (d.m(3, 2),)),
    "stop_gradient": (lambda lax, x: lax.mul(x, lax.stop_gradient(lax.sin(x))), lambda d: (d.f(ELEMENTS),)),
    # Elementwise rows with arguments of their own
    "integer_pow": (lambda lax, x: [lax.integer_pow(x, n) for n in (-3, 0, 2, 7)], lambda d: (d.f(ELEMENTS),)),
    # Positive x: the negative half is an XFAIL row.
    "polygamma": (lambda lax, x: [lax.polygamma(lax.full(x.shape, m, np.float32), lax.abs(x)) for m in (1, 2)],
                  lambda d: (d.f(ELEMENTS),)),
    "polygamma of negatives": (lambda lax, x: [lax.polygamma(lax.full(x.shape, m, np.float32), x) for m in (1, 2)],
                               lambda d: (np.array([-0.5, -1.5, -2.5, -10.25], np.float32),)),
    "polygamma 0 at 0": (lambda lax, x: lax.polygamma(lax.full(x.shape, 0, np.float32), x),
                         lambda d: (np.array([0.0, -0.0, 2.0], np.float32),)),
    # Halfway cases, poles and the points next to them, where implementations differ.
    **{f"round halfway cases {method}": (lambda lax, x, method=method: lax.round(x, method), lambda d: (np.array(
        [0.5, 1.5, 2.5, -0.5, -2.5, 3.0, -0.0, 0.49999997, 8388609.0], np.float32),)) for method in (0, 1)},
    "digamma at its poles": (lambda lax, x: lax.digamma(x), lambda d: (np.array([0.0, -0.0, -1.0, -2.0, 1.0],
                                                                               np.float32),)),
    "digamma of negatives near its poles": (lambda lax, x: lax.digamma(x), lambda d: (np.array(
        [-1e-30, -1e-10, -1e-5, -2.0001, -0.5], np.float32),)),
    "complex, real, imag, conj": (lambda lax, x, y: [lax.complex(x, y), lax.real(lax.complex(x, y)),
                                                     lax.imag(lax.complex(x, y)), lax.conj(lax.complex(x, y))],
                                  lambda d: (d.f(ELEMENTS), d.f(ELEMENTS))),
}

# Math with results rounded in IREE's and XLA's own ways, and sums and products in another order.
INEXACT = {name for name in ROWS if name.startswith(("reduce_sum", "reduce_prod", "cumsum", "cumprod", "dot",
                                                     "conv", "reduce_window sum", "scatter_add", "scatter_mul",
                                                     "integer_pow", "polygamma", "cond", "switch", "while_loop",
                                                     "fori_loop", "scan", "map", "stop_gradient"))}

DIFFERENTIABLE = ["pad interior and negative", "strided slice of a slice", "dynamic_slice clamped",
                  "dynamic_update_slice", "clamp", "reduce_max over (1,)", "cumsum axis 1 reverse", "cumprod axis 0",
                  "cummax axis 1", "sort", "top_k", "dot_general with batch dims", "conv_general_dilated",
                  "reduce_window max SAME", "gather rows", "scatter_add with duplicates and out of bounds",
                  # Control flow (cond is a switch of two branches, map and a fori_loop of static bounds
                  # are scans; each costs 5 to 30 s to compile): a fori_loop of traced bounds is a while loop.
                  "switch", "scan", "fori_loop with array bounds"]
# While loops (a fori_loop of traced bounds) have forward-mode derivatives only, in JAX too.
FORWARD_ONLY = {"fori_loop with array bounds"}

XFAIL = {
    "jvp-of-vjp and vjp-of-jvp through map together": "IREE 3.13's multi-use fusion miscompiles a program returning "
                                                      "both (tests/runtime/test_multi_use_fusion.py)",
    "polygamma of negatives": "mlax.lax.polygamma(m >= 1, x) is NaN for negative non-integer x (JAX: "
                              "polygamma(1, -0.5) = 8.93)",
}


# Programs IREE compiled wrong (fixed in mlax's lowering and runtime, or XFAIL): they only
# show under jit, where ops fuse (eager ops run one by one). name -> fn(lib, x).
JIT_ROWS = {
    "sum of a negated constant": lambda lib, x: lib.jit(lambda v: [
        lib.lax.reduce_sum(lib.lax.neg(lib.lax.full((2, 3), 2.0, np.float32)), (1,)) + v[0],
        lib.lax.reduce_sum(lib.lax.sqrt(lib.numpy.full((2, 3), 4.0)), (0, 1)) + v[0],
        lib.lax.reduce_sum(lib.lax.convert_element_type(lib.numpy.ones((2, 3), np.int32), np.float32), (1,))])(x),
    "grad of the sum of x minus a broadcast c": lambda lib, x: lib.grad(
        lambda c: (x.reshape(2, 3) - c).sum())(x.reshape(2, 3)[:, :1]),
    "grad of a strided slice of a slice": lambda lib, x: lib.jit(lib.grad(
        lambda v: (lib.numpy.sin(v)[1:5][::2] * np.float32(3)).sum()))(x),
    "second-order modes through a transpose together": lambda lib, x: lib.jit(lambda v, t: [
        _modes(lib, lambda u: _weighted_cube(lib, lib.lax.transpose(u, (1, 0))), v, t)[m]
        for m in ("jvp.vjp", "vjp.jvp", "vjp.vjp")])(x.reshape(2, 3), np.linspace(0.5, 1.5, 6, dtype=np.float32
                                                                                   ).reshape(2, 3)),
    "jvp-of-vjp and vjp-of-jvp through map together": lambda lib, x: _hessian_products(lib, "map", x.reshape(3, 2)),
    "jvp and jvp-of-jvp through while_loop together": lambda lib, x: lib.jit(lambda v, t: _forward_modes(
        lib, lambda u: _weighted_cube(lib, ROWS["while_loop"][0](lib.lax, u)), v, t))(x[:4], x[2:]),
}


def _hessian_products(lib, name, x):
    """jvp-of-vjp and vjp-of-jvp of a row's function, from one program."""
    t = np.linspace(0.5, 1.5, x.size, dtype=np.float32).reshape(x.shape)
    return lib.jit(lambda v, w: [_modes(lib, lambda u: _weighted_cube(lib, ROWS[name][0](lib.lax, u)), v, w)[m]
                                 for m in ("grad", "jvp.vjp", "vjp.jvp")])(x, t)


def _weighted_cube(lib, y):
    """w * y + y ** 3 / 3 of y's entries, with weights w in [1, 2]."""
    flat = lib.numpy.ravel(y)
    return np.linspace(1, 2, flat.shape[0], dtype=np.float32) * flat + flat * flat * flat / 3


def _both(fn, *args):
    return on_both(jax.lax, mlax.lax, fn, *args)


def _agree(got, expected, exact):
    assert str(jax.tree_util.tree_structure(got)) == str(jax.tree_util.tree_structure(expected))
    if exact:
        assert_same(got, expected, exact=True)
    else:
        _close(got, expected)


# (name, number of operands, dtype) of every elementwise function compared at random points.
ELEMENTWISE = ([(n, 1, np.float32) for n in UNARY] + [(n, 2, np.float32) for n in BINARY]
               + [(n, 1, np.int32) for n in INT_UNARY] + [(n, 2, np.int32) for n in INT_BINARY])


@pytest.mark.parametrize("name, arity, dtype", ELEMENTWISE, ids=[f"{n}({d.__name__})" for n, _, d in ELEMENTWISE])
@EXAMPLES
@given(data=st.data())
def test_elementwise(name, arity, dtype, data):
    args = [data.draw(_array(values if dtype == np.float32 else ints, (ELEMENTS,), dtype)) for _ in range(arity)]
    _close(*_both(lambda lax: getattr(lax, name)(*args)))


@pytest.mark.parametrize("name", marked(ROWS, XFAIL))
@FEW
@given(data=st.data())
def test_row(name, data):
    fn, build = ROWS[name]
    args = build(Draw(data))
    _agree(*_both(fn, *args), exact=name not in INEXACT)


# Through control flow the modes are compiled in two programs, so that jvp-of-vjp and vjp-of-jvp
# are never results of one program: IREE 3.13 miscompiles that (XFAIL rows of JIT_ROWS).
ONE_PROGRAM = (("grad", "jvp.jvp", "jvp.vjp", "vjp.jvp", "vjp.vjp"),)
TWO_PROGRAMS = (("grad", "jvp.jvp", "jvp.vjp"), ("vjp.jvp", "vjp.vjp"))
CONTROL_FLOW = {"switch", "scan"}


def _forward_modes(lib, f, x, t):
    """The first and second derivative of sum(f) along t in forward mode (while loops have no other)."""
    scalar = lambda v: f(v).sum()  # noqa: E731
    return {"jvp": lib.jvp(scalar, (x,), (t,))[1],
            "jvp.jvp": lib.jvp(lambda v: lib.jvp(scalar, (v,), (t,))[1], (x,), (t,))[1]}


def _all_modes(lib, fn, x, t, programs=ONE_PROGRAM):
    """`_modes` of fn's floating outputs y, as w * y + y ** 3 / 3 with weights w in [1, 2] (so that
    permutations and linear maps are told apart and have second derivatives; its derivative
    w + y ** 2 never cancels), under jit."""
    def f(v):
        leaves = [lib.numpy.ravel(out) for out in jax.tree_util.tree_leaves(fn(v))
                  if np.issubdtype(out.dtype, np.floating)]
        return _weighted_cube(lib, lib.numpy.concatenate(leaves))
    if programs == "forward":  # one program each: IREE 3.13 fails to compile both in one (an XFAIL row)
        return {m: lib.jit(lambda a, b, m=m: _forward_modes(lib, f, a, b)[m])(x, t) for m in ("jvp", "jvp.jvp")}
    modes = {}
    for names in programs:
        values = lib.jit(lambda a, b, names=names: [_modes(lib, f, a, b)[m] for m in names])(x, t)
        modes.update(zip(names, values))
    return modes


def _compare_modes(name, fn, x):
    t = np.linspace(0.5, 1.5, x.size, dtype=np.float32).reshape(x.shape)
    programs = "forward" if name in FORWARD_ONLY else TWO_PROGRAMS if name in CONTROL_FLOW else ONE_PROGRAM
    expected = _all_modes(jax, lambda v: fn(jax.lax, v), x, t, programs)
    got = _all_modes(mlax, lambda v: fn(mlax.lax, v), x, t, programs)
    for mode in expected:
        # Second derivatives subtract nearly equal terms: float32 rounding in another order
        # moves them by more than first ones (as in test_functions.py).
        np.testing.assert_allclose(got[mode], expected[mode], rtol=1e-3 if "." in mode else 1e-4, atol=1e-5,
                                   err_msg=f"{name} {mode}")


@pytest.mark.parametrize("name", marked(JIT_ROWS, XFAIL))
def test_under_jit(name):
    x = np.array([0.5, -1.25, 2.0, 0.75, -0.5, 1.5], np.float32)
    _close(JIT_ROWS[name](mlax, x), JIT_ROWS[name](jax, x))


@pytest.mark.parametrize("name", marked(DIFFERENTIABLE, XFAIL))
@settings(max_examples=1, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_derivatives_in_all_modes(name, data):
    fn, build = ROWS[name]
    x, *rest = build(Draw(data, smooth=True))
    _compare_modes(name, lambda lax, v: fn(lax, v, *rest), x)


@pytest.mark.parametrize("name", DIFFERENTIABLE_ELEMENTWISE)
@settings(max_examples=1, deadline=None, derandomize=True, database=None)
@given(x=_array(smooth, (5,), np.float32, unique=True))
def test_elementwise_derivatives_in_all_modes(name, x):
    x = DOMAIN.get(name, lambda v: v)(x).astype(np.float32)
    if name in BINARY:
        other = (x[::-1] + 3.0).astype(np.float32)  # away from ties and from zero
        _compare_modes(name, lambda lax, v: getattr(lax, name)(v, other), x)
    else:
        _compare_modes(name, lambda lax, v: getattr(lax, name)(v), x)


def test_abs_of_an_unsigned_int_is_a_type_error_as_in_jax():
    # The op accepted uint32 and its lowering (stablehlo.abs, signed only) failed to verify.
    with pytest.raises(TypeError, match="mlax.abs requires floating-point, complex or signed integer.*uint32"):
        mlax.lax.abs(np.array([1, 5], np.uint32))
    np.testing.assert_array_equal(mlax.numpy.abs(np.array([1, 5], np.uint32)), [1, 5])


def test_round_rejects_an_unknown_rounding_method():
    with pytest.raises(ValueError, match="not a valid RoundingMethod"):
        mlax.lax.round(np.float32(0.5), 2)


def test_bitcast_convert_type_to_a_wider_dtype_needs_the_width_ratio_as_last_axis():
    with pytest.raises(ValueError, match="needs a last axis of 4 elements"):
        mlax.lax.bitcast_convert_type(np.array([1, 2, 3], np.uint8), np.int32)
