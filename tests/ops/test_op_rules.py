"""The op table's differentiation and batching rules, tested from the table itself.

For every op (inputs from _cases.py, float operands moved off the kinks and
ties of the op):
- JVP rules: mlax.jvp and mlax.vjp against central differences of the op's
  numpy_ref in float64 on the host, to first and second order (_check_grads.py);
- transpose rules: <vjp(u), v> == <u, jvp(v)>, both from one mlax program;
- ops whose derivative is zero (integer or boolean results, piecewise
  constant functions): zero tangents, and gradients through them are finite;
- batching rules: mlax.vmap over a batch of 3 (every operand batched, one
  operand batched, batch axes not in front) against the op applied to each example.

Each case compiles one program per rule kind; compilation is what these tests cost.
"""

import dataclasses
import zlib

import numpy as np
import pytest

import mlax
from mlax import lax
from mlax.core import dtypes
from mlax.core.op import OPS

import _check_grads as cg
from _cases import CASES, F32, I32, accepts, away_from_zero, default_values, uniform

# -- inputs ----------------------------------------------------------------------------


def spread(low, high, phase):
    """Values on a grid of step 0.1 in [low, high), offset by `phase` and jittered by
    under 0.004. With the PHASES below, values of different operands never come
    within 0.02 of each other and none comes within 0.016 of a multiple of 0.1: no
    ties (max, min, clamp), no kinks (abs, sign, floor, round, rem ...). Distinct
    within an array when the grid is big enough (reductions: no ties either)."""
    def sample(rng, shape, dtype):
        grid = low + phase + 0.1 * np.arange(int(round((high - low) / 0.1)))
        size = int(np.prod(shape, dtype=np.int64))
        values = rng.choice(grid, size, replace=size > len(grid)) + rng.uniform(-0.004, 0.004, size)
        return values.reshape(shape).astype(dtype)
    return sample


PHASES = (0.02, 0.05, 0.08)  # one per operand


def between_powers_of_two(rng, shape, dtype):
    """Magnitudes in [0.55, 0.95) times 2**k for k in [-3, 3], either sign: 0.05 of an octave
    or more away from the powers of two."""
    values = rng.uniform(0.55, 0.95, shape) * 2.0 ** rng.integers(-3, 4, shape) * rng.choice([-1, 1], shape)
    return values.astype(dtype)

# Float operands for derivative tests where spread(-3, 3) does not fit: one sampler per operand.
DIFFERENTIABLE_DOMAINS = {
    # lo < x < hi, x < lo, x > hi and lo > hi (then the result is hi) all occur.
    "clamp": (spread(-2, 2, PHASES[0]), spread(-3, 3, PHASES[1]), spread(-2, 2, PHASES[2])),
    # cbrt's derivatives blow up at 0 faster than finite differences can follow.
    "cbrt": (away_from_zero(0.3, 3),),
    # Sorting is differentiable where no two keys tie (the order cases use ties and NaNs).
    "sort": (spread(-3, 3, PHASES[0]),),
    "sort_key_val": (spread(-3, 3, PHASES[0]), spread(-3, 3, PHASES[1])),
    # frexp's mantissa jumps at powers of two.
    "frexp": (between_powers_of_two,),
    # Hurwitz zeta(x, q) is finite for x > 1 and q > 0.
    "zeta": (uniform(1.5, 4), uniform(0.5, 3)),
    # angle jumps across the negative real axis: complex values in the first quadrant.
    "angle": (uniform(0.3, 3),),
}

# Float operands an op is not differentiable in: they get no tangent.
NOT_DIFFERENTIABLE = {"polygamma": {0: "the order n takes whole numbers"},
                      "zeta": {0: "its derivative in x is not implemented (nor in JAX)"}}

# Float-valued ops whose tangent is zero (as well as all ops with integer or boolean results).
ZERO_DERIVATIVE = {
    "floor": "piecewise constant", "ceil": "piecewise constant", "round": "piecewise constant",
    "sign": "piecewise constant",
    "nextafter": "a step to the neighbouring float, treated like rounding",
    "stop_gradient": "a constant for differentiation by definition",
}
# Of those, ops whose finite differences are not zero.
ZERO_BY_DEFINITION = {"stop_gradient", "nextafter"}
# Ops that round their tangents too (reduce_precision's rule is reduce_precision, as JAX's):
# finite differences jump and <vjp(u), v> = <u, jvp(v)> holds only to the rounding, so they
# are checked by tests of their own (tests/differential/test_lax_extra.py).
ROUNDS_TANGENTS = {"reduce_precision"}


def _inexact(dtype):
    return dtypes.is_inexact(np.dtype(dtype))


def _floated(case):
    """The case with operands of default integer values made float32, where the op
    accepts that (an int32-only cumulative case gets a float twin)."""
    operands = [(shape, F32 if dtype == I32 and sampler is default_values else dtype, sampler)
                for shape, dtype, sampler in case.operands]
    floated = dataclasses.replace(case, operands=operands)
    return floated if accepts(OPS[case.op], floated.avals(), case.attrs) else case


def _differentiable(case):
    """The case with float operands sampled away from kinks and ties."""
    domain = DIFFERENTIABLE_DOMAINS.get(case.op)
    operands = []
    for i, (shape, dtype, sampler) in enumerate(case.operands):
        if domain:
            sampler = domain[i]
        elif sampler is default_values and _inexact(dtype):
            sampler = spread(-3, 3, PHASES[i % len(PHASES)])
        operands.append((shape, dtype, sampler))
    return dataclasses.replace(case, operands=operands)


def _wrt(case):
    """Indices of the operands that get tangents."""
    skip = NOT_DIFFERENTIABLE.get(case.op, {})
    return [i for i, (_, dtype, _) in enumerate(case.operands) if _inexact(dtype) and i not in skip]


def _out_aval(case):
    return OPS[case.op].abstract_eval(case.avals(), case.attrs)[0]


def _out_dtype(case):
    return _out_aval(case).dtype


def _derivative_cases():
    """The cases with differentiable operands, but those of edge values (tested for values only)."""
    seen, cases = set(), []
    for case in CASES:
        if case.tag == "edges":
            continue
        case = _differentiable(_floated(case))
        if str(case) not in seen and _wrt(case):
            seen.add(str(case))
            cases.append(case)
    return cases


def _complex(dtype):
    return dtypes.is_complex(np.dtype(dtype))


DERIVATIVE_CASES = _derivative_cases()
TANGENT_CASES = [c for c in DERIVATIVE_CASES if _inexact(_out_dtype(c))]
FD_CASES = [c for c in TANGENT_CASES if c.op not in ZERO_BY_DEFINITION | ROUNDS_TANGENTS]
# Real operands and results only: the second derivative of an op with complex results
# needs complex zero constants, which traced programs cannot hold yet (mlax.core.mlir
# cannot build a complex DenseElementsAttr).
SECOND_ORDER_CASES = [c for c in FD_CASES
                      if not any(_complex(d) for _, d, _ in c.operands) and not _complex(_out_dtype(c))]
ZERO_CASES = [c for c in DERIVATIVE_CASES if not _inexact(_out_dtype(c)) or c.op in ZERO_DERIVATIVE]


def _as_function(case, args, on_host=False):
    """(f, the operands f takes): the op as a function of its differentiated operands,
    the others fixed at their values in `args`; on_host: its numpy_ref instead."""
    op, wrt = OPS[case.op], _wrt(case)
    apply = op.numpy_ref if on_host else op

    def f(*diff_args):
        full = list(args)
        for i, x in zip(wrt, diff_args):
            full[i] = x
        out = apply(*full, **case.attrs)
        return _combined(out) if op.multiple_results else out
    return f, [args[i] for i in wrt]


def _combined(results):
    """One array standing for several results of one shape: sum_k (k + 1) * result_k over the
    float results, so that every result's derivative shows (with its own weight)."""
    floats = [r for r in results if _inexact(r.dtype)]
    total = floats[0]
    for k, r in enumerate(floats[1:], start=2):
        total = total + k * r
    return total


def _vectors(case, diff_args):
    """Random tangents v, w for the differentiated operands and a cotangent u, from the case's seed."""
    rng = np.random.default_rng(zlib.crc32(str(case).encode()) + 1)
    out = np.zeros(_out_aval(case).shape, _out_aval(case).dtype)
    return ([cg.random_like(rng, x) for x in diff_args], [cg.random_like(rng, x) for x in diff_args],
            cg.random_like(rng, out))


_first_order_results = {}


def _first_order(case):
    """The case's inputs, vectors and first-order mlax results (one program, shared by two tests)."""
    key = str(case)
    if key not in _first_order_results:
        args = case.sample()
        f, diff_args = _as_function(case, args)
        v, w, u = _vectors(case, diff_args)
        _first_order_results[key] = args, diff_args, v, u, cg.first_order(f, diff_args, v, u)
    return _first_order_results[key]


# -- derivative rules ----------------------------------------------------------------------

@pytest.mark.parametrize("case", FD_CASES, ids=str)
def test_first_derivatives_match_finite_differences(case):
    args, diff_args, v, u, results = _first_order(case)
    f_ref, _ = _as_function(case, args, on_host=True)
    cg.assert_first_order(f_ref, diff_args, v, u, results)


@pytest.mark.parametrize("case", SECOND_ORDER_CASES, ids=str)
def test_second_derivatives_match_finite_differences(case):
    args = case.sample()
    f, diff_args = _as_function(case, args)
    f_ref, _ = _as_function(case, args, on_host=True)
    v, w, u = _vectors(case, diff_args)
    cg.assert_second_order(f_ref, diff_args, v, w, u, cg.second_order(f, diff_args, v, w, u))


@pytest.mark.parametrize("case", [c for c in TANGENT_CASES if c.op not in ROUNDS_TANGENTS], ids=str)
def test_vjp_is_the_transpose_of_jvp(case):
    _, _, v, u, (_, jvp_out, vjp_out) = _first_order(case)
    scale = float(np.sum(np.abs(cg.host(u) * cg.host(jvp_out))))
    cg.assert_pairings_close(sum(cg.inner(g, t) for g, t in zip(vjp_out, v)), cg.inner(u, jvp_out), scale,
                             1e-5, "<vjp(u), v> against <u, jvp(v)>")


@pytest.mark.parametrize("case", ZERO_CASES, ids=str)
def test_zero_derivative(case):
    """The JVP is zero; the gradient of <c, float(op(x))> + sum_i <a_i, x_i> is exactly a."""
    args = case.sample()
    f, diff_args = _as_function(case, args)
    v, a, _ = _vectors(case, diff_args)
    c = np.random.default_rng(1).uniform(-1, 1, _out_aval(case).shape).astype(np.float32)

    def composition(*xs):
        out = lax.convert_element_type(f(*xs), np.dtype(np.float32))
        terms = [cg.traced_inner(c, out)] + [cg.traced_inner(x, ai) for x, ai in zip(xs, a)]
        return cg.traced_sum(terms)

    @mlax.jit
    def program(xs, v):
        return mlax.jvp(f, tuple(xs), tuple(v))[1], list(mlax.grad(composition, tuple(range(len(xs))))(*xs))

    tangent, gradient = program(diff_args, v)
    assert not np.any(np.asarray(tangent)), "the JVP of an op with zero derivative is not zero"
    for g, ai in zip(gradient, a):
        assert np.all(np.isfinite(np.asarray(g)))
        np.testing.assert_allclose(np.asarray(g), ai, rtol=1e-6, atol=1e-6)


# -- batching rules ------------------------------------------------------------------------

BATCH = 3


def _batching_cases():
    """One case per op and tag (the rule does not depend on the dtype)."""
    first = {}
    for case in CASES:
        first.setdefault((case.op, case.tag), case)
    return list(first.values())


def _vary(rng, shape, dtype):
    """Start indices (clamped when out of bounds) or padding values, different in each example."""
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-1, 6, shape).astype(dtype)
    return rng.uniform(-3, 3, shape).astype(dtype)


def _examples(case):
    """BATCH samples of the case's operands. Float operands avoid zeros and ties (whose
    results are the implementation's business: IREE's atan2(0, 0) is NaN); scalar
    operands, fixed in the case, vary from example to example."""
    operands = [(shape, dtype, _vary if shape == () else sampler)
                for shape, dtype, sampler in _differentiable(case).operands]
    rng = np.random.default_rng(zlib.crc32(str(case).encode()))
    return [[sampler(rng, shape, np.dtype(dtype)) for shape, dtype, sampler in operands] for _ in range(BATCH)]


def _in_axes_variants(case):
    """{name: in_axes}: all batched in front; each operand alone batched; batch axis 1
    (0 for scalars); batch axis last."""
    ranks = [len(shape) for shape, _, _ in case.operands]
    if not ranks:  # no operands: map over an unused argument; the result is broadcast
        return {"unused": (0,)}
    variants = {"all-0": tuple(0 for _ in ranks)}
    if len(ranks) > 1:
        for i in range(len(ranks)):
            variants[f"only-{i}"] = tuple(0 if j == i else None for j in range(len(ranks)))
    variants["axis-1"] = tuple(min(1, r) for r in ranks)
    if tuple(ranks) != variants["axis-1"]:
        variants["last"] = tuple(ranks)
    return variants


@pytest.mark.parametrize("case", _batching_cases(), ids=str)
def test_vmap_matches_stacked_examples(case):
    op = OPS[case.op]
    examples = _examples(case)
    variants = _in_axes_variants(case)

    def apply(*operands):
        return op(*(operands if case.operands else ()), **case.attrs)

    batched, expected = {}, {}
    for name, in_axes in variants.items():
        if not case.operands:
            batched[name] = [np.zeros(BATCH, np.float32)]
            expected[name] = np.stack([op.numpy_ref(**case.attrs)] * BATCH)
            continue
        batched[name] = [np.moveaxis(np.stack([e[i] for e in examples]), 0, axis) if axis is not None
                         else examples[0][i] for i, axis in enumerate(in_axes)]
        references = [op.numpy_ref(*[e[i] if axis is not None else examples[0][i]
                                     for i, axis in enumerate(in_axes)], **case.attrs) for e in examples]
        expected[name] = ([np.stack([r[k] for r in references]) for k in range(len(references[0]))]
                          if op.multiple_results else np.stack(references))

    @mlax.jit
    def program(batched):
        return {name: mlax.vmap(apply, in_axes=variants[name])(*operands) for name, operands in batched.items()}

    results = program(batched)
    for name in variants:
        pairs = (zip(results[name], expected[name]) if op.multiple_results
                 else [(results[name], expected[name])])
        for got, want in pairs:
            got, want = np.asarray(got), np.asarray(want)
            message = f"vmap with in_axes={variants[name]} ({name})"
            assert (got.dtype, got.shape) == (want.dtype, want.shape), message
            if np.issubdtype(got.dtype, np.inexact):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, equal_nan=True, err_msg=message)
            else:
                np.testing.assert_array_equal(got, want, err_msg=message)


# -- the checker itself ----------------------------------------------------------------------

def test_check_grads_passes_a_right_rule_and_catches_a_wrong_one():
    x = np.linspace(-2, 2, 6, dtype=np.float32)
    cg.check_grads(lax.sin, np.sin, [x], order=2)

    @mlax.custom_jvp
    def sin_with_wrong_derivative(x):
        return lax.sin(x)

    @sin_with_wrong_derivative.defjvp
    def _(primals, tangents):
        return lax.sin(primals[0]), lax.mul(tangents[0], lax.mul(lax.cos(primals[0]), 1.01))

    with pytest.raises(AssertionError, match="JVP against finite differences"):
        cg.check_grads(sin_with_wrong_derivative, np.sin, [x], order=1)


# -- linearity per operand -------------------------------------------------------------------

def test_the_tape_refuses_a_tangent_where_an_op_is_not_linear():
    """div is linear in its numerator only: a JVP rule dividing by a tangent cannot be transposed."""
    @mlax.custom_jvp
    def f(x):
        return lax.sin(x)

    @f.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return lax.sin(x), lax.div(lax.cos(x), t)

    with pytest.raises(NotImplementedError, match=r"mlax\.div .* operand 1 \(rhs\)"):
        mlax.grad(f)(np.float32(0.5))
    assert mlax.jvp(f, (np.float32(0.5),), (np.float32(2.0),))[1] == pytest.approx(np.cos(0.5) / 2)


def test_linear_operands_are_stated_per_operand():
    assert OPS["div"].linear_operands == (0,)
    assert OPS["select"].linear_operands == (1, 2)
    assert OPS["mul"].linear_operands == (0, 1)
    assert OPS["ldexp"].linear_operands == (0,)
    assert OPS["sin"].linear_operands is None
