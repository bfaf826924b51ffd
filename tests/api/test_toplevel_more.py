"""The top-level modules of JAX's other faces against JAX: sharding on this process's devices
(meshes, shardings, shards, the array constructors, reshard, shard_map and smap, with a
four-device run in a subprocess), monitoring's events and listeners, profiler's traces,
dlpack's exchange both ways, and image's resizing (every method, antialiased or not, values and
derivatives); and their errors."""

import gzip
import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.dlpack
import mlax.image
import mlax.monitoring
import mlax.numpy as mnp
import mlax.profiler
import mlax.sharding
from mlax import lax
from mlax.api import sharding as msh

jax.config.update("jax_platforms", "cpu")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 7)).astype(np.float32)


def _close(got, expected, rtol=2e-6, atol=1e-6):
    got_leaves, got_tree = jax.tree_util.tree_flatten(mlax.device_get(got))
    expected_leaves, expected_tree = jax.tree_util.tree_flatten(jax.device_get(expected))
    assert got_tree == expected_tree
    for g, e in zip(got_leaves, expected_leaves):
        assert np.shape(g) == np.shape(e) and np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


# -- sharding ------------------------------------------------------------------------------------

def _mesh(sharding_module, make_mesh, shape, names, kind="Auto"):
    return make_mesh(shape, names, axis_types=(getattr(sharding_module.AxisType, kind),) * len(names))


def test_partition_specs_meshes_and_shardings_print_and_compare_as_in_jax():
    for spec in [(), ("x",), ("x", None), (("x", "y"), None), (None, "y")]:
        assert repr(msh.P(*spec)) == repr(jax.P(*spec))
        assert len(msh.P(*spec)) == len(jax.P(*spec)) and tuple(msh.P(*spec)) == tuple(jax.P(*spec))
    assert msh.P("x") == msh.P("x") and msh.P("x") != msh.P("y") and msh.P("x") != ("x",)
    for kind in ["Auto", "Explicit"]:
        ours = _mesh(mlax.sharding, msh.make_mesh, (1, 1), ("x", "y"), kind)
        theirs = _mesh(jax.sharding, jax.make_mesh, (1, 1), ("x", "y"), kind)
        assert repr(ours) == repr(theirs)
        assert ours.shape == theirs.shape and ours.axis_names == theirs.axis_names and ours.size == theirs.size
        assert ours.axis_sizes == theirs.axis_sizes and ours.device_ids.tolist() == theirs.device_ids.tolist()
        for spec in [(), ("x",), (("x", "y"), None)]:
            s_ours, s_theirs = mlax.sharding.NamedSharding(ours, msh.P(*spec)), jax.NamedSharding(theirs, jax.P(*spec))
            assert repr(s_ours) == repr(s_theirs)
            assert s_ours.shard_shape((4, 3)) == s_theirs.shard_shape((4, 3))
            assert str(s_ours.devices_indices_map((4, 3))) == str(s_theirs.devices_indices_map((4, 3)))
            assert s_ours.is_fully_replicated == s_theirs.is_fully_replicated
            assert s_ours.num_devices == s_theirs.num_devices and s_ours.memory_kind == s_theirs.memory_kind
    assert repr(msh.make_mesh((1,), ("x",))) == repr(jax.make_mesh((1,), ("x",)))  # Explicit by default
    single = mlax.sharding.SingleDeviceSharding(mlax.devices()[0])
    assert repr(single) == repr(jax.sharding.SingleDeviceSharding(jax.devices()[0]))
    assert repr(mnp.arange(3.0).sharding) == repr(jnp.arange(3.0).sharding)


def test_array_constructors_shards_and_reshard_match_jax():
    data = np.arange(12.0).reshape(4, 3)
    got, expected = [], []
    for module, sharding_module, make, put in [(mlax, mlax.sharding, msh, msh.device_put),
                                               (jax, jax.sharding, jax, jax.device_put)]:
        mesh = _mesh(sharding_module, make.make_mesh, (1,), ("x",), "Explicit")
        s = sharding_module.NamedSharding(mesh, sharding_module.PartitionSpec("x"))
        arrays = [make.make_array_from_callback((4, 3), s, lambda index: data[index]),
                  make.make_array_from_callback((4, 3), s, lambda index: data[index], dtype=np.float32),
                  make.make_array_from_process_local_data(s, data),
                  make.make_array_from_single_device_arrays((4, 3), s, [module.numpy.asarray(data)]),
                  put(data, s)]
        with make.set_mesh(mesh):
            arrays.append(make.reshard(module.numpy.asarray(data), sharding_module.PartitionSpec(None, "x")))
        shards = [(repr(a.sharding), [(repr(sh.device), sh.index, sh.replica_id, np.asarray(sh.data))
                                      for sh in a.addressable_shards]) for a in arrays]
        (got if module is mlax else expected).append((arrays, shards))
    _close(got[0][0], expected[0][0])
    assert str(got[0][1]) == str(expected[0][1])


SHARD_MAP_CASES = {  # name -> (fn(lax, block), mesh shape, mesh names, in_specs, out_specs, check_vma)
    "identity over x": (lambda lax, a: a * 2.0, (1,), ("x",), msh.P("x"), msh.P("x"), True),
    "psum to replicated": (lambda lax, a: lax.psum(a, "x"), (1,), ("x",), msh.P("x"), msh.P(), True),
    "pmean two axes": (lambda lax, a: lax.pmean(a, ("x", "y")), (1, 1), ("x", "y"), msh.P("x", "y"), msh.P(),
                       True),
    "axis_index": (lambda lax, a: a + lax.axis_index("y"), (1, 1), ("x", "y"), msh.P(("x", "y")),
                   msh.P(("x", "y")), True),
    "all_gather": (lambda lax, a: lax.all_gather(a, "x"), (1,), ("x",), msh.P("x"), msh.P("x"), True),
    "unchecked replication": (lambda lax, a: a - 1.0, (1,), ("x",), msh.P("x"), msh.P(), False),
    "replicated in": (lambda lax, a: (a, a.sum()), (1,), ("x",), msh.P(), (msh.P(), msh.P()), True),
}


def _jax_specs(specs):
    return jax.tree_util.tree_map(lambda s: jax.P(*s), specs, is_leaf=lambda s: isinstance(s, msh.PartitionSpec))


@pytest.mark.parametrize("name", list(SHARD_MAP_CASES))
def test_shard_map_matches_jax_values_under_jit_and_grad(name):
    fn, shape, names, in_specs, out_specs, check_vma = SHARD_MAP_CASES[name]
    x = RNG.normal(size=(4, 6)).astype(np.float32)
    theirs = jax.shard_map(functools_partial(fn, jax.lax), mesh=_mesh(jax.sharding, jax.make_mesh, shape, names),
                           in_specs=_jax_specs(in_specs), out_specs=_jax_specs(out_specs), check_vma=check_vma)
    ours = msh.shard_map(functools_partial(fn, lax), mesh=_mesh(mlax.sharding, msh.make_mesh, shape, names),
                         in_specs=in_specs, out_specs=out_specs, check_vma=check_vma)

    def loss(module, f):
        return lambda x: sum(module.numpy.sum(leaf ** 2) for leaf in module.tree_util.tree_leaves(f(x)))
    _close(mlax.jit(lambda x: (ours(x), mlax.grad(loss(mlax, ours))(x)))(x),
           (theirs(x), jax.grad(loss(jax, theirs))(x)), rtol=1e-5)


def functools_partial(fn, module):
    return lambda *a: fn(module, *a)


def test_shard_map_errors_name_the_problem():
    mesh = _mesh(mlax.sharding, msh.make_mesh, (1,), ("x",))
    with pytest.raises(ValueError, match="out_specs"):
        msh.shard_map(lambda a: a, mesh=mesh, in_specs=msh.P("x"), out_specs=msh.P())(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="'y'|y of"):
        msh.shard_map(lambda a: a, mesh=mesh, in_specs=msh.P("y"), out_specs=msh.P())(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="needs a mesh"):
        msh.shard_map(lambda a: a, in_specs=msh.P(), out_specs=msh.P())(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="rank"):
        msh.shard_map(lambda a: a, mesh=mesh, in_specs=msh.P("x", None), out_specs=msh.P())(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="Number of devices"):
        msh.make_mesh((len(mlax.devices()) + 1,), ("x",))
    with pytest.raises(ValueError, match="Resource axis: z"):
        mlax.sharding.NamedSharding(mesh, msh.P("z"))
    with pytest.raises(ValueError, match="PartitionSpec outside a mesh"):
        msh.reshard(np.ones(2, np.float32), msh.P())
    with msh.set_mesh(mesh), pytest.raises(ValueError, match="only Explicit axes"):
        msh.reshard(np.ones(2, np.float32), msh.P("x"))
    with pytest.raises(ValueError, match="shard shape"):
        msh.make_array_from_callback((5,), mlax.sharding.NamedSharding(mesh, msh.P("x")), lambda i: np.ones(3))
    with pytest.raises(ValueError, match="dtype=int32"):
        msh.make_array_from_callback((3,), mlax.sharding.NamedSharding(mesh, msh.P("x")), lambda i: np.ones(3),
                                     dtype=np.int32)
    with pytest.raises(NotImplementedError, match="unreduced"):
        msh.P("x", unreduced={"x"})
    with pytest.raises(NotImplementedError, match="in_axes"):
        msh.smap(lambda a: a, out_axes=0, axis_name="x")(np.ones(2, np.float32))
    # Regression: a spec along an axis outside axis_names was silently not split (JAX raises).
    two = _mesh(mlax.sharding, msh.make_mesh, (1, 1), ("x", "y"))
    with pytest.raises(ValueError, match=r"in_specs must refer only to axes marked as manual \(\['y'\]\)"):
        msh.shard_map(lambda a: a, mesh=two, in_specs=msh.P("x"), out_specs=msh.P(), axis_names={"y"})(
            np.ones(2, np.float32))
    with pytest.raises(ValueError, match="out_specs must refer only to axes marked as manual"):
        msh.shard_map(lambda a: a, mesh=two, in_specs=msh.P(), out_specs=msh.P("x"), axis_names={"y"})(
            np.ones(2, np.float32))


def test_smap_matches_jax():
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    with jax.set_mesh(_mesh(jax.sharding, jax.make_mesh, (1,), ("x",))):
        expected = jax.smap(lambda a: jax.lax.psum(a, "x") * a, in_axes=1, out_axes=1, axis_name="x")(x)
    with msh.set_mesh(_mesh(mlax.sharding, msh.make_mesh, (1,), ("x",))):
        got = msh.smap(lambda a: lax.psum(a, "x") * a, in_axes=1, out_axes=1, axis_name="x")(x)
    _close(got, expected)


MULTI_DEVICE_SCRIPT = textwrap.dedent("""
    import numpy as np, jax, mlax, mlax.sharding
    from mlax import lax
    from mlax.api import sharding as msh
    jax.config.update("jax_platforms", "cpu")
    x = np.arange(48.0, dtype=np.float32).reshape(4, 12)
    cases = [  # fn(lax, block), in_specs, out_specs
        (lambda lax, a: lax.psum(a, "x"), ("x", "y"), (None, "y")),
        (lambda lax, a: a * (1 + lax.axis_index("x")) + lax.axis_index("y"), ("x", "y"), ("x", "y")),
        (lambda lax, a: lax.all_gather(a, "y", tiled=True), (None, ("x", "y")), (None, "x")),
        (lambda lax, a: lax.pmax(a, ("y", "x")), ("y",), ()),
        (lambda lax, a: a.T, ("x", "y"), ("y", "x")),
    ]
    for make, mod in [(jax, jax), (msh, mlax)]:
        mesh = make.make_mesh((2, 2), ("x", "y"), axis_types=(mod.sharding.AxisType.Auto,) * 2)
        out = [mod.shard_map(lambda a, fn=fn: fn(mod.lax, a), mesh=mesh, in_specs=mod.P(*i), out_specs=mod.P(*o),
                             check_vma=False)(x) for fn, i, o in cases] if mod is jax else [
               msh.shard_map(lambda a, fn=fn: fn(lax, a), mesh=mesh, in_specs=msh.P(*i), out_specs=msh.P(*o),
                             check_vma=False)(x) for fn, i, o in cases]
        if mod is jax:
            expected = [np.asarray(o) for o in out]
    for g, e in zip(out, expected):
        assert np.shape(g) == np.shape(e), (np.shape(g), np.shape(e))
        np.testing.assert_allclose(np.asarray(g), e)
    try:
        msh.make_array_from_callback((4,), mlax.sharding.NamedSharding(mesh, msh.P("x")), lambda i: x[0, :2])
    except NotImplementedError as e:
        assert "spans 4 devices" in str(e), e
    else:
        raise AssertionError("a sharding over 4 devices was accepted")
    print("OK")
""")


def test_shard_map_over_four_devices_matches_jax():
    env = dict(os.environ, MLAX_NUM_CPU_DEVICES="4", XLA_FLAGS="--xla_force_host_platform_device_count=4")
    run = subprocess.run([sys.executable, "-c", MULTI_DEVICE_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0 and run.stdout.strip().endswith("OK"), run.stderr[-3000:]


# -- monitoring ----------------------------------------------------------------------------------

COMPILE_EVENTS = {"/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration"}


def _compile_events(module, monitoring):
    seen = []

    def listener(event, duration, **kwargs):
        seen.append((event, kwargs.get("fun_name"), duration >= 0))

    def fresh_function(x):
        return x * 3.0 + 1.0
    monitoring.register_event_duration_secs_listener(listener)
    try:
        module.jit(fresh_function)(np.arange(3.0, dtype=np.float32) + RNG.normal())
    finally:
        monitoring.unregister_event_duration_listener(listener)
    return {entry for entry in seen if entry[0] in COMPILE_EVENTS}


def test_monitoring_reports_jaxs_compile_events_for_a_jitted_function():
    expected = _compile_events(jax, jax.monitoring)
    assert {e for e, _, _ in expected} == COMPILE_EVENTS  # the oracle records all three
    assert _compile_events(mlax, mlax.monitoring) == {(e, "fresh_function", True) for e in COMPILE_EVENTS}


def test_monitoring_listeners_receive_what_is_recorded():
    for monitoring in (jax.monitoring, mlax.monitoring):
        seen = []
        listeners = [("register_event_listener", "unregister_event_listener", "record_event", ("e",)),
                     ("register_event_duration_secs_listener", "unregister_event_duration_listener",
                      "record_event_duration_secs", ("d", 0.5)),
                     ("register_event_time_span_listener", "unregister_event_time_span_listener",
                      "record_event_time_span", ("t", 1.0, 2.0)),
                     ("register_scalar_listener", "unregister_scalar_listener", "record_scalar", ("s", 3))]
        for register, unregister, record, args in listeners:
            callback = (lambda *a, **k: seen.append((a, k)))
            getattr(monitoring, register)(callback)
            getattr(monitoring, record)(*args, tag="v")
            getattr(monitoring, unregister)(callback)
            getattr(monitoring, record)(*args, tag="after")
        if monitoring is jax.monitoring:
            expected = seen
        else:
            assert seen == expected
    callback = (lambda *a, **k: seen.append(a))
    mlax.monitoring.register_event_listener(callback)
    mlax.monitoring.clear_event_listeners()
    mlax.monitoring.record_event("cleared")
    assert ("cleared",) not in seen
    with pytest.raises(ValueError, match="not a registered listener"):
        mlax.monitoring.unregister_event_listener(callback)


# -- profiler ------------------------------------------------------------------------------------

def _trace_files(log_dir):
    (run,) = os.listdir(os.path.join(log_dir, "plugins", "profile"))
    folder = os.path.join(log_dir, "plugins", "profile", run)
    return {name: json.load(gzip.open(os.path.join(folder, name), "rt")) for name in os.listdir(folder)}


def test_profiler_trace_holds_annotations_compiles_and_calls(tmp_path):
    @mlax.profiler.annotate_function
    def step(x):
        return mlax.jit(lambda y: y * 2.0 + RNG.normal())(x)

    with mlax.profiler.trace(str(tmp_path), create_perfetto_trace=True):
        with mlax.profiler.TraceAnnotation("outer", detail=1):
            for i in range(2):
                with mlax.profiler.StepTraceAnnotation("train", step_num=i):
                    step(np.ones(3, np.float32))
    files = _trace_files(str(tmp_path))
    trace_name = next(n for n in files if n.endswith(".trace.json.gz"))
    assert set(files) == {trace_name, "perfetto_trace.json.gz"} and "metadata" not in files["perfetto_trace.json.gz"]
    events = files[trace_name]["traceEvents"]
    names = [e["name"] for e in events]
    assert names.count("train") == 2 and names.count("outer") == 1 and names.count("/mlax/jit/execute") == 2
    assert COMPILE_EVENTS <= set(names)
    assert any(n.endswith("step") for n in names)
    assert [e["args"]["step_num"] for e in events if e["name"] == "train"] == ["0", "1"]
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    outer = next(e for e in events if e["name"] == "outer")
    assert all(outer["ts"] <= e["ts"] and e["ts"] + e["dur"] <= outer["ts"] + outer["dur"] + 1 for e in events)


def test_profiler_errors_name_the_problem(tmp_path):
    with pytest.raises(RuntimeError, match="No profile started"):
        mlax.profiler.stop_trace()
    mlax.profiler.start_trace(str(tmp_path))
    try:
        with pytest.raises(RuntimeError, match="already been started"):
            mlax.profiler.start_trace(str(tmp_path))
    finally:
        mlax.profiler.stop_trace()
    with pytest.raises(NotImplementedError, match="create_perfetto_link"):
        mlax.profiler.start_trace(str(tmp_path), create_perfetto_link=True)
    with pytest.raises(NotImplementedError, match="profiler_options"):
        mlax.profiler.start_trace(str(tmp_path), profiler_options=object())
    for name, args in [("device_memory_profile", ()), ("save_device_memory_profile", ("f",)),
                       ("start_server", (9999,)), ("stop_server", ())]:
        with pytest.raises(NotImplementedError, match=name):
            getattr(mlax.profiler, name)(*args)


# -- dlpack --------------------------------------------------------------------------------------

DLPACK_VALUES = [np.arange(6.0).reshape(2, 3), np.arange(4, dtype=np.int64), np.array(True), np.ones(3, np.float16),
                 np.arange(3, dtype=np.uint8), np.array([1 + 2j], np.complex64), np.zeros((0, 2), np.float32),
                 np.arange(6.0, dtype=np.float32).reshape(2, 3).T]


def test_from_dlpack_matches_jax():
    got = [mlax.dlpack.from_dlpack(v) for v in DLPACK_VALUES]
    expected = [jax.dlpack.from_dlpack(v) for v in DLPACK_VALUES]
    _close(got, expected)
    assert [g.weak_type for g in got] == [e.weak_type for e in expected]
    for dtype in [np.bool_, np.int8, np.uint16, np.float16, np.float64, np.complex128, jnp.bfloat16,
                  jnp.float8_e4m3fn, np.object_]:
        assert mlax.dlpack.is_supported_dtype(dtype) == jax.dlpack.is_supported_dtype(dtype)


def test_dlpack_exchange_with_numpy_and_jax():
    x = mnp.arange(6.0).reshape(2, 3)
    assert x.__dlpack_device__() == tuple(jnp.arange(1.0).__dlpack_device__())
    np.testing.assert_array_equal(np.from_dlpack(x), np.arange(6.0).reshape(2, 3))
    _close(jax.dlpack.from_dlpack(x), jnp.arange(6.0).reshape(2, 3))
    _close(mlax.dlpack.from_dlpack(jnp.arange(4)), jnp.arange(4))
    _close(mlax.dlpack.from_dlpack(x), jnp.arange(6.0).reshape(2, 3))
    sharding = mlax.sharding.SingleDeviceSharding(mlax.devices()[0])
    assert mlax.dlpack.from_dlpack(np.ones(2), device=sharding).sharding == sharding
    with pytest.raises(TypeError, match="__dlpack__"):
        mlax.dlpack.from_dlpack([1, 2])
    with pytest.raises(NotImplementedError, match="copy=False"):
        mlax.dlpack.from_dlpack(np.ones(2), copy=False)
    with pytest.raises(BufferError, match="copy=False"):
        x.__dlpack__(copy=False)


# -- image ---------------------------------------------------------------------------------------

METHODS = ["nearest", "linear", "bilinear", "cubic", "lanczos3", "lanczos5", "cubic-pytorch", "area"]
# (method, antialias, shape): each method down one axis and up the other, antialiased or not; and the
# empty output
RESIZES = [(m, aa, (3, 9)) for m in METHODS[1:] for aa in (True, False)] + [("nearest", True, (3, 9)),
                                                                            ("linear", True, (0, 3))]


def _resize_all(image_module, x):
    return {f"{m} {aa} {s}": image_module.resize(x, s, m, antialias=aa) for m, aa, s in RESIZES}


def test_resize_matches_jax_for_every_method_and_shape():
    _close(mlax.jit(lambda x: _resize_all(mlax.image, x))(X), _resize_all(jax.image, X), rtol=2e-5, atol=2e-6)


def _resize_loss(module, image_module, x):
    cases = [("lanczos3", True), ("cubic-pytorch", False), ("area", True)]
    return sum(w * module.numpy.sum(image_module.resize(x, (3, 9), m, antialias=aa) ** 2)
               for w, (m, aa) in zip([0.5, 1.0, 1.5], cases))


def test_resize_gradients_match_jax():
    _close(mlax.grad(lambda x: _resize_loss(mlax, mlax.image, x))(X),
           jax.grad(lambda x: _resize_loss(jax, jax.image, x))(X), rtol=1e-4, atol=1e-4)


def _scale_and_translate_all(image_module, x, scale, translation):
    return {m: image_module.scale_and_translate(x, (4, 9), (0, 1), scale, translation, m, antialias=aa)
            for m, aa in [("cubic-pytorch", False)]}


def test_scale_and_translate_matches_jax_with_traced_scale_and_its_gradient():
    scale, translation = np.array([0.7, 1.6], np.float32), np.array([0.3, -0.5], np.float32)

    def both(module, image_module):
        def loss(s, t):
            return module.numpy.sum(image_module.scale_and_translate(X, (4, 9), (0, 1), s, t, "linear") ** 2)
        return _scale_and_translate_all(image_module, X, scale, translation), \
            module.grad(loss, argnums=(0, 1))(scale, translation)
    _close(mlax.jit(lambda: both(mlax, mlax.image))(), both(jax, jax.image), rtol=1e-4, atol=1e-4)


def test_resize_dtypes_match_jax():
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    resized = [(x, "nearest"), (x, "linear"), (x.astype(np.float16), "linear")]
    _close([mlax.image.resize(v, (5, 2), m) for v, m in resized], [jax.image.resize(v, (5, 2), m) for v, m in resized],
           rtol=1e-3)
    assert [m.name for m in mlax.image.ResizeMethod] == [m.name for m in jax.image.ResizeMethod]
    for name in METHODS + ["trilinear", "triangle", "bicubic", "tricubic", "bicubic-pytorch"]:
        assert mlax.image.ResizeMethod.from_string(name).name == jax.image.ResizeMethod.from_string(name).name


def test_image_errors_name_the_problem():
    with pytest.raises(ValueError, match='Unknown resize method "foo"'):
        mlax.image.resize(X, (2, 2), "foo")
    with pytest.raises(ValueError, match="shape must have length"):
        mlax.image.resize(X, (2,), "linear")
    with pytest.raises(ValueError, match="Nearest neighbor"):
        mlax.image.scale_and_translate(X, (2, 2), (0,), np.ones(1), np.zeros(1), "nearest")
    with pytest.raises(ValueError, match="spatial_dims"):
        mlax.image.scale_and_translate(X, (2, 2), (0, 1), np.ones(1), np.zeros(1), "linear")


# -- experimental --------------------------------------------------------------------------------

def test_io_callback_matches_jax_outside_transformations_and_refuses_inside():
    import jax.experimental
    import mlax.experimental
    calls = []

    def effect(x, scale):
        calls.append(float(np.sum(x)))
        return (np.asarray(x) * scale).astype(np.float32)

    x = np.arange(3.0, dtype=np.float32)
    got = mlax.experimental.io_callback(effect, mlax.ShapeDtypeStruct((3,), np.float32), x, scale=2.0, ordered=True)
    expected = jax.experimental.io_callback(effect, jax.ShapeDtypeStruct((3,), np.float32), x, scale=2.0,
                                            ordered=True)
    _close(got, expected)
    assert calls == [3.0, 3.0]
    with pytest.raises(NotImplementedError, match="io_callback inside jit"):
        mlax.jit(lambda x: mlax.experimental.io_callback(effect, mlax.ShapeDtypeStruct((3,), np.float32), x,
                                                         scale=1.0))(x)
    with pytest.raises(NotImplementedError, match="sharding"):
        mlax.experimental.io_callback(effect, mlax.ShapeDtypeStruct((3,), np.float32), x, scale=1.0,
                                      sharding=mlax.sharding.SingleDeviceSharding(mlax.devices()[0]))


def test_set_cache_dir_moves_the_compile_cache(tmp_path, monkeypatch):
    import mlax.experimental.compilation_cache.compilation_cache as cc
    monkeypatch.setenv("MLAX_CACHE_DIR", os.environ.get("MLAX_CACHE_DIR", ""))
    cc.set_cache_dir(tmp_path)
    mlax.jit(lambda x: x * 7.0 - 0.125)(np.ones(2, np.float32))
    assert os.listdir(tmp_path)
