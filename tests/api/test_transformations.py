"""The autodiff API: grad/value_and_grad/jvp/vjp/linearize/jacobians, in any
composition, over pytrees; custom rules; checkpoint; stop_gradient; errors."""

import collections

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import lax

X = np.array([0.3, -1.2, 2.0], np.float32)


@pytest.mark.gpu
def test_grad_of_polynomial_matches_closed_form():
    f = lambda x: mnp.sum(3 * x ** 3 - 2 * x ** 2 + x)  # noqa: E731
    np.testing.assert_allclose(mlax.grad(f)(X), 9 * X ** 2 - 4 * X + 1, rtol=1e-5)


@pytest.mark.parametrize("name, fn, derivatives", [
    ("sin", mnp.sin, [np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x), np.sin]),
    ("exp", mnp.exp, [np.exp] * 4),
    ("tanh", mnp.tanh, [
        lambda x: 1 - np.tanh(x) ** 2,
        lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
        lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2),
        lambda x: 8 * np.tanh(x) * (1 - np.tanh(x) ** 2) * (2 - 3 * np.tanh(x) ** 2),
    ]),
    ("cubic", lambda x: x ** 3 - 2 * x, [lambda x: 3 * x ** 2 - 2, lambda x: 6 * x, lambda x: 6.0, lambda x: 0.0]),
])
def test_higher_order_derivatives_to_fourth_order(name, fn, derivatives):
    x = 0.7
    g = fn
    for order, expected in enumerate(derivatives, start=1):
        g = mlax.grad(g)
        np.testing.assert_allclose(float(g(x)), expected(x), rtol=2e-4, atol=1e-5,
                                   err_msg=f"d^{order}/dx^{order} {name}")


@pytest.mark.gpu
def test_compositions_of_jit_and_grad_agree():
    f = lambda x: mnp.sum(mnp.sin(x) * mnp.exp(x / 3))  # noqa: E731
    expected = np.cos(X) * np.exp(X / 3) + np.sin(X) * np.exp(X / 3) / 3
    for g in (mlax.grad(f), mlax.jit(mlax.grad(f)), mlax.grad(mlax.jit(f)), mlax.jit(mlax.grad(mlax.jit(f)))):
        np.testing.assert_allclose(g(X), expected, rtol=1e-5)


def test_value_and_grad_with_argnums_tuple_and_aux():
    def f(w, b, x):
        y = mnp.dot(x, w) + b
        return mnp.sum(y ** 2), {"pred": y}

    w, b, x = np.ones(3, np.float32), np.float32(0.5), X
    (value, aux), (gw, gb) = mlax.value_and_grad(f, argnums=(0, 1), has_aux=True)(w, b, x)
    y = x @ w + b
    np.testing.assert_allclose(value, y ** 2, rtol=1e-6)
    np.testing.assert_allclose(aux["pred"], y, rtol=1e-6)
    np.testing.assert_allclose(gw, 2 * y * x, rtol=1e-5)
    np.testing.assert_allclose(gb, 2 * y, rtol=1e-5)


Params = collections.namedtuple("Params", ["scale", "shift"])


def test_grad_over_pytrees_of_dict_list_tuple_namedtuple():
    def loss(params):
        layer = params["layers"][0]
        return mnp.sum((layer.scale * params["x"] + layer.shift) ** 2) + params["extra"][1] ** 2

    params = {"layers": [Params(np.float32(2.0), np.ones(3, np.float32))], "x": X,
              "extra": (np.float32(0.0), np.float32(3.0))}
    grads = mlax.grad(loss)(params)
    y = 2 * X + 1
    assert isinstance(grads["layers"][0], Params)
    np.testing.assert_allclose(grads["layers"][0].scale, np.sum(2 * y * X), rtol=1e-5)
    np.testing.assert_allclose(grads["layers"][0].shift, 2 * y, rtol=1e-5)
    np.testing.assert_allclose(grads["x"], 2 * y * 2, rtol=1e-5)
    np.testing.assert_allclose(grads["extra"][1], 6.0)
    np.testing.assert_allclose(grads["extra"][0], 0.0)


@pytest.mark.gpu
def test_jvp_vjp_linearize_agree():
    def f(x, y):
        return mnp.sin(x) * y, mnp.sum(x * y)

    x, y = X, np.array([1.0, 2.0, -0.5], np.float32)
    tx, ty = np.array([1.0, 0.5, 0.0], np.float32), np.array([0.0, 1.0, 2.0], np.float32)
    out, tangent = mlax.jvp(f, (x, y), (tx, ty))
    np.testing.assert_allclose(tangent[0], np.cos(x) * tx * y + np.sin(x) * ty, rtol=1e-5)
    np.testing.assert_allclose(tangent[1], np.sum(tx * y + x * ty), rtol=1e-5)
    _, f_jvp = mlax.linearize(f, x, y)
    np.testing.assert_allclose(f_jvp(tx, ty)[0], tangent[0], rtol=1e-6)
    out2, pullback = mlax.vjp(f, x, y)
    ct = (np.array([1.0, -1.0, 2.0], np.float32), np.float32(0.5))
    gx, gy = pullback(ct)
    # <vjp(ct), t> == <ct, jvp(t)>
    lhs = np.sum(gx * tx) + np.sum(gy * ty)
    rhs = np.sum(ct[0] * tangent[0]) + ct[1] * tangent[1]
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)
    np.testing.assert_allclose(out2[0], out[0])


def test_jacobians_and_hessian_of_pytree_function():
    def f(params):
        return mnp.sum(params["a"] ** 2 * params["b"][0]) + mnp.sum(mnp.sin(params["a"]))

    params = {"a": X, "b": [np.float32(2.0)]}
    hess = mlax.hessian(f)(params)
    a, b = X, 2.0
    np.testing.assert_allclose(hess["a"]["a"], np.diag(2 * b - np.sin(a)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hess["a"]["b"][0], 2 * a, rtol=1e-5)
    np.testing.assert_allclose(hess["b"][0]["a"], 2 * a, rtol=1e-5)
    g = lambda x: mnp.stack([x[0] * x[1], mnp.sin(x[2])])  # noqa: E731
    expected = np.array([[X[1], X[0], 0], [0, 0, np.cos(X[2])]])
    np.testing.assert_allclose(mlax.jacfwd(g)(X), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mlax.jacrev(g)(X), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mlax.jacfwd(mlax.jacrev(lambda x: mnp.sum(x ** 3)))(X), np.diag(6 * X), rtol=1e-5)


@pytest.mark.gpu
def test_grad_through_vmap_and_vmap_of_grad():
    xs = np.stack([X, X * 2])
    per_row = mlax.vmap(mlax.grad(lambda r: mnp.sum(mnp.sin(r))))(xs)
    np.testing.assert_allclose(per_row, np.cos(xs), rtol=1e-6)
    total = mlax.grad(lambda z: mnp.sum(mlax.vmap(lambda r: mnp.sum(r ** 2))(z)))(xs)
    np.testing.assert_allclose(total, 2 * xs, rtol=1e-6)


def test_closure_over_outer_traced_value():
    def outer(y):
        return mlax.grad(lambda x: mnp.sum(x * y) ** 2)(mnp.ones(3))

    y = X
    np.testing.assert_allclose(mlax.jit(outer)(y), 2 * np.sum(y) * y, rtol=1e-5)
    # d/dy of the inner gradient: differentiating through a closed-over value.
    jac = mlax.jacrev(outer)(y)
    np.testing.assert_allclose(jac, 2 * np.sum(y) * np.eye(3) + 2 * np.outer(y, np.ones(3)), rtol=1e-5)


def test_stop_gradient_blocks_derivative():
    np.testing.assert_allclose(mlax.grad(lambda x: mnp.sum(lax.stop_gradient(x) * x))(X), X)


def test_custom_jvp_rule_is_used_in_both_modes():
    @mlax.custom_jvp
    def f(x):
        return mnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 10.0 * t  # not sin's derivative, so the test sees the rule

    np.testing.assert_allclose(mlax.grad(lambda x: mnp.sum(f(x)))(X), 10 * np.ones(3))
    out, tangent = mlax.jvp(f, (X,), (np.ones(3, np.float32),))
    np.testing.assert_allclose(out, np.sin(X), rtol=1e-6)
    np.testing.assert_allclose(tangent, 10 * np.ones(3))
    np.testing.assert_allclose(f(X), np.sin(X), rtol=1e-6)


def test_custom_jvp_for_numerical_stability():
    @mlax.custom_jvp
    def log1pexp(x):
        return mnp.log(1.0 + mnp.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * (1.0 - 1.0 / (1.0 + mnp.exp(x)))

    assert float(mlax.grad(log1pexp)(100.0)) == 1.0


@pytest.mark.gpu
def test_custom_vjp_rule_is_used():
    @mlax.custom_vjp
    def clip_gradient(x, y):
        return x * y

    def fwd(x, y):
        return x * y, (x, y)

    def bwd(residuals, ct):
        x, y = residuals
        return (mnp.clip(ct * y, -1.0, 1.0), ct * x)

    clip_gradient.defvjp(fwd, bwd)
    y = np.array([5.0, 0.5, -3.0], np.float32)
    gx, gy = mlax.grad(lambda a, b: mnp.sum(clip_gradient(a, b)), argnums=(0, 1))(X, y)
    np.testing.assert_allclose(gx, np.clip(y, -1, 1))
    np.testing.assert_allclose(gy, X)


def test_custom_vjp_bwd_with_wrong_structure_says_which():
    @mlax.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, ct: (ct * res[1],))
    with pytest.raises(TypeError, match=r"one cotangent per differentiable argument \(2\), got tuple of length 1"):
        mlax.grad(lambda a: mnp.sum(f(a, a)))(X)

    @mlax.custom_vjp
    def g(x):
        return x * 2

    g.defvjp(lambda x: (x * 2, None), lambda res, ct: ({"wrong": ct},))
    with pytest.raises(TypeError, match="argument 0"):
        mlax.grad(lambda a: mnp.sum(g(a)))(X)


@pytest.mark.gpu
def test_checkpoint_recomputes_forward_in_backward_pass():
    def block(x):
        return mnp.tanh(mnp.tanh(mnp.tanh(x)))

    def loss(f):
        return lambda x: mnp.sum(f(x))

    plain = mlax.jit(mlax.value_and_grad(loss(block)))
    remat = mlax.jit(mlax.value_and_grad(loss(mlax.checkpoint(block))))
    for got, expected in zip(remat(X), plain(X)):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    plain_text = plain.lower(X).as_text("stablehlo")
    remat_text = remat.lower(X).as_text("stablehlo")
    assert plain_text.count("stablehlo.tanh") == 3, "without checkpoint each tanh is computed once and kept"
    # The backward pass needs every tanh's value for its derivative 1 - tanh**2: recomputed behind a barrier.
    assert remat_text.count("stablehlo.tanh") == 6
    assert "stablehlo.optimization_barrier" in remat_text


def test_backward_pass_does_not_recompute_forward():
    f = mlax.jit(mlax.value_and_grad(lambda x: mnp.sum(mnp.tanh(mnp.exp(x)))))
    text = f.lower(X).as_text("stablehlo")
    assert text.count("stablehlo.exponential") == 1
    assert text.count("stablehlo.tanh") == 1


def test_grad_errors_name_the_problem():
    with pytest.raises(TypeError, match=r"scalar output.*shape \(3,\)"):
        mlax.grad(lambda x: x * 2)(X)
    with pytest.raises(TypeError, match=r"argument 0 has dtype int32 \(shape \(3,\)\)"):
        mlax.grad(lambda x: mnp.sum(x))(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError, match="argument 1 has dtype bool"):
        mlax.grad(lambda x, m: mnp.sum(x), argnums=1)(X, np.array([True, False]))
    with pytest.raises(TypeError, match="pair"):
        mlax.grad(lambda x: mnp.sum(x), has_aux=True)(X)
    with pytest.raises(TypeError, match="same tree structure"):
        mlax.jvp(lambda x, y: x, (X, X), (X,))


def test_integer_outputs_and_piecewise_constant_ops_have_zero_derivative():
    f = lambda x: mnp.sum(mnp.floor(x) + mnp.round(x) * x + (x > 0).astype(mnp.float32))  # noqa: E731
    np.testing.assert_allclose(mlax.grad(f)(X), np.round(X))
