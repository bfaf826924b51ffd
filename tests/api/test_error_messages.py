"""Errors name the problem: leaked tracers say where they came from, bad argnums say the count."""

import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors


def test_a_leaked_tracer_used_eagerly_names_the_leak():
    leaked = []

    @mlax.jit
    def f(x):
        leaked.append(x)
        return x

    f(1.0)
    with pytest.raises(errors.UnexpectedTracerError, match=r"tracer leak.*test_error_messages.py:\d+"):
        leaked[0] + 1  # noqa: B018 - the eager op on the leaked tracer is the test
    with pytest.raises(errors.UnexpectedTracerError, match="traced from .*test_error_messages.py"):
        mnp.sin(leaked[0])


@pytest.mark.parametrize("transform", [mlax.grad, mlax.value_and_grad, mlax.jacfwd, mlax.jacrev])
def test_argnums_past_the_arguments_is_a_value_error_naming_the_count(transform):
    with pytest.raises(ValueError, match=r"argnums \(3,\) refers to argument 3, .* 1 positional argument$"):
        transform(lambda x: x * 2.0, argnums=3)(1.0)
    with pytest.raises(ValueError, match="argument 2, but the function was called with 2 positional arguments"):
        transform(lambda x, y: x * y, argnums=(0, 2))(1.0, 2.0)
