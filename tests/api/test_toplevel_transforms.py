"""The top-level transformations and program introspection against JAX: eval_shape, typeof,
make_jaxpr, named_call/named_scope, ensure_compile_time_eval, closure_convert,
custom_gradient, linear_transpose, fwd_and_bwd, jacobian and checkpoint's policies:
values, dtypes with weak types, derivatives, and the errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp

jax.config.update("jax_platforms", "cpu")

X = np.array([0.5, -1.25, 2.0], np.float32)


def _close(got, expected):
    got_leaves, got_tree = jax.tree_util.tree_flatten(mlax.device_get(got))
    expected_leaves, expected_tree = jax.tree_util.tree_flatten(jax.device_get(expected))
    assert got_tree == expected_tree
    for g, e in zip(got_leaves, expected_leaves):
        assert np.shape(g) == np.shape(e) and np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(g, e, rtol=2e-6, atol=1e-6)


def _weak(x):
    return x.aval.weak_type if hasattr(x, "aval") else jax.typeof(x).weak_type


# -- eval_shape and typeof -------------------------------------------------------------------

SHAPE_CASES = {
    "scalar_weak": (lambda m, x: x * 2, lambda m: (1.0,)),
    "array": (lambda m, x: m.numpy.sin(x), lambda m: (m.numpy.ones((2, 3)),)),
    "struct": (lambda m, x: x.sum(axis=0), lambda m: (m.ShapeDtypeStruct((4, 5), np.int32),)),
    "pytree": (lambda m, d: {"a": d["x"] @ d["y"], "b": (d["x"].T, 3)},
               lambda m: ({"x": m.ShapeDtypeStruct((2, 3), np.float32), "y": m.numpy.ones((3, 4))},)),
    "promotion": (lambda m, x, y: x + y, lambda m: (m.ShapeDtypeStruct((3,), np.int8), 2.5)),
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_eval_shape_matches_jax(case):
    fn, args = SHAPE_CASES[case]
    got = mlax.eval_shape(functools.partial(fn, mlax), *args(mlax))
    expected = jax.eval_shape(functools.partial(fn, jax), *args(jax))
    got_leaves, expected_leaves = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)
    assert len(got_leaves) == len(expected_leaves)
    for g, e in zip(got_leaves, expected_leaves):
        assert isinstance(g, mlax.ShapeDtypeStruct)
        assert (g.shape, g.dtype, g.weak_type) == (e.shape, e.dtype, e.weak_type)


TYPEOF_VALUES = {"float": 1.0, "int": 3, "bool": True, "array": X, "numpy_int8": np.int8(2)}


@pytest.mark.parametrize("name", [n if n != "bool" else pytest.param(n, marks=pytest.mark.xfail(
    strict=True, reason="mlax gives Python bools a weak type (core.trace.aval_of, runtime device_put); JAX's "
    "are strong")) for n in sorted(TYPEOF_VALUES)])
def test_typeof_matches_jax(name):
    value = TYPEOF_VALUES[name]
    got, expected = mlax.typeof(mnp.asarray(value) if isinstance(value, np.ndarray) else value), \
        jax.typeof(jnp.asarray(value) if isinstance(value, np.ndarray) else value)
    assert (got.shape, got.dtype, got.weak_type) == (expected.shape, expected.dtype, expected.weak_type)


def test_typeof_inside_jit():
    seen = []
    mlax.jit(lambda x: seen.append(mlax.typeof(x * 2)) or x)(mnp.ones((2, 2), "int32"))
    assert (seen[0].shape, seen[0].dtype) == ((2, 2), np.int32)


# -- make_jaxpr -------------------------------------------------------------------------------

def test_make_jaxpr_gives_avals_consts_and_the_ops_in_order():
    big = np.arange(2000.0, dtype=np.float32)
    program = mlax.make_jaxpr(lambda x: mnp.sin(x) * 2 + mnp.asarray(big)[:3])(mnp.ones(3))
    closed = jax.make_jaxpr(lambda x: jnp.sin(x) * 2 + jnp.asarray(big)[:3])(jnp.ones(3))
    assert [(a.shape, a.dtype) for a in program.in_avals] == [(a.shape, a.dtype) for a in closed.in_avals]
    assert [(a.shape, a.dtype) for a in program.out_avals] == [(a.shape, a.dtype) for a in closed.out_avals]
    assert len(program.consts) == len(closed.consts) == 1
    np.testing.assert_array_equal(program.consts[0], big)
    names = iter(e.primitive.name for e in program.jaxpr.eqns)
    assert all(name in names for name in ("sin", "mul", "add"))  # JAX's ops, in order, among mlax's
    assert '"mlax.sin"' in str(program)


def test_make_jaxpr_static_argnums_return_shape_and_axis_env():
    program, shape = mlax.make_jaxpr(lambda x, n: x * n, static_argnums=1, return_shape=True)(mnp.ones(2), 3)
    _, expected = jax.make_jaxpr(lambda x, n: x * n, static_argnums=1, return_shape=True)(jnp.ones(2), 3)
    assert (shape.shape, shape.dtype, shape.weak_type) == (expected.shape, expected.dtype, expected.weak_type)
    assert len(program.in_avals) == 1
    text = str(mlax.make_jaxpr(lambda x: mlax.lax.psum(x, "i"), axis_env=[("i", 4)])(1.0))
    assert "psum" in text
    with pytest.raises(NameError, match="unbound axis name"):
        mlax.make_jaxpr(lambda x: mlax.lax.psum(x, "i"))(1.0)


# -- named_call, named_scope, ensure_compile_time_eval ----------------------------------------------

def test_named_call_names_a_function_and_keeps_values_and_derivatives():
    def f(module):
        inner = module.named_call(lambda x: module.numpy.exp(x) * x, name="expx")
        return lambda x: module.numpy.sum(inner(x) ** 2)
    _close(mlax.jit(f(mlax))(X), jax.jit(f(jax))(X))
    _close(mlax.grad(f(mlax))(X), jax.grad(f(jax))(X))
    _close(mlax.grad(mlax.grad(lambda x: f(mlax)(x * mnp.ones(3))))(0.5),
           jax.grad(jax.grad(lambda x: f(jax)(x * jnp.ones(3))))(0.5))
    assert "func.func private @expx" in mlax.make_mlir(f(mlax))(X)
    _close(f(mlax)(X), f(jax)(X))  # eagerly


def test_named_scope_prefixes_the_locations_of_its_ops():
    def f(x):
        with mlax.named_scope("outer"):
            with mlax.named_scope("inner"):
                y = mnp.tanh(x)
        return mnp.exp(y)
    lowered = mlax.jit(f).lower(1.0)
    text = lowered._program.module.operation.get_asm(enable_debug_info=True)
    assert "outer/inner/mlax.tanh at" in text
    assert "outer/inner/mlax.exp" not in text and "mlax.exp at" in text
    assert float(mlax.jit(f)(1.0)) == pytest.approx(float(jnp.exp(jnp.tanh(1.0))))
    for module in (mlax, jax):
        with pytest.raises(TypeError, match="must be a string"):
            with module.named_scope(3):
                pass


def test_ensure_compile_time_eval_evaluates_constants_inside_jit():
    def f(module):
        def g(x):
            with module.ensure_compile_time_eval():
                n = int(module.numpy.arange(4).sum())
                y = x * 2  # traced values are still traced
            return y + n
        return g
    _close(mlax.jit(f(mlax))(X), jax.jit(f(jax))(X))
    with pytest.raises(mlax.errors.ConcretizationTypeError):
        mlax.jit(lambda x: int(mnp.arange(4).sum() + x.sum()))(X)


# -- closure_convert and custom_gradient -----------------------------------------------------------

def _scaled_root(module):
    """The closure_convert pattern of JAX's docs: a custom_vjp over a function closing over x."""
    np_ = module.numpy

    @functools.partial(module.custom_vjp, nondiff_argnums=(0,))
    def apply(fn, y, *consts):
        return fn(y, *consts)

    def fwd(fn, y, *consts):
        return fn(y, *consts), (y, consts)

    def bwd(fn, residuals, ct):
        y, consts = residuals
        _, pullback = module.vjp(fn, y, *consts)
        return pullback(ct)

    apply.defvjp(fwd, bwd)

    def outer(x, y):
        g = lambda z: np_.exp(x) * z ** 2  # noqa: E731 - closes over x
        converted, consts = module.closure_convert(g, y)
        return np_.sum(apply(converted, y, *consts))
    return outer


def test_closure_convert_hoists_traced_values_so_custom_rules_differentiate_them():
    for argnums in (0, 1, (0, 1)):
        _close(mlax.grad(_scaled_root(mlax), argnums)(0.7, X), jax.grad(_scaled_root(jax), argnums)(0.7, X))
    _close(mlax.jit(_scaled_root(mlax))(0.7, X), jax.jit(_scaled_root(jax))(0.7, X))
    converted, consts = mlax.closure_convert(lambda z: z * 2, X)  # eagerly nothing is traced
    _, expected_consts = jax.closure_convert(lambda z: z * 2, X)
    assert consts == expected_consts == []
    _close(converted(X), X * 2)
    with pytest.raises(TypeError, match="structure of the example arguments"):
        converted((X, X))


def test_closure_convert_keeps_integer_and_concrete_values_closed_over():
    counts = {}

    def f(x, n):
        g = lambda z: z * x + n  # noqa: E731
        _, consts = mlax.closure_convert(g, x)
        counts["consts"] = len(consts)
        return x
    mlax.jit(f)(1.0, 3)
    assert counts["consts"] == 1  # x (float, traced) is hoisted; n (int, traced) is not
    mlax.jit(f)(1.0, mnp.int32(3))
    assert counts["consts"] == 1


def test_custom_gradient_matches_jax():
    def build(module):
        np_ = module.numpy
        weights = np_.asarray(np.array([1.0, 2.0, 3.0], np.float32))

        @module.custom_gradient
        def f(x):
            y = np_.tanh(x)
            return y * weights, lambda g: (g * (1 - y ** 2) * weights * 10,)  # a deliberately scaled gradient

        @module.custom_gradient
        def h(x, y):
            return x * y, lambda g: (g * y, g * x)
        return f, h

    (f, h), (jf, jh) = build(mlax), build(jax)
    _close(f(X), jf(X))
    _close(mlax.grad(lambda x: mnp.sum(f(x)))(X), jax.grad(lambda x: jnp.sum(jf(x)))(X))
    _close(mlax.jit(mlax.grad(lambda x: mnp.sum(f(x))))(X), jax.grad(lambda x: jnp.sum(jf(x)))(X))
    _close(mlax.grad(h, argnums=(0, 1))(3.0, 4.0), jax.grad(jh, argnums=(0, 1))(3.0, 4.0))
    bare = mlax.custom_gradient(lambda x: (x ** 2, lambda g: g * x))  # a bare cotangent, as JAX allows
    _close(mlax.grad(bare)(3.0), jax.grad(jax.custom_gradient(lambda x: (x ** 2, lambda g: g * x)))(3.0))


# -- linear_transpose and fwd_and_bwd -------------------------------------------------------------

TRANSPOSE_CASES = {
    "scale_weak": (lambda m: (lambda x: 2 * x), lambda m: (1.0,), lambda m: 3.0),
    "affine": (lambda m: (lambda x: x + 1.0), lambda m: (m.numpy.ones(3),), lambda m: m.numpy.asarray(X)),
    "sum": (lambda m: m.numpy.sum, lambda m: (m.numpy.ones((2, 3)),), lambda m: m.numpy.float32(2)),
    "pair": (lambda m: (lambda x, y: (x + y, x - 2 * y)), lambda m: (m.numpy.ones(3), m.numpy.ones(3)),
             lambda m: (m.numpy.asarray(X), m.numpy.ones(3))),
    "matmul": (lambda m: (lambda x: m.numpy.asarray(np.arange(6.0, dtype=np.float32).reshape(2, 3)) @ x),
               lambda m: (m.numpy.ones(3),), lambda m: m.numpy.asarray(np.array([1.0, -2.0], np.float32))),
    "pytree_in": (lambda m: (lambda d: d["a"] * 3 + m.numpy.sum(d["b"])), lambda m: ({"a": 1.0, "b": m.numpy.ones(2)},),
                  lambda m: m.numpy.float32(1.5)),
}


@pytest.mark.parametrize("case", sorted(TRANSPOSE_CASES))
def test_linear_transpose_matches_jax(case):
    fn, primals, cotangent = TRANSPOSE_CASES[case]
    got = mlax.linear_transpose(fn(mlax), *primals(mlax))(cotangent(mlax))
    expected = jax.linear_transpose(fn(jax), *primals(jax))(cotangent(jax))
    _close(got, expected)
    assert [_weak(g) for g in jax.tree_util.tree_leaves(got)] == \
        [_weak(e) for e in jax.tree_util.tree_leaves(expected)]


def test_linear_transpose_errors():
    transpose = mlax.linear_transpose(lambda x: 2 * x, mnp.ones(3))
    for bad in (mnp.ones(4), mnp.ones(3, "int32"), (mnp.ones(3),)):
        with pytest.raises(TypeError, match="cotangent type does not match function output"):
            transpose(bad)
    with pytest.raises(NotImplementedError, match="reduce_axes"):
        mlax.linear_transpose(lambda x: x, mnp.ones(3), reduce_axes=("i",))
    with pytest.raises(NotImplementedError, match="integer"):
        mlax.linear_transpose(lambda x: 2 * x, 1)


def test_linear_transpose_and_eval_shape_inside_jit_over_traced_values():
    def solve_adjoint(module):
        def f(a, ct):
            transpose = module.linear_transpose(lambda v: a @ v, module.numpy.ones(3))
            shape = module.eval_shape(lambda v: a @ v * 2, module.ShapeDtypeStruct((3,), np.float32))
            return transpose(ct)[0] * shape.shape[0]
        return f
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    ct = np.array([1.0, -2.0], np.float32)
    _close(mlax.jit(solve_adjoint(mlax))(a, ct), jax.jit(solve_adjoint(jax))(a, ct))
    _close(mlax.grad(lambda a: mnp.sum(solve_adjoint(mlax)(a, ct) ** 2))(a),
           jax.grad(lambda a: jnp.sum(solve_adjoint(jax)(a, ct) ** 2))(a))


@pytest.mark.parametrize("argnums,has_aux,jitted", [(0, False, True), ((0, 1), True, False)])
def test_fwd_and_bwd_matches_jax(argnums, has_aux, jitted):
    def fn(module):
        def f(x, w):
            y = module.numpy.tanh(x @ w)
            return (y, module.numpy.sum(w)) if has_aux else y
        return f
    w = np.arange(12.0, dtype=np.float32).reshape(3, 4) / 10
    results = []
    for module in (mlax, jax):
        fwd, bwd = module.fwd_and_bwd(fn(module), argnums, has_aux=has_aux, jitted=jitted)
        out = fwd(X, w)
        results.append((out[0], out[2] if has_aux else None, bwd(out[1], np.ones(4, np.float32))))
    _close(results[0], results[1])


def test_jacobian_is_jacrev():
    f = lambda m: (lambda x: m.numpy.tanh(x) * x[0])  # noqa: E731
    _close(mlax.jacobian(f(mlax))(X), jax.jacobian(f(jax))(X))


# -- checkpoint policies ----------------------------------------------------------------------------

def test_checkpoint_policies_have_jax_names_and_the_honoured_ones_keep_derivatives():
    names = {n for n in dir(jax.checkpoint_policies) if not n.startswith("_")}
    assert names <= set(dir(mlax.checkpoint_policies))

    def loss(module, policy):
        block = module.checkpoint(lambda x: module.numpy.tanh(module.numpy.exp(x)) * x, policy=policy)
        return lambda x: module.numpy.sum(block(x))
    expected = jax.grad(loss(jax, None))(X)
    for name in ("nothing_saveable", "everything_saveable"):
        policy = getattr(mlax.checkpoint_policies, name)
        _close(mlax.grad(loss(mlax, policy))(X), expected)
        _close(mlax.jit(mlax.grad(loss(mlax, policy)))(X), expected)
    for policy in (mlax.checkpoint_policies.dots_saveable, mlax.checkpoint_policies.save_only_these_names("a"),
                   mlax.checkpoint_policies.offload_dot_with_no_batch_dims("device", "pinned_host")):
        with pytest.raises(NotImplementedError, match=str(policy).split("(")[0]):
            mlax.checkpoint(lambda x: x, policy=policy)
