"""mlax.nn's functions against jax.nn's on the same inputs: the activations at derandomized
hypothesis inputs with the special values mixed in, exactly at the special points (zeros of
both signs, the kinks, infinities, NaN), their dtypes and weak types for scalars, integers and
half floats, and their first derivative and all four second-order mode combinations at random
points and at the kinks and ties (relu'(0) is 0 in both, sparse_sigmoid'(1) is 1/4, ...); the
reductions (logsumexp, logmeanexp, softmax, ..., with `where`), glu and one_hot as rows of
arguments; dot_product_attention's cases (grouped heads, biases, masks, causal and window
masks, sequence lengths, residuals, half precision) in one program, its gradients and second
derivatives, and its errors; the block-scaled products (scaled_matmul, scaled_dot_general and
its gradients) against JAX's own quantization. Adding a function is one entry."""

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
    "celu": lambda nn, x: nn.celu(x),
    "celu alpha=0.5": lambda nn, x: nn.celu(x, alpha=0.5),
    "selu": lambda nn, x: nn.selu(x),
    "hard_sigmoid": lambda nn, x: nn.hard_sigmoid(x),
    "hard_silu": lambda nn, x: nn.hard_silu(x),
    "hard_swish": lambda nn, x: nn.hard_swish(x),
    "hard_tanh": lambda nn, x: nn.hard_tanh(x),
    "identity": lambda nn, x: nn.identity(x),
    "log1mexp": lambda nn, x: nn.log1mexp(x),
    "mish": lambda nn, x: nn.mish(x),
    "soft_sign": lambda nn, x: nn.soft_sign(x),
    "sparse_plus": lambda nn, x: nn.sparse_plus(x),
    "sparse_sigmoid": lambda nn, x: nn.sparse_sigmoid(x),
    "squareplus": lambda nn, x: nn.squareplus(x),
    "squareplus b=0.5": lambda nn, x: nn.squareplus(x, b=0.5),
    "tanh": lambda nn, x: nn.tanh(x),
}
# Where the activations have kinks or ties: their derivatives there must be JAX's.
KINKS = np.array([0.0, -0.0, 6.0, -6.0, 1.0, -1.0, 3.0, -3.0], np.float32)
POINTS = np.array(SPECIAL + [6.0, -6.0, 5.5, 6.5, 20.0, -20.0, 88.0, -88.0, 1e-7, 3.0, -3.0, 0.693, 0.694], np.float32)
# Inputs whose result dtype and weak type must be JAX's: Python scalars, integers, half floats.
DTYPE_INPUTS = {"python float": 2.0, "python int": 2, "int32": np.arange(-2, 2, dtype=np.int32),
                "float16": np.linspace(-2, 2, 4, dtype=np.float16),
                "bfloat16": np.linspace(-2, 2, 4).astype(jax.numpy.bfloat16)}

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
    "logsumexp with where": (lambda nn, x, b: nn.logsumexp(x, axis=1, where=b > 1), "xb"),
    "log_softmax with where": (lambda nn, x, b: nn.log_softmax(x, where=b > 1), "xb"),
    "softmax axis=0 with where": (lambda nn, x, b: nn.softmax(x, axis=0, where=b > 1), "xb"),
    "standardize with where": (lambda nn, x, b: nn.standardize(x, axis=(0, 1), where=b > 1), "xb"),
    "standardize stable with where": (lambda nn, x, b: nn.standardize(x, where=b > 1, algorithm="stable"), "xb"),
    "logmeanexp": (lambda nn, x: nn.logmeanexp(x), "x"),
    "logmeanexp axis=-1 keepdims=True": (lambda nn, x: nn.logmeanexp(x, axis=-1, keepdims=True), "x"),
    "logmeanexp axis=(0, 1)": (lambda nn, x: nn.logmeanexp(x, axis=(0, 1)), "x"),
    "logmeanexp axis=0 with where": (lambda nn, x, b: nn.logmeanexp(x, axis=0, where=b > 1), "xb"),
    "logmeanexp with where keepdims=True": (lambda nn, x, b: nn.logmeanexp(x, where=b > 1, keepdims=True), "xb"),
    "glu": (lambda nn, x: nn.glu(x), "x"),
    "glu axis=0": (lambda nn, x: nn.glu(x.T, axis=0), "x"),
}
DIFFERENTIABLE = ["logsumexp axis=None keepdims=False", "logsumexp with b", "log_softmax", "softmax axis=(0, 1)",
                  "standardize", "logsumexp with where", "log_softmax with where", "softmax axis=0 with where",
                  "standardize with where", "logmeanexp axis=-1 keepdims=True", "logmeanexp axis=0 with where",
                  "glu axis=0"]

XFAIL = {}
# Known differences at the special points only.
XFAIL_AT_POINTS = {"gelu approximate=False": "mlax computes 1 + erf(x / sqrt 2) where JAX takes erfc(-x / sqrt 2), "
                                             "which cancels below x = -3 (relative error 5e-5 there): "
                                             "mlax.scipy.special.erfc's derivative is NaN at 0"}

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


@pytest.mark.parametrize("name", marked(ACTIVATIONS, {**XFAIL, **XFAIL_AT_POINTS}))
def test_activation_at_special_points(name):
    # Within a few ulps, NaNs where JAX's are, and the signs of JAX's zeros.
    got, expected = _both(ACTIVATIONS[name], POINTS)
    assert_same(got, expected, exact=False)


@pytest.mark.parametrize("name", marked(ACTIVATIONS, XFAIL))
def test_activation_dtypes(name):
    # The result's dtype and weak type for each kind of input that JAX takes (it refuses integers
    # in sigmoid, where mlax promotes them); half-precision values within two of their ulps (XLA
    # computes their elementwise math in float32), and eight near cancellations (squareplus).
    for kind, x in DTYPE_INPUTS.items():
        try:
            expected = ACTIVATIONS[name](jax.nn, x)
        except TypeError:
            continue
        got = ACTIVATIONS[name](mlax.nn, x)
        assert (got.dtype, got.weak_type) == (expected.dtype, expected.weak_type), kind
        if expected.dtype.itemsize == 2:
            eps = float(jax.numpy.finfo(expected.dtype).eps)
            np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(expected, np.float32), rtol=2 * eps,
                                       atol=8 * eps, err_msg=kind)
        else:
            _close(got, expected)


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


# -- dot_product_attention ----------------------------------------------------------------------
# Batch, query length, key length, head size; the heads vary by case (N query heads, K key heads).
B, T, S, H = 2, 3, 4, 5
_rng = np.random.default_rng(0)
_BIAS = _rng.normal(size=(B, 4, T, S)).astype(np.float32)
_MASK = _rng.random((B, 4, T, S)) > 0.3
_ROW_OFF = np.ones((B, 1, T, S), bool)
_ROW_OFF[1, 0, 2] = False  # a query that may see no key: JAX averages the values there
_LENGTHS = np.array([2, 3], np.int32)


def _qkv(heads, kv_heads, dtype=np.float32):
    rng = np.random.default_rng(heads * 10 + kv_heads)
    shapes = (B, T, heads, H), (B, S, kv_heads, H), (B, S, kv_heads, H)
    return [rng.normal(size=shape).astype(dtype) for shape in shapes]


# name -> (N, K, dtype, fn(nn, q, k, v))
ATTENTION = {
    "multi-head": (2, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v)),
    "grouped-query": (4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v)),
    "multi-query": (3, 1, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v)),
    "unbatched TNH": (4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q[0], k[0], v[0])),
    "bias per head": (4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, _BIAS[:1])),
    "bias per batch and key": (4, 2, np.float32,
                               lambda nn, q, k, v: nn.dot_product_attention(q, k, v, _BIAS[:, :1, :1])),
    "bias of 2 axes": (4, 1, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, _BIAS[0, 0])),
    "mask per head": (4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, mask=_MASK)),
    "mask per batch, a row all off": (
        4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, mask=_ROW_OFF)),
    "is_causal": (4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, is_causal=True)),
    "local_window_size=1": (2, 2, np.float32,
                            lambda nn, q, k, v: nn.dot_product_attention(q, k, v, local_window_size=1)),
    "local_window_size=(2, 0) is_causal": (
        2, 1, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, local_window_size=(2, 0),
                                                                       is_causal=True)),
    "query_seq_lengths": (4, 2, np.float32,
                          lambda nn, q, k, v: nn.dot_product_attention(q, k, v, query_seq_lengths=_LENGTHS)),
    "key_value_seq_lengths": (
        4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, key_value_seq_lengths=_LENGTHS)),
    "scale, bias, mask, lengths and residual": (
        4, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(
            q, k, v, _BIAS, _MASK[:, :1], scale=0.25, query_seq_lengths=_LENGTHS[::-1],
            key_value_seq_lengths=_LENGTHS, return_residual=True)),
    "unbatched residual is_causal": (2, 2, np.float32, lambda nn, q, k, v: nn.dot_product_attention(
        q[1], k[1], v[1], is_causal=True, return_residual=True)),
    "implementation xla": (2, 2, np.float32,
                           lambda nn, q, k, v: nn.dot_product_attention(q, k, v, implementation="xla")),
    "float16 with bias": (4, 2, np.float16, lambda nn, q, k, v: nn.dot_product_attention(q, k, v, _BIAS)),
    "bfloat16 residual is_causal": (4, 2, jax.numpy.bfloat16, lambda nn, q, k, v: nn.dot_product_attention(
        q, k, v, is_causal=True, return_residual=True)),
}
# Half-precision products round differently from XLA's in the last bits.
HALF = dict(rtol=2e-2, atol=2e-2)


def test_dot_product_attention():
    # Every case in one program.
    inputs = {name: _qkv(heads, kv_heads, dtype) for name, (heads, kv_heads, dtype, _) in ATTENTION.items()}
    # JAX's float16 case runs eagerly: under jit its fallback from the F16_F16_F32 product, which
    # XLA's CPU lacks, cannot catch the error.
    eager = [name for name, (_, _, dtype, _) in ATTENTION.items() if dtype == np.float16]
    expected = jax.jit(lambda ins: {name: fn(jax.nn, *ins[name]) for name, (_, _, _, fn) in ATTENTION.items()
                                    if name not in eager})(inputs)
    expected.update({name: ATTENTION[name][3](jax.nn, *inputs[name]) for name in eager})
    got = mlax.jit(lambda ins: {name: fn(mlax.nn, *ins[name]) for name, (_, _, _, fn) in ATTENTION.items()})(inputs)
    for name, (_, _, dtype, _) in ATTENTION.items():
        if dtype == np.float32:
            _close(got[name], expected[name])
            continue
        for g, e in zip(jax.tree_util.tree_leaves(got[name]), jax.tree_util.tree_leaves(expected[name])):
            assert (g.shape, g.dtype) == (e.shape, e.dtype), name
            np.testing.assert_allclose(np.asarray(g, np.float32), np.asarray(e, np.float32), **HALF, err_msg=name)


def _attention_loss(nn, q, k, v, bias, w):
    out = nn.dot_product_attention(q, k, v, bias, is_causal=True, query_seq_lengths=_LENGTHS,
                                   key_value_seq_lengths=_LENGTHS[::-1])
    unbatched = nn.dot_product_attention(q[0], k[0], v[0], mask=_MASK[0], local_window_size=(1, 2))
    return (out * w).sum() + (unbatched * w[0]).sum()


def _attention_derivatives(lib, q, k, v, bias, w):
    grad = lib.grad(lambda *a: _attention_loss(lib.nn, *a, w), argnums=(0, 1, 2, 3))
    second = lib.jvp(lambda q: grad(q, k, v, bias), (q,), (w,))[1]
    return grad(q, k, v, bias), second


def test_dot_product_attention_derivatives():
    # The gradients in query, key, value and bias, and their derivatives along a query direction,
    # through grouped heads, causal, window and padding masks.
    q, k, v = _qkv(4, 2)
    w = np.linspace(-1, 1, q.size, dtype=np.float32).reshape(q.shape)
    bias = _BIAS[:1]
    expected = jax.jit(lambda *a: _attention_derivatives(jax, *a))(q, k, v, bias, w)
    got = mlax.jit(lambda *a: _attention_derivatives(mlax, *a))(q, k, v, bias, w)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-4, atol=1e-5)


_Q, _K, _V = _qkv(4, 2)
ATTENTION_ERRORS = {
    "cudnn": (dict(implementation="cudnn"), NotImplementedError, "implementation='cudnn'"),
    "unknown implementation": (dict(implementation="flash"), ValueError, "implementation must be .*'flash'"),
    "value shape": (dict(value=_V[:, :3]), ValueError, r"value must have shape \(2, 4, 2, 5\).*\(2, 3, 2, 5\)"),
    "query dtype": (dict(query=_Q.astype(np.float16)), ValueError, "query must have dtype float32, got float16"),
    "query head size": (dict(query=_Q[..., :4]), ValueError, r"query must have shape \(2, -1, -1, 5\)"),
    "mask dtype": (dict(mask=_MASK.astype(np.float32)), ValueError, "mask must have dtype bool"),
    "bias axes": (dict(bias=_BIAS[None]), ValueError, "bias must have 4 axes"),
    "bias heads": (dict(bias=_BIAS[:, :2]), ValueError, "bias has 2 heads.*1 or the query's 4"),
    "lengths dtype": (dict(query_seq_lengths=_LENGTHS.astype(np.float32)), ValueError,
                      "query_seq_lengths must have dtype int32, got float32"),
    "lengths shape": (dict(key_value_seq_lengths=_LENGTHS[:1]), ValueError,
                      r"key_value_seq_lengths must have shape \(2,\)"),
    "heads": (dict(query=_qkv(3, 2)[0]), ValueError, r"query heads \(3\) must be a multiple .* key/value heads \(2\)"),
}


@pytest.mark.parametrize("name", ATTENTION_ERRORS)
def test_dot_product_attention_errors(name):
    change, error, message = ATTENTION_ERRORS[name]
    arguments = {**dict(query=_Q, key=_K, value=_V), **change}
    with pytest.raises(error, match=message):
        mlax.nn.dot_product_attention(**arguments)


def test_glu_rejects_an_odd_axis():
    with pytest.raises(ValueError, match=r"glu: the size of axis 0 must be even, got shape \(3, 4\)"):
        mlax.nn.glu(np.ones((3, 4), np.float32), axis=0)


# -- block-scaled products ------------------------------------------------------------------------
# JAX has no CPU kernel for scaled_matmul (it raises NotImplementedError): its oracle is the
# product its docstring defines, put in its place, so that jax.nn.scaled_dot_general and its
# gradients run JAX's own quantization on CPU.

def _documented_scaled_matmul(lhs, rhs, lhs_scales, rhs_scales, preferred_element_type=np.float32):
    def scaled(x, scales):
        block = x.shape[-1] // scales.shape[-1]
        return x.astype(np.float32) * jax.numpy.repeat(scales.astype(np.float32), block, axis=-1)
    product = jax.numpy.einsum("bmk,bnk->bmn", scaled(lhs, lhs_scales), scaled(rhs, rhs_scales))
    return product.astype(preferred_element_type)


@pytest.fixture
def jax_scaled_matmul_on_cpu(monkeypatch):
    import jax._src.cudnn.scaled_matmul_stablehlo as kernels
    monkeypatch.setattr(kernels, "scaled_matmul_wrapper", _documented_scaled_matmul)


def test_scaled_matmul():
    rng = np.random.default_rng(1)
    lhs, rhs = rng.normal(size=(2, 3, 8)).astype(np.float32), rng.normal(size=(2, 5, 8)).astype(np.float32)
    lhs_scales, rhs_scales = rng.uniform(0.5, 2, (2, 3, 2)).astype(np.float32), rng.uniform(0.5, 2, (2, 5, 2))
    for dtype, out_dtype in ((np.float32, np.float32), (jax.numpy.bfloat16, jax.numpy.bfloat16)):
        args = (lhs.astype(dtype), rhs.astype(dtype), lhs_scales, rhs_scales.astype(np.float32))
        got = mlax.nn.scaled_matmul(*args, preferred_element_type=out_dtype)
        expected = _documented_scaled_matmul(*args, preferred_element_type=out_dtype)
        assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
        np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(expected, np.float32), rtol=1e-2)


SCALED_MATMUL_ERRORS = {
    "axes": ((np.ones((3, 8)), np.ones((1, 5, 8)), np.ones((1, 3, 2)), np.ones((1, 5, 2))), "must have 3 axes"),
    "contraction": ((np.ones((1, 3, 8)), np.ones((1, 5, 6)), np.ones((1, 3, 2)), np.ones((1, 5, 2))),
                    r"agree in batch and contraction .*\(1, 3, 8\) and \(1, 5, 6\)"),
    "scales": ((np.ones((1, 3, 8)), np.ones((1, 5, 8)), np.ones((1, 3, 3)), np.ones((1, 5, 3))),
               r"K_s dividing K, got \(1, 3, 3\) and \(1, 5, 3\)"),
}


@pytest.mark.parametrize("name", SCALED_MATMUL_ERRORS)
def test_scaled_matmul_errors(name):
    args, message = SCALED_MATMUL_ERRORS[name]
    with pytest.raises(ValueError, match=message):
        mlax.nn.scaled_matmul(*[a.astype(np.float32) for a in args])


def test_get_scaled_dot_general_config():
    for mode, global_scale in (("mxfp8", None), ("nvfp4", None), ("nvfp4", np.array([0.25], np.float32))):
        got = mlax.nn.get_scaled_dot_general_config(mode, global_scale)
        expected = jax.nn.get_scaled_dot_general_config(mode, global_scale)
        for field in ("mode", "block_size", "data_type", "scale_type", "infer_only"):
            assert getattr(got, field) == getattr(expected, field), (mode, field)
        assert (got.global_scale is None) == (expected.global_scale is None)
        if got.global_scale is not None:
            np.testing.assert_array_equal(np.asarray(got.global_scale), np.asarray(expected.global_scale))
    with pytest.raises(ValueError, match="mode must be 'mxfp8' or 'nvfp4', got 'fp16'"):
        mlax.nn.get_scaled_dot_general_config("fp16")
    with pytest.raises(ValueError, match="mode 'mxfp8' has no global_scale"):
        mlax.nn.get_scaled_dot_general_config("mxfp8", np.ones(1, np.float32))


_rng_mx = np.random.default_rng(2)
# Values over several binades (so that blocks get different scales), one block of tiny values.
_MX_LHS = (_rng_mx.normal(size=(2, 32, 64)) * np.exp(_rng_mx.normal(size=(2, 32, 64)))).astype(np.float32)
_MX_LHS[1, 3, 32:] *= 1e-3
_MX_RHS = _rng_mx.normal(size=(2, 32, 64)).astype(np.float32)
# name -> (lhs, rhs, dimension numbers, preferred_element_type)
SCALED_DOTS = {
    "batched": (_MX_LHS, _MX_RHS, (((2,), (2,)), ((0,), (0,))), np.float32),
    "unbatched": (_MX_LHS[0], _MX_RHS[1], (((1,), (1,)), ((), ())), np.float32),
    "rhs contracted on its first axis, bfloat16 out": (
        _MX_LHS, np.swapaxes(_MX_RHS, 1, 2), (((2,), (1,)), ((0,), (0,))), jax.numpy.bfloat16),
    "two contracting axes": (_MX_LHS.reshape(2, 32, 4, 16), _MX_RHS.reshape(2, 4, 16, 32),
                             (((2, 3), (1, 2)), ((0,), (0,))), np.float32),
}


def _scaled_dot_and_grads(lib, configs, lhs, rhs, dims, out_dtype):
    def loss(lhs, rhs):
        out = lib.nn.scaled_dot_general(lhs, rhs, dims, out_dtype, configs)
        return (out.astype(np.float32) ** 2).sum(), out
    return lib.value_and_grad(loss, argnums=(0, 1), has_aux=True)(lhs, rhs)


@pytest.mark.parametrize("mode", ["mxfp8", "nvfp4"])
def test_scaled_dot_general(mode, jax_scaled_matmul_on_cpu):
    # Values and gradients of each case, in one program; the configs of the two operands and of
    # the gradient differ in nvfp4's global scales.
    scales = [None] * 3 if mode == "mxfp8" else [np.array([s], np.float32) for s in (0.5, 2.0, 1.0)]
    jax_configs = [jax.nn.get_scaled_dot_general_config(mode, s) for s in scales]
    expected = jax.jit(lambda: {name: _scaled_dot_and_grads(jax, jax_configs, *case)
                                for name, case in SCALED_DOTS.items()})()

    def mlax_cases(lhs_rhs):
        configs = [mlax.nn.get_scaled_dot_general_config(mode, s) for s in scales]
        return {name: _scaled_dot_and_grads(mlax, configs, *lhs_rhs[name], *case[2:])
                for name, case in SCALED_DOTS.items()}
    got = mlax.jit(mlax_cases)({name: case[:2] for name, case in SCALED_DOTS.items()})
    for name, (lhs, rhs, _, out_dtype) in SCALED_DOTS.items():
        # JAX's gradients come in the output's dtype (its custom_vjp lets a cotangent's dtype differ
        # from its operand's); mlax's in the operands'.
        value, (grad_lhs, grad_rhs) = expected[name]
        expected[name] = value, (grad_lhs.astype(lhs.dtype), grad_rhs.astype(rhs.dtype))
        for g, e in zip(jax.tree_util.tree_leaves(got[name]), jax.tree_util.tree_leaves(expected[name])):
            assert (g.shape, g.dtype) == (e.shape, e.dtype), name
            g, e = np.asarray(g, np.float32), np.asarray(e, np.float32)
            # bfloat16 products: mlax.lax.dot_general sums in bfloat16 (nvfp4's gradients), XLA in float32.
            atol = 3e-2 * np.abs(e).max() if out_dtype != np.float32 else 1e-3
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=atol, err_msg=name)


def test_scaled_dot_general_zero_block(jax_scaled_matmul_on_cpu):
    # A block of zeros contributes nothing. (JAX on CPU divides it by its stand-in scale 2**-127,
    # which XLA flushes to 0, and gives NaN; compared here with a block of 1e-30 instead.)
    config = jax.nn.get_scaled_dot_general_config("mxfp8")
    lhs = _MX_LHS.copy()
    lhs[0, 5, :32] = 0
    got = mlax.nn.scaled_dot_general(lhs, _MX_RHS, SCALED_DOTS["batched"][2],
                                     configs=[mlax.nn.get_scaled_dot_general_config("mxfp8")] * 3)
    lhs[0, 5, :32] = 1e-30
    expected = jax.jit(lambda lhs, rhs: jax.nn.scaled_dot_general(lhs, rhs, SCALED_DOTS["batched"][2],
                                                                  configs=[config] * 3))(lhs, _MX_RHS)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-3)


def test_scaled_dot_general_without_configs_is_dot_general():
    lhs, rhs, dims, _ = SCALED_DOTS["two contracting axes"]
    for out_dtype, tolerance in ((np.float32, dict(rtol=1e-5, atol=1e-4)), (np.float16, dict(rtol=2e-3, atol=0.3))):
        got = mlax.nn.scaled_dot_general(lhs, rhs, dims, out_dtype)
        expected = jax.nn.scaled_dot_general(lhs, rhs, dims, out_dtype)
        assert got.dtype == expected.dtype
        # (mlax.lax.dot_general sums float16 products with twice XLA's rounding error)
        np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(expected, np.float32), **tolerance)
    with pytest.warns(DeprecationWarning, match="implementation is deprecated and ignored"):
        mlax.nn.scaled_dot_general(lhs, rhs, dims, implementation="cudnn")


SCALED_DOT_ERRORS = {
    "output dtype": (dict(preferred_element_type=np.float64), TypeError,
                     "preferred_element_type must be float32, bfloat16 or float16, got <class 'numpy.float64'>"),
    "block size": (dict(lhs=_MX_LHS[..., :48], rhs=_MX_RHS[..., :48]), ValueError,
                   "contraction \\(48 entries\\) must be a multiple of the mxfp8 block size 32"),
    "mixed modes": (dict(configs=["mxfp8", "nvfp4", "mxfp8"]), ValueError,
                    "quantized alike, got modes 'mxfp8' and 'nvfp4'"),
}


@pytest.mark.parametrize("name", SCALED_DOT_ERRORS)
def test_scaled_dot_general_errors(name):
    change, error, message = SCALED_DOT_ERRORS[name]
    arguments = {**dict(lhs=_MX_LHS, rhs=_MX_RHS, dimension_numbers=SCALED_DOTS["batched"][2], configs=["mxfp8"] * 3),
                 **change}
    arguments["configs"] = [mlax.nn.get_scaled_dot_general_config(mode) for mode in arguments["configs"]]
    with pytest.raises(error, match=message):
        mlax.nn.scaled_dot_general(**arguments)
