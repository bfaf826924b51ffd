"""The settings as context managers (mlax.enable_x64, mlax.debug_nans, ...) against JAX's:
what each changes, that the outer value comes back, and the errors of settings mlax
does not implement."""

import functools
import logging
import os
import re
import subprocess
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp

jax.config.update("jax_platforms", "cpu")


def test_enable_x64_toggles_64_bit_dtypes_like_jax():
    for module, np_module in ((mlax, mnp), (jax, jnp)):
        with module.enable_x64(True):
            assert np_module.ones(2).dtype == np.float64
            assert np_module.arange(3).dtype == np.int64
            assert module.enable_x64.value is True
        assert np_module.ones(2).dtype == np.float32
        assert module.enable_x64.value is False


def test_enable_x64_is_per_thread_and_retraces_jit():
    f = mlax.jit(lambda x: x * 2)
    assert f(1.0).dtype == np.float32
    with mlax.enable_x64():
        assert f(np.float64(1.0)).dtype == np.float64
        seen = []
        thread = threading.Thread(target=lambda: seen.append(mnp.ones(1).dtype))
        thread.start()
        thread.join()
        assert seen == [np.float32]  # another thread keeps the process-wide value
    assert f(1.0).dtype == np.float32


def test_config_update_and_read_take_both_spellings():
    mlax.config.update("jax_debug_infs", True)
    try:
        assert mlax.config.read("mlax_debug_infs") is True and mlax.debug_infs.value is True
        assert mlax.config.jax_debug_infs is True
    finally:
        mlax.config.update("mlax_debug_infs", False)
    assert mlax.debug_infs.value is False


@pytest.mark.parametrize("case", ["eager_log", "eager_nan_input", "jit", "jit_inf"])
def test_debug_nans_and_infs_raise_floating_point_error_naming_the_op_as_jax(case):
    def run(module, np_module):
        nan = np_module.array([np.nan, 1.0])
        flag, fn = {
            "eager_log": (module.debug_nans, lambda: np_module.log(-np_module.ones(2))),
            "eager_nan_input": (module.debug_nans, lambda: nan + 1),
            "jit": (module.debug_nans, lambda: module.jit(lambda a: np_module.log(a) * 2)(-np_module.ones(2))),
            "jit_inf": (module.debug_infs, lambda: module.jit(lambda a: 1 / a)(np_module.zeros(2))),
        }[case]
        with flag(True):
            with pytest.raises(FloatingPointError) as info:
                fn()
        return str(info.value)

    expected = run(jax, jnp)
    got = run(mlax, mnp)
    assert got == expected  # "invalid value (nan) encountered in log", ... the same op named


def test_debug_nans_leaves_finite_results_and_integers_alone():
    with mlax.debug_nans(True), mlax.debug_infs(True):
        np.testing.assert_array_equal(mlax.jit(lambda a: a * 2)(mnp.ones(2)), [2.0, 2.0])
        np.testing.assert_array_equal(mnp.ones(3, "int32") + 1, [2, 2, 2])
        # grad of sqrt at 0 is inf: only debug_infs objects (as in JAX)
    with mlax.debug_nans(True):
        assert float(mlax.grad(mnp.sqrt)(0.0)) == float(jax.grad(jnp.sqrt)(0.0)) == np.inf
    assert np.isnan(np.asarray(mlax.jit(mnp.log)(-mnp.ones(1)))).all()  # off again


def test_debug_nans_names_the_transformation_it_cannot_rerun():
    with mlax.debug_nans(True):
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in"):
            mlax.vmap(mnp.log)(-mnp.ones(2))


def test_disable_jit_runs_the_function_op_by_op():
    seen = []
    f = mlax.jit(lambda x: (seen.append(type(x).__name__), x * 2)[1])
    with mlax.disable_jit():
        np.testing.assert_array_equal(f(mnp.ones(2)), [2.0, 2.0])
        assert mlax.config.read("jax_disable_jit") is True
    with mlax.disable_jit(False):
        f(mnp.ones(2))
    assert seen == ["Array", "Tracer"]
    with mlax.disable_jit():  # transformations still work
        assert float(mlax.grad(lambda x: mlax.jit(mnp.tanh)(x))(0.0)) == 1.0


def test_default_device_places_new_arrays_and_programs():
    device = mlax.devices()[0]
    with mlax.default_device(device):
        assert mnp.ones(2).device is device
        assert mlax.jit(lambda x: x + 1)(1.0).device is device
    with mlax.default_device("cpu"):
        assert mlax.device_put(1.0).device is device
    with mlax.default_device(object()):
        with pytest.raises(TypeError, match="default_device must be a Device"):
            mnp.ones(2)


def test_log_compiles_and_explain_cache_misses_log_each_trace(caplog):
    f = mlax.jit(lambda x: x + 1)
    with caplog.at_level(logging.WARNING, logger="mlax"):
        with mlax.log_compiles(True), mlax.explain_cache_misses(True):
            f(mnp.ones(2))
            f(mnp.ones(2))
            f(mnp.ones(3, "int32"))
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Compiled <lambda> for [f32[2]]" in m for m in messages) == 1
    assert sum("Compiled <lambda> for [i32[3]]" in m for m in messages) == 1
    assert any("never traced before" in m for m in messages)
    assert any("argument x changed from f32[2] to i32[3]" in m for m in messages)


def _affine(x, k):
    return x * k + 1.0


def test_log_compiles_says_how_long_and_whether_iree_compiled_or_the_disk_cache_had_it(caplog, monkeypatch,
                                                                                      tmp_path):
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path))  # empty: IREE compiles
    x, k = mnp.ones((2, 3)), mnp.asarray(2, "int32")
    with caplog.at_level(logging.WARNING, logger="mlax"), mlax.log_compiles(True):
        mlax.jit(_affine)(x, k)
        mlax.clear_caches()  # the programs in memory are dropped; the disk cache keeps IREE's output
        mlax.jit(_affine)(x, k)
    cold, warm = [r.getMessage() for r in caplog.records if r.name == "mlax"]
    line = r"Compiled _affine for \[f32\[2,3\], i32\[\]\] on CpuDevice\(id=0\) in \d+\.\d\d s \(IREE: {}\)"
    assert re.fullmatch(line.format(r"compiled, \d+\.\d\d s"), cold), cold
    assert re.fullmatch(line.format("disk cache hit"), warm), warm


def test_mlax_log_compiles_in_the_environment_logs_a_cold_then_a_warm_process(tmp_path):
    script = "import mlax, mlax.numpy as mnp\nmlax.jit(lambda x: x * 3.0 + 1.0)(mnp.ones(4))\n"
    env = dict(os.environ, MLAX_LOG_COMPILES="1", MLAX_CACHE_DIR=str(tmp_path))
    cold, warm = (subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                 timeout=300, check=True).stderr for _ in range(2))
    assert re.search(r"Compiled <lambda> for \[f32\[4\]\] on CpuDevice\(id=0\) in \S+ s \(IREE: compiled, ", cold), cold
    assert re.search(r"Compiled <lambda> for \[f32\[4\]\] on .* \(IREE: disk cache hit\)", warm), warm


def test_explain_cache_misses_names_the_argument_that_changed(caplog):
    @functools.partial(mlax.jit, static_argnums=2)
    def f(params, x, n, scale=1.0):
        return params["w"][0] * x * n * scale

    p = {"w": [mnp.ones(3)]}
    with caplog.at_level(logging.WARNING, logger="mlax"), mlax.explain_cache_misses(True):
        f(p, mnp.ones(3), 2)
        f(p, mnp.ones(3), 3)
        f({"w": [mnp.ones(1)]}, mnp.ones(3), 2)
        f(p, mnp.ones(3), 2, scale=mnp.ones(3))
        f(p, mnp.ones(3), 2, scale=mnp.ones(1))
        f(p, 1.0, 2)
    reasons = [r.getMessage().split(" because: ")[1] for r in caplog.records if "CACHE MISS" in r.getMessage()]
    assert reasons == [
        "the function was never traced before",
        "static argument n changed from 2 to 3",
        "argument params['w'][0] changed from f32[3] to f32[1] (against the closest of the 2 signatures traced "
        "before)",
        "the argument structure changed from (({'w': [*]}, *), {}) to (({'w': [*]}, *), {'scale': *}) "
        "(against the closest of the 3 signatures traced before)",
        "argument scale changed from f32[3] to f32[1] (against the closest of the 4 signatures traced before)",
        "argument x changed from f32[3] to f32[] (weak) (against the closest of the 5 signatures traced before)",
    ]


def test_no_tracing_refuses_to_trace_but_runs_what_is_compiled():
    f = mlax.jit(lambda x: x * 3)
    f(1.0)
    with mlax.no_tracing(True):
        assert float(f(1.0)) == 3.0
        with pytest.raises(RuntimeError, match="'no_tracing' is set"):
            mlax.jit(lambda x: x - 1)(1.0)


def test_checking_leaks_reports_a_stored_tracer():
    leaked = []
    with mlax.checking_leaks():
        with pytest.raises(mlax.errors.UnexpectedTracerError, match=r"Leaked trace of keep: 1 traced value\(s\) "
                                                                      r"\(f32\[2\]\)"):
            def keep(x):
                leaked.append(x)
                return x
            mlax.jit(keep)(mnp.ones(2))
        leaked.clear()
        np.testing.assert_array_equal(mlax.jit(lambda x: x + 1)(mnp.ones(2)), [2.0, 2.0])


def test_enable_checks_verifies_programs_and_gives_the_same_values():
    f = lambda x: mlax.grad(lambda y: mnp.sum(mnp.tanh(y) * y))(x)  # noqa: E731
    with mlax.enable_checks(True):
        got = mlax.jit(f)(mnp.ones(3))
    np.testing.assert_allclose(got, jax.grad(lambda y: jnp.sum(jnp.tanh(y) * y))(jnp.ones(3)), rtol=1e-6)


def test_numpy_dtype_promotion_strict_as_jax():
    cases = [lambda m: m.ones(2, "float32") + 1.0, lambda m: m.ones(2, "int32") + 1,
             lambda m: m.ones(2, "int32") + 1.0, lambda m: m.ones(2, "float16") + m.ones(2, "float32"),
             lambda m: m.ones(2, "int8") + m.ones(2, "int16"), lambda m: m.ones(2, "bfloat16") + 2]
    for case in cases:
        outcome = []
        for module, np_module in ((jax, jnp), (mlax, mnp)):
            with module.numpy_dtype_promotion("strict"):
                try:
                    outcome.append(case(np_module).dtype)
                except ValueError as error:
                    assert "no available implicit dtype promotion path" in str(error)
                    assert type(error).__name__ == "TypePromotionError"
                    outcome.append("error")
        assert outcome[0] == outcome[1]
    assert (mnp.ones(2, "int8") + mnp.ones(2, "int16")).dtype == np.int16  # standard again


def test_make_user_context_is_part_of_the_jit_cache_key():
    traces = []
    f = mlax.jit(lambda x: (traces.append(1), x)[1])
    context = mlax.make_user_context(default_value=None)
    f(1.0)
    f(1.0)
    with context(1):
        f(1.0)
        assert context.value == 1
    f(1.0)
    assert len(traces) == 2


def test_clear_caches_makes_jit_trace_again():
    traces = []
    f = mlax.jit(lambda x: (traces.append(1), x + 1)[1])
    f(1.0)
    f(1.0)
    mlax.clear_caches()
    assert float(f(1.0)) == 2.0
    assert len(traces) == 2


def test_default_matmul_precision_is_validated_as_jax():
    with mlax.default_matmul_precision("highest"):
        assert mlax.config.read("jax_default_matmul_precision") == "highest"
        np.testing.assert_allclose(mnp.ones((2, 2)) @ mnp.ones((2, 2)), 2 * np.ones((2, 2)))
    for module in (mlax, jax):
        with pytest.raises(ValueError, match="bogus"):
            with module.default_matmul_precision("bogus"):
                pass


UNSUPPORTED = [
    ("transfer_guard", "disallow"), ("transfer_guard_host_to_device", "log"),
    ("transfer_guard_device_to_host", "disallow"), ("transfer_guard_device_to_device", "log"),
    ("default_prng_impl", "rbg"), ("threefry_partitionable", False), ("legacy_prng_key", "error"),
    ("enable_custom_prng", True), ("debug_key_reuse", True), ("allow_f16_reductions", False),
    ("array_garbage_collection_guard", "fatal"), ("no_execution", True), ("softmax_custom_jvp", True),
    ("thread_guard", True), ("jax2tf_associative_scan_reductions", True), ("numpy_rank_promotion", "raise"),
]


@pytest.mark.parametrize("name,value", UNSUPPORTED)
def test_settings_mlax_lacks_raise_naming_them_and_accept_the_default(name, value):
    with pytest.raises(NotImplementedError, match=name):
        with getattr(mlax, name)(value):
            pass
    with getattr(jax, name)(value):  # a value JAX takes
        pass
    if name != "transfer_guard":
        state = getattr(mlax, name)
        assert str(getattr(jax, name).value).lower().endswith(str(state.default).lower())  # JAX's default
        with state(state.default):
            assert state.value == state.default
        with pytest.raises(NotImplementedError, match=state.jax_name):
            mlax.config.update(state.jax_name, value)


@pytest.mark.parametrize("name,value", [("numpy_rank_promotion", "sometimes"), ("default_prng_impl", "xorshift"),
                                        ("transfer_guard_host_to_device", "never")])
def test_settings_reject_values_jax_rejects(name, value):
    for module in (mlax, jax):
        with pytest.raises(ValueError, match=value):
            with getattr(module, name)(value):
                pass
