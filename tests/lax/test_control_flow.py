"""lax.cond/switch/while_loop/fori_loop/scan/map: results against Python loops, eagerly
and under jit, vmapped with batched and unbatched predicates, and their errors."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import lax

XS = np.arange(12, dtype=np.float32).reshape(4, 3) / 4


@pytest.mark.gpu
def test_cond_and_switch_pick_a_branch():
    for run in (lambda f: f, mlax.jit):
        f = run(lambda p, x: lax.cond(p, lambda a: a * 2, lambda a: a - 1, x))
        np.testing.assert_allclose(f(True, XS[0]), XS[0] * 2)
        np.testing.assert_allclose(f(False, XS[0]), XS[0] - 1)
        g = run(lambda i, x: lax.switch(i, [lambda a: a, lambda a: a * 10, lambda a: -a], x))
        for index, expected in [(-3, XS[1]), (1, XS[1] * 10), (2, -XS[1]), (7, -XS[1])]:
            np.testing.assert_allclose(g(index, XS[1]), expected)


def test_cond_with_pytrees_and_closures():
    scale = mnp.asarray(3.0)

    def f(p, tree):
        return lax.cond(p, lambda t: {"a": t["a"] * scale, "b": t["b"]},
                        lambda t: {"a": t["a"], "b": t["b"] + scale}, tree)
    out = mlax.jit(f)(False, {"a": XS[0], "b": XS[1]})
    np.testing.assert_allclose(out["b"], XS[1] + 3)
    np.testing.assert_allclose(out["a"], XS[0])


@pytest.mark.gpu
def test_while_loop_and_fori_loop():
    def collatz_steps(n):
        def body(c):
            n, steps = c
            return lax.cond(n % 2 == 0, lambda m: m // 2, lambda m: 3 * m + 1, n), steps + 1
        return lax.while_loop(lambda c: c[0] != 1, body, (n, 0))[1]

    assert int(mlax.jit(collatz_steps)(27)) == 111
    assert float(lax.fori_loop(0, 5, lambda i, v: v + i * i, 0.0)) == 30.0
    traced_bounds = mlax.jit(lambda lo, hi: lax.fori_loop(lo, hi, lambda i, v: v * 2.0 + i, 1.0))
    value = 1.0
    for i in range(2, 6):
        value = value * 2 + i
    assert float(traced_bounds(2, 6)) == value
    bounded = lax.while_loop(lambda v: v < 100.0, lambda v: v * 3.0, 1.0, max_steps=10)
    assert float(bounded) == 243.0


@pytest.mark.gpu
def test_scan_and_map():
    def cumulative(carry, x):
        carry = carry + x
        return carry, carry * 2

    for reverse in (False, True):
        final, ys = lax.scan(cumulative, np.zeros(3, np.float32), XS, reverse=reverse)
        order = XS[::-1] if reverse else XS
        expected = np.cumsum(order, axis=0)
        np.testing.assert_allclose(final, expected[-1], rtol=1e-6)
        np.testing.assert_allclose(ys, (expected * 2)[::-1] if reverse else expected * 2, rtol=1e-6)
    np.testing.assert_allclose(lax.map(lambda row: mnp.sum(row ** 2), XS), np.sum(XS ** 2, axis=1), rtol=1e-6)
    _, counted = lax.scan(lambda c, _: (c + 1, c), 0, None, length=4)
    np.testing.assert_array_equal(counted, [0, 1, 2, 3])


@pytest.mark.gpu
def test_vmap_of_control_flow():
    rows = mnp.asarray(XS)
    np.testing.assert_allclose(mlax.vmap(lambda x: lax.cond(x[0] > 1, lambda a: a * 2, lambda a: a - 1, x))(rows),
                               np.where(XS[:, :1] > 1, XS * 2, XS - 1))
    doubled = mlax.vmap(lambda n: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2.0),
                                                 (0, 1.0))[1])(mnp.asarray([1, 3, 5]))
    np.testing.assert_allclose(doubled, [2.0, 8.0, 32.0])
    sums = mlax.vmap(lambda x: lax.scan(lambda c, v: (c + v, c), 0.0, x)[0], in_axes=1)(rows)
    np.testing.assert_allclose(sums, XS.sum(axis=0), rtol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(TypeError, match=r"false_fun has types \(f32\[2\]\), true_fun \(f32\[3\]\)"):
        lax.cond(True, lambda x: x, lambda x: x[:2], XS[0])
    with pytest.raises(TypeError, match=r"branch 0 has types \(f32\[3\]\), branch 1 \(i32\[3\]\)"):
        lax.switch(0, [lambda x: x, lambda x: x.astype(mnp.int32)], XS[0])
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda v: v, lambda v: v, 1.0)
    with pytest.raises(TypeError, match=r"body_fun.*f32\[\].*f32\[2\]"):
        lax.while_loop(lambda v: v < 3.0, lambda v: mnp.ones(2), 1.0)
    with pytest.raises(ValueError, match="number of steps"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.ones(3), np.ones(4)))


def test_vmap_keeps_unbatched_results_unbatched():
    rows = mnp.asarray(XS)
    # The counter never meets the mapped axis, so out_axes=None is allowed for it.
    count, total = mlax.vmap(lambda x: lax.fori_loop(0, 3, lambda i, c: (c[0] + 1, c[1] + x), (0, mnp.zeros(3))),
                             out_axes=(None, 0))(rows)
    assert int(count) == 3
    np.testing.assert_allclose(total, XS * 3, rtol=1e-6)
    steps, ys = mlax.vmap(lambda x: lax.scan(lambda c, v: (c + 1, (c, v * 2)), 0, x), in_axes=1,
                          out_axes=(None, (None, 1)))(rows)
    np.testing.assert_array_equal(steps, 4)
    np.testing.assert_array_equal(ys[0], np.arange(4))
    np.testing.assert_allclose(ys[1], XS * 2)
    picked = mlax.vmap(lambda x: lax.cond(True, lambda a: (a * 2, 1.0), lambda a: (a, 2.0), x),
                       out_axes=(0, None))(rows)
    np.testing.assert_allclose(picked[0], XS * 2)
    assert float(picked[1]) == 1.0


def _central_difference(f, x, direction, eps=1e-3):
    x64, d64 = np.asarray(x, np.float64), np.asarray(direction, np.float64)
    return (np.asarray(f(x64 + eps * d64), np.float64) - np.asarray(f(x64 - eps * d64), np.float64)) / (2 * eps)


FORWARD_CASES = {
    "cond": lambda x: lax.cond(x[0] > 0, lambda a: mnp.sin(a) * a[1], lambda a: a ** 2, x),
    "switch-on-data": lambda x: lax.switch((x[1] > 0).astype(mnp.int32), [mnp.cos, lambda a: a * mnp.exp(a)], x),
    "while": lambda x: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, mnp.sin(c[1]) * x), (0, x))[1],
    "fori-traced-bounds": lambda x: lax.fori_loop(0, mnp.asarray(3), lambda i, v: v * x + i, x),
    "scan": lambda x: lax.scan(lambda c, v: (c * v + mnp.sum(x), mnp.tanh(c * v)), 1.0, x),
    "scan-reverse": lambda x: lax.scan(lambda c, v: (mnp.sin(c + v), c * v), x[0], x, reverse=True),
    "nested": lambda x: lax.fori_loop(0, 2, lambda i, v: lax.cond(i == 0, lambda a: a * x, mnp.sin, v), x),
}


@pytest.mark.parametrize("name", FORWARD_CASES)
def test_forward_mode_through_control_flow(name):
    f = FORWARD_CASES[name]
    x = np.array([0.7, 1.3, -0.4], np.float32)
    direction = np.array([0.3, -1.0, 0.5], np.float32)
    primal, tangent = mlax.jvp(f, (x,), (direction,))
    np.testing.assert_allclose(
        np.concatenate([np.ravel(t) for t in mlax.tree_util.tree_leaves(primal)]),
        np.concatenate([np.ravel(t) for t in mlax.tree_util.tree_leaves(f(x))]), rtol=1e-6)
    flat = lambda x: np.concatenate([np.ravel(t) for t in mlax.tree_util.tree_leaves(mlax.jit(f)(x))])
    expected = _central_difference(flat, x, direction)
    actual = np.concatenate([np.ravel(t) for t in mlax.tree_util.tree_leaves(tangent)])
    np.testing.assert_allclose(actual, expected, rtol=2e-3, atol=2e-3)


def test_jacfwd_of_fori_loop():
    x = mnp.asarray([0.5, 1.0, 2.0])
    jacobian = mlax.jacfwd(lambda x: lax.fori_loop(0, 3, lambda i, v: v * x, x))(x)
    np.testing.assert_allclose(jacobian, np.diag(4 * np.asarray(x) ** 3), rtol=1e-6)


REVERSE_CASES = dict(FORWARD_CASES, **{
    "while-max-steps": lambda x: lax.while_loop(lambda c: c[1][0] < 2.0, lambda c: (c[0] + 1, c[1] * 1.5 + x),
                                                (0, x), max_steps=6)[1],
    "scan-consts-and-int-carry": lambda x: lax.scan(
        lambda c, v: ((c[0] + 1, mnp.sin(c[1] * v) + x[2] * c[0]), c[1] * x[0]), (0, 1.0), x)[1],
})
REVERSE_CASES.pop("while")  # unbounded: reverse mode must refuse it (see the errors test)
REVERSE_CASES.pop("fori-traced-bounds")


@pytest.mark.parametrize("name", REVERSE_CASES)
def test_reverse_mode_through_control_flow(name):
    f = REVERSE_CASES[name]
    weights = np.array([0.5, -1.5, 2.0], np.float32)

    def loss(x):
        return sum(mnp.sum(leaf * weights[:leaf.size].reshape(leaf.shape) if leaf.ndim else leaf * 0.5)
                   for leaf in mlax.tree_util.tree_leaves(f(x)))
    x = np.array([0.7, 1.3, -0.4], np.float32)
    gradient = np.asarray(mlax.grad(loss)(x))
    expected = [_central_difference(lambda v: float(mlax.jit(loss)(v)), x, e) for e in np.eye(3)]
    np.testing.assert_allclose(gradient, expected, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(mlax.jit(mlax.grad(loss))(x), gradient, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_higher_order_and_batched_gradients_through_control_flow():
    x = np.array([0.7, 1.3, -0.4], np.float32)

    def f(x):
        return mnp.sum(lax.scan(lambda c, v: (c * v + mnp.sum(x), mnp.tanh(c * v)), 1.0, x)[1])
    hessian = np.asarray(mlax.hessian(f)(x))
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-5)
    gradient = lambda v: np.asarray(mlax.grad(f)(v), np.float64)
    expected = np.stack([_central_difference(gradient, x, e) for e in np.eye(3)])
    np.testing.assert_allclose(hessian, expected, rtol=5e-3, atol=5e-3)
    np.testing.assert_allclose(mlax.jacfwd(mlax.grad(f))(x), hessian, rtol=1e-4, atol=1e-5)

    def g(x):
        return mnp.sum(lax.cond(x[0] > 0, lambda a: mnp.sin(a) * a[1], lambda a: a ** 2, x))
    batch = np.stack([x, -x])
    np.testing.assert_allclose(mlax.vmap(mlax.grad(g))(batch), [mlax.grad(g)(x), mlax.grad(g)(-x)], rtol=1e-6)
    np.testing.assert_allclose(mlax.grad(g)(-x), -2 * x, rtol=1e-6)


def test_recurrent_network_gradient_matches_finite_differences():
    rng = np.random.RandomState(0)
    inputs = rng.randn(6, 4).astype(np.float32)

    def loss(weights):
        _, states = lax.scan(lambda h, x: (mnp.tanh(weights @ h + x),) * 2, mnp.zeros(4), inputs)
        return mnp.sum(states ** 2)
    weights = (rng.randn(4, 4) * 0.5).astype(np.float32)
    gradient = np.asarray(mlax.grad(loss)(weights))
    direction = rng.randn(4, 4).astype(np.float32)
    expected = _central_difference(lambda w: float(mlax.jit(loss)(w)), weights, direction)
    np.testing.assert_allclose(np.sum(gradient * direction), expected, rtol=2e-3)


def test_reverse_mode_of_unbounded_while_loop_names_the_fix():
    with pytest.raises(ValueError, match="while_loop needs a bound.*max_steps"):
        mlax.grad(lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x))(1.0)
    with pytest.raises(ValueError, match="max_steps"):  # a traced trip count
        mlax.grad(lambda x, n: lax.fori_loop(0, n, lambda i, v: v * x, x))(1.5, mnp.asarray(3))
    # A Python int that is not differentiated stays an int, as in JAX: a fixed trip count.
    assert float(mlax.grad(lambda x, n: lax.fori_loop(0, n, lambda i, v: v * x, x))(1.5, 3)) == 4 * 1.5 ** 3


def _cumulative(lax_, unroll):
    """A scan with a carry, xs and stacked ys: a running weighted sum and its history."""
    def f(c, xs):
        def step(carry, x):
            carry = carry * 0.9 + x
            return carry, carry * 2.0
        return lax_.scan(step, c, xs, reverse=True, unroll=unroll)
    return f


@pytest.mark.parametrize("unroll", [1, 3, 7, True, False, 0])
def test_scan_unroll_gives_jaxs_results_and_derivatives(unroll):
    # 7 steps: unroll 3 runs two iterations of three and one step after the loop.
    jax = pytest.importorskip("jax")
    c, xs = np.float32(0.5), np.linspace(-1, 1, 7, dtype=np.float32)
    mine_f, theirs_f = _cumulative(lax, unroll), _cumulative(jax.lax, unroll)
    for mine, theirs in [(mlax.jit(mine_f), jax.jit(theirs_f)),
                         (mlax.jit(mlax.grad(lambda c, xs: mnp.sum(mine_f(c, xs)[1]), (0, 1))),
                          jax.jit(jax.grad(lambda c, xs: jax.numpy.sum(theirs_f(c, xs)[1]), (0, 1))))]:
        for a, b in zip(mlax.tree_util.tree_leaves(mine(c, xs)), jax.tree_util.tree_leaves(theirs(c, xs))):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


def test_scan_unroll_sets_the_steps_per_loop_iteration():
    def step(carry, x):
        return carry @ carry, x  # a matmul: not unrolled unless asked
    xs = np.ones((10, 2), np.float32)
    def unroll_of(**kwargs):
        text = mlax.jit(lambda c: lax.scan(step, c, xs, **kwargs)).lower(np.eye(2, dtype=np.float32)).as_text()
        return int(text.split("unroll = ")[1].split(" ")[0])
    assert unroll_of() == 1 and unroll_of(unroll=4) == 4 and unroll_of(unroll=True) == 10
    # A loop over a step of a few arithmetic ops runs many steps per iteration (as many as make
    # UNROLLED_OPS ops), its copies fused into one dispatch; not a step with xs, ys or sin (whose
    # float32 lowering is 300 ops: unrolled, compiles took seconds).
    def loop_unroll(body, xs=None):
        scan = mlax.jit(lambda c: lax.scan(body, c, xs, length=None if xs is not None else 1000))
        return int(scan.lower(np.float32(1)).as_text().split("unroll = ")[1].split(" ")[0])
    assert loop_unroll(lambda c, _: (c * 0.999 + 0.001, None)) > 10
    assert loop_unroll(lambda c, _: (mnp.sin(c), None)) == 1
    assert loop_unroll(lambda c, x: (c * x, None), np.ones(1000, np.float32)) == 1
    assert loop_unroll(lambda c, _: (c + 1.0, c)) == 1
    cheap = mlax.jit(lambda x: lax.fori_loop(0, 10000, lambda i, x: x * 0.999 + 0.001, x))
    np.testing.assert_allclose(float(cheap(np.float32(0.5))), 0.9999831, rtol=1e-6)


@pytest.mark.parametrize("unroll", [-1, 2.5, "2"])
def test_scan_unroll_must_be_a_bool_or_a_non_negative_int(unroll):
    with pytest.raises(ValueError, match="`unroll` must be a `bool` or a non-negative `int`"):
        lax.scan(lambda c, x: (c, x), 0.0, np.ones(3, np.float32), unroll=unroll)


def _two_histories(lax_):
    """A scan with xs and two stacked ys of different dtypes: a running sum and its step counts."""
    def f(c, xs, reverse):
        def step(carry, x):
            total, count = carry
            total = total * 0.5 + x
            return (total, count + 1), (total * total, count)
        return lax_.scan(step, (c, 0), xs, reverse=reverse)
    return f


@pytest.mark.parametrize("length", [4, 7, 12, 100])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_over_large_stacked_ys_runs_in_chunks(monkeypatch, length, reverse):
    # Past CHUNKED_BYTES of stacked ys a scan's steps run in chunks of about sqrt(length) (7: two
    # chunks of 3 and a last one of 1); set low here so that small arrays take that path.
    jax = pytest.importorskip("jax")
    import mlax.ops.control_flow as control_flow
    monkeypatch.setattr(control_flow, "CHUNKED_BYTES", 0)
    c = np.linspace(-1, 1, 3, dtype=np.float32)
    xs = np.cos(np.arange(length * 3, dtype=np.float32)).reshape(length, 3)
    mine_f, theirs_f = _two_histories(lax), _two_histories(jax.lax)
    mine = mlax.jit(mine_f, static_argnums=2)
    assert mine.lower(c, xs, reverse).as_text("stablehlo").count("stablehlo.while") == 2 + (length == 7)
    for a, b in zip(mlax.tree_util.tree_leaves(mine(c, xs, reverse)),
                    jax.tree_util.tree_leaves(theirs_f(c, xs, reverse))):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    grads = [lib.grad(lambda c, xs: lib.numpy.sum(f(c, xs, reverse)[1][0]), (0, 1))(c, xs)
             for lib, f in [(mlax, mine_f), (jax, theirs_f)]]
    for a, b in zip(grads[0], grads[1]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
