"""The top-level names about the process, host data, callbacks and dtypes against JAX:
device_get, process_count and friends, live_arrays, copy_to_host_async, pure_callback,
mlax.debug, mlax.dtypes, float0, version, print_environment_info, and the modules
custom_derivatives, stages and typing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp

jax.config.update("jax_platforms", "cpu")

def test_device_get_copies_arrays_to_numpy_and_keeps_other_leaves():
    tree = {"a": [1.0, 2.0], "b": 3, "c": "text", "d": np.ones(1)}
    got = mlax.device_get({**tree, "a": mnp.asarray(tree["a"]), "e": mnp.ones(())})
    expected = jax.device_get({**tree, "a": jnp.asarray(tree["a"]), "e": jnp.ones(())})
    assert got.keys() == expected.keys()
    for key in got:
        assert type(got[key]) is type(expected[key])
        np.testing.assert_array_equal(got[key], expected[key])
        assert np.asarray(got[key]).dtype == np.asarray(expected[key]).dtype


def test_process_names_describe_one_process():
    for name in ("process_count", "process_index", "process_indices"):
        assert getattr(mlax, name)() == getattr(jax, name)() == getattr(mlax, name)(backend="cpu")
    for old, new in (("host_count", "process_count"), ("host_id", "process_index"), ("host_ids", "process_indices")):
        with pytest.warns(UserWarning, match=f"mlax.{old} has been renamed to mlax.{new}"):
            assert getattr(mlax, old)() == getattr(jax, new)()
    with pytest.raises(mlax.errors.BackendError, match="unknown backend 'bogus'"):
        mlax.process_count("bogus")


def test_live_arrays_lists_arrays_until_deleted():
    x = mnp.arange(5.0) + 1
    assert any(a is x for a in mlax.live_arrays())
    assert all(isinstance(a, mlax.Array) for a in mlax.live_arrays("cpu"))
    x.delete()
    assert not any(a is x for a in mlax.live_arrays())
    with pytest.raises(mlax.errors.BackendError):
        mlax.live_arrays("bogus")


def test_copy_to_host_async_effects_barrier_and_block_until_ready_return_as_jax():
    x = mnp.ones(3)
    assert mlax.copy_to_host_async(x) is x
    tree = [x, 1]
    assert mlax.copy_to_host_async(tree) is tree
    assert mlax.effects_barrier() is None and jax.effects_barrier() is None


def test_pure_callback_runs_python_on_host_values():
    received = []

    def callback(x, y):
        received.append((type(x), type(y)))
        return np.sin(x) * y, (np.asarray(x) > 0).astype(np.int32)
    specs = lambda m: (m.ShapeDtypeStruct((3,), np.float32), m.ShapeDtypeStruct((3,), np.int32))  # noqa: E731
    x = np.array([0.5, -1.0, 2.0], np.float32)
    got = mlax.pure_callback(callback, specs(mlax), mnp.asarray(x), y=mnp.float32(2))
    assert received == [(np.ndarray, np.ndarray)]  # host copies (JAX hands over its arrays outside jit)
    expected = jax.pure_callback(callback, specs(jax), jnp.asarray(x), y=jnp.float32(2))
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.aval.weak_type == jax.typeof(e).weak_type
        np.testing.assert_allclose(g, e, rtol=1e-6)
    # a float64 result converts to the float32 asked for, as in JAX
    assert mlax.pure_callback(lambda: np.ones(2), mlax.ShapeDtypeStruct((2,), np.float32)).dtype == np.float32


def test_pure_callback_errors():
    spec = mlax.ShapeDtypeStruct((3,), np.float32)
    with pytest.raises(TypeError, match=r"result 0 of the callback has shape \(4,\)"):
        mlax.pure_callback(lambda: np.ones(4, np.float32), spec)
    with pytest.raises(TypeError, match="dtype int32"):
        mlax.pure_callback(lambda: np.ones(3, np.int32), spec)
    with pytest.raises(TypeError, match="structure"):
        mlax.pure_callback(lambda: (np.ones(3, np.float32),), spec)
    with pytest.raises(NotImplementedError, match="pure_callback inside jit"):
        mlax.jit(lambda x: mlax.pure_callback(np.sin, spec, x))(mnp.ones(3))
    with pytest.raises(NotImplementedError, match="sharding"):
        mlax.pure_callback(np.sin, spec, mnp.ones(3), sharding=mlax.devices()[0])
    with pytest.raises(ValueError, match="vmap_method"):
        mlax.pure_callback(np.sin, spec, mnp.ones(3), vmap_method="bogus")


def test_debug_print_and_callback_outside_transformations(capsys):
    for module, np_module in ((jax, jnp), (mlax, mnp)):
        module.debug.print("x = {x} and {}", 3, x=np_module.ones(2))
        module.debug.print("{}", np_module.float32(1.5))
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == out[2:] == ["x = [1. 1.] and 3", "1.5"]
    received = []
    mlax.debug.callback(lambda a, b=None: received.append((a, b)), mnp.arange(3), b=mnp.float32(2))
    assert isinstance(received[0][0], np.ndarray)
    np.testing.assert_array_equal(received[0][0], [0, 1, 2])
    with mlax.disable_jit():
        mlax.jit(lambda x: mlax.debug.print("in jit {}", x))(mnp.ones(2))
    assert capsys.readouterr().out == "in jit [1. 1.]\n"


def test_debug_print_and_callback_inside_jit_raise_naming_them():
    with pytest.raises(NotImplementedError, match="debug.print inside jit"):
        mlax.jit(lambda x: mlax.debug.print("{}", x))(mnp.ones(2))
    with pytest.raises(NotImplementedError, match="debug.callback inside jit"):
        mlax.grad(lambda x: (mlax.debug.callback(print, x), x)[1])(1.0)
    with pytest.raises(NotImplementedError, match="partitioned"):
        mlax.debug.print("{}", 1, partitioned=True)
    with pytest.raises(TypeError, match="format string"):
        mlax.debug.print(3)


def test_dtypes_module_matches_jax():
    for name in ("float0", "bfloat16"):
        assert getattr(mlax.dtypes, name) == getattr(jax.dtypes, name)
    assert mlax.float0 == jax.float0 == jax.dtypes.float0
    for dtype in (np.float64, np.int64, np.uint64, np.complex128, int, float, bool, "bfloat16", np.int8,
                  jax.dtypes.float0):
        assert mlax.dtypes.canonicalize_dtype(dtype) == jax.dtypes.canonicalize_dtype(dtype)
    values = [(1.0, np.int32), (np.ones(2, np.int8), 3), (np.float16, np.float32), (2,), (True, 1)]
    for args in values:
        for flag in (False, True):
            mlax_args = [mnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
            jax_args = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
            assert mlax.dtypes.result_type(*mlax_args, return_weak_type_flag=flag) == \
                jax.dtypes.result_type(*jax_args, return_weak_type_flag=flag)
    pairs = [(np.float32, np.floating), (jax.dtypes.bfloat16, np.floating), (jax.dtypes.float0, np.floating),
             (np.int8, np.signedinteger), (np.uint32, jax.dtypes.prng_key), (np.float32, jax.dtypes.extended),
             (np.complex64, np.inexact), (np.int32, np.floating)]
    for a, b in pairs:
        b_mlax = {jax.dtypes.prng_key: mlax.dtypes.prng_key, jax.dtypes.extended: mlax.dtypes.extended}.get(b, b)
        assert mlax.dtypes.issubdtype(a, b_mlax) == jax.dtypes.issubdtype(a, b)
    for value in (mnp.ones(2), mnp.int8(1), True, 2, 1.5, 1j, mlax.dtypes.bfloat16(1)):
        jax_value = jnp.asarray(value) if isinstance(value, mlax.Array) else value
        assert mlax.dtypes.scalar_type_of(value) is jax.dtypes.scalar_type_of(jax_value)
    for dtype in (np.float32, jax.dtypes.bfloat16, np.bool_, np.int64, np.complex64):
        assert mlax.dtypes.itemsize_bits(dtype) == jax.dtypes.itemsize_bits(dtype)
    assert mlax.dtypes.finfo(mlax.dtypes.bfloat16).eps == jax.dtypes.finfo(jax.dtypes.bfloat16).eps
    assert mlax.dtypes.iinfo(np.int32).max == jax.dtypes.iinfo(np.int32).max
    with pytest.raises(ValueError, match="at least one array or dtype is required"):
        mlax.dtypes.result_type()
    with pytest.raises(NotImplementedError, match="allow_extended_dtype"):
        mlax.dtypes.canonicalize_dtype(np.float32, allow_extended_dtype=True)
    with mlax.numpy_dtype_promotion("strict"):
        with pytest.raises(mlax.dtypes.TypePromotionError, match="no available implicit dtype promotion path"):
            mlax.dtypes.result_type(np.float16, np.float32)


def test_version_environment_info_and_modules():
    assert mlax.version.__version__ == mlax.__version__
    info = mlax.print_environment_info(return_string=True)
    assert info.startswith(f"mlax:   {mlax.__version__}") and "numpy:" in info and "process_count: 1" in info
    assert mlax.print_environment_info() is None
    assert mlax.custom_derivatives.custom_vjp is mlax.custom_vjp
    assert mlax.custom_derivatives.closure_convert is mlax.closure_convert
    assert mlax.stages.Wrapped is type(mlax.jit(lambda x: x))
    compiled = mlax.jit(lambda x: x * 2).lower(mlax.ShapeDtypeStruct((2,), np.float32)).compile()
    assert isinstance(compiled, mlax.stages.Compiled)
    assert isinstance(mnp.ones(2), mlax.typing.ArrayLike.__args__) and isinstance(1.0, mlax.typing.ArrayLike.__args__)

