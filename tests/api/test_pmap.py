"""pmap over several CPU devices and the collectives (psum, pmean, pmax, pmin,
all_gather, ppermute, axis_index), under pmap and under vmap(axis_name=...):
numbers against NumPy, composition with grad/vmap/jit, the errors, and the
devices the compiled program really uses.

The CPU has MLAX_NUM_CPU_DEVICES devices, read whenever devices are listed (device 0
stays the same): a fixture sets it to 4 for each test here, and pmaps run over 2 or 4.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import lax
from mlax.runtime import backends

SIZES = (2, 4)


@pytest.fixture(autouse=True)
def four_cpu_devices(monkeypatch):
    monkeypatch.setenv("MLAX_NUM_CPU_DEVICES", "4")


def data(n, *shape, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + shape).astype(np.float32)


@pytest.mark.parametrize("n", SIZES)
def test_collectives_under_pmap_match_numpy(n):
    x = data(n, 3)
    perm = [(i, (i + 1) % n) for i in range(n - 1)]  # the last device receives nothing

    def f(v):
        return {"psum": lax.psum(v, "i"), "pmean": lax.pmean(v, "i"), "pmax": lax.pmax(v, "i"),
                "pmin": lax.pmin(v, "i"), "gather": lax.all_gather(v, "i"),
                "tiled": lax.all_gather(v, "i", tiled=True), "ppermute": lax.ppermute(v, "i", perm),
                "index": lax.axis_index("i")}

    out = mlax.pmap(f, "i")(x)
    every = lambda value: np.broadcast_to(value, (n,) + np.shape(value))  # noqa: E731
    np.testing.assert_allclose(out["psum"], every(x.sum(0)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["pmean"], every(x.mean(0)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["pmax"], every(x.max(0)))
    np.testing.assert_array_equal(out["pmin"], every(x.min(0)))
    np.testing.assert_array_equal(out["gather"], every(x))
    np.testing.assert_array_equal(out["tiled"], every(x.reshape(-1)))
    expected = np.zeros_like(x)
    for source, destination in perm:
        expected[destination] = x[source]
    np.testing.assert_array_equal(out["ppermute"], expected)
    np.testing.assert_array_equal(out["index"], np.arange(n, dtype=np.int32))


def test_in_axes_out_axes_pytrees_and_static_arguments():
    x, w = data(2, 3, 4), data(4, seed=1)[0]

    def f(scale, tree, bias):
        return {"y": tree["a"] * bias * scale, "total": lax.psum(tree["a"].sum(), "i")}

    out = mlax.pmap(f, "i", in_axes=({"a": 1}, None), out_axes={"y": 1, "total": None},
                    static_broadcasted_argnums=(0,))(3.0, {"a": np.moveaxis(x, 0, 1)}, w)
    np.testing.assert_allclose(out["y"], np.moveaxis(x * w * 3.0, 0, 1), rtol=1e-6)
    np.testing.assert_allclose(out["total"], x.sum(), rtol=1e-5)


def _loss(params, batch):
    w, b = params
    x, y = batch
    hidden = mnp.tanh(x @ w + b)
    return mnp.mean((hidden.sum(axis=1) - y) ** 2)


@pytest.mark.parametrize("n", SIZES)
def test_data_parallel_gradient_matches_the_single_device_gradient(n):
    w, b = data(5, 3, seed=1) / 2, data(3, seed=2)
    x, y = data(4 * n, 5, seed=3), data(4 * n, seed=4)
    shard = lambda a: a.reshape((n, 4) + a.shape[1:])  # noqa: E731

    def step(params, batch):
        return lax.pmean(mlax.grad(_loss)(params, batch), "i")

    grads = mlax.pmap(step, "i", in_axes=(None, 0))((w, b), (shard(x), shard(y)))
    expected = mlax.grad(_loss)((w, b), (x, y))
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, np.broadcast_to(want, (n,) + want.shape), rtol=2e-5, atol=1e-6)


def _central_differences(f, x, eps=1e-5):
    x = x.astype(np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def test_grad_through_pmap_and_its_collectives():
    n, x = 4, data(4, 3)
    perm = [(i, (i + 1) % n) for i in range(n)]

    def f(xs):
        def per_device(v):
            return (mnp.sin(lax.psum(v, "i")) * v + lax.ppermute(v, "i", perm) * v[::-1]
                    + lax.all_gather(v, "i")[0] ** 2 + lax.pmax(v, "i"))
        return mlax.pmap(per_device, "i")(xs).sum()

    def reference(xs):
        return (np.sin(xs.sum(0)) * xs + np.roll(xs, 1, axis=0) * xs[:, ::-1] + xs[0] ** 2 + xs.max(0)).sum()

    np.testing.assert_allclose(f(x), reference(x), rtol=1e-5)
    np.testing.assert_allclose(mlax.grad(f)(x), _central_differences(reference, x), rtol=1e-4, atol=1e-5)


def test_pmap_of_grad_transposes_psum_into_psum():
    # As in JAX: each device's loss psum(v ** 2) sends a cotangent 1 to every device.
    x = data(2, 3)
    grads = mlax.pmap(mlax.grad(lambda v: lax.psum(mnp.sum(v ** 2), "i")), "i")(x)
    np.testing.assert_allclose(grads, 2 * 2 * x, rtol=1e-6)


def test_collectives_over_a_vmap_axis_match_numpy():
    x = data(5, 3)
    perm = [(0, 2), (2, 4), (4, 0)]

    def f(v):
        return (lax.psum(v, "b"), lax.pmean(v, "b"), lax.pmax(v, "b"), lax.pmin(v, "b"),
                lax.all_gather(v, "b"), lax.all_gather(v, "b", axis=1, tiled=True),
                lax.ppermute(v, "b", perm), lax.axis_index("b"))

    s, m, hi, lo, gathered, tiled, permuted, index = mlax.vmap(f, axis_name="b")(x)
    np.testing.assert_allclose(s, np.broadcast_to(x.sum(0), x.shape), rtol=1e-5)
    np.testing.assert_allclose(m, np.broadcast_to(x.mean(0), x.shape), rtol=1e-5)
    np.testing.assert_array_equal(hi, np.broadcast_to(x.max(0), x.shape))
    np.testing.assert_array_equal(lo, np.broadcast_to(x.min(0), x.shape))
    np.testing.assert_array_equal(gathered, np.broadcast_to(x, (5,) + x.shape))
    np.testing.assert_array_equal(tiled, np.broadcast_to(x.reshape(1, -1), (5, 15)))
    expected = np.zeros_like(x)
    for source, destination in perm:
        expected[destination] = x[source]
    np.testing.assert_array_equal(permuted, expected)
    np.testing.assert_array_equal(index, np.arange(5))
    # In-axes not in front, a result that does not vary over the axis, and gradients.
    np.testing.assert_allclose(mlax.vmap(lambda v: lax.psum(v, "b"), in_axes=1, out_axes=None, axis_name="b")(x.T),
                               x.sum(0), rtol=1e-5)
    grad = mlax.grad(lambda xs: mlax.vmap(lambda v: mnp.sum(v * lax.pmean(v, "b")), axis_name="b")(xs).sum())(x)
    np.testing.assert_allclose(grad, 2 * np.broadcast_to(x.mean(0), x.shape), rtol=1e-5)


def test_pmap_composes_with_vmap_and_jit():
    x = data(2, 3, 4)
    center = mlax.pmap(mlax.vmap(lambda v: v - lax.pmean(v, "j") + lax.psum(v, "i"), axis_name="j"), "i")
    expected = x - x.mean(1, keepdims=True) + x.sum(0)
    np.testing.assert_allclose(center(x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mlax.jit(center)(x), expected, rtol=1e-5, atol=1e-5)
    inside_jit = mlax.jit(lambda a: mlax.pmap(lambda v: lax.psum(v, "i"), "i")(a * 2) + 1)
    np.testing.assert_allclose(inside_jit(x), 2 * x.sum(0) + 1 + 0 * x, rtol=1e-5)
    # vmap over a pmapped function, a collective over the vmap's axis inside it.
    stacked = np.stack([x, -2 * x])
    both = mlax.vmap(mlax.pmap(lambda v: lax.psum(v, "i") * lax.psum(v, "k"), "i"), axis_name="k")(stacked)
    np.testing.assert_allclose(both, stacked.sum(1, keepdims=True) * stacked.sum(0), rtol=1e-5, atol=1e-5)


CONTROL_FLOW = {
    # Loops and branches run per device, or, with a collective inside, as one op over every
    # device's instance.
    "scan per device": lambda v: lax.scan(lambda c, x: (c + x, (c * x, x + 100)), 0.0, v),
    "fori_loop with pmean": lambda v: lax.fori_loop(0, 3, lambda i, a: a + lax.pmean(a, "i"), v),
    "fori_loop updating arrays": lambda v: lax.fori_loop(
        0, 3, lambda i, c: (c[0].at[i].set(lax.psum(v[i], "i")), c[1] - v * i), (mnp.zeros(3), mnp.zeros(3))),
    "scan with psum": lambda v: lax.scan(lambda c, x: (c + lax.psum(x, "i"), (c * x, lax.axis_index("i") + 0 * c)),
                                         0.0, v),
    "while_loop on pmax": lambda v: lax.while_loop(lambda a: lax.pmax(a.sum(), "i") < 50,
                                                   lambda a: a * 2 + 1 + lax.axis_index("i"), v),
    "cond on psum": lambda v: lax.cond(lax.psum(v.sum(), "i") > 0, lambda: lax.all_gather(v, "i").sum(0),
                                       lambda: v),
}


@pytest.mark.parametrize("name", CONTROL_FLOW)
def test_control_flow_under_pmap_matches_vmap_with_the_axis_name(name):
    f, x = CONTROL_FLOW[name], data(4, 3)
    got, expected = mlax.pmap(f, "i")(x), mlax.vmap(f, axis_name="i")(x)
    for a, b in zip(mlax.tree_util.tree_leaves(got), mlax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_gradients_through_loops_with_collectives_under_pmap():
    x = data(2, 3)
    f = CONTROL_FLOW["fori_loop with pmean"]
    np.testing.assert_allclose(mlax.grad(lambda xs: mlax.pmap(f, "i")(xs).sum())(x),
                               mlax.grad(lambda xs: mlax.vmap(f, axis_name="i")(xs).sum())(x), rtol=1e-5)
    h = lambda v: lax.scan(lambda c, xi: (c + lax.psum(xi * c, "i"), c * xi), 1.0, v)[1].sum()  # noqa: E731
    np.testing.assert_allclose(mlax.pmap(mlax.grad(h), "i")(x), mlax.vmap(mlax.grad(h), axis_name="i")(x),
                               rtol=1e-5)


@pytest.mark.parametrize("n", SIZES)
def test_the_compiled_program_runs_on_n_devices(n):
    lowered = mlax.jit(mlax.pmap(lambda v: lax.psum(mnp.exp(v), "i"), "i")).lower(np.zeros((n, 3), np.float32))
    stablehlo = lowered.as_text("stablehlo")
    for k in range(n):
        assert f"#hal.device.affinity<@__device_{k}>" in stablehlo
    assert f"mlax.num_devices = {n} : i64" in stablehlo  # the module says how many devices it runs on
    compiled = lowered.compile()
    np.testing.assert_allclose(compiled(np.zeros((n, 3), np.float32)), np.full((n, 3), n), rtol=1e-6)
    # IREE places work on each device: a command buffer executes on the last one.
    from iree.compiler import compile_str

    flags = backends.get("cpu").flags(num_devices=n)
    stream = compile_str(stablehlo, extra_args=list(flags) + ["--compile-to=stream"]).decode()
    assert f"util.global private @__device_{n - 1}" in stream
    assert f"stream.cmd.execute on(#hal.device.affinity<@__device_{n - 1}>)" in stream


def test_a_fresh_process_has_the_devices_the_environment_asks_for():
    script = ("import numpy as np, mlax\nfrom mlax import lax\n"
              "print(mlax.device_count(), mlax.local_device_count(), len(mlax.devices()))\n"
              "print(mlax.pmap(lambda v: lax.psum(v, 'i'), 'i')(np.ones((2, 2), np.float32)).tolist())\n")
    env = dict(os.environ, MLAX_NUM_CPU_DEVICES="2")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["2 2 2", "[[2.0, 2.0], [2.0, 2.0]]"]


# -- errors ------------------------------------------------------------------------------------

def test_unbound_axis_name_is_a_name_error_at_trace_time():
    x = data(2, 3)
    with pytest.raises(NameError, match="unbound axis name: 'j'"):
        mlax.pmap(lambda v: lax.psum(v, "j"), "i")(x)
    with pytest.raises(NameError, match="unbound axis name: 'b'.*bound here: none"):
        mlax.jit(lambda v: lax.all_gather(v, "b"))(x)
    with pytest.raises(NameError, match="unbound axis name: 'i'"):
        mlax.vmap(lambda v: lax.axis_index("i"), axis_name="b")(x)


def test_axis_size_must_equal_the_number_of_devices():
    devices = mlax.devices()[:3]
    with pytest.raises(ValueError, match="devices= with 3 devices for a mapped axis of size 2"):
        mlax.pmap(lambda v: v, "i", devices=devices)(data(2, 3))
    with pytest.raises(ValueError, match="inconsistent sizes for the mapped axes.*size 2.*size 3"):
        mlax.pmap(lambda a, b: a + b, "i")(data(2, 3), data(3, 3))


def test_too_few_devices_says_how_to_get_more(monkeypatch):
    lowered = mlax.jit(mlax.pmap(lambda v: lax.psum(v, "i"), "i")).lower(data(3, 2))
    monkeypatch.setenv("MLAX_NUM_CPU_DEVICES", "1")
    assert mlax.device_count() == 1 and mlax.local_device_count() == 1
    with pytest.raises(ValueError, match="size 2 needs 2 devices, but only 1 cpu device.*MLAX_NUM_CPU_DEVICES=2"):
        mlax.pmap(lambda v: v, "i")(data(2, 3))
    with pytest.raises(mlax.errors.BackendError, match="runs on 3 devices, but only 1 cpu.*MLAX_NUM_CPU_DEVICES=3"):
        lowered.compile()


def test_unsupported_uses_are_clear_errors():
    x = data(2, 2, 3)
    with pytest.raises(NotImplementedError, match="pmap inside pmap"):
        mlax.pmap(mlax.pmap(lambda v: v, "j"), "i")(x)



def test_exported_pmap_runs_on_its_devices_in_a_new_process(tmp_path, monkeypatch):
    x = data(2, 3)
    exported = mlax.export(mlax.pmap(lambda v: v * lax.psum(v, "i"), "i"))(x)
    assert exported.device_count == 2
    path = tmp_path / "sum.mlaxpkg"
    exported.save(path)
    np.testing.assert_allclose(mlax.load(path).call(x), x * x.sum(0), rtol=1e-6)
    script = (f"import numpy as np, mlax; x = np.load({str(tmp_path / 'x.npy')!r}); "
              f"print(np.abs(np.asarray(mlax.load({str(path)!r}).call(x)) - x * x.sum(0)).max())")
    np.save(tmp_path / "x.npy", x)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ, MLAX_NUM_CPU_DEVICES="2"))
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.strip().splitlines()[-1]) < 1e-5
    monkeypatch.setenv("MLAX_NUM_CPU_DEVICES", "1")
    with pytest.raises(mlax.errors.BackendError, match="runs on 2 devices.*MLAX_NUM_CPU_DEVICES=2"):
        mlax.load(path).call(x)
