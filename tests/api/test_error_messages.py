"""Errors name the problem: bad argnums say the count."""

import pytest

import mlax


@pytest.mark.parametrize("transform", [mlax.grad, mlax.value_and_grad, mlax.jacfwd, mlax.jacrev])
def test_argnums_past_the_arguments_is_a_value_error_naming_the_count(transform):
    with pytest.raises(ValueError, match=r"argnums \(3,\) refers to argument 3, .* 1 positional argument$"):
        transform(lambda x: x * 2.0, argnums=3)(1.0)
    with pytest.raises(ValueError, match="argument 2, but the function was called with 2 positional arguments"):
        transform(lambda x, y: x * y, argnums=(0, 2))(1.0, 2.0)


def test_register_dataclass_needs_both_field_lists_or_neither():
    import dataclasses

    from mlax import tree_util

    @dataclasses.dataclass
    class Pair:
        a: float
        b: int

    with pytest.raises(TypeError, match="data_fields and meta_fields must both be given"):
        tree_util.register_dataclass(Pair, meta_fields=["b"])
    with pytest.raises(TypeError, match="is not a dataclass"):
        tree_util.register_dataclass(int)
