"""lax.reduce_window against jax.lax.reduce_window over small shapes, windows, strides,
paddings and dilations, for add/max/min on float32 and int32, values and derivatives.
Two IREE 3.13 bugs used to make some of these fail to compile (see _covered in
mlax/ops/convolution.py): a single window position along an axis of a longer padded
operand (a (1, 2) window with strides (1, 2) over a (2, 3) array), and a window as long
as the operand, stride 1, padded n - 1 on one side and also on the other (taken for a scan).
The derivatives also cover windows that do not fit at all (an empty output)."""

import jax
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

import mlax
from mlax import lax

jax.config.update("jax_platforms", "cpu")

MONOIDS = {"add": (lax.add, jax.lax.add), "max": (lax.max, jax.lax.max), "min": (lax.min, jax.lax.min)}


def _init(kind, dtype):
    if kind == "add":
        return dtype.type(0)
    if dtype.kind == "f":
        return dtype.type(-np.inf if kind == "max" else np.inf)
    info = np.iinfo(dtype)
    return dtype.type(info.min if kind == "max" else info.max)


def _operand(shape, dtype):
    """Distinct values (no ties for max/min), small enough that int32 sums stay exact."""
    values = np.random.default_rng(len(shape) + sum(shape)).permutation(int(np.prod(shape))).reshape(shape) - 5
    return (values * 0.25).astype(dtype) if dtype.kind == "f" else values.astype(dtype)


@st.composite
def windows(draw, max_rank=2):
    rank = draw(st.integers(1, max_rank))

    def per_axis(lo, hi):
        return draw(st.tuples(*[st.integers(lo, hi)] * rank))

    shape, window, strides = per_axis(1, 5), per_axis(1, 3), per_axis(1, 3)
    base, dilation = per_axis(1, 2), per_axis(1, 2)
    padding = draw(st.one_of(st.sampled_from(["VALID", "SAME"]),
                             st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * rank).map(list)))
    return dict(shape=shape, window=window, strides=strides, padding=padding, base_dilation=base,
                window_dilation=dilation)


def _args(c):
    return c["window"], c["strides"], c["padding"], c["base_dilation"], c["window_dilation"]


FORMERLY_FAILING = [
    # One window per row, the last column in none (once listed in docs/compatibility.md).
    dict(shape=(2, 3), window=(1, 2), strides=(1, 2), padding="VALID", base_dilation=(1, 1), window_dilation=(1, 1)),
    # NHWC pooling of a 3x3 map by 2x2 windows, stride 2.
    dict(shape=(1, 3, 3, 2), window=(1, 2, 2, 1), strides=(1, 2, 2, 1), padding="VALID",
         base_dilation=(1, 1, 1, 1), window_dilation=(1, 1, 1, 1)),
    # A padded, base-dilated operand with one window position along its second axis.
    dict(shape=(1, 3), window=(1, 3), strides=(2, 3), padding=[(2, 1), (0, 1)], base_dilation=(2, 1),
         window_dilation=(1, 1)),
    # A window as long as the operand, padded n - 1 below and 1 above (IREE's scan pattern).
    dict(shape=(3,), window=(3,), strides=(1,), padding=[(2, 1)], base_dilation=(1,), window_dilation=(1,)),
    dict(shape=(2, 2), window=(1, 2), strides=(1, 1), padding=[(0, 0), (2, 1)], base_dilation=(1, 1),
         window_dilation=(1, 1)),
    # The same with negative padding above.
    dict(shape=(3,), window=(3,), strides=(1,), padding=[(2, -1)], base_dilation=(1,), window_dilation=(1,)),
]


@pytest.mark.parametrize("c, kind, dtype", [(c, kind, dtype) for c, (kind, dtype) in zip(FORMERLY_FAILING, [
    ("add", "float32"), ("max", "float32"), ("min", "int32"), ("add", "int32"), ("max", "int32"), ("min", "float32")])])
def test_formerly_failing_windows_match_jax(c, kind, dtype):
    dtype = np.dtype(dtype)
    x, init = _operand(c["shape"], dtype), _init(kind, dtype)
    expected = np.asarray(jax.lax.reduce_window(x, init, MONOIDS[kind][1], *_args(c)))
    np.testing.assert_array_equal(mlax.jit(lambda x: lax.reduce_window(x, init, MONOIDS[kind][0], *_args(c)))(x),
                                  expected)


def test_the_documented_case_eagerly_and_through_the_builders():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(lax.reduce_window(x, 0.0, lax.add, (1, 2), (1, 2), "VALID"), [[1], [7]])
    attrs = dict(window_dimensions=(1, 2), window_strides=(1, 2), padding_low=(0, 0), padding_high=(0, 0),
                 base_dilation=(1, 1), window_dilation=(1, 1))
    np.testing.assert_array_equal(lax.reduce_window_sum(x, **attrs), [[1], [7]])
    np.testing.assert_array_equal(lax.reduce_window_max(x, **attrs), [[1], [4]])
    np.testing.assert_array_equal(lax.reduce_window_min(x, **attrs), [[0], [3]])


# Each example is a few windows computed by one jitted program: compiling dominates the time.
VALUE_CASES = st.lists(st.tuples(windows(), st.sampled_from(sorted(MONOIDS)), st.sampled_from(["float32", "int32"])),
                       min_size=1, max_size=3)
DERIVATIVE_CASES = st.lists(st.tuples(windows(), st.sampled_from(["add", "max"])), min_size=1, max_size=2)


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(cases=VALUE_CASES)
@example(cases=[(FORMERLY_FAILING[0], "add", "float32"), (FORMERLY_FAILING[3], "max", "int32")])
def test_reduce_window_matches_jax(cases):
    xs, inits = [], []
    for c, kind, dtype in cases:
        xs.append(_operand(c["shape"], np.dtype(dtype)))
        inits.append(_init(kind, np.dtype(dtype)))
    expected = [jax.lax.reduce_window(x, init, MONOIDS[kind][1], *_args(c))
                for x, init, (c, kind, _) in zip(xs, inits, cases)]
    got = mlax.jit(lambda *xs: [lax.reduce_window(x, init, MONOIDS[kind][0], *_args(c))
                                for x, init, (c, kind, _) in zip(xs, inits, cases)])(*xs)
    for g, e, case in zip(got, expected, cases):
        np.testing.assert_array_equal(g, e, err_msg=str(case))


@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(cases=DERIVATIVE_CASES)
@example(cases=[(FORMERLY_FAILING[0], "add"), (FORMERLY_FAILING[0], "max"), (FORMERLY_FAILING[2], "max"),
                (FORMERLY_FAILING[3], "add"), (FORMERLY_FAILING[1], "max")])
def test_reduce_window_derivatives_match_jax(cases):
    """vjp and jvp of sum and max windows, all under one jit."""
    def f(lax_, c, kind):
        op = MONOIDS[kind][0 if lax_ is lax else 1]
        return lambda x: lax_.reduce_window(x, _init(kind, np.dtype(np.float32)), op, *_args(c))

    xs = [_operand(c["shape"], np.dtype(np.float32)) for c, _ in cases]
    tangents = [np.random.default_rng(1).standard_normal(x.shape).astype(np.float32) for x in xs]
    outs, expected_jvps = zip(*[jax.jvp(f(jax.lax, c, kind), (x,), (t,)) for x, t, (c, kind) in zip(xs, tangents,
                                                                                                    cases)])
    cts = [np.random.default_rng(0).standard_normal(out.shape).astype(np.float32) for out in outs]
    fns = [f(lax, c, kind) for c, kind in cases]  # held: mlax's transformations keep weak references

    def both(xs, cts, tangents):
        return [(mlax.vjp(g, x)[1](ct)[0], mlax.jvp(g, (x,), (t,))[1]) for g, x, ct, t in zip(fns, xs, cts, tangents)]

    for (got_vjp, got_jvp), x, ct, out, expected_jvp, (c, kind) in zip(mlax.jit(both)(xs, cts, tangents), xs, cts,
                                                                       outs, expected_jvps, cases):
        if kind == "add" or set(c["window_dilation"]) == {1}:  # JAX has no max-pool VJP with window dilation
            expected_vjp, = jax.vjp(f(jax.lax, c, kind), x)[1](ct)
            np.testing.assert_allclose(got_vjp, expected_vjp, rtol=1e-5, atol=1e-6, err_msg=str((c, kind)))
        # A max over padding alone is -inf; its tangent is compared only where the value is finite.
        finite = np.isfinite(np.asarray(out))
        np.testing.assert_allclose(np.asarray(got_jvp)[finite], np.asarray(expected_jvp)[finite], rtol=1e-5,
                                   atol=1e-6, err_msg=str((c, kind)))
