"""Valid inputs for every op of the op table, generated from the table itself.

Inputs come from families that read the op's entry (elementwise ops are tried
in every dtype their shape rule accepts; reductions get `axes`; ...) plus a
table for what a family cannot know: the domain of a math function, the
attributes of a structural op. Shared by the op-table tests (eager
application against numpy_ref) and the rule tests (derivatives, batching).
"""

import dataclasses
import zlib

import numpy as np

from mlax.core.aval import ShapedArray
from mlax.core.op import OPS

F32, I32, BOOL, C64, U32 = (np.dtype(d) for d in ("float32", "int32", "bool", "complex64", "uint32"))

# Elementwise ops and reductions are tested in each of these that they accept;
# complex64 only where they accept none of them.
PROBE_DTYPES = (F32, I32, BOOL)

# One shape per family: eager elementwise kernels are shape-polymorphic, so
# this costs one compilation per op and dtype.
SHAPE = (4, 8)


# -- samplers: sample(rng, shape, dtype) -> numpy array -------------------------------

def uniform(low, high):
    """Floats in [low, high), the integers in that range, or random booleans."""
    def sample(rng, shape, dtype):
        if dtype == BOOL:
            return rng.random(shape) < 0.5
        if np.issubdtype(dtype, np.integer):
            return rng.integers(int(np.ceil(low)), int(np.ceil(high)), shape).astype(dtype)
        if np.issubdtype(dtype, np.complexfloating):
            return (rng.uniform(low, high, shape) + 1j * rng.uniform(low, high, shape)).astype(dtype)
        return rng.uniform(low, high, shape).astype(dtype)
    return sample


def away_from_zero(low, high):
    """Magnitudes in [low, high) with random signs (divisors)."""
    magnitude = uniform(low, high)
    return lambda rng, shape, dtype: (magnitude(rng, shape, dtype) * rng.choice([-1, 1], shape)).astype(dtype)


def default_values(rng, shape, dtype):
    """Uniform in [-3, 3), every other element rounded to an integer so that
    zeros and equal elements (ties for comparisons, max, argmax) are common."""
    x = uniform(-3, 3)(rng, shape, dtype)
    x.flat[::2] = np.round(x.flat[::2])
    return x


def with_nonfinite(rng, shape, dtype):
    """Default values with nan, inf and -inf among them."""
    x = default_values(rng, shape, dtype)
    x.flat[[1, 5, 9]] = [np.nan, np.inf, -np.inf]
    return x


def float_edges(rng, shape, dtype):
    """Default values with the floats NumPy's float functions treat apart: ±0, subnormals,
    the extremes of the range, ±inf and NaN."""
    x = default_values(rng, shape, dtype)
    info = np.finfo(dtype)
    edges = [0.0, -0.0, info.smallest_subnormal, -3 * info.smallest_subnormal, info.tiny, -info.tiny / 3,
             info.max, -info.max / 3, np.inf, -np.inf, np.nan, -0.5, 0.5, -2.5, 1e-3]
    x.flat[:len(edges)] = edges
    return x


def integer_edges(rng, shape, dtype):
    """Small integers of both signs (zeros among them), the extremes of the dtype and large values."""
    x = uniform(-60, 60)(rng, shape, dtype)
    info = np.iinfo(dtype)
    edges = [0, 0, info.min, info.max, info.max // 3, 0, -1, info.min, 1 << (info.bits // 2), 7]
    x.flat[:len(edges)] = np.array(edges, np.int64).astype(dtype)  # -1 wraps for unsigned dtypes
    return x


def whole_numbers(low, high):
    """Integers in [low, high) in any dtype (polygamma's order n)."""
    return lambda rng, shape, dtype: rng.integers(low, high, shape).astype(dtype)


def fixed(value):
    """Always `value` (run-time start indices, padding values)."""
    return lambda rng, shape, dtype: np.asarray(value, dtype)


def well_conditioned(rng, shape, dtype):
    """Small entries around a diagonal of magnitude 2 to 3 (triangular solves)."""
    x = uniform(-0.5, 0.5)(rng, shape, dtype)
    return (x + away_from_zero(2, 3)(rng, shape[:-1], dtype)[..., None] * np.eye(shape[-1], dtype=dtype)).astype(dtype)


POSITIVE = uniform(0.1, 3)
OPEN_UNIT = uniform(-0.95, 0.95)

# Elementwise ops defined on part of the line: one sampler per operand.
DOMAINS = {
    "log": (POSITIVE,), "sqrt": (POSITIVE,), "rsqrt": (POSITIVE,),
    "lgamma": (POSITIVE,), "digamma": (POSITIVE,),
    "log1p": (uniform(-0.9, 3),),
    "asin": (OPEN_UNIT,), "acos": (OPEN_UNIT,), "atanh": (OPEN_UNIT,), "erf_inv": (OPEN_UNIT,),
    "acosh": (uniform(1.1, 4),),
    "tan": (uniform(-1.4, 1.4),),
    "is_finite": (with_nonfinite,),
    "div": (default_values, away_from_zero(1, 3)),
    "rem": (default_values, away_from_zero(1, 3)),
    "pow": (POSITIVE, uniform(0, 3)),
    "polygamma": (whole_numbers(0, 3), POSITIVE),
    "shift_left": (default_values, uniform(0, 8)),
    "shift_right_logical": (default_values, uniform(0, 8)),
    "shift_right_arithmetic": (default_values, uniform(0, 8)),
    "nextafter": (with_nonfinite, default_values),
}


# -- cases ----------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """One application of an op: operand specs (shape, dtype, sampler) and attributes."""

    op: str
    operands: list
    attrs: dict = dataclasses.field(default_factory=dict)
    tag: str = ""

    def __str__(self):
        dtypes = ",".join(np.dtype(d).name for _, d, _ in self.operands)
        return f"{self.op}({dtypes}){'-' + self.tag if self.tag else ''}"

    def avals(self):
        return [ShapedArray(shape, dtype) for shape, dtype, _ in self.operands]

    def sample(self):
        rng = np.random.default_rng(zlib.crc32(str(self).encode()))
        return [sampler(rng, shape, np.dtype(dtype)) for shape, dtype, sampler in self.operands]


def accepts(op, avals, attrs):
    """Does the op's shape rule accept these operands?"""
    try:
        op.abstract_eval(avals, attrs)
    except (TypeError, ValueError):
        return False
    return True


def probed(op, make_case):
    """`make_case(dtype)` for each probe dtype the op accepts (else complex64)."""
    cases = [make_case(d) for d in PROBE_DTYPES]
    cases = [c for c in cases if accepts(op, c.avals(), c.attrs)]
    return cases or [make_case(C64)]


def elementwise_cases(op):
    def make_case(dtype):
        samplers = DOMAINS.get(op.name, (default_values,) * len(op.operands))
        return Case(op.name, [(SHAPE, dtype, s) for s in samplers])
    return probed(op, make_case)


def reduction_cases(op):
    cases = probed(op, lambda dtype: Case(op.name, [((3, 4), dtype, default_values)], {"axes": (1,)}))
    first = cases[0]
    return cases + [Case(op.name, first.operands, {"axes": (0, 1)}, tag="all-axes")]


def cumulative_cases(op):
    return [Case(op.name, [((3, 5), F32, default_values)], {"axis": 1, "reverse": False}),
            Case(op.name, [((5, 3), I32, default_values)], {"axis": 0, "reverse": True}, tag="reverse")]


def index_reduction_cases(op):
    # Ties must resolve to the first index; nan counts as the extreme value, as in NumPy.
    return [Case(op.name, [((4, 6), F32, default_values)], {"axis": 1, "index_dtype": I32}, tag="ties"),
            Case(op.name, [((4, 6), F32, with_nonfinite)], {"axis": 0, "index_dtype": I32}, tag="nonfinite")]


def _operand(shape, dtype=F32, sampler=default_values):
    return (shape, dtype, sampler)


def _index(value):
    return _operand((), I32, fixed(value))


def _conv(lhs, rhs, tag, **attrs):
    """A conv_general_dilated case (integer operands: exact results to compare), NC.../OI... by default."""
    spatial, ndim = len(lhs) - 2, len(lhs)
    defaults = {"window_strides": (1,) * spatial, "padding_low": (0,) * spatial, "padding_high": (0,) * spatial,
                "lhs_dilation": (1,) * spatial, "rhs_dilation": (1,) * spatial, "lhs_spec": tuple(range(ndim)),
                "rhs_spec": tuple(range(ndim)), "out_spec": tuple(range(ndim)), "feature_group_count": 1,
                "batch_group_count": 1}
    return Case("conv_general_dilated", [_operand(lhs, I32), _operand(rhs, I32)], {**defaults, **attrs}, tag=tag)


def _window_cases(op):
    """Every window holds an element of the operand (none is padding or holes only)."""
    return [Case(op.name, [_operand((4, 6))], {"window_dimensions": (2, 3), "window_strides": (1, 2),
                                               "padding_low": (1, 0), "padding_high": (0, 1),
                                               "base_dilation": (1, 1), "window_dilation": (1, 1)}),
            Case(op.name, [_operand((3, 5))], {"window_dimensions": (2, 2), "window_strides": (2, 1),
                                               "padding_low": (1, 0), "padding_high": (0, -1),
                                               "base_dilation": (2, 1), "window_dilation": (1, 2)}, tag="dilated")]


def _with_edges(name, operands, edge_operands):
    """Cases of an op on generic values and, tagged "edges" (values only, no derivatives), on edge values."""
    return [Case(name, operands), Case(name, edge_operands, tag="edges")]


# Ops whose operands or attributes no family derives.
EXPLICIT = {
    "frexp": _with_edges("frexp", [_operand(SHAPE)], [_operand(SHAPE, F32, float_edges)]),
    "modf": _with_edges("modf", [_operand(SHAPE)], [_operand(SHAPE, F32, float_edges)]),
    # Exponents that overflow, make subnormals and underflow to zero.
    "ldexp": _with_edges("ldexp", [_operand(SHAPE), _operand(SHAPE, I32, uniform(-10, 10))],
                         [_operand(SHAPE, F32, float_edges), _operand(SHAPE, I32, uniform(-300, 300))]),
    "gcd": _with_edges("gcd", [_operand(SHAPE, I32, uniform(-60, 60))] * 2, [_operand(SHAPE, I32, integer_edges)] * 2)
    + [Case("gcd", [_operand(SHAPE, U32, integer_edges)] * 2, tag="unsigned")],
    "lcm": _with_edges("lcm", [_operand(SHAPE, I32, uniform(-60, 60))] * 2, [_operand(SHAPE, I32, integer_edges)] * 2)
    + [Case("lcm", [_operand(SHAPE, U32, integer_edges)] * 2, tag="unsigned")],
    # Real arguments are 0 or pi (by the sign bit: -0.0 too); complex ones on the axes have signed zeros.
    "angle": [Case("angle", [_operand(SHAPE, F32, float_edges)], tag="edges"), Case("angle", [_operand(SHAPE, C64)])],
    "select": [Case("select", [_operand(SHAPE, BOOL), _operand(SHAPE), _operand(SHAPE)])],
    "reduce_precision": [Case("reduce_precision", [_operand(SHAPE, F32, float_edges)],
                              {"exponent_bits": 5, "mantissa_bits": 10}, tag="to-float16"),
                         Case("reduce_precision", [_operand(SHAPE)], {"exponent_bits": 8, "mantissa_bits": 7},
                              tag="to-bfloat16")],
    "fft": [Case("fft", [_operand((3, 8), C64)], {"fft_type": "FFT", "fft_lengths": (8,)}),
            Case("fft", [_operand((2, 6), C64)], {"fft_type": "IFFT", "fft_lengths": (6,)}, tag="inverse"),
            Case("fft", [_operand((4, 10))], {"fft_type": "RFFT", "fft_lengths": (10,)}, tag="real"),
            Case("fft", [_operand((2, 3, 5), C64)], {"fft_type": "IRFFT", "fft_lengths": (3, 8)}, tag="inverse-real")],
    "convert_element_type": [
        Case("convert_element_type", [_operand(SHAPE)], {"new_dtype": I32}),
        Case("convert_element_type", [_operand(SHAPE, I32)], {"new_dtype": F32}),
        Case("convert_element_type", [_operand(SHAPE)], {"new_dtype": BOOL}, tag="to-bool"),
    ],
    "bitcast_convert_type": [Case("bitcast_convert_type", [_operand(SHAPE)], {"new_dtype": I32})],
    "stop_gradient": [Case("stop_gradient", [_operand(SHAPE)])],
    "optimization_barrier": [Case("optimization_barrier", [_operand(SHAPE)])],
    "transfer": [Case("transfer", [_operand(SHAPE)], {"source": 0, "target": 0})],
    "constant": [Case("constant", [], {"value": np.arange(6, dtype=F32).reshape(2, 3)})],
    "iota": [Case("iota", [], {"dtype": I32, "shape": (2, 3, 4), "dimension": 1})],
    "broadcast_in_dim": [Case("broadcast_in_dim", [_operand((1, 3))],
                              {"shape": (2, 4, 3), "broadcast_dimensions": (0, 2)})],
    "reshape": [Case("reshape", [_operand((2, 6))], {"new_sizes": (3, 1, 4)})],
    "transpose": [Case("transpose", [_operand((2, 3, 4))], {"permutation": (2, 0, 1)})],
    "rev": [Case("rev", [_operand((3, 4))], {"dimensions": (1,)})],
    "slice": [Case("slice", [_operand((5, 7))],
                   {"start_indices": (1, 0), "limit_indices": (5, 7), "strides": (2, 3)})],
    # A start index of 4 for a slice of 3 in 6 is clamped to 3.
    "dynamic_slice": [Case("dynamic_slice", [_operand((5, 6)), _index(1), _index(4)], {"slice_sizes": (2, 3)})],
    "dynamic_update_slice": [Case("dynamic_update_slice",
                                  [_operand((5, 6)), _operand((2, 3)), _index(4), _index(-1)])],
    "concatenate": [Case("concatenate", [_operand((2, 3)), _operand((2, 1))], {"dimension": 1})],
    "pad": [Case("pad", [_operand((2, 3)), _operand((), F32, fixed(7.0))],
                 {"low": (1, -1), "high": (0, 2), "interior": (1, 0)})],
    "dot_general": [Case("dot_general", [_operand((2, 3, 4)), _operand((2, 4, 5))],
                         {"lhs_contracting": (2,), "rhs_contracting": (1,), "lhs_batch": (0,), "rhs_batch": (0,)})],
    "triangular_solve": [Case("triangular_solve", [_operand((2, 4, 4), F32, well_conditioned), _operand((2, 4, 3))]),
                         Case("triangular_solve", [_operand((3, 3), F32, well_conditioned), _operand((3, 2))],
                              {"unit_diagonal": True}, tag="unit"),
                         Case("triangular_solve", [_operand((2, 3, 3), F32, well_conditioned), _operand((2, 3, 1))],
                              {"lower": False}, tag="upper")],
    # Element gathers and scatters: each row of indices names one element of the operand.
    "gather": [Case("gather", [_operand((4, 5)), _operand((6, 2), I32, uniform(0, 4))],
                    {"offset_dims": (), "collapsed_slice_dims": (0, 1), "start_index_map": (0, 1),
                     "index_vector_dim": 1, "slice_sizes": (1, 1)}),
               # Out-of-bounds indices are clamped into bounds.
               Case("gather", [_operand((4, 5)), _operand((6, 2), I32, uniform(-2, 7))],
                    {"offset_dims": (), "collapsed_slice_dims": (0, 1), "start_index_map": (0, 1),
                     "index_vector_dim": 1, "slice_sizes": (1, 1)}, tag="clamped"),
               # 1x3 windows; the start column 3 is clamped to 2 so that the window fits.
               Case("gather", [_operand((4, 5)), _operand((2, 2), I32, fixed([[1, 3], [3, 0]]))],
                    {"offset_dims": (1,), "collapsed_slice_dims": (0,), "start_index_map": (0, 1),
                     "index_vector_dim": 1, "slice_sizes": (1, 3)}, tag="rows")],
    # Ties and NaNs (with_nonfinite) test the order: stable, NaNs last, first when descending.
    "sort": [Case("sort", [_operand((3, 6), F32, with_nonfinite)], {"dimension": 1}),
             Case("sort", [_operand((5, 3), I32)], {"dimension": 0, "descending": True}, tag="descending")],
    "sort_key_val": [Case("sort_key_val", [_operand((4, 6)), _operand((4, 6), I32)], {"dimension": 1}),
                     Case("sort_key_val", [_operand((4, 6), F32, with_nonfinite), _operand((4, 6))],
                          {"dimension": 0, "descending": True}, tag="descending")],
    "conv_general_dilated": [
        _conv((2, 3, 6, 5), (4, 3, 3, 2), "nchw", window_strides=(2, 1), padding_low=(1, 0), padding_high=(1, 1),
              rhs_dilation=(1, 2)),
        # NHWC / HWIO layouts, two feature groups, a transposed convolution's lhs dilation, cropping.
        _conv((2, 4, 5, 4), (2, 3, 2, 6), "nhwc-groups", padding_low=(1, -1), padding_high=(0, 1),
              lhs_dilation=(2, 1), lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2),
              feature_group_count=2),
        # The convolution a grouped convolution's kernel gradient is.
        _conv((4, 3, 7), (6, 3, 2), "batch-groups", window_strides=(2,), padding_high=(1,), batch_group_count=2),
    ],
    "reduce_window_sum": _window_cases(OPS["reduce_window_sum"]),
    "reduce_window_max": _window_cases(OPS["reduce_window_max"]),
    "reduce_window_min": _window_cases(OPS["reduce_window_min"]),
    "scatter": [Case("scatter", [_operand((4, 5)), _operand((6, 2), I32, uniform(0, 4)), _operand((6,))],
                     {"update_window_dims": (), "inserted_window_dims": (0, 1),
                      "scatter_dims_to_operand_dims": (0, 1), "index_vector_dim": 1, "combiner": "add"}),
                # 1x3 windows along an indexed axis (IREE needs them scattered element by element).
                Case("scatter", [_operand((4, 5)), _operand((2, 2), I32, fixed([[1, 2], [3, 0]])), _operand((2, 3))],
                     {"update_window_dims": (1,), "inserted_window_dims": (0,),
                      "scatter_dims_to_operand_dims": (0, 1), "index_vector_dim": 1, "combiner": "add"},
                     tag="rows")],
}

# Families, tried in order: (does the op belong, its cases).
FAMILIES = [
    (lambda op: "elementwise" in op.traits, elementwise_cases),
    (lambda op: "reduction" in op.traits, reduction_cases),
    (lambda op: set(op.attrs) == {"axis", "reverse"}, cumulative_cases),
    (lambda op: set(op.attrs) == {"axis", "index_dtype"}, index_reduction_cases),
]


def cases_for(op):
    if op.name in EXPLICIT:
        return EXPLICIT[op.name]
    for belongs, cases in FAMILIES:
        if belongs(op):
            return cases(op)
    return []


# Transformation ops (grad, jvp, vmap, ...) name a function: their passes give them meaning.
# Ops that name functions (transformations, control flow) have tests of their own, and so do
# collectives, which need an axis that a vmap or pmap binds (tests/test_pmap.py).
TESTED_OPS = {name: op for name, op in sorted(OPS.items()) if not {"typed_by_callee", "collective"} & op.traits}
CASES = [case for op in TESTED_OPS.values() for case in cases_for(op)]


def empty(rng, shape, dtype):
    return np.zeros(shape, dtype)


def _emptied(case):
    """`case` with its operands' first axis (and any axis of the same length in every operand
    of that rank) of size zero: the same application with no elements."""
    shapes = [shape for shape, _, _ in case.operands if shape]
    if not shapes:
        return None
    operands = [((0,) + tuple(shape[1:]), dtype, empty) if shape else (shape, dtype, sampler)
                for shape, dtype, sampler in case.operands]
    emptied = Case(case.op, operands, case.attrs, tag=(case.tag + "-" if case.tag else "") + "zero-size")
    return emptied if accepts(OPS[case.op], emptied.avals(), emptied.attrs) else None


# Ops whose size attributes tie them to their operands' sizes, with no elements.
EXPLICIT_ZERO_SIZE = [
    Case("constant", [], {"value": np.zeros((0, 3), F32)}, tag="zero-size"),
    Case("iota", [], {"dtype": I32, "shape": (2, 0, 4), "dimension": 1}, tag="zero-size"),
    Case("broadcast_in_dim", [_operand((1, 0))], {"shape": (2, 4, 0), "broadcast_dimensions": (0, 2)}, tag="zero-size"),
    Case("reshape", [_operand((0, 6))], {"new_sizes": (3, 0, 4)}, tag="zero-size"),
    Case("slice", [_operand((5, 7))], {"start_indices": (1, 3), "limit_indices": (5, 3), "strides": (1, 1)},
         tag="zero-size"),
    Case("dynamic_slice", [_operand((5, 0)), _index(1), _index(4)], {"slice_sizes": (2, 0)}, tag="zero-size"),
    Case("gather", [_operand((4, 5)), _operand((0, 2), I32, uniform(0, 4))],
         {"offset_dims": (), "collapsed_slice_dims": (0, 1), "start_index_map": (0, 1),
          "index_vector_dim": 1, "slice_sizes": (1, 1)}, tag="zero-size"),
]

# Every case that stays a valid application with an axis of size zero (one per op and tag).
ZERO_SIZE_CASES = list({str(c): c for c in map(_emptied, CASES) if c is not None}.values()) + EXPLICIT_ZERO_SIZE
