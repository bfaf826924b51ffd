"""The op table tested from the table itself.

Every op is applied eagerly (as a compiled kernel) to generated inputs and
compared with its `numpy_ref`; shape rules reject bad operands with messages
that name the op and the offending shapes or dtypes.

The inputs come from _cases.py (op families plus a domain table); an op that
no family or table entry covers fails `test_every_op_has_inputs_and_a_reference`.
"""

import numpy as np
import pytest

import mlax
from mlax.core.op import OPS
from mlax.runtime import backends

from _cases import CASES, F32, I32, SHAPE, TESTED_OPS, ZERO_SIZE_CASES, Case, accepts, cases_for


# Relative tolerance of float results: a few float32 ulps on the CPU; on a GPU backend Vulkan's
# precision rules allow its exp and log 3 ulps and more, which lgamma's cancellation near its
# roots turns into 2e-5 (lavapipe).
FLOAT_RTOL = 2e-6 if backends.default_name() == "cpu" else 3e-5


# -- tests ----------------------------------------------------------------------------

def test_every_op_has_inputs_and_a_reference():
    assert [name for name, op in TESTED_OPS.items() if not cases_for(op)] == [], \
        "ops without test inputs: add them to a family or to EXPLICIT"
    assert [name for name, op in TESTED_OPS.items() if op.numpy_ref is None] == [], "ops without numpy_ref"
    for case in CASES:
        assert accepts(OPS[case.op], case.avals(), case.attrs), f"{case} is not a valid application"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_eager_op_matches_numpy_ref(case):
    op = OPS[case.op]
    args = case.sample()
    got = np.asarray(op(*[mlax.device_put(a) for a in args], **case.attrs))
    expected = np.asarray(op.numpy_ref(*args, **case.attrs))
    assert (got.dtype, got.shape) == (expected.dtype, expected.shape)
    if case.tag == "edges":  # zeros, subnormals, extremes, inf, NaN: NumPy's results exactly, signs of zeros too
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
    elif np.issubdtype(got.dtype, np.inexact):
        np.testing.assert_allclose(got, expected, rtol=FLOAT_RTOL, atol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


def _mismatched_shape_cases():
    """The first case of every elementwise op of several operands, its last operand transposed."""
    first = {}
    for case in CASES:
        first.setdefault(case.op, case)
    mismatched = []
    for case in first.values():
        if "elementwise" in OPS[case.op].traits and len(case.operands) > 1:
            *rest, (shape, dtype, sampler) = case.operands
            mismatched.append(Case(case.op, rest + [(shape[::-1], dtype, sampler)], case.attrs))
    return mismatched


@pytest.mark.parametrize("case", _mismatched_shape_cases(), ids=str)
def test_elementwise_shape_mismatch_names_both_shapes(case):
    with pytest.raises(TypeError) as error:
        OPS[case.op](*case.sample(), **case.attrs)
    message = str(error.value)
    assert f"mlax.{case.op}" in message and str(SHAPE) in message and str(SHAPE[::-1]) in message


# (op, operand avals, attributes, what the message must name)
BAD_APPLICATIONS = [
    ("add", [((2, 3), F32), ((2, 3), I32)], {}, ["float32", "int32"]),
    ("log", [((3,), I32)], {}, ["floating-point", "int32"]),
    ("reshape", [((2, 3), F32)], {"new_sizes": (4, 2)}, ["(2, 3)", "(4, 2)"]),
    ("reduce_sum", [((2, 3), F32)], {"axes": (2,)}, ["(2,)", "(2, 3)"]),
    ("broadcast_in_dim", [((3,), F32)], {"shape": (2, 4), "broadcast_dimensions": (1,)}, ["(3,)", "(2, 4)"]),
    ("concatenate", [((2, 3), F32), ((3, 3), F32)], {"dimension": 1}, ["(2, 3)", "(3, 3)"]),
    ("dot_general", [((2, 3), F32), ((4, 5), F32)],
     {"lhs_contracting": (1,), "rhs_contracting": (0,), "lhs_batch": (), "rhs_batch": ()}, ["(2, 3)", "(4, 5)"]),
    ("transpose", [((2, 3), F32)], {"permutation": (0, 0)}, ["(0, 0)", "(2, 3)"]),
]


@pytest.mark.parametrize("name, operands, attrs, fragments", BAD_APPLICATIONS, ids=[b[0] for b in BAD_APPLICATIONS])
def test_shape_rule_error_names_the_problem(name, operands, attrs, fragments):
    args = [np.zeros(shape, dtype) for shape, dtype in operands]
    with pytest.raises(TypeError) as error:
        OPS[name](*args, **attrs)
    for fragment in [f"mlax.{name}"] + fragments:
        assert fragment in str(error.value)


def test_every_op_has_a_zero_size_case():
    assert sorted(set(TESTED_OPS) - {case.op for case in ZERO_SIZE_CASES}) == []


# Reductions NumPy refuses over no elements, and what lax gives instead (as JAX's lax does).
EMPTY_REDUCTION_IDENTITY = {"reduce_max": -np.inf, "reduce_min": np.inf}


@pytest.mark.parametrize("case", ZERO_SIZE_CASES, ids=str)
def test_zero_size_operands_match_numpy_ref(case):
    op = OPS[case.op]
    args = case.sample()
    got = np.asarray(op(*[mlax.device_put(a) for a in args], **case.attrs))
    if case.op in EMPTY_REDUCTION_IDENTITY and got.size == 1:
        expected = np.full(got.shape, EMPTY_REDUCTION_IDENTITY[case.op], args[0].dtype)
    else:
        expected = np.asarray(op.numpy_ref(*args, **case.attrs))
    assert (got.dtype, got.shape) == (expected.dtype, expected.shape)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reduction_over_an_empty_axis_raises(name):
    with pytest.raises(ValueError, match=f"mlax.{name}: the reduced axis 0 of shape \\(0, 6\\) is empty"):
        OPS[name](mlax.device_put(np.zeros((0, 6), np.float32)), axis=0, index_dtype=np.dtype("int32"))


def _form(op):
    from mlax.runtime import interpreter

    return interpreter.kernel_form(op)


# Elementwise ops run on the same flattened kernels eagerly, which test_eager_op_matches_numpy_ref
# checks; every other op the interpreter tier runs is checked here against the compiled program.
STRUCTURAL_CASES = [case for case in CASES if _form(OPS[case.op]) not in (None, "elementwise")]


@pytest.mark.parametrize("case", STRUCTURAL_CASES, ids=str)
def test_interpreter_tier_matches_the_compiled_program(case):
    from conftest import both_tiers

    op, args = OPS[case.op], case.sample()
    interpreted, compiled = both_tiers(lambda *xs: op(*xs, **case.attrs), args)
    for got, expected in zip(interpreted, compiled):
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape)
        if np.issubdtype(got.dtype, np.inexact):
            np.testing.assert_allclose(got, expected, rtol=FLOAT_RTOL, atol=1e-6, equal_nan=True)
        else:
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("case", [case for case in CASES if _form(OPS[case.op]) is None][::3], ids=str)
def test_ops_of_no_kernel_form_keep_a_program_off_the_interpreter(case):
    from mlax.runtime import interpreter
    from mlax.runtime.device import default_device
    from mlax.runtime.pipeline import trace_program
    from mlax.tree_util import tree_structure

    op, avals = OPS[case.op], case.avals()
    program = trace_program(lambda *xs: op(*xs, **case.attrs), avals, tree_structure((tuple(avals), {})))
    with pytest.raises(interpreter.Uninterpretable, match=f"mlax.{case.op} has no kernel form"):
        interpreter.plan(program, default_device(), compile_kernels=True)
