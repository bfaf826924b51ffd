"""jax.lax's special functions built from the op table's elementwise ops and loops, with JAX's
derivative rules (custom_jvp): erfc, bessel_i0e, bessel_i1e, and the regularized incomplete
gamma functions igamma and igammac with the derivatives igamma_grad_a and random_gamma_grad
(zeta is an op: ops/special.py).

erfc takes Cephes's approximations (as XLA's erfc), the Bessel functions their power series
and asymptotic expansions, the incomplete gamma functions XLA's algorithm (a power series
below the transition point, a continued fraction above it, each a while loop until every
element has converged), so that values agree with JAX's to a few ulps. float16 and bfloat16
are computed in float32, as XLA does. Each function runs eagerly as one compiled program.
"""

import functools
import math

import numpy as np

from mlax import ops
from mlax.api._staging import as_value
from mlax.api.custom_rules import custom_jvp
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.lax.control_flow import while_loop
from mlax.ops._elementwise import _like

_NARROW = (dtypes.float16, dtypes.bfloat16)


def _floats(name, *args):
    """The arguments as arrays of one float dtype and shape (Python scalars take the others'
    dtype, 0-d arrays broadcast, as in jax.lax)."""
    arrays = [as_value(a) for a in _like(args)]
    for x in arrays:
        if not dtypes.is_float(x.dtype):
            raise TypeError(f"{name} requires floating-point arguments, got dtype {x.dtype.name}")
    if len({x.dtype for x in arrays}) > 1:
        raise TypeError(f"{name} requires arguments of one dtype, got {' and '.join(x.dtype.name for x in arrays)}")
    if len({x.shape for x in arrays}) > 1:
        raise TypeError(f"{name} requires arguments of one shape, got {' and '.join(str(x.shape) for x in arrays)}")
    return arrays


@compiled("name", "impl")
def _apply(name, impl, *args):
    """impl(*arrays) of the arguments as arrays of one float dtype and shape (in float32 for
    narrower floats), weakly typed where every argument is: the public functions' body."""
    arrays = _floats(name, *args)
    dtype, weak, shape = arrays[0].dtype, all(x.weak_type for x in arrays), arrays[0].shape
    # Computed on a 1-d vector: IREE 3.13 fails to partition programs with several while
    # loops over 0-d values ("circular dependency: input operation uses partition output").
    flat = [ops.reshape(x, (x.size,)) for x in arrays]
    wide = [ops.convert_element_type(x, dtypes.float32) for x in flat] if dtype in _NARROW else flat
    return ops.convert_element_type(ops.reshape(impl(*wide), shape), dtype, weak)


def _c(x, value):
    return ops.full(x.shape, value, x.dtype)


def _polynomial(coefficients, x):
    """The polynomial with these coefficients (highest degree first) at x, by Horner's rule."""
    y = _c(x, 0.0)
    for c in coefficients:
        y = ops.add(ops.mul(y, x), _c(x, c))
    return y


def _where(condition, x, y):
    return ops.select(condition, x, y)


def _and_not(p, q):
    return ops.bitwise_and(p, ops.bitwise_not(q))


# -- erfc ------------------------------------------------------------------------------------
# Cephes's rational approximations of erfc for |x| >= 1, as XLA's erfc: float32 erfc(x) =
# exp(-x^2) / x * P(1 / x^2), P for x < 2 and R above; float64 erfc(x) = exp(-x^2) P(x) / Q(x)
# below 8, R(x) / S(x) above. Below |x| = 1, 1 - erf(x).
_ERFC_F32_P = [2.326819970068386e-2, -1.387039388740657e-1, 3.687424674597105e-1, -5.824733027278666e-1,
               6.210004621745983e-1, -4.944515323274145e-1, 3.404879937665872e-1, -2.741127028184656e-1,
               5.638259427386472e-1]
_ERFC_F32_R = [-1.047766399936249e+1, 1.297719955372516e+1, -7.495518717768503e+0, 2.921019019210786e+0,
               -1.015265279202700e+0, 4.218463358204948e-1, -2.820767439740514e-1, 5.641895067754075e-1]
_ERFC_F64_P = [2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
               4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
               9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2]
_ERFC_F64_Q = [1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
               9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
               1.65666309194161350182e3, 5.57535340817727675546e2]
_ERFC_F64_R = [5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
               6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0]
_ERFC_F64_S = [1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
               1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0]


@custom_jvp
def _erfc(x):
    magnitude = ops.abs(x)
    minus_square = ops.neg(ops.mul(x, x))
    exp_minus_square = ops.exp(minus_square)
    if x.dtype == dtypes.float64:
        ratio = _where(ops.lt(magnitude, _c(x, 8.0)),
                       ops.div(_polynomial(_ERFC_F64_P, magnitude), _polynomial(_ERFC_F64_Q, magnitude)),
                       ops.div(_polynomial(_ERFC_F64_R, magnitude), _polynomial(_ERFC_F64_S, magnitude)))
        tail = ops.mul(exp_minus_square, ratio)
    else:
        q = ops.div(_c(x, 1.0), magnitude)
        y = ops.mul(q, q)
        tail = ops.mul(ops.mul(exp_minus_square, q), _where(ops.lt(magnitude, _c(x, 2.0)),
                                                             _polynomial(_ERFC_F32_P, y), _polynomial(_ERFC_F32_R, y)))
    largest = float(np.log(dtypes.finfo(x.dtype).max))
    tail = _where(ops.lt(minus_square, _c(x, -largest)), _c(x, 0.0), tail)  # exp underflows: 0, not NaN
    tail = _where(ops.lt(x, _c(x, 0.0)), ops.sub(_c(x, 2.0), tail), tail)
    return _where(ops.lt(magnitude, _c(x, 1.0)), ops.sub(_c(x, 1.0), ops.erf(x)), tail)


@_erfc.defjvp
def _erfc_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _erfc(x), ops.mul(t, ops.mul(ops.exp(ops.neg(ops.mul(x, x))), _c(x, -2 / math.sqrt(math.pi))))


def erfc(x):
    """The complementary error function 1 - erf(x), accurate where it is tiny (large x)."""
    return _apply("erfc", _erfc, x)


# -- bessel_i0e, bessel_i1e ----------------------------------------------------------------

def _bessel_ie(x, order):
    """exp(-|x|) I_order(x) for order 0 or 1: the power series up to |x| = `switch`, the
    asymptotic series (Abramowitz & Stegun 9.7.1) beyond; each within a few ulps."""
    terms, asymptotic_terms, switch = (50, 30, 20.0) if x.dtype == dtypes.float64 else (20, 10, 10.0)
    magnitude = ops.abs(x)
    near = ops.min(magnitude, _c(x, switch))
    quarter_square = ops.div(ops.mul(near, near), _c(x, 4.0))
    series = _c(x, 1.0)
    for k in range(terms, 0, -1):  # sum_k (x^2 / 4)^k / (k! (k + order)!), nested
        series = ops.add(_c(x, 1.0), ops.div(ops.mul(series, quarter_square), _c(x, k * (k + order))))
    series = ops.mul(series, ops.exp(ops.neg(near)))
    if order:
        series = ops.mul(series, ops.div(near, _c(x, 2.0)))
    far = ops.max(magnitude, _c(x, switch))
    asymptotic = _c(x, 1.0)
    for k in range(asymptotic_terms, 0, -1):  # sum_k prod_j ((2j - 1)^2 - 4 order^2) / (j 8 x), nested
        factor = ops.div(_c(x, (4 * order * order - (2 * k - 1) ** 2) / k), ops.mul(far, _c(x, 8.0)))
        asymptotic = ops.sub(_c(x, 1.0), ops.mul(asymptotic, factor))
    asymptotic = ops.mul(asymptotic, ops.rsqrt(ops.mul(far, _c(x, 2 * math.pi))))
    value = _where(ops.gt(magnitude, _c(x, switch)), asymptotic, series)
    if not order:
        return value
    return ops.mul(value, ops.sign(x))  # I1 is odd: -0 at -0, as JAX


@custom_jvp
def _i0e(x):
    return _bessel_ie(x, 0)


@custom_jvp
def _i1e(x):
    return _bessel_ie(x, 1)


@_i0e.defjvp
def _i0e_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    y = _i0e(x)
    return y, ops.mul(t, ops.sub(_i1e(x), ops.mul(ops.sign(x), y)))


@_i1e.defjvp
def _i1e_jvp(primals, tangents):
    """I0e(x) - y (sign(x) + 1 / x), and its limit 1/2 where x is within eps of 0 (JAX's rule)."""
    (x,), (t,) = primals, tangents
    y = _i1e(x)
    eps = float(dtypes.finfo(x.dtype).eps)
    not_tiny = ops.gt(ops.abs(x), _c(x, eps))
    safe = _where(not_tiny, x, _c(x, eps))
    slope = ops.sub(_i0e(safe), ops.mul(y, ops.add(ops.sign(safe), ops.div(_c(x, 1.0), safe))))
    return y, ops.mul(t, _where(not_tiny, slope, _c(x, 0.5)))


def bessel_i0e(x):
    """The exponentially scaled modified Bessel function of order 0, exp(-|x|) I0(x)."""
    return _apply("bessel_i0e", _i0e, x)


def bessel_i1e(x):
    """The exponentially scaled modified Bessel function of order 1, exp(-|x|) I1(x)."""
    return _apply("bessel_i1e", _i1e, x)


# -- the regularized incomplete gamma functions ------------------------------------------------
# The loops compute the function's value (VALUE), its derivative in a (DERIVATIVE), or the
# derivative in a of a gamma sample (SAMPLE); asked for several, a loop goes on until each
# has converged. The derivative rules take value and derivative from one pair of loops.
VALUE, DERIVATIVE, SAMPLE = "value", "derivative", "sample"


def _any(predicate):
    return ops.reduce_or(predicate, tuple(range(predicate.ndim)))


def _or(*predicates):
    return functools.reduce(ops.bitwise_or, predicates)


def _isnan(x):
    return ops.ne(x, x)


def _keep(enabled, new, old):
    """The new loop values where `enabled`, the old ones elsewhere."""
    return [_where(enabled, n, o) for n, o in zip(new, old)]


def _unconverged(modes, value_change, derivative_change, eps):
    """Whether any asked-for quantity still changes by more than eps."""
    changes = [value_change if mode == VALUE else derivative_change for mode in modes]
    return _or(*[ops.gt(c, _c(c, eps)) for c in changes])


def _series(log_ax, x, a, enabled, modes):
    """The power series of igamma, x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n)),
    with its derivative in a, summed until the enabled elements have converged."""
    eps = float(dtypes.finfo(x.dtype).eps)

    def step(state):
        going, r, term, total, dterm, dtotal = state
        r_next = ops.add(r, _c(r, 1.0))
        ratio = ops.div(x, r_next)
        dterm_next = ops.sub(ops.mul(dterm, ratio), ops.div(ops.mul(term, x), ops.mul(r_next, r_next)))
        dtotal_next = ops.add(dtotal, dterm_next)
        term_next = ops.mul(term, ratio)
        total_next = ops.add(total, term_next)
        more = _unconverged(modes, ops.div(term_next, total_next), ops.abs(ops.div(dterm_next, dtotal_next)), eps)
        return [ops.bitwise_and(going, more)] + _keep(going, [r_next, term_next, total_next, dterm_next, dtotal_next],
                                                      [r, term, total, dterm, dtotal])

    one, zero = _c(x, 1.0), _c(x, 0.0)
    _, _, _, total, _, dtotal = while_loop(lambda state: _any(state[0]), step, [enabled, a, one, one, zero, zero])
    ax = ops.exp(log_ax)
    dlog_ax = ops.sub(ops.log(x), ops.digamma(ops.add(a, one)))
    results = {VALUE: lambda: ops.div(ops.mul(total, ax), a),
               DERIVATIVE: lambda: ops.div(ops.mul(ax, ops.add(ops.mul(total, dlog_ax), dtotal)), a),
               SAMPLE: lambda: ops.neg(ops.div(ops.mul(ops.add(dtotal, ops.mul(total, dlog_ax)), x), a))}
    return [results[mode]() for mode in modes]


_MOST_FRACTION_STEPS = 2000


def _continued_fraction(log_ax, x, a, enabled, modes):
    """The continued fraction of igammac (Legendre's), with its derivative in a, evaluated by
    its convergents p_k / q_k (rescaled by eps when they grow past 1 / eps) until the enabled
    elements have converged, or 2000 steps."""
    eps = float(dtypes.finfo(x.dtype).eps)

    def step(state):
        (going, count, answer, y, z, p1, q1, p2, q2, dp2, dq2, dp1, dq1, danswer) = state
        count = ops.add(count, ops.full((), 1.0, x.dtype))
        c = ops.broadcast_in_dim(count, x.shape, ())
        y_next, z_next = ops.add(y, _c(y, 1.0)), ops.add(z, _c(z, 2.0))
        yc = ops.mul(y_next, c)
        p = ops.sub(ops.mul(p1, z_next), ops.mul(p2, yc))
        q = ops.sub(ops.mul(q1, z_next), ops.mul(q2, yc))
        nonzero = ops.ne(q, _c(q, 0.0))
        ratio = ops.div(p, q)
        change = _where(nonzero, ops.abs(ops.div(ops.sub(answer, ratio), ratio)), _c(x, 1.0))
        answer_next = _where(nonzero, ratio, answer)
        dp = ops.add(ops.sub(ops.sub(ops.mul(dp1, z_next), p1), ops.mul(dp2, yc)), ops.mul(p2, c))
        dq = ops.add(ops.sub(ops.sub(ops.mul(dq1, z_next), q1), ops.mul(dq2, yc)), ops.mul(q2, c))
        danswer_next = _where(nonzero, ops.div(ops.sub(dp, ops.mul(answer_next, dq)), q), danswer)
        dchange = _where(nonzero, ops.abs(ops.sub(danswer_next, danswer)), _c(x, 1.0))
        # The next step's p2, p1, q2, q1, dp2, dq2, dp1, dq1, scaled down together when p grows large.
        rescale = ops.gt(ops.abs(p), _c(p, 1 / eps))
        p2n, p1n, q2n, q1n, dp2n, dq2n, dp1n, dq1n = [_where(rescale, ops.mul(v, _c(v, eps)), v)
                                                      for v in (p1, p, q1, q, dp1, dq1, dp, dq)]
        more = _unconverged(modes, change, dchange, eps)
        kept = _keep(going, [answer_next, y_next, z_next, p1n, q1n, p2n, q2n, dp2n, dq2n, dp1n, dq1n, danswer_next],
                     [answer, y, z, p1, q1, p2, q2, dp2, dq2, dp1, dq1, danswer])
        return [ops.bitwise_and(going, more), count] + kept

    y = ops.sub(_c(a, 1.0), a)
    z = ops.add(ops.add(x, y), _c(x, 1.0))
    p2, q2, p1, q1 = _c(x, 1.0), x, ops.add(x, _c(x, 1.0)), ops.mul(z, x)
    answer = ops.div(p1, q1)
    zero = _c(x, 0.0)
    dq1 = ops.neg(x)
    danswer = ops.div(ops.neg(ops.mul(answer, dq1)), q1)
    state = [enabled, ops.full((), 0.0, x.dtype), answer, y, z, p1, q1, p2, q2, zero, zero, zero, dq1, danswer]
    state = while_loop(lambda s: ops.bitwise_and(ops.lt(s[1], ops.full((), _MOST_FRACTION_STEPS, x.dtype)),
                                                 _any(s[0])), step, state)
    answer, danswer = state[2], state[13]
    ax = ops.exp(log_ax)
    dlog_ax = ops.sub(ops.log(x), ops.digamma(a))
    results = {VALUE: lambda: ops.mul(answer, ax),
               DERIVATIVE: lambda: ops.mul(ax, ops.add(ops.mul(answer, dlog_ax), danswer)),
               SAMPLE: lambda: ops.neg(ops.mul(ops.add(danswer, ops.mul(answer, dlog_ax)), x))}
    return [results[mode]() for mode in modes]


def _log_ax(a, x):
    """log(x^a e^-x / Gamma(a)), and where it underflows."""
    log_ax = ops.sub(ops.sub(ops.mul(a, ops.log(x)), x), ops.lgamma(a))
    return log_ax, ops.lt(log_ax, _c(x, -float(np.log(dtypes.finfo(x.dtype).max))))


class _Plan:
    """Which elements take the continued fraction (the others the series), which need a loop
    at all, and how the loops' results become the function's (special values included)."""

    def __init__(self, by_fraction, enabled, finish):
        self.by_fraction, self.enabled, self.finish = by_fraction, enabled, finish

    def series(self):
        return _and_not(self.enabled, self.by_fraction)

    def fraction(self):
        return ops.bitwise_and(self.enabled, self.by_fraction)


def _value_plan(a, x, upper):
    """igamma's (upper=False) or igammac's plan."""
    one, zero = _c(x, 1.0), _c(x, 0.0)
    x_zero, infinite, a_zero = ops.eq(x, zero), ops.eq(x, _c(x, np.inf)), ops.eq(a, zero)
    domain_error = _or(ops.lt(x, zero), ops.lt(a, zero), ops.bitwise_and(a_zero, x_zero), _isnan(a), _isnan(x))
    _, underflow = _log_ax(a, x)
    if upper:
        by_fraction = ops.bitwise_not(ops.bitwise_or(ops.lt(x, one), ops.lt(x, a)))
        enabled = ops.bitwise_not(_or(domain_error, underflow, infinite, a_zero))
    else:
        by_fraction = ops.bitwise_and(ops.ge(x, one), ops.gt(x, a))
        enabled = ops.bitwise_not(_or(x_zero, domain_error, underflow, infinite))

    def finish(series, fraction):
        if upper:
            out = _where(by_fraction, fraction, ops.sub(one, series))
            out = _where(ops.bitwise_or(infinite, a_zero), zero, out)
        else:
            out = _where(by_fraction, ops.sub(one, fraction), series)
            out = _where(infinite, one, _where(x_zero, zero, out))
        return _where(domain_error, _c(x, np.nan), out)
    return _Plan(by_fraction, enabled, finish)


def _derivative_plan(a, x):
    """igamma_grad_a's and random_gamma_grad's plan."""
    zero = _c(x, 0.0)
    x_zero, nan = ops.eq(x, zero), ops.bitwise_or(_isnan(a), _isnan(x))
    domain_error = ops.bitwise_or(ops.lt(x, zero), ops.le(a, zero))
    _, underflow = _log_ax(a, x)

    def finish(series, fraction):
        out = _where(x_zero, zero, _where(by_fraction, ops.neg(fraction), series))
        return _where(ops.bitwise_or(domain_error, nan), _c(x, np.nan), out)
    by_fraction = ops.bitwise_and(ops.gt(x, _c(x, 1.0)), ops.gt(x, a))
    return _Plan(by_fraction, ops.bitwise_not(_or(x_zero, domain_error, underflow, nan)), finish)


def _run(a, x, plans_and_modes):
    """Each plan's result for its mode, from one series loop and one continued-fraction loop
    over the elements any plan needs."""
    plans, modes = zip(*plans_and_modes)
    log_ax, _ = _log_ax(a, x)
    series = _series(log_ax, x, a, _or(*[p.series() for p in plans]), modes)
    fraction = _continued_fraction(log_ax, x, a, _or(*[p.fraction() for p in plans]), modes)
    return [plan.finish(s, f) for plan, s, f in zip(plans, series, fraction)]


def _igamma_slope_in_x(a, x):
    """d igamma / dx: the gamma density x^(a - 1) e^-x / Gamma(a)."""
    return ops.exp(ops.sub(ops.add(ops.neg(x), ops.mul(ops.sub(a, _c(a, 1.0)), ops.log(x))), ops.lgamma(a)))


def _incomplete_gamma(upper):
    """igamma (upper=False) or igammac, with JAX's derivative rule."""
    @custom_jvp
    def fn(a, x):
        return _run(a, x, [(_value_plan(a, x, upper), VALUE)])[0]

    @fn.defjvp
    def jvp(primals, tangents):
        (a, x), (ta, tx) = primals, tangents
        value, in_a = _run(a, x, [(_value_plan(a, x, upper), VALUE), (_derivative_plan(a, x), DERIVATIVE)])
        tangent = ops.add(ops.mul(ta, in_a), ops.mul(tx, _igamma_slope_in_x(a, x)))
        return value, ops.neg(tangent) if upper else tangent
    return fn


_igamma, _igammac = _incomplete_gamma(upper=False), _incomplete_gamma(upper=True)


def _igamma_grad_a(a, x):
    return _run(a, x, [(_derivative_plan(a, x), DERIVATIVE)])[0]


def _random_gamma_grad(a, x):
    return _run(a, x, [(_derivative_plan(a, x), SAMPLE)])[0]


def igamma(a, x):
    """The regularized lower incomplete gamma function P(a, x), the integral of t^(a - 1) e^-t
    over [0, x] divided by Gamma(a); NaN outside a >= 0, x >= 0."""
    return _apply("igamma", _igamma, a, x)


def igammac(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return _apply("igammac", _igammac, a, x)


def igamma_grad_a(a, x):
    """The derivative of igamma(a, x) with respect to a (not differentiable itself, as in JAX)."""
    return _apply("igamma_grad_a", _igamma_grad_a, a, x)


def random_gamma_grad(a, x):
    """The derivative with respect to a of a Gamma(a) sample x held at its quantile:
    -(d igamma / da) / (d igamma / dx) at (a, x)."""
    return _apply("random_gamma_grad", _random_gamma_grad, a, x)
