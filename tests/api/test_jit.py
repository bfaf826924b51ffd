"""jit: caching per signature, static arguments, pytrees, lowering stages, errors."""

import functools

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors


def test_jit_matches_numpy_and_caches_per_signature():
    traces = []

    @mlax.jit
    def f(x, y):
        traces.append(1)
        return mnp.sin(x) * y + 1.0

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(f(x, x), np.sin(x) * x + 1, rtol=1e-6)
    f(x + 1, x)
    assert len(traces) == 1
    f(np.ones((4,), np.float32), np.ones((4,), np.float32))
    assert len(traces) == 2, "a new shape retraces"
    f(x.astype(np.int32), x.astype(np.int32))
    assert len(traces) == 3, "a new dtype retraces"


def test_static_argnums_and_argnames():
    calls = []

    @functools.partial(mlax.jit, static_argnums=1, static_argnames="mode")
    def f(x, n, mode="sum"):
        calls.append((n, mode))
        y = x ** n
        return y.sum() if mode == "sum" else y.max()

    x = np.array([1.0, 2.0, 3.0], np.float32)
    assert float(f(x, 2)) == 14.0
    assert float(f(x, 3)) == 36.0
    assert float(f(x, 2, mode="max")) == 9.0
    assert float(f(x, 2)) == 14.0
    assert calls == [(2, "sum"), (3, "sum"), (2, "max")]


def test_pytrees_in_and_out():
    @mlax.jit
    def f(params, batch):
        return {"out": params["w"] * batch[0] + params["b"], "n": batch[1]}

    params = {"w": np.float32(2.0), "b": np.ones(3, np.float32)}
    out = f(params, (np.arange(3, dtype=np.float32), np.int32(7)))
    np.testing.assert_allclose(out["out"], 2 * np.arange(3) + 1)
    assert int(out["n"]) == 7


def test_closed_over_arrays_become_arguments():
    table = mnp.asarray(np.arange(5000, dtype=np.float32))

    @mlax.jit
    def f(i):
        return table[i] * 2

    assert float(f(7)) == 14.0
    text = f.lower(7).as_text("mlax")
    signature = text.split("func.func @main(")[1].split(")")[0]
    assert "tensor<5000xf32>" in signature, "the closed-over array is passed as an argument"
    assert "5000xf32>} : () ->" not in text, "not printed into the IR as a constant"


def test_lower_exposes_stages_and_compiles():
    f = mlax.jit(lambda x: mnp.exp(x).sum())
    lowered = f.lower(mlax.ShapeDtypeStruct((4,), np.float32))
    assert '"mlax.exp"' in lowered.as_text("mlax")
    stablehlo = lowered.as_text("stablehlo")
    assert "stablehlo.exponential" in stablehlo and "mlax." not in stablehlo
    compiled = lowered.compile()
    np.testing.assert_allclose(compiled(np.zeros(4, np.float32)), 4.0)
    with pytest.raises(TypeError, match="f32\\[4\\]"):
        compiled(np.zeros(5, np.float32))


def test_python_control_flow_on_traced_value_names_user_line():
    @mlax.jit
    def f(x):
        if x > 0:  # the line the error must name
            return x
        return -x

    with pytest.raises(errors.ConcretizationTypeError, match=r"test_jit.py:\d+"):
        f(1.0)


def test_tracer_conversions_raise():
    with pytest.raises(errors.TracerArrayConversionError):
        mlax.jit(lambda x: np.asarray(x))(1.0)
    with pytest.raises(errors.TracerIntegerConversionError):
        mlax.jit(lambda x: list(range(x)))(3)


def test_leaked_tracer_is_reported():
    leaked = []

    @mlax.jit
    def f(x):
        leaked.append(x)
        return x

    f(1.0)
    with pytest.raises(errors.UnexpectedTracerError, match="leak"):
        mlax.jit(lambda y: y + leaked[0])(2.0)
    # Eagerly too (it used to be AttributeError '_buffer'), naming where it was used and traced.
    with pytest.raises(errors.UnexpectedTracerError, match=r"used outside it at .*test_jit.py:\d+ \(a tracer leak\)"):
        leaked[0] + 1  # noqa: B018 - the eager op on the leaked tracer is the test
    with pytest.raises(errors.UnexpectedTracerError, match=r"traced from .*test_jit.py:\d+"):
        mnp.sin(leaked[0])


def test_nested_jit_is_inlined():
    inner = mlax.jit(lambda x: x * 2)
    outer = mlax.jit(lambda x: inner(x) + 1)
    assert float(outer(3.0)) == 7.0
    assert outer.lower(3.0).as_text("mlax").count("func.func") == 1


def test_weak_types_follow_jax():
    x = mnp.ones(3, dtype=mnp.float16)
    assert (x + 1.0).dtype == np.float16
    assert (mnp.ones(3, dtype=mnp.int8) + 1).dtype == np.int8
    assert (mnp.ones(3, dtype=mnp.int32) + 1.5).dtype == np.float32
    assert mlax.jit(lambda a: a * 2)(np.float32(1)).dtype == np.float32


def test_float64_is_really_computed_in_float64(x64):
    x = mnp.asarray(np.array([1.0, 2.0], np.float64))
    y = mlax.jit(lambda a: a / 3.0 + 1e-12)(x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(y), np.array([1.0, 2.0]) / 3.0 + 1e-12)


def test_float64_is_canonicalized_without_x64():
    assert mnp.asarray(np.ones(2, np.float64)).dtype == np.float32


def test_invalid_argument_type():
    with pytest.raises(TypeError, match="str"):
        mlax.jit(lambda x: x)("hello")


def test_static_argnums_counts_parameters_passed_by_keyword():
    # As JAX: argnums name f's parameters, so a static one may come by keyword.
    f = mlax.jit(lambda x, n: x * n, static_argnums=1)
    np.testing.assert_array_equal(f(mnp.ones(2), n=3), [3, 3])
    np.testing.assert_array_equal(f(mnp.ones(2), 4), [4, 4])
    np.testing.assert_array_equal(mlax.checkpoint(lambda x, n: x * n, static_argnums=1)(mnp.ones(2), 3), [3, 3])
