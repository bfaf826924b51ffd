"""lax.conv_general_dilated, lax.reduce_window and mnp.convolve: results against
direct NumPy definitions (one output element at a time), gradients against
float64 finite differences of those definitions, vmap, and error messages."""

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax import lax
from mlax.ops.convolution import window_count

NCHW = ((0, 1, 2, 3),) * 3
NHWC = ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))  # with an HWIO kernel


def direct_conv(lhs, rhs, strides, padding, lhs_dilation, rhs_dilation, specs, feature_group_count=1,
                batch_group_count=1):
    """The convolution's definition: each output element sums input x kernel over the
    window, where padded or dilated-away input positions count as zero."""
    x, w = np.transpose(lhs, specs[0]), np.transpose(rhs, specs[1])
    groups = feature_group_count * batch_group_count
    batch, out_features, in_per_group = x.shape[0] // batch_group_count, w.shape[0], w.shape[1]
    spatial = [((n - 1) * ld + 1 + lo + hi - (k - 1) * rd - 1) // s + 1 for n, k, s, (lo, hi), ld, rd in
               zip(x.shape[2:], w.shape[2:], strides, padding, lhs_dilation, rhs_dilation)]
    out = np.zeros([batch, out_features] + spatial, np.result_type(lhs, rhs))
    for n, o, *p in np.ndindex(out.shape):
        group = o // (out_features // groups)
        image = n + group * batch if batch_group_count > 1 else n
        for i, *k in np.ndindex(w.shape[1:]):
            channel = i + group * in_per_group if feature_group_count > 1 else i
            at = [pj * s + kj * rd - lo for pj, kj, s, rd, (lo, _) in zip(p, k, strides, rhs_dilation, padding)]
            if all(j % ld == 0 and 0 <= j // ld < size for j, ld, size in zip(at, lhs_dilation, x.shape[2:])):
                out[(n, o, *p)] += x[(image, channel, *[j // ld for j, ld in zip(at, lhs_dilation)])] * w[(o, i, *k)]
    return np.transpose(out, np.argsort(specs[2]))


def _random(rng, *shapes):
    return [rng.uniform(-1, 1, s).astype(np.float32) for s in shapes]


# (name, lhs shape, rhs shape, strides, padding pairs, lhs dilation, rhs dilation, specs, feature/batch groups)
CONVS = [
    ("nchw-valid", (2, 3, 6, 5), (4, 3, 3, 2), (1, 1), [(0, 0), (0, 0)], (1, 1), (1, 1), NCHW, 1, 1),
    ("nhwc-strided-padded", (2, 7, 6, 3), (3, 3, 3, 4), (2, 2), [(1, 1), (0, 2)], (1, 1), (1, 1), NHWC, 1, 1),
    ("lhs-and-rhs-dilation", (1, 2, 5, 6), (3, 2, 2, 3), (1, 2), [(1, 0), (2, -1)], (2, 1), (1, 2), NCHW, 1, 1),
    ("depthwise", (2, 5, 5, 4), (3, 3, 1, 8), (1, 1), [(1, 1), (1, 1)], (1, 1), (1, 1), NHWC, 4, 1),
    ("1d-nwc", (2, 9, 3), (3, 3, 2), (2,), [(1, 2)], (1,), (2,), ((0, 2, 1), (2, 1, 0), (0, 2, 1)), 1, 1),
    ("3d", (1, 2, 4, 5, 3), (2, 2, 2, 3, 2), (1, 2, 1), [(0, 1), (1, 1), (0, 0)], (1, 1, 1), (1, 1, 1),
     ((0, 1, 2, 3, 4),) * 3, 1, 1),
    ("mixed-layouts", (5, 2, 6, 4), (4, 3, 2, 2), (1, 1), [(0, 0), (1, 0)], (1, 1), (1, 1),
     ((2, 3, 1, 0), (1, 0, 2, 3), (3, 0, 1, 2)), 1, 1),
    ("batch-groups", (4, 3, 6), (6, 3, 2), (1,), [(0, 1)], (1,), (1,), ((0, 1, 2),) * 3, 1, 2),
    # Fewer outputs than window positions: lowered as one dot_general per output position.
    ("window-over-output", (2, 3, 5, 4), (2, 3, 4, 3), (1, 2), [(1, 0), (0, 1)], (1, 2), (1, 2), NCHW, 1, 1),
]


def _conv_args(case):
    name, lhs_shape, rhs_shape, strides, padding, lhs_d, rhs_d, specs, groups, batch_groups = case
    kwargs = dict(lhs_dilation=lhs_d, rhs_dilation=rhs_d, dimension_numbers=lax.ConvDimensionNumbers(*specs),
                  feature_group_count=groups, batch_group_count=batch_groups)
    return lhs_shape, rhs_shape, (strides, padding), kwargs


def _reference(lhs, rhs, strides, padding, kwargs):
    return direct_conv(lhs, rhs, strides, padding, kwargs["lhs_dilation"], kwargs["rhs_dilation"],
                       tuple(kwargs["dimension_numbers"]), kwargs["feature_group_count"], kwargs["batch_group_count"])


@pytest.mark.parametrize("case", CONVS, ids=[c[0] for c in CONVS])
def test_conv_matches_direct_definition(case):
    lhs_shape, rhs_shape, (strides, padding), kwargs = _conv_args(case)
    lhs, rhs = _random(np.random.default_rng(0), lhs_shape, rhs_shape)
    got = lax.conv_general_dilated(lhs, rhs, strides, padding, **kwargs)
    np.testing.assert_allclose(got, _reference(lhs, rhs, strides, padding, kwargs), rtol=1e-5, atol=1e-5)


def test_layout_strings_name_the_axes():
    dn = lax.conv_dimension_numbers((2, 8, 8, 3), (3, 3, 3, 16), ("NHWC", "HWIO", "NHWC"))
    assert dn == lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    # Spatial axes are ordered as in the kernel's layout.
    dn = lax.conv_dimension_numbers((2, 3, 8, 9), (3, 4, 16, 3), ("NCHW", "WHOI", "NCWH"))
    assert dn == lax.ConvDimensionNumbers((0, 1, 3, 2), (2, 3, 0, 1), (0, 1, 2, 3))
    assert lax.conv_dimension_numbers((1, 2, 3), (4, 2, 1), None) == lax.ConvDimensionNumbers(*[(0, 1, 2)] * 3)


def test_string_padding_same_valid_and_same_lower():
    lhs, rhs = _random(np.random.default_rng(1), (1, 7, 6, 2), (2, 3, 2, 3))
    dn = ("NHWC", "HWIO", "NHWC")
    # SAME: ceil(size / stride) outputs, an odd padding's extra at the end; SAME_LOWER at the start.
    for padding, pads in (("SAME", [(0, 1), (1, 1)]), ("SAME_LOWER", [(1, 0), (1, 1)]), ("VALID", [(0, 0)] * 2)):
        got = lax.conv_general_dilated(lhs, rhs, (2, 1), padding, dimension_numbers=dn)
        expected = direct_conv(lhs, rhs, (2, 1), pads, (1, 1), (1, 1), NHWC)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=padding)
    assert lax.padtype_to_pads((7, 6), (2, 3), (2, 1), "same") == [(0, 1), (1, 1)]
    # The kernel's dilation widens the window that SAME pads for.
    same = lax.conv_general_dilated(lhs, rhs, (1, 1), "SAME", rhs_dilation=(2, 2), dimension_numbers=dn)
    assert same.shape == (1, 7, 6, 3)


def test_conv_and_conv_with_general_padding_use_nchw():
    lhs, rhs = _random(np.random.default_rng(2), (2, 3, 6, 6), (4, 3, 3, 3))
    np.testing.assert_allclose(lax.conv(lhs, rhs, (1, 2), "VALID"),
                               direct_conv(lhs, rhs, (1, 2), [(0, 0)] * 2, (1, 1), (1, 1), NCHW), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lax.conv_with_general_padding(lhs, rhs, (1, 1), [(1, 0), (0, 1)], (2, 1), (1, 2)),
                               direct_conv(lhs, rhs, (1, 1), [(1, 0), (0, 1)], (2, 1), (1, 2), NCHW),
                               rtol=1e-5, atol=1e-5)


def test_conv_under_jit_lowers_to_a_patches_product_a_convolution_or_dots():
    lhs, rhs = _random(np.random.default_rng(3), (1, 5, 5, 2), (3, 3, 2, 4))
    dn = ("NHWC", "HWIO", "NHWC")
    f = mlax.jit(lambda a, b: lax.conv_general_dilated(a, b, (1, 1), "SAME", dimension_numbers=dn))
    # One matrix product of the 9 kernel positions' slices (im2col).
    text = f.lower(lhs, rhs).as_text("stablehlo")
    assert "stablehlo.convolution" not in text and text.count("stablehlo.dot_general") == 1
    # Grouped convolutions stay convolutions.
    grouped = mlax.jit(lambda a, b: lax.conv_general_dilated(a, b, (1, 1), "SAME", dimension_numbers=dn,
                                                             feature_group_count=2))
    assert "stablehlo.convolution" in grouped.lower(lhs, rhs[:, :, :1, :]).as_text("stablehlo")
    # So do those whose patches would take more than 256 MiB (here 8 x 512 x 512 x 9 x 16 floats).
    big = mlax.ShapeDtypeStruct((8, 512, 512, 16), np.float32), mlax.ShapeDtypeStruct((3, 3, 16, 4), np.float32)
    assert "stablehlo.convolution" in f.lower(*big).as_text("stablehlo")
    # The kernel gradient's convolution has a 5x5 window and 3x3 outputs: one dot_general per output.
    kernel_grad = mlax.jit(mlax.grad(lambda b, a: mnp.sum(f(a, b))))
    text = kernel_grad.lower(rhs, lhs).as_text("stablehlo")
    assert "stablehlo.convolution" not in text and text.count("stablehlo.dot_general") == 9
    np.testing.assert_allclose(f(lhs, rhs), direct_conv(lhs, rhs, (1, 1), [(1, 1)] * 2, (1, 1), (1, 1), NHWC),
                               rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_dilated_inputs_lower_to_one_product_per_output_phase(data):
    # A strided convolution's input gradient: output phases along an axis dilated by d read
    # different kernel taps, each phase a patches product of the undilated input.
    spatial = data.draw(st.integers(1, 2))
    ints = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * spatial)  # noqa: E731
    sizes, kernel = data.draw(ints(1, 6)), data.draw(ints(1, 4))
    lhs_d, rhs_d = data.draw(ints(1, 3)), data.draw(ints(1, 2))
    padding = [data.draw(st.tuples(st.integers(-1, 3), st.integers(-1, 3))) for _ in range(spatial)]
    specs = ((0, 1, *range(2, 2 + spatial)),) * 3
    lhs, rhs = _random(np.random.default_rng(0), (2, 3, *sizes), (4, 3, *kernel))
    out = [window_count(*args) for args in zip(sizes, kernel, (1,) * spatial, *zip(*padding), lhs_d, rhs_d)]
    assume(0 not in out)
    numbers = lax.ConvDimensionNumbers(*specs)
    f = mlax.jit(lambda a, b: lax.conv_general_dilated(a, b, (1,) * spatial, padding, lhs_dilation=lhs_d,
                                                       rhs_dilation=rhs_d, dimension_numbers=numbers))
    np.testing.assert_allclose(f(lhs, rhs), direct_conv(lhs, rhs, (1,) * spatial, padding, lhs_d, rhs_d, specs),
                               rtol=1e-5, atol=1e-5)
    text = f.lower(lhs, rhs).as_text("stablehlo")
    assert "stablehlo.convolution" not in text
    assert text.count("stablehlo.dot_general") <= int(np.prod(lhs_d))


def test_preferred_element_type_sets_the_result_dtype():
    lhs, rhs = np.ones((1, 2, 4), np.int8), np.ones((3, 2, 2), np.int8)
    out = lax.conv_general_dilated(lhs, rhs, (1,), "VALID", preferred_element_type=np.int32)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.full((1, 3, 3), 4))


# -- derivatives and vmap --------------------------------------------------------------

def _directional_checks(f, f_ref, args, rng, eps=1e-3):
    """The JVP along v and <grad of <u, f>, v> against a central difference of the float64 f_ref."""
    v = [rng.uniform(-1, 1, a.shape).astype(np.float32) for a in args]
    out = np.asarray(f(*args))
    u = rng.uniform(-1, 1, out.shape).astype(np.float32)
    host = [a.astype(np.float64) for a in args]
    difference = (f_ref(*[a + eps * d for a, d in zip(host, v)]) - f_ref(*[a - eps * d for a, d in zip(host, v)])) / (
        2 * eps)
    _, tangent = mlax.jvp(f, tuple(args), tuple(v))
    np.testing.assert_allclose(tangent, difference, rtol=1e-3, atol=1e-3 * np.abs(difference).max())
    grads = mlax.grad(lambda *xs: mnp.sum(f(*xs) * u), tuple(range(len(args))))(*args)
    pairing = sum(float(np.sum(np.asarray(g, np.float64) * d)) for g, d in zip(grads, v))
    np.testing.assert_allclose(pairing, float(np.sum(u * difference)), rtol=1e-3)


@pytest.mark.parametrize("case", [CONVS[1], CONVS[2], CONVS[3], CONVS[7]], ids=lambda c: c[0])
def test_conv_gradients_match_finite_differences(case):
    lhs_shape, rhs_shape, (strides, padding), kwargs = _conv_args(case)
    rng = np.random.default_rng(4)
    _directional_checks(lambda a, b: lax.conv_general_dilated(a, b, strides, padding, **kwargs),
                        lambda a, b: _reference(a, b, strides, padding, kwargs),
                        _random(rng, lhs_shape, rhs_shape), rng)


def test_second_derivative_of_a_conv_network():
    """The Hessian-vector product of a two-layer conv net against differences of its gradient."""
    rng = np.random.default_rng(5)
    x, w1, w2 = _random(rng, (2, 6, 6, 2), (3, 3, 2, 3), (2, 2, 3, 1))
    dn = ("NHWC", "HWIO", "NHWC")

    def loss(w1, w2):
        h = mnp.tanh(lax.conv_general_dilated(x, w1, (1, 1), "SAME", dimension_numbers=dn))
        return mnp.sum(lax.conv_general_dilated(h, w2, (2, 2), "VALID", dimension_numbers=dn) ** 2)

    direction = _random(rng, w1.shape, w2.shape)
    hvp = mlax.jvp(mlax.grad(loss, (0, 1)), (w1, w2), tuple(direction))[1]
    grad = mlax.jit(mlax.grad(loss, (0, 1)))
    eps = 1e-2
    plus = grad(*[w + eps * d for w, d in zip((w1, w2), direction)])
    minus = grad(*[w - eps * d for w, d in zip((w1, w2), direction)])
    for h, p, m in zip(hvp, plus, minus):
        expected = (np.asarray(p) - np.asarray(m)) / (2 * eps)
        np.testing.assert_allclose(h, expected, rtol=2e-2, atol=2e-2 * np.abs(expected).max())


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (2, 1)])
@pytest.mark.parametrize("case", [CONVS[3], CONVS[7]], ids=lambda c: c[0])
def test_vmap_of_conv_matches_each_example(case, in_axes):
    lhs_shape, rhs_shape, (strides, padding), kwargs = _conv_args(case)
    rng = np.random.default_rng(6)
    lhs, rhs = _random(rng, (3,) + lhs_shape, (3,) + rhs_shape)
    args = [np.moveaxis(a, 0, axis) if axis is not None else a[0] for a, axis in zip((lhs, rhs), in_axes)]
    got = mlax.vmap(lambda a, b: lax.conv_general_dilated(a, b, strides, padding, **kwargs), in_axes)(*args)
    expected = np.stack([_reference(lhs[i] if in_axes[0] is not None else lhs[0],
                                    rhs[i] if in_axes[1] is not None else rhs[0], strides, padding, kwargs)
                         for i in range(3)])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# -- reduce_window: pooling ------------------------------------------------------------

def _pool_reference(x, reduce, window, stride, fill):
    """NHWC pooling over HxW windows, the input padded with `fill` as SAME pads it."""
    pads = lax.padtype_to_pads(x.shape[1:3], window, stride, "SAME")
    x = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)], constant_values=fill)
    rows = range(0, x.shape[1] - window[0] + 1, stride[0])
    cols = range(0, x.shape[2] - window[1] + 1, stride[1])
    return np.stack([np.stack([reduce(x[:, r:r + window[0], c:c + window[1]], axis=(1, 2)) for c in cols], 1)
                     for r in rows], 1)


def max_pool(x):
    return lax.reduce_window(x, -mnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1), "SAME")


def avg_pool(x):
    return lax.reduce_window(x, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "SAME") / 4


def _distinct(rng, shape):
    """Values at least 0.01 apart: no ties for max pooling, within finite differences' reach."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1).astype(np.float32)


def test_max_and_avg_pooling_match_numpy():
    x = _distinct(np.random.default_rng(7), (2, 7, 6, 3))
    np.testing.assert_array_equal(max_pool(x), _pool_reference(x, np.max, (3, 3), (2, 2), -np.inf))
    np.testing.assert_allclose(avg_pool(x), _pool_reference(x, np.sum, (2, 2), (2, 2), 0) / 4, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(lax.reduce_window(x, mnp.inf, lax.min, (1, 2, 1, 1), (1, 1, 1, 1), "VALID"),
                                  np.minimum(x[:, :-1], x[:, 1:]))


def test_reduce_window_init_value_counts_once():
    x = np.arange(1, 5, dtype=np.float32)
    # As in JAX (XLA): padding is left out of the windows, init_value starts each one.
    np.testing.assert_array_equal(lax.reduce_window(x, 10.0, lax.add, (2,), (1,), [(1, 1)]), [11, 13, 15, 17, 14])
    np.testing.assert_array_equal(lax.reduce_window(x, 2.5, lax.max, (2,), (1,), [(1, 1)]), [2.5, 2.5, 3, 4, 4])
    traced = mlax.jit(lambda x, init: lax.reduce_window(x, init, lax.add, (2,), (2,), "VALID"))
    np.testing.assert_array_equal(traced(x, np.float32(1)), [4, 8])


def test_reduce_window_dilations_match_numpy():
    x = np.arange(8, dtype=np.float32)
    # base_dilation puts holes (left out) between elements; window_dilation spreads the window.
    np.testing.assert_array_equal(lax.reduce_window(x[:4], 0.0, lax.add, (2,), (1,), "VALID", base_dilation=(2,)),
                                  [0, 1, 1, 2, 2, 3])
    np.testing.assert_array_equal(lax.reduce_window(x, 0.0, lax.add, (2,), (2,), "VALID", window_dilation=(3,)),
                                  [3, 7, 11])


@pytest.mark.parametrize("pool", [max_pool, avg_pool])
def test_pooling_gradients_match_finite_differences(pool):
    rng = np.random.default_rng(8)
    x = _distinct(rng, (2, 5, 6, 2))
    reference = {max_pool: lambda x: _pool_reference(x, np.max, (3, 3), (2, 2), -np.inf),
                 avg_pool: lambda x: _pool_reference(x, np.sum, (2, 2), (2, 2), 0) / 4}[pool]
    _directional_checks(pool, reference, [x], rng)


def test_max_pool_gradient_goes_to_each_windows_maximum():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 7]], np.float32)
    grad = mlax.grad(lambda x: mnp.sum(lax.reduce_window(x, -mnp.inf, lax.max, (2, 2), (2, 2), "VALID")))(x)
    np.testing.assert_array_equal(grad, [[0, 1, 0, 0], [0, 0, 1, 0]])


def test_vmap_of_pooling_matches_each_example():
    x = _distinct(np.random.default_rng(9), (3, 2, 5, 4, 2))
    for pool in (max_pool, avg_pool):
        np.testing.assert_allclose(mlax.vmap(pool, in_axes=1, out_axes=1)(np.moveaxis(x, 0, 1)),
                                   np.moveaxis(np.stack([pool(e) for e in x]), 0, 1), rtol=1e-6)


# -- mnp.convolve -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("sizes", [(7, 3), (6, 4), (3, 8), (1, 1)])
def test_convolve_matches_numpy(sizes, mode):
    rng = np.random.default_rng(10)
    a, v = _random(rng, (sizes[0],), (sizes[1],))
    np.testing.assert_allclose(mnp.convolve(a, v, mode), np.convolve(a, v, mode), rtol=1e-5, atol=1e-6)


def test_convolve_of_integers_and_its_gradient():
    np.testing.assert_array_equal(mnp.convolve(np.arange(5), np.array([1, 2, 3])), np.convolve(np.arange(5), [1, 2, 3]))
    a, v = np.array([1.0, 2.0, 3.0], np.float32), np.array([0.5, -1.0], np.float32)
    # d/da sum(convolve(a, v) * u) = correlate(u, v) in 'valid' mode.
    u = np.array([1.0, -2.0, 3.0, 0.5], np.float32)
    np.testing.assert_allclose(mlax.grad(lambda a: mnp.sum(mnp.convolve(a, v) * u))(a), np.correlate(u, v, "valid"))


# -- errors -----------------------------------------------------------------------------

def _conv_error(lhs_shape, rhs_shape, exception, *fragments, **kwargs):
    args = dict(window_strides=(1,) * (len(lhs_shape) - 2), padding="VALID")
    args.update(kwargs)
    with pytest.raises(exception) as error:
        lax.conv_general_dilated(np.zeros(lhs_shape, np.float32), np.zeros(rhs_shape, np.float32), **args)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_conv_errors_name_the_problem():
    _conv_error((1, 3, 5, 5), (4, 2, 3, 3), TypeError, "(1, 3, 5, 5)", "(4, 2, 3, 3)", "3 input features")
    _conv_error((1, 4, 5, 5), (3, 2, 3, 3), TypeError, "(3, 2, 3, 3)", "3 output features", "2 groups",
                feature_group_count=2)
    _conv_error((1, 3, 5), (4, 3, 3, 3), TypeError, "(1, 3, 5)", "(4, 3, 3, 3)", "same rank")
    _conv_error((1, 3, 5, 5), (4, 3, 3, 3), TypeError, "window_strides (1,)", "2 entries", window_strides=(1,))
    _conv_error((1, 5, 5, 3), (3, 3, 3, 4), ValueError, "'NHWX'", dimension_numbers=("NHWX", "HWIO", "NHWC"))
    _conv_error((1, 5, 5, 3), (3, 3, 3, 4), ValueError, "different spatial axes",
                dimension_numbers=("NHWC", "HDIO", "NHWC"))
    _conv_error((1, 3, 5, 5), (4, 3, 3, 3), RuntimeError, "'VALID', 'SAME'", "FULL", padding="FULL")
    _conv_error((1, 3, 5, 5), (4, 3, 3, 3), ValueError, "lhs_dilation (2, 1)", padding="SAME", lhs_dilation=(2, 1))
    _conv_error((1, 3, 5, 5), (4, 3, 3, 3), TypeError, "(low, high) pairs", padding=[(1, 1, 1), (0, 0)])
    with pytest.raises(TypeError, match="float32 and int32"):
        lax.conv(np.zeros((1, 1, 3), np.float32), np.zeros((1, 1, 2), np.int32), (1,), "VALID")


def test_reduce_window_errors_name_the_problem():
    x = np.zeros((4, 4), np.float32)
    with pytest.raises(TypeError, match="computation must be lax.add, lax.max or lax.min"):
        lax.reduce_window(x, 1.0, lax.mul, (2, 2), (1, 1), "VALID")
    with pytest.raises(TypeError, match=r"window_dimensions \(2,\) needs 2 entries .* \(4, 4\)"):
        lax.reduce_window(x, 0.0, lax.add, (2,), (1, 1), "VALID")
    with pytest.raises(TypeError, match="init_value must be a scalar"):
        lax.reduce_window(x, np.zeros(2, np.float32), lax.add, (2, 2), (1, 1), "VALID")


def test_convolve_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"1-dimensional, got shapes \(2, 2\) and \(2,\)"):
        mnp.convolve(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="mode must be"):
        mnp.convolve(np.ones(3), np.ones(2), mode="circular")
