"""mlax.nn's functions against jax.nn's on the same inputs: the activations at derandomized
hypothesis inputs with the special values mixed in, exactly at the special points (zeros of
both signs, the kinks, infinities, NaN), and their first derivative and all four second-order
mode combinations at random points and at the kinks (relu'(0) is 0 in both, ...); the
reductions (logsumexp, softmax, ...) and one_hot as rows of arguments. Adding a function is
one entry."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax

from ._oracle import marked, on_both
from .test_functions import SPECIAL, _close, _modes
from .test_special_points import assert_same

jax.config.update("jax_platforms", "cpu")

# name -> fn(nn, x), elementwise
ACTIVATIONS = {
    "relu": lambda nn, x: nn.relu(x),
    "relu6": lambda nn, x: nn.relu6(x),
    "sigmoid": lambda nn, x: nn.sigmoid(x),
    "log_sigmoid": lambda nn, x: nn.log_sigmoid(x),
    "softplus": lambda nn, x: nn.softplus(x),
    "silu": lambda nn, x: nn.silu(x),
    "swish": lambda nn, x: nn.swish(x),
    "gelu": lambda nn, x: nn.gelu(x),
    "gelu approximate=False": lambda nn, x: nn.gelu(x, approximate=False),
    "elu": lambda nn, x: nn.elu(x),
    "elu alpha=0.5": lambda nn, x: nn.elu(x, alpha=0.5),
    "leaky_relu": lambda nn, x: nn.leaky_relu(x),
    "leaky_relu negative_slope=0.2": lambda nn, x: nn.leaky_relu(x, negative_slope=0.2),
}
# Where the activations have kinks or ties: their derivatives there must be JAX's.
KINKS = np.array([0.0, -0.0, 6.0, -6.0], np.float32)
POINTS = np.array(SPECIAL + [6.0, -6.0, 5.5, 6.5, 20.0, -20.0, 88.0, -88.0, 1e-7], np.float32)

# name -> (fn(nn, *args), args)
ROWS = {
    **{f"logsumexp axis={axis} keepdims={keepdims}": (
        lambda nn, x, axis=axis, keepdims=keepdims: nn.logsumexp(x, axis=axis, keepdims=keepdims), "x")
       for axis, keepdims in ((None, False), (0, False), (1, True), ((0, 1), False))},
    "logsumexp with b": (lambda nn, x, b: nn.logsumexp(x, axis=1, b=b), "xb"),
    "logsumexp with b and return_sign": (lambda nn, x, b: nn.logsumexp(x, axis=0, b=b, return_sign=True), "xb"),
    "logsumexp with return_sign keepdims": (lambda nn, x, b: nn.logsumexp(x, b=b, keepdims=True, return_sign=True),
                                            "xb"),
    "log_softmax": (lambda nn, x: nn.log_softmax(x), "x"),
    "log_softmax axis=0": (lambda nn, x: nn.log_softmax(x, axis=0), "x"),
    "softmax": (lambda nn, x: nn.softmax(x), "x"),
    "softmax axis=(0, 1)": (lambda nn, x: nn.softmax(x, axis=(0, 1)), "x"),
    "standardize": (lambda nn, x: nn.standardize(x), "x"),
    "standardize axis=0 with mean and variance": (
        lambda nn, x, b: nn.standardize(x, axis=0, mean=b[:1], variance=b[1:2] * b[1:2], epsilon=0.5), "xb"),
}
DIFFERENTIABLE = ["logsumexp axis=None keepdims=False", "logsumexp with b", "log_softmax", "softmax axis=(0, 1)",
                  "standardize"]

XFAIL = {}

finite = st.floats(-100, 100, width=32, allow_subnormal=False)  # IREE flushes subnormals (docs/compatibility.md)
values = st.one_of(st.sampled_from(SPECIAL), finite)
smooth = st.floats(-3, 3, width=32).filter(lambda v: abs(v) > 1e-2)
EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None)
ONCE = settings(max_examples=1, deadline=None, derandomize=True, database=None)


def _arrays(elements, shape, unique=False):
    size = int(np.prod(shape))
    return st.lists(elements, min_size=size, max_size=size, unique=unique).map(
        lambda v: np.array(v, np.float32).reshape(shape))


def _both(fn, *args):
    return on_both(jax.nn, mlax.nn, fn, *args)


@pytest.mark.parametrize("name", marked(ACTIVATIONS, XFAIL))
@EXAMPLES
@given(x=_arrays(values, (8,)))
def test_activation(name, x):
    _close(*_both(ACTIVATIONS[name], x))


@pytest.mark.parametrize("name", marked(ACTIVATIONS, XFAIL))
def test_activation_at_special_points(name):
    # Within a few ulps, NaNs where JAX's are, and the signs of JAX's zeros.
    got, expected = _both(ACTIVATIONS[name], POINTS)
    assert_same(got, expected, exact=False)


@pytest.mark.parametrize("name", marked(ROWS, XFAIL))
@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(x=_arrays(values, (3, 4)), b=_arrays(values, (3, 4)))
def test_row(name, x, b):
    fn, args = ROWS[name]
    got, expected = _both(fn, *{"x": (x,), "xb": (x, b)}[args])
    assert str(jax.tree_util.tree_structure(got)) == str(jax.tree_util.tree_structure(expected))
    _close(got, expected)


@pytest.mark.parametrize("name", marked(ROWS, XFAIL))
def test_row_at_special_points(name):
    # Rows and columns of infinities, NaN and ties, where the max-shift and the signs matter.
    x = np.array([[np.inf, 1.0, -np.inf, 2.0], [-np.inf, -np.inf, -np.inf, -np.inf], [1.0, 1.0, np.nan, 0.0]],
                 np.float32)
    b = np.array([[1.0, -1.0, 2.0, 0.0], [1.0, 2.0, 3.0, 4.0], [-1.0, 1.0, 0.5, -0.0]], np.float32)
    fn, args = ROWS[name]
    _close(*_both(fn, *{"x": (x,), "xb": (x, b)}[args]))


@pytest.mark.parametrize("dtype", [None, "int32", "bool", "float16"])
def test_one_hot(dtype):
    x = np.array([[0, 2, -1], [3, 4, 1]], np.int32)
    for kwargs in ({}, {"axis": 0}, {"axis": 1}):
        got, expected = _both(lambda nn, x, kwargs=kwargs: nn.one_hot(x, 4, dtype=dtype and np.dtype(dtype), **kwargs),
                              x)
        assert_same(got, expected, exact=True)


def _all_modes(lib, fn, x, t):
    return lib.jit(lambda a, b: _modes(lib, fn, a, b))(x, t)


def _compare_modes(name, fn, x):
    t = np.linspace(0.5, 1.5, x.size, dtype=np.float32).reshape(x.shape)
    expected = _all_modes(jax, lambda v: fn(jax.nn, v), x, t)
    got = _all_modes(mlax, lambda v: fn(mlax.nn, v), x, t)
    for mode in expected:
        # As in test_functions.py: second derivatives subtract nearly equal terms.
        np.testing.assert_allclose(got[mode], expected[mode], rtol=1e-4 if mode == "grad" else 1e-3, atol=1e-5,
                                   err_msg=f"{name} {mode}")


@pytest.mark.parametrize("name", marked(ACTIVATIONS, XFAIL))
@ONCE
@given(x=_arrays(smooth, (5,), unique=True))
def test_activation_derivatives_in_all_modes(name, x):
    # Random points and the kinks, in one call (one program to compile).
    _compare_modes(name, ACTIVATIONS[name], np.concatenate([x, KINKS]))


@pytest.mark.parametrize("name", marked(DIFFERENTIABLE, XFAIL))
@ONCE
@given(x=_arrays(smooth, (3, 4), unique=True), b=_arrays(smooth, (3, 4)))
def test_row_derivatives_in_all_modes(name, x, b):
    fn, args = ROWS[name]
    _compare_modes(name, lambda nn, v: fn(nn, *{"x": (v,), "xb": (v, np.abs(b))}[args]), x)


@pytest.mark.parametrize("algorithm", ["fast", "stable"])
def test_standardize_algorithms(algorithm):
    x = np.array([[10.0, 11.0, 12.5], [0.5, -0.5, 2.0]], np.float32)
    _close(*_both(lambda nn: nn.standardize(x, algorithm=algorithm)))


def test_standardize_rejects_an_unknown_algorithm():
    with pytest.raises(ValueError, match="algorithm must be 'fast' or 'stable', got 'exact'"):
        mlax.nn.standardize(np.ones(3, np.float32), algorithm="exact")
