"""mlax.scipy.special: SciPy's special functions over mlax arrays, as jax.scipy.special.

Each function takes JAX's arguments and gives JAX's values, dtypes and derivatives, built
from mlax.numpy and mlax.lax. Where JAX defines its own derivative (xlogy, logit, log_ndtr,
the Bessel functions ...) the same rule is given here with `custom_jvp`, so that the
derivatives agree at the special points too (xlogy's at x = 0, log_ndtr's far in the tail).
The functions built from many ops run eagerly as one compiled program (`compiled`).
"""

import functools
import math
import operator
from fractions import Fraction

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.autodiff import jvp as _jvp
from mlax.api.custom_rules import custom_jvp as _custom_jvp, stop_gradient as _stop_gradient
from mlax.api.jit import compiled as _compiled

_SMALL_FLOATS = (np.dtype(mnp.float16), np.dtype(mnp.bfloat16))


def _promote(name, *args):
    """The arguments as arrays of one inexact dtype (integers become floats), as JAX."""
    return mnp.promote_args_inexact(name, *args)


def _is_complex(x):
    return mnp.issubdtype(x.dtype, mnp.complexfloating)


def _polyval(coefficients, x):
    """The polynomial with these coefficients (highest degree first) at x, by Horner's rule
    from a zero start, as jnp.polyval (so infinities and NaNs propagate alike)."""
    y = mnp.zeros_like(x)
    for c in coefficients:
        y = y * x + c
    return y


def _defjvps(fn, *rules):
    """fn.defjvps(*rules) as JAX means it: rule i gives argument i's share of the output tangent
    from (tangent_i, ans, *primals), with `ans` and the primal output fn's own, so that higher
    derivatives go through the rules again (mlax's defjvps differentiates fn's body there)."""
    @fn.defjvp
    def jvp(primals, tangents):
        ans = fn(*primals)
        shares = [rule(t, ans, *primals) for rule, t in zip(rules, tangents) if rule is not None]
        return ans, functools.reduce(operator.add, shares)


def _in_float32(fn, *args):
    """fn(*args) computed in float32 where the arguments are float16 or bfloat16 (as XLA does)."""
    dtype = args[0].dtype
    if dtype in _SMALL_FLOATS:
        return fn(*(a.astype(mnp.float32) for a in args)).astype(dtype)
    return fn(*args)


# -- logistic, log and entropy functions ------------------------------------------------------

def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x))."""
    (x,) = _promote("expit", x)
    return lax.logistic(x)


@_custom_jvp
def _logit(x):
    return mnp.log(x / (1 - x))


_defjvps(_logit, lambda t, ans, x: t / (x * (1 - x)))


def logit(x):
    """log(x / (1 - x)), the inverse of expit; -inf at 0, inf at 1."""
    (x,) = _promote("logit", x)
    return _logit(x)


@_custom_jvp
def _xlogy(x, y):
    return mnp.where((x != 0) | mnp.isnan(y), x * mnp.log(y), mnp.zeros_like(x))


@_xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = _xlogy(x, y)
    return out, (x_dot * mnp.log(y) + y_dot * x / y).astype(out.dtype)


def xlogy(x, y):
    """x * log(y), 0 where x is 0 (unless y is NaN); its derivative is JAX's formula everywhere."""
    return _xlogy(*_promote("xlogy", x, y))


@_custom_jvp
def _xlog1py(x, y):
    return mnp.where((x != 0) | mnp.isnan(y), x * mnp.log1p(y), mnp.zeros_like(x))


@_xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = _xlog1py(x, y)
    return out, (x_dot * mnp.log1p(y) + y_dot * x / (1 + y)).astype(out.dtype)


def xlog1py(x, y):
    """x * log1p(y), 0 where x is 0 (unless y is NaN); its derivative is JAX's formula everywhere."""
    return _xlog1py(*_promote("xlog1py", x, y))


@_custom_jvp
def _xlogx(x):
    return _xlogy(x, x)


_defjvps(_xlogx, lambda t, ans, x: t * (mnp.log(x) + 1))


def _real_only(name, *args):
    args = _promote(name, *args)
    if _is_complex(args[0]):
        raise ValueError(f"{name} does not support complex-valued inputs.")
    return args


def entr(x):
    """Elementwise entropy -x log(x): 0 at 0, -inf for negative x."""
    (x,) = _real_only("entr", x)
    return mnp.where(x < 0, mnp.full_like(x, -np.inf), -_xlogx(x))


def rel_entr(p, q):
    """p log(p / q) where p, q > 0; 0 where p = 0 and q >= 0; inf elsewhere."""
    p, q = _real_only("rel_entr", p, q)
    both_positive = (p > 0) & (q > 0)
    p_zero = (p == 0) & (q >= 0)
    safe_p, safe_q = mnp.where(both_positive, p, 1), mnp.where(both_positive, q, 1)
    log_val = _xlogx(safe_p) - _xlogy(safe_p, safe_q)
    return mnp.where(both_positive, log_val, mnp.where(p_zero, mnp.zeros_like(log_val), np.inf))


def kl_div(p, q):
    """rel_entr(p, q) - p + q: the elementwise Kullback-Leibler divergence."""
    p, q = _real_only("kl_div", p, q)
    return rel_entr(p, q) - p + q


def boxcox(x, lmbda):
    """The Box-Cox transform (x ** lmbda - 1) / lmbda, log(x) where lmbda is 0."""
    x, lmbda = _promote("boxcox", x, lmbda)
    zero = lmbda == 0
    safe = mnp.where(zero, mnp.ones_like(lmbda), lmbda)
    log_x = mnp.log(x)
    return mnp.where(zero, log_x, mnp.expm1(safe * log_x) / safe)


def boxcox1p(x, lmbda):
    """The Box-Cox transform of 1 + x: ((1 + x) ** lmbda - 1) / lmbda, log1p(x) where lmbda is 0."""
    x, lmbda = _promote("boxcox1p", x, lmbda)
    zero = lmbda == 0
    safe = mnp.where(zero, mnp.ones_like(lmbda), lmbda)
    log1p_x = mnp.log1p(x)
    return mnp.where(zero, log1p_x, mnp.expm1(safe * log1p_x) / safe)


# -- reductions --------------------------------------------------------------------------------

def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) over axis, shifted by the maximum so that it cannot overflow. As in
    JAX: entries where b is 0 count for nothing (even where a is inf), entries where `where` is
    False are left out, and a negative sum gives NaN unless return_sign."""
    if where is not None:
        a = mnp.where(where, a, 0)
    if b is not None:
        a, b = _promote("logsumexp", a, b)
        a = mnp.where(b != 0, a, -np.inf)
    else:
        (a,) = _promote("logsumexp", a)
    complex_input = _is_complex(a)
    largest = mnp.max(mnp.real(a) if complex_input else a, axis=axis, keepdims=True, where=where, initial=-np.inf)
    largest = _stop_gradient(mnp.where(mnp.isfinite(largest), largest, mnp.zeros_like(largest)))
    scaled = mnp.exp(a - largest.astype(a.dtype))
    if b is not None:
        scaled = scaled * b
    total = mnp.sum(scaled, axis=axis, keepdims=True, where=where)
    sign = mnp.sign(total)
    if return_sign or not complex_input:
        total = mnp.abs(total)
    out = mnp.log(total) + largest.astype(total.dtype)
    if not keepdims:
        reduced = tuple(range(out.ndim)) if axis is None else axis
        out, sign = mnp.squeeze(out, axis=reduced), mnp.squeeze(sign, axis=reduced)
    if return_sign:
        return out, sign
    if b is not None and not complex_input:
        out = mnp.where(sign < 0, mnp.full_like(out, np.nan), out)
    return out


@functools.partial(_custom_jvp, nondiff_argnums=(1,))
def _softmax(x, axis):
    unnormalized = mnp.exp(x - mnp.max(x, axis, keepdims=True, initial=-np.inf))
    return unnormalized / mnp.sum(unnormalized, axis, keepdims=True)


@_softmax.defjvp
def _softmax_jvp(axis, primals, tangents):
    (x,), (x_dot,) = primals, tangents
    y = _softmax(x, axis)
    return y, y * (x_dot - mnp.sum(y * x_dot, axis, keepdims=True))


def softmax(x, /, *, axis=None):
    """exp(x) / sum(exp(x)) over axis (all axes by default, unlike jax.nn.softmax); its
    derivative is JAX's rule y * (dx - sum(y * dx))."""
    (x,) = _promote("softmax", x)
    return _softmax(x, axis)


def log_softmax(x, /, *, axis=None):
    """x - logsumexp(x) over axis (all axes by default, unlike jax.nn.log_softmax)."""
    (x,) = _promote("log_softmax", x)
    shifted = x - _stop_gradient(mnp.max(x, axis, keepdims=True, initial=-np.inf))
    return shifted - mnp.log(mnp.sum(mnp.exp(shifted), axis, keepdims=True))


# -- the error function and the normal distribution -------------------------------------------

def erf(x):
    """The error function 2 / sqrt(pi) * integral of exp(-t ** 2) from 0 to x."""
    (x,) = _promote("erf", x)
    return lax.erf(x)


# Cephes's rational approximations of erfc for |x| >= 1 (as XLA's erfc; its licence is in
# jax/_src/scipy/special.py): float32 erfc(x) = exp(-x^2) / x * P(1 / x^2), P for x < 2 and R
# above; float64 erfc(x) = exp(-x^2) P(x) / Q(x) below 8, R(x) / S(x) above.
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
_MAXLOG = {np.dtype(np.float32): 88.72283905206835, np.dtype(np.float64): 7.09782712893383996843e2}


def _erfc_value(x):
    magnitude = mnp.abs(x)
    exp_minus_square = mnp.exp(-x * x)
    if x.dtype == np.float64:
        tail = exp_minus_square * mnp.where(magnitude < 8, _polyval(_ERFC_F64_P, magnitude) / _polyval(_ERFC_F64_Q, magnitude),
                                            _polyval(_ERFC_F64_R, magnitude) / _polyval(_ERFC_F64_S, magnitude))
    else:
        q = 1 / magnitude
        y = q * q
        tail = exp_minus_square * q * mnp.where(magnitude < 2, _polyval(_ERFC_F32_P, y), _polyval(_ERFC_F32_R, y))
    tail = mnp.where(-x * x < -_MAXLOG[x.dtype], mnp.zeros_like(x), tail)  # exp underflows: 0, not NaN
    tail = mnp.where(x < 0, 2 - tail, tail)
    return mnp.where(magnitude < 1, 1 - lax.erf(x), tail)


@_compiled()
def erfc(x):
    """The complementary error function 1 - erf(x), accurate where it is tiny (large x)."""
    (x,) = _real_only("erfc", x)
    return _in_float32(_erfc_value, x)


def erfinv(x):
    """The inverse of erf: erfinv(erf(x)) = x; +-inf at +-1."""
    (x,) = _promote("erfinv", x)
    return lax.erf_inv(x)


_ERFCX_ASYMPTOTIC = [7918.06640625, -1055.7421875, 162.421875, -29.53125, 6.5625, -1.875, .75, -.5, 1.]


def _erfcx_value(x):
    # exp(x^2) erfc(x) directly until exp(x^2) would overflow; above, the asymptotic series
    # (1 / (sqrt(pi) x)) sum_k c_k / x^(2k) (its first omitted term is below the dtype's eps).
    terms = 9 if x.dtype == np.float64 else 5
    large = x > np.sqrt(np.log(mnp.finfo(x.dtype).max))
    safe = mnp.where(large, mnp.ones_like(x), x)
    direct = mnp.exp(safe * safe) * _erfc_value(safe)
    asymptotic = _polyval(_ERFCX_ASYMPTOTIC[-terms:], 1 / (x * x)) / (x * np.sqrt(np.pi))
    return mnp.where(large, asymptotic, direct)


@_custom_jvp
def _erfcx(x):
    return _in_float32(_erfcx_value, x)


_defjvps(_erfcx, lambda t, ans, x: t * (2 * x * ans - 2 / np.sqrt(np.pi)))


@_compiled()
def erfcx(x):
    """The scaled complementary error function exp(x ** 2) * erfc(x), without overflow for
    large x. Real inputs only (JAX's complex erfcx, the Faddeeva function, is not here)."""
    (x,) = _promote("erfcx", x)
    if _is_complex(x):
        raise NotImplementedError("erfcx of complex inputs (the Faddeeva function) is not in mlax")
    return _erfcx(x)


def _require_float32_or_64(x):
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={x.dtype} is not supported, see docstring for supported types.")


def _ndtr(x):
    half_sqrt_2 = 0.5 * np.sqrt(np.array(2.0, x.dtype))
    w = x * half_sqrt_2
    z = mnp.abs(w)
    # (erfc's branch evaluated at a z of its own: its tail's 1 / z would make the derivative NaN at 0.)
    tail = _erfc_value(mnp.where(z < half_sqrt_2, half_sqrt_2, z))
    y = mnp.where(z < half_sqrt_2, 1 + lax.erf(w), mnp.where(w > 0, 2 - tail, tail))
    return 0.5 * y


@_compiled()
def ndtr(x):
    """The standard normal CDF, (1 + erf(x / sqrt(2))) / 2; float32 and float64 only, as JAX."""
    x = mnp.asarray(x)
    _require_float32_or_64(x)
    return _ndtr(x)


# Cephes's rational approximations of ndtri (as JAX's, which carries their licence): for p
# above exp(-2), x / sqrt(2 pi) = w + w^3 P0(w^2) / Q0(w^2) with w = p - 1/2; below, with
# z = sqrt(-2 log p), x = z - log(z) / z - P(1/z) / Q(1/z) / z, (P2, Q2) once z >= 8.
_NDTRI_P0 = [-5.99633501014107895267e1, 9.80010754185999661536e1, -5.66762857469070293439e1,
             1.39312609387279679503e1, -1.23916583867381258016e0]
_NDTRI_Q0 = [1.0, 1.95448858338141759834e0, 4.67627912898881538453e0, 8.63602421390890590575e1,
             -2.25462687854119370527e2, 2.00260212380060660359e2, -8.20372256168333339912e1,
             1.59056225126211695515e1, -1.18331621121330003142e0]
_NDTRI_P1 = [4.05544892305962419923e0, 3.15251094599893866154e1, 5.71628192246421288162e1,
             4.40805073893200834700e1, 1.46849561928858024014e1, 2.18663306850790267539e0,
             -1.40256079171354495875e-1, -3.50424626827848203418e-2, -8.57456785154685413611e-4]
_NDTRI_Q1 = [1.0, 1.57799883256466749731e1, 4.53907635128879210584e1, 4.13172038254672030440e1,
             1.50425385692907503408e1, 2.50464946208309415979e0, -1.42182922854787788574e-1,
             -3.80806407691578277194e-2, -9.33259480895457427372e-4]
_NDTRI_P2 = [3.23774891776946035970e0, 6.91522889068984211695e0, 3.93881025292474443415e0,
             1.33303460815807542389e0, 2.01485389549179081538e-1, 1.23716634817820021358e-2,
             3.01581553508235416007e-4, 2.65806974686737550832e-6, 6.23974539184983293730e-9]
_NDTRI_Q2 = [1.0, 6.02427039364742014255e0, 3.67983563856160859403e0, 1.37702099489081330271e0,
             2.16236993594496635890e-1, 1.34204006088543189037e-2, 3.28014464682127739104e-4,
             2.89247864745380683936e-6, 6.79019408009981274425e-9]


@_compiled()
def ndtri(p):
    """The inverse of ndtr: -inf at 0, inf at 1, NaN outside [0, 1]; float32 and float64 only."""
    p = mnp.asarray(p)
    _require_float32_or_64(p)
    complement = mnp.where(p > -np.expm1(-2.0), 1 - p, p)
    safe = mnp.where(complement == 0, mnp.full_like(p, 0.5), complement)  # (p = 0 is answered below)
    w = safe - 0.5
    ww = w * w
    x_big = (w + w * ww * (_polyval(_NDTRI_P0, ww) / _polyval(_NDTRI_Q0, ww))) * -np.sqrt(2 * np.pi)
    z = mnp.sqrt(-2.0 * mnp.log(safe))
    first = z - mnp.log(z) / z
    x_tiny = first - _polyval(_NDTRI_P2, 1 / z) / _polyval(_NDTRI_Q2, 1 / z) / z
    x_small = first - _polyval(_NDTRI_P1, 1 / z) / _polyval(_NDTRI_Q1, 1 / z) / z
    x = mnp.where(safe > np.exp(-2.0), x_big, mnp.where(z >= 8.0, x_tiny, x_small))
    x = mnp.where(p > 1 - np.exp(-2.0), x, -x)
    return mnp.where(p == 0, mnp.full_like(p, -np.inf), mnp.where(p == 1, mnp.full_like(p, np.inf), x))


def _log_ndtr_asymptotic_series(x, series_order):
    """1 - 1/x^2 + 3/x^4 - 15/x^6 ... (series_order terms after the 1)."""
    x_2 = x * x
    even, odd = mnp.zeros_like(x), mnp.zeros_like(x)
    x_2n = x_2
    for n in range(1, series_order + 1):
        term = np.array(np.prod(np.arange(2 * n - 1, 1, -2)), x.dtype) / x_2n
        if n % 2:
            odd = odd + term
        else:
            even = even + term
        x_2n = x_2n * x_2
    return 1 + even - odd


def _norm_logpdf(x):
    return -0.5 * (x * x) - np.log(np.sqrt(2 * np.pi))


@functools.partial(_custom_jvp, nondiff_argnums=(1,))
def _log_ndtr(x, series_order):
    # log(ndtr(x)) between the bounds; above, log(1 - ndtr(-x)) ~ -ndtr(-x); below, the log of
    # the asymptotic series of ndtr (the clamps keep the unchosen branches finite).
    lower, upper = (-20.0, 8.0) if x.dtype == np.float64 else (-10.0, 5.0)
    above = x > upper
    ndtr_value = _ndtr(mnp.where(above, -x, mnp.maximum(x, lower)))
    tail = mnp.minimum(x, lower)
    log_scale = -0.5 * (tail * tail) - mnp.log(-tail) - 0.5 * np.log(2 * np.pi)
    lower_value = log_scale + mnp.log(_log_ndtr_asymptotic_series(tail, series_order))
    return mnp.where(above, -ndtr_value, mnp.where(x > lower, mnp.log(ndtr_value), lower_value))


@_log_ndtr.defjvp
def _log_ndtr_jvp(series_order, primals, tangents):
    (x,), (t,) = primals, tangents
    ans = _log_ndtr(x, series_order)
    return ans, t * mnp.exp(_norm_logpdf(x) - ans)


@_compiled("series_order")
def log_ndtr(x, series_order=3):
    """log(ndtr(x)), accurate far in both tails (an asymptotic series of series_order terms
    below -10, or -20 in float64); float32 and float64 only, as JAX."""
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if series_order < 0:
        raise ValueError("series_order must be non-negative.")
    if series_order > 30:
        raise ValueError("series_order must be <= 30.")
    x = mnp.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={x.dtype} is not supported.")
    return _log_ndtr(x, series_order)


# -- the gamma function and its relatives -----------------------------------------------------

def gammaln(x):
    """log|gamma(x)|: inf at the poles 0, -1, -2, ... (real inputs)."""
    (x,) = _promote("gammaln", x)
    return lax.lgamma(x)


def gammasgn(x):
    """The sign of gamma(x): -1 between the poles -(2k+1) and -2k and at -0; NaN at the poles
    below 0, at -inf and at NaN; 1 elsewhere."""
    (x,) = _real_only("gammasgn", x)
    floor_x = mnp.floor(x)
    negative = x < 0
    nan = (negative & (x == floor_x)) | mnp.isnan(x)
    minus = (negative & (mnp.remainder(floor_x, 2) != 0)) | ((x == 0) & mnp.signbit(x))
    return mnp.where(nan, mnp.full_like(x, np.nan), mnp.where(minus, mnp.full_like(x, -1), mnp.ones_like(x)))


def gamma(x):
    """The gamma function, gammasgn(x) * exp(gammaln(x)): +-inf at +-0, NaN at the negative
    poles and -inf. Real inputs only (JAX's complex gamma is not here)."""
    (x,) = _promote("gamma", x)
    if _is_complex(x):
        raise NotImplementedError("gamma of complex inputs is not in mlax")
    return gammasgn(x) * mnp.exp(lax.lgamma(x))


def loggamma(x):
    """The principal branch of log(gamma(x)): gammaln(x) for x > 0, NaN elsewhere. Real inputs
    only (JAX's complex loggamma is not here)."""
    (x,) = _promote("loggamma", x)
    if _is_complex(x):
        raise NotImplementedError("loggamma of complex inputs is not in mlax")
    return mnp.where(x > 0, lax.lgamma(x), mnp.full_like(x, np.nan))


def digamma(x):
    """The logarithmic derivative of gamma, gamma'(x) / gamma(x); NaN at the poles 0, -1, ...
    (float16 and bfloat16 computed in float32, as XLA does: mlax.lax.digamma's reflection below
    1/2 loses 4% at -0.5 in float16.)"""
    (x,) = _promote("digamma", x)
    return _in_float32(lax.digamma, x)


def polygamma(n, x):
    """The n-th derivative of digamma at x; n must have an integer dtype, as in JAX."""
    n_dtype = mnp.asarray(n).dtype
    if not mnp.issubdtype(n_dtype, mnp.integer):
        raise ValueError(f"Argument `n` to polygamma must be of integer type. Got dtype {n_dtype}.")
    n, x = _real_only("polygamma", n, x)
    return lax.polygamma(n, x)


def _algdiv(a, b):
    """log(gamma(b) / gamma(a + b)) for b >= 8 and a <= b (SciPy's cdflib algdiv, as JAX's)."""
    c0, c1, c2 = 0.833333333333333e-01, -0.277777777760991e-02, 0.793650666825390e-03
    c3, c4, c5 = -0.595202931351870e-03, 0.837308034031215e-03, -0.165322962780713e-02
    h = a / b
    c = h / (1 + h)
    x = h / (1 + h)
    d = b + (a - 0.5)
    x2 = x * x
    s3 = 1.0 + (x + x2)
    s5 = 1.0 + (x + x2 * s3)
    s7 = 1.0 + (x + x2 * s5)
    s9 = 1.0 + (x + x2 * s7)
    s11 = 1.0 + (x + x2 * s9)
    t = (1.0 / b) ** 2
    w = ((((c5 * s11 * t + c4 * s9) * t + c3 * s7) * t + c2 * s5) * t + c1 * s3) * t + c0
    w = w * (c / b)
    u = d * mnp.log1p(a / b)
    v = a * (mnp.log(b) - 1.0)
    return mnp.where(u <= v, (w - v) - u, (w - u) - v)


def _betaln(a, b):
    a, b = mnp.minimum(a, b), mnp.maximum(a, b)
    small_b = lax.lgamma(a) + (lax.lgamma(b) - lax.lgamma(a + b))
    large_b = lax.lgamma(a) + _algdiv(a, b)
    return mnp.where(b < 8, small_b, large_b)


@_compiled()
def betaln(a, b):
    """log|B(a, b)|, with JAX's algorithm (accurate for large arguments, from SciPy's cdflib)."""
    a, b = _promote("betaln", a, b)
    return _in_float32(_betaln, a, b)


@_compiled()
def beta(a, b):
    """The beta function gamma(a) gamma(b) / gamma(a + b), with its sign."""
    a, b = _real_only("beta", a, b)
    sign = gammasgn(a) * gammasgn(b) * gammasgn(a + b)
    return sign * mnp.exp(_in_float32(_betaln, a, b))


def multigammaln(a, d):
    """log of the multivariate gamma function of dimension d (a Python integer, as in JAX)."""
    d = int(d)
    a, d_ = _promote("multigammaln", a, d)
    constant = 0.25 * d_ * (d_ - 1) * np.log(np.pi)
    halves = mnp.arange(d, dtype=d_.dtype) / 2
    return mnp.sum(lax.lgamma(mnp.expand_dims(a, -1) - halves), axis=-1) + constant


def factorial(n, exact=False):
    """n! = gamma(n + 1) as a float, 0 for negative n; exact=True is not supported (as in JAX)."""
    if exact:
        raise NotImplementedError("factorial with exact=True")
    (n,) = _promote("factorial", n)
    return mnp.where(n < 0, mnp.zeros_like(n), mnp.exp(lax.lgamma(n + 1)))


def comb(N, k, *, repetition=False):
    """N choose k as a float (from gammaln), 0 where N < 0, k < 0 or (without repetition) k > N;
    with repetition, the number of multisets: comb(N + k - 1, k)."""
    N, k = _promote("comb", N, k)
    if repetition:
        return mnp.where((k == 0) & (N >= 0), mnp.ones_like(N + k), comb(N + k - 1, k))
    defined = (k <= N) & (N >= 0) & (k >= 0)
    safe_n, safe_k = mnp.where(defined, N, 0.0), mnp.where(defined, k, 0.0)
    result = mnp.exp(lax.lgamma(safe_n + 1) - lax.lgamma(safe_k + 1) - lax.lgamma(safe_n + 1 - safe_k))
    return mnp.where(defined, result, mnp.zeros_like(result))


@_custom_jvp
def _poch(z, m):
    return mnp.where(m == 0, mnp.ones_like(z + m), gamma(z + m) / gamma(z))


_defjvps(_poch, lambda z_dot, ans, z, m: (lax.digamma(z + m) - lax.digamma(z)) * ans * z_dot,
         lambda m_dot, ans, z, m: lax.digamma(z + m) * ans * m_dot)


def poch(z, m):
    """The Pochhammer symbol (rising factorial) gamma(z + m) / gamma(z), 1 where m is 0."""
    z, m = _promote("poch", z, m)
    if _is_complex(z):
        raise ValueError("jnp.poch does not support complex-valued inputs.")
    return _poch(z, m)


# -- modified Bessel functions -----------------------------------------------------------------

def _bessel_ie_value(x, order):
    """exp(-|x|) I_order(x) for order 0 or 1: the power series up to |x| = `switch`, the
    asymptotic series (Abramowitz & Stegun 9.7.1) beyond; each within a few ulps."""
    terms, asymptotic_terms, switch = (50, 30, 20.0) if x.dtype == np.float64 else (20, 10, 10.0)
    magnitude = mnp.abs(x)
    near = mnp.minimum(magnitude, switch)
    quarter_square = near * near / 4
    series = mnp.ones_like(x)
    for k in range(terms, 0, -1):  # sum_k (x^2 / 4)^k / (k! (k + order)!), nested
        series = 1 + series * quarter_square / (k * (k + order))
    series = series * mnp.exp(-near) * (near / 2 if order else 1)
    far = mnp.maximum(magnitude, switch)
    asymptotic = mnp.ones_like(x)
    for k in range(asymptotic_terms, 0, -1):  # sum_k prod_j ((2j - 1)^2 - 4 order^2) / (j 8 x), nested
        asymptotic = 1 - asymptotic * ((4 * order * order - (2 * k - 1) ** 2) / k) / (8 * far)
    asymptotic = asymptotic * lax.rsqrt(far * (2 * np.pi))
    value = mnp.where(magnitude > switch, asymptotic, series)
    return mnp.copysign(value, x) if order else value  # (I1 is odd: -0 at -0, as JAX)


@_custom_jvp
def _i0e(x):
    return _in_float32(functools.partial(_bessel_ie_value, order=0), x)


@_custom_jvp
def _i1e(x):
    return _in_float32(functools.partial(_bessel_ie_value, order=1), x)


def _i1e_derivative(x, y):
    # I0e(x) - y (sign(x) + 1 / x), and its limit 1/2 where x is within eps of 0 (JAX's rule).
    eps = mnp.finfo(x.dtype).eps
    not_tiny = mnp.abs(x) > eps
    safe = mnp.where(not_tiny, x, mnp.full_like(x, eps))
    return mnp.where(not_tiny, _i0e(safe) - y * (mnp.sign(safe) + 1 / safe), mnp.full_like(x, 0.5))


_defjvps(_i0e, lambda t, ans, x: t * (_i1e(x) - mnp.sign(x) * ans))
_defjvps(_i1e, lambda t, ans, x: t * _i1e_derivative(x, ans))


@_compiled()
def i0e(x):
    """The exponentially scaled modified Bessel function of order 0, exp(-|x|) I0(x)."""
    (x,) = _promote("i0e", x)
    return _i0e(x)


@_compiled()
def i0(x):
    """The modified Bessel function of order 0, exp(|x|) * i0e(x) (inf * 0 = NaN at +-inf, as JAX)."""
    (x,) = _promote("i0", x)
    return mnp.exp(mnp.abs(x)) * _i0e(x)


@_compiled()
def i1e(x):
    """The exponentially scaled modified Bessel function of order 1, exp(-|x|) I1(x)."""
    (x,) = _promote("i1e", x)
    return _i1e(x)


@_compiled()
def i1(x):
    """The modified Bessel function of order 1, exp(|x|) * i1e(x)."""
    (x,) = _promote("i1", x)
    return mnp.exp(mnp.abs(x)) * _i1e(x)


# -- the incomplete gamma and beta functions ---------------------------------------------------
# Each is a loop to convergence (a series or a continued fraction), which reverse mode cannot
# differentiate (its trip count is unbounded): their derivatives come from rules. In x they have
# closed forms; in the shape parameters they are the loop differentiated in forward mode, in a
# custom_jvp function of its own whose rule gives its derivative in x in closed form and in the
# parameters by forward mode again. (JAX differentiates gammainc in a only once and betainc in a
# and b not at all.)

def _until_converged(step, state, active, max_steps):
    """Repeat state = step(state) on the elements still active (step gives the new state and
    which elements need another step) until none is, or for max_steps steps."""
    def body(carry):
        count, active, state = carry
        new_state, again = step(state)
        kept = tuple(mnp.where(active, new, old) for new, old in zip(new_state, state))
        return count + 1, active & again, kept

    def cond(carry):
        count, active, _ = carry
        return (count < max_steps) & mnp.any(active)
    return lax.while_loop(cond, body, (mnp.zeros((), mnp.int32), active, state))[2]


def _gamma_series_step(a, x, state):
    """A step of the sum over n >= 0 of x^n / ((a + 1) ... (a + n)), which is
    gammainc(a, x) gamma(a + 1) e^x / x^a; state is (n, the n-th term, the sum so far)."""
    n, term, total = state
    term = term * x / (a + n + 1)
    total = total + term
    return (n + 1, term, total), term > mnp.finfo(x.dtype).eps * total


def _gamma_fraction_step(a, x, state):
    """A step of Legendre's continued fraction 1 / (x + 1 - a + 1 (a - 1) / (x + 3 - a + 2 (a - 2) / ...)),
    which is gammaincc(a, x) gamma(a) e^x / x^a, by its convergents p / q (both rescaled when p
    grows large); state is (k, the convergents k - 1 and k as p and q, p / q)."""
    eps = mnp.finfo(x.dtype).eps
    k, p_before, q_before, p, q, value = state
    k = k + 1
    partial_denominator, partial_numerator = x + 2 * k + 1 - a, k * (a - k)
    p_next = partial_denominator * p + partial_numerator * p_before
    q_next = partial_denominator * q + partial_numerator * q_before
    defined = q_next != 0
    next_value = mnp.where(defined, p_next / mnp.where(defined, q_next, 1), value)
    again = ~defined | (mnp.abs(next_value - value) > eps * mnp.abs(next_value))
    rescale = mnp.where(mnp.abs(p_next) > 1 / eps, eps, 1).astype(x.dtype)
    return (k, p * rescale, q * rescale, p_next * rescale, q_next * rescale, next_value), again


def _gamma_series_and_fraction(a, x, active, use_fraction):
    """(the series, the continued fraction), the fraction to convergence where use_fraction (it
    converges fast for x >= 1 and x > a) and the series elsewhere, in one loop."""
    def step(state):
        series, series_again = _gamma_series_step(a, x, state[:3])
        fraction, fraction_again = _gamma_fraction_step(a, x, state[3:])
        return series + fraction, mnp.where(use_fraction, fraction_again, series_again)
    zero, one = mnp.zeros_like(x), mnp.ones_like(x)
    first_denominator = x + 1 - a
    start = (zero, one, one) + (zero, zero, one, one, first_denominator, 1 / first_denominator)
    state = _until_converged(step, start, active, 2000)
    return state[2], state[8]


def _regularized_gamma(a, x, upper):
    """gammaincc(a, x) if upper else gammainc(a, x), from the series below x = max(1, a) and the
    continued fraction above; NaN, 0 and 1 where JAX gives them."""
    invalid = (x < 0) | (a < 0) | ((a == 0) & (x == 0)) | mnp.isnan(a) | mnp.isnan(x)
    use_fraction = (x >= 1) & (x > a)
    if not upper:
        invalid = invalid | ((a == 0) & ~use_fraction)  # (0 / 0 in JAX's series)
    log_prefactor = a * mnp.log(x) - x - lax.lgamma(a)
    underflow = log_prefactor < -np.log(mnp.finfo(x.dtype).max)
    active = ~(invalid | underflow | (x == 0) | (x == np.inf) | ((a == 0) & upper))
    safe_a, safe_x = mnp.where(active, a, 1), mnp.where(active, x, 1)
    series, fraction = _gamma_series_and_fraction(safe_a, safe_x, active, use_fraction)
    # (x^a e^-x / gamma(a + 1) times the series: so its derivative in a has no cancellation near a = 0.)
    lower_part = mnp.exp(a * mnp.log(x) - x - lax.lgamma(a + 1)) * series
    upper_part = mnp.exp(log_prefactor) * fraction
    if upper:
        out = mnp.where(use_fraction, upper_part, 1 - lower_part)
        out = mnp.where((x == np.inf) | (a == 0), mnp.zeros_like(out), out)
    else:
        out = mnp.where(use_fraction, 1 - upper_part, lower_part)
        out = mnp.where(x == 0, mnp.zeros_like(out), mnp.where(x == np.inf, mnp.ones_like(out), out))
    return mnp.where(invalid, mnp.full_like(out, np.nan), out)


def _gamma_density(a, x):
    """d gammainc(a, x) / dx = x^(a - 1) e^-x / gamma(a), in JAX's form (NaN at 0 when a = 1)."""
    return mnp.exp(-x + (a - 1) * mnp.log(x) - lax.lgamma(a))


def _in_a(fn, a, *others):
    """The derivative of the elementwise fn(a, *others) in a, by forward mode."""
    return _jvp(lambda a: fn(a, *others), (a,), (mnp.ones_like(a),))[1]


@_custom_jvp
def _gammainc_grad_a(a, x):
    # lax.igamma_grad_a (JAX's value): forward mode through the series and fraction loops was
    # 0.18 % off at a = 2, x = 2.5, past where the fraction takes over.
    grad = lax.igamma_grad_a(a, x)
    return mnp.where((x < 0) | (a <= 0) | mnp.isnan(a) | mnp.isnan(x), mnp.full_like(grad, np.nan), grad)


def _gammainc_grad_a_by_loops(a, x):
    return _in_a(_regularized_gamma, a, x, False)


@_gammainc_grad_a.defjvp
def _gammainc_grad_a_jvp(primals, tangents):
    (a, x), (a_dot, x_dot) = primals, tangents
    in_x = _gamma_density(a, x) * (mnp.log(x) - lax.digamma(a))
    return _gammainc_grad_a(a, x), a_dot * _in_a(_gammainc_grad_a_by_loops, a, x) + x_dot * in_x


@_custom_jvp
def _gammainc(a, x):
    return _regularized_gamma(a, x, False)


@_custom_jvp
def _gammaincc(a, x):
    return _regularized_gamma(a, x, True)


_defjvps(_gammainc, lambda t, ans, a, x: t * _gammainc_grad_a(a, x), lambda t, ans, a, x: t * _gamma_density(a, x))
_defjvps(_gammaincc, lambda t, ans, a, x: -t * _gammainc_grad_a(a, x),
         lambda t, ans, a, x: -t * _gamma_density(a, x))


@_compiled()
def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x); NaN for a < 0 or x < 0."""
    a, x = _promote("gammainc", a, x)
    return _in_float32(_gammainc, a, x)


@_compiled()
def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x); NaN for a < 0 or x < 0."""
    a, x = _promote("gammaincc", a, x)
    return _in_float32(_gammaincc, a, x)


def _beta_continued_fraction(a, b, x, active):
    """The continued fraction 1 + d1 / (1 + d2 / (1 + ...)) = x^a (1 - x)^b / (a B(a, b) betainc(a, b, x)),
    d_2m+1 = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)), d_2m = m (b - m) x / ((a + 2m - 1)(a + 2m)),
    by the modified Lentz method; it converges fast for x < (a + 1) / (a + b + 2)."""
    eps = mnp.finfo(x.dtype).eps
    tiny = eps / 2  # (what the Lentz method puts for a vanishing denominator, and its tolerance)

    def guarded(v):
        return mnp.where(mnp.abs(v) < tiny, tiny, v).astype(x.dtype)

    def step(state):
        n, numerator_ratio, denominator_ratio, value = state
        m = mnp.floor(n / 2)
        odd = mnp.where(m == 0, -(a + b) * x / (a + 1),  # (a / a cancelled: a may be tiny)
                        -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)))
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = mnp.where(n % 2 == 1, odd, even)
        numerator_ratio = guarded(1 + d / numerator_ratio)
        denominator_ratio = 1 / guarded(1 + d * denominator_ratio)
        change = numerator_ratio * denominator_ratio
        return (n + 1, numerator_ratio, denominator_ratio, value * change), mnp.abs(change - 1) >= tiny
    one = mnp.ones_like(x)
    max_steps = 600 if x.dtype == np.float64 else 200
    return _until_converged(step, (one, one, mnp.zeros_like(x), one), active, max_steps)[3]


def _regularized_beta(a, b, x):
    """betainc(a, b, x) from the continued fraction, of 1 - betainc(b, a, 1 - x) above
    x = (a + 1) / (a + b + 2); NaN, 0 and 1 where JAX gives them."""
    a_vanishes, b_vanishes = (a == 0) | (b == np.inf), (b == 0) | (a == np.inf)
    invalid = ((a < 0) | (b < 0) | (x < 0) | (x > 1) | (a_vanishes & b_vanishes) | mnp.isnan(a) | mnp.isnan(b)
               | mnp.isnan(x))
    flip = x >= (a + 1) / (a + b + 2)
    p, q, y = mnp.where(flip, b, a), mnp.where(flip, a, b), mnp.where(flip, 1 - x, x)
    active = ~(invalid | a_vanishes | b_vanishes)
    fraction = _beta_continued_fraction(*(mnp.where(active, v, 0.5) for v in (p, q, y)), active)
    # y^p (1 - y)^q / (p B(p, q)), with p gamma(p) = gamma(p + 1) ~ 1 where p is below 2 * tiny.
    log_beta_but_gamma_p = lax.lgamma(q) - lax.lgamma(p + q)
    power_of_1my = mnp.log1p(-y) * q
    prefactor = mnp.where(p < 2 * mnp.finfo(x.dtype).tiny, mnp.exp(power_of_1my - log_beta_but_gamma_p),
                          mnp.exp(mnp.log(y) * p + power_of_1my - lax.lgamma(p) - log_beta_but_gamma_p) / p)
    out = prefactor / fraction
    out = mnp.where(flip, 1 - out, out)
    out = mnp.where((b_vanishes & (x != 1)) | (a_vanishes & (x == 0)), mnp.zeros_like(out), out)
    out = mnp.where((a_vanishes & (x != 0)) | (b_vanishes & (x == 1)), mnp.ones_like(out), out)
    return mnp.where(invalid, mnp.full_like(out, np.nan), out)


def _beta_density(a, b, x):
    """d betainc(a, b, x) / dx = x^(a - 1) (1 - x)^(b - 1) / B(a, b), in JAX's form."""
    log_beta = lax.lgamma(a) + lax.lgamma(b) - lax.lgamma(a + b)
    return mnp.exp((b - 1) * mnp.log1p(-x) + (a - 1) * mnp.log(x) - log_beta)


def _in_a_and_b(fn, a, b, x):
    """The derivatives of the elementwise fn(a, b, x) (a tuple of arrays) in a and in b (two such
    tuples), by one forward-mode pass over two copies of the arguments."""
    a, b, x = mnp.broadcast_arrays(a, b, x)
    twice = [mnp.stack([v, v]) for v in (a, b, x)]
    ones, zeros = mnp.ones_like(a), mnp.zeros_like(a)
    directions = (mnp.stack([ones, zeros]), mnp.stack([zeros, ones]), mnp.stack([zeros, zeros]))
    both = _jvp(fn, tuple(twice), directions)[1]
    return tuple(d[0] for d in both), tuple(d[1] for d in both)


@_custom_jvp
def _betainc_grad_ab(a, b, x):
    invalid = (a < 0) | (b < 0) | (x < 0) | (x > 1) | mnp.isnan(a) | mnp.isnan(b) | mnp.isnan(x)
    (in_a,), (in_b,) = _in_a_and_b(lambda *args: (_regularized_beta(*args),), a, b, x)
    return mnp.where(invalid, np.nan, in_a), mnp.where(invalid, np.nan, in_b)


@_betainc_grad_ab.defjvp
def _betainc_grad_ab_jvp(primals, tangents):
    (a, b, x), (a_dot, b_dot, x_dot) = primals, tangents
    (aa, ba), (ab, bb) = _in_a_and_b(_betainc_grad_ab.fun, a, b, x)  # (ba: d grad_b / da ...)
    density_dot = x_dot * _beta_density(a, b, x)
    both = lax.digamma(a + b)
    return _betainc_grad_ab(a, b, x), (a_dot * aa + b_dot * ab + density_dot * (mnp.log(x) - lax.digamma(a) + both),
                                       a_dot * ba + b_dot * bb + density_dot * (mnp.log1p(-x) - lax.digamma(b) + both))


@_custom_jvp
def _betainc(a, b, x):
    return _regularized_beta(a, b, x)


@_betainc.defjvp
def _betainc_jvp(primals, tangents):
    (a, b, x), (a_dot, b_dot, x_dot) = primals, tangents
    grad_a, grad_b = _betainc_grad_ab(a, b, x)
    return _betainc(a, b, x), a_dot * grad_a + b_dot * grad_b + x_dot * _beta_density(a, b, x)


@_compiled()
def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b); NaN for a < 0, b < 0 or x outside
    [0, 1]. Unlike JAX, differentiable in a and b as well as x."""
    a, b, x = _real_only("betainc", a, b, x)
    return _in_float32(_betainc, a, b, x)


# -- the Hurwitz zeta function and the Bernoulli numbers -------------------------------------

@functools.cache
def _bernoulli_numbers(count):
    """B_0 .. B_(count - 1) as exact fractions (B_1 = -1/2), from sum_k C(m + 1, k) B_k = 0."""
    numbers = [Fraction(1)]
    for m in range(1, count):
        numbers.append(-sum(math.comb(m + 1, k) * numbers[k] for k in range(m)) / (m + 1))
    return tuple(numbers[:count])


def _zeta_euler_maclaurin(x, q):
    """zeta(x, q) as the first `terms` terms, the integral of the rest, and `terms` Bernoulli
    corrections at a = q + terms (Euler-Maclaurin summation): JAX's derivative of zeta is this
    sum's, with 8 terms in float32 and 16 otherwise."""
    terms = 8 if x.dtype == np.float32 else 16
    a = q + terms
    value = functools.reduce(operator.add, [(q + k) ** -x for k in range(terms)])
    value = value + a ** (1 - x) / (x - 1)
    bernoulli = _bernoulli_numbers(2 * terms + 1)
    rising = x / a  # x (x + 1) ... (x + 2j - 2) / a^(2j - 1) for j = 1, 2, ...
    correction = mnp.full_like(x, 0.5)
    largest = mnp.finfo(x.dtype).max  # (JAX clips the rising factorials there)
    for j in range(1, terms + 1):
        correction = correction + mnp.minimum(rising, largest) * float(bernoulli[2 * j] / math.factorial(2 * j))
        rising = rising * (x + 2 * j - 1) * (x + 2 * j) / (a * a)
    return value + a ** -x * correction


@_custom_jvp
def _zeta(x, q):
    return lax.zeta(x, q)


@_zeta.defjvp
def _zeta_jvp(primals, tangents):
    return _jvp(_zeta_euler_maclaurin, primals, tangents)


def zeta(x, q=None):
    """The Hurwitz zeta function, the sum over n >= 0 of (n + q) ** -x. As in JAX, q is required
    (the Riemann zeta function, q=None, raises NotImplementedError), and the derivative in both
    arguments is that of an Euler-Maclaurin sum."""
    if q is None:
        raise NotImplementedError("zeta with q=None (the Riemann zeta function) is not implemented; pass q for "
                                  "the Hurwitz zeta function")
    return _zeta(*_promote("zeta", x, q))


def bernoulli(n: int):
    """The Bernoulli numbers B_0 .. B_n (B_1 = -1/2) in the default float dtype: mlax rounds the
    exact fractions, where JAX sums a truncated series (B_4 is 2.5e-6 off, B_64 inf in float32)."""
    n = operator.index(n)
    if n < 0:
        raise ValueError("n must be a non-negative integer.")
    dtype = mnp.asarray(0.0).dtype
    with np.errstate(over="ignore"):
        values = [float(b) if abs(b) < 2 ** 1000 else np.sign(b) * np.inf for b in _bernoulli_numbers(n + 1)]
        return mnp.asarray(np.array(values, dtype))


# -- exponential integrals --------------------------------------------------------------------

def _expn_series_step(n, x, state):
    """A step of the sum over k >= 0, k != n - 1, of (-x)^k / ((k - n + 1) k!), which with
    (-x)^(n-1) (psi(n) - log x) / (n - 1)! gives E_n(x) for integer n; state is (k, (-x)^k / k!,
    the sum so far)."""
    k, power, total = state
    k = k + 1
    power = power * -x / k
    denominator = k - n + 1
    total = total + mnp.where(denominator != 0, power, 0) / mnp.where(denominator != 0, denominator, 1)
    return (k, power, total), mnp.abs(power) > mnp.finfo(x.dtype).eps * mnp.abs(total)


def _expn_converged(n, x, use_fraction):
    """E_n(x) for x > 0: e^-x times Legendre's continued fraction for x^(n-1) e^x Gamma(1 - n, x)
    where use_fraction (it converges fast for x > 1), the power series elsewhere, in one loop."""
    def step(state):
        series, series_again = _expn_series_step(n, x, state[:3])
        fraction, fraction_again = _gamma_fraction_step(1 - n, x, state[3:])
        return series + fraction, mnp.where(use_fraction, fraction_again, series_again)
    zero, one = mnp.zeros_like(x), mnp.ones_like(x)
    first_denominator = x + n
    start = ((zero, one, mnp.where(n == 1, zero, 1 / mnp.where(n == 1, 2, 1 - n)))
             + (zero, zero, one, one, first_denominator, 1 / first_denominator))
    state = _until_converged(step, start, mnp.ones_like(x, dtype=bool), 2000)
    series = mnp.power(-x, n - 1) * (lax.digamma(n) - mnp.log(x)) / mnp.exp(lax.lgamma(n)) - state[2]
    return mnp.where(use_fraction, mnp.exp(-x) * state[8], series)


def _expn_value(n, x):
    # JAX's cases, each overriding those before it: NaN for n < 0 or x < 0; at x = 0, inf for
    # n < 2 and 1 / n (sic) above; e^-x / x for n = 0; an asymptotic expansion in 1 / (x + n) for
    # n >= 5000; the continued fraction (for any n) where x > 1; the series elsewhere.
    use_fraction = x > 1
    finite_fraction = use_fraction & (x < np.inf) & mnp.isfinite(n)
    # (Above 1e4, where e^-x is 0 in float64 too, the fraction at 1e4 keeps its convergents finite;
    # above n = 1e15, where E_n(x) is e^-x / (x + n) to float64 precision, so does the fraction at
    # 1e15 scaled by (x + 1e15) / (x + n).)
    safe_x = mnp.where(finite_fraction, mnp.minimum(x, 1e4), mnp.where((x > 0) & (x <= 1), x, 0.5))
    safe_n = mnp.where(finite_fraction, mnp.minimum(n, 1e15), mnp.where((n > 0) & (n < 5000), n, 1))
    huge_n = finite_fraction & (n > 1e15)
    value = _expn_converged(safe_n, safe_x, finite_fraction) * mnp.where(huge_n, (safe_x + safe_n) / (safe_x + n), 1)
    s = x + n
    w = 1 / (s * s)
    large_n = (1 + w * (n + w * (n * (n - 2 * x) + w * n * (6 * x * x - 8 * n * x + n * n)))) * mnp.exp(-x) / s
    out = mnp.where((n < 0) | (x < 0), np.nan, value)
    out = mnp.where(x == 0, mnp.where(n < 2, np.inf, 1 / n), out)
    out = mnp.where((n == 0) & (x >= 0), mnp.exp(-x) / x, out)
    out = mnp.where(n >= 5000, large_n, out)
    out = mnp.where(finite_fraction, value, out)
    out = mnp.where(use_fraction & mnp.isinf(n), mnp.exp(-x) / (x + n), out)  # (the fraction's first convergent)
    return mnp.where(mnp.isnan(n) | mnp.isnan(x) | (x == np.inf), np.nan, out)


@_custom_jvp
def _expn(n, x):
    return _in_float32(_expn_value, n, x)


_defjvps(_expn, None, lambda t, ans, n, x: -t * _expn(n - 1, x))


@_compiled()
def expn(n, x):
    """The generalized exponential integral E_n(x), the integral over t >= 1 of e^(-x t) / t^n,
    with JAX's values at the edges (1 / n at x = 0 for n >= 2, NaN for x < 0 or n < 0 unless
    x > 1 or n >= 5000); differentiable in x only (JAX's derivative in n is 0)."""
    n, x = _real_only("expn", n, x)
    return _expn(n, x)


def exp1(x):
    """The exponential integral E_1(x), expn(1, x); NaN for x < 0, as JAX."""
    (x,) = _real_only("exp1", x)
    return expn(mnp.ones_like(x), x)


def _expi_positive_step(x, use_asymptotic, state):
    """A step of the sum over k >= 1 of x^k / (k k!) (Ei(x) - gamma - log x) and, where
    use_asymptotic, of the asymptotic sum over k >= 0 of k! / x^k (Ei(x) x e^-x), stopped at
    its smallest term; state is (k, the k-th term of each sum, the sums so far)."""
    k, power, series, ratio, asymptotic = state
    k = k + 1
    power = power * x / k
    series = series + power / k
    next_ratio = ratio * k / x
    decreasing = next_ratio < ratio
    asymptotic = asymptotic + mnp.where(decreasing, next_ratio, 0)
    eps = mnp.finfo(x.dtype).eps
    again = mnp.where(use_asymptotic, decreasing & (next_ratio > eps * asymptotic), power > eps * series * k)
    return (k, power, series, next_ratio, asymptotic), again


def _expi_value(x):
    # Ei(x) = -E_1(-x) below 0; above, the power series up to 20 (40 in float64), beyond which
    # the asymptotic series reaches the dtype's precision before its terms grow again.
    use_asymptotic = x > (40 if x.dtype == np.float64 else 20)
    positive_x = mnp.where((x > 0) & (x < np.inf), x, 1)
    zero, one = mnp.zeros_like(x), mnp.ones_like(x)
    state = _until_converged(functools.partial(_expi_positive_step, positive_x, use_asymptotic),
                             (zero, one, zero, one, one), mnp.ones_like(x, dtype=bool), 2000)
    series = np.euler_gamma + mnp.log(positive_x) + state[2]
    asymptotic = mnp.exp(positive_x) / positive_x * state[4]
    positive = mnp.where(use_asymptotic, asymptotic, series)
    negative = -_expn_value(one, mnp.where(x < 0, -x, 1))
    out = mnp.where(x < 0, negative, positive)
    return mnp.where((x == 0) | (x == np.inf) | mnp.isnan(x), np.nan, out)  # (JAX's NaN at 0 and inf)


@_custom_jvp
def _expi(x):
    return _in_float32(_expi_value, x)


_defjvps(_expi, lambda t, ans, x: t * mnp.exp(x) / x)


@_compiled()
def expi(x):
    """The exponential integral Ei(x), the principal value of the integral of e^t / t up to x;
    NaN at 0 and at +-inf, as JAX (SciPy gives -inf, inf and 0)."""
    (x,) = _real_only("expi", x)
    return _expi(x)


# -- Dawson's integral and Spence's function --------------------------------------------------

# Cody, Paciorek and Thacher's rational approximations of Dawson's integral (Math. Comp. 24,
# 1970), as JAX's: x P(x^2) / Q(x^2) below 3.25; above, (1 + t P(t) / Q(t)) / (2x) with
# t = 1 / x^2, one pair below 6.25 and another beyond.
_DAWSN_NEAR = ([1.13681498971755972054e-11, 8.49262267667473811108e-10, 1.94434204175553054283e-8,
                9.53151741254484363489e-7, 3.07828309874913200438e-6, 3.52513368520288738649e-4,
                -8.50149846724410912031e-4, 4.22618223005546594270e-2, -9.17480371773452345351e-2,
                9.99999999999999994612e-1],
               [2.40372073066762605484e-11, 1.48864681368493396752e-9, 5.21265281010541664570e-8,
                1.27258478273186970203e-6, 2.32490249820789513991e-5, 3.25524741826057911661e-4,
                3.48805814657162590916e-3, 2.79448531198828973716e-2, 1.58874241960120565368e-1,
                5.74918629489320327824e-1, 1.00000000000000000539e0])
_DAWSN_MIDDLE = ([5.08955156417900903354e-1, -2.44754418142697847934e-1, 9.41512335303534411857e-2,
                  -2.18711255142039025206e-2, 3.66207612329569181322e-3, -4.23209114460388756528e-4,
                  3.59641304793896631888e-5, -2.14640351719968974225e-6, 9.10010780076391431042e-8,
                  -2.40274520828250956942e-9, 3.59233385440928410398e-11],
                 [1.00000000000000000000e0, -6.31839869873368190192e-1, 2.36706788228248691528e-1,
                  -5.31806367003223277662e-2, 8.48041718586295374409e-3, -9.47996768486665330168e-4,
                  7.81025592944552338085e-5, -4.55875153252442634831e-6, 1.89100358111421846170e-7,
                  -4.91324691331920606875e-9, 7.18466403235734541950e-11])
_DAWSN_FAR = ([-5.90592860534773254987e-1, 6.29235242724368800674e-1, -1.72858975380388136411e-1,
               1.64837047825189632310e-2, -4.86827613020462700845e-4],
              [1.00000000000000000000e0, -2.69820057197544900361e0, 1.73270799045947845857e0,
               -3.93708582281939493482e-1, 3.44278924041233391079e-2, -9.73655226040941223894e-4])


def _dawsn_value(x):
    magnitude = mnp.abs(x)
    near_x = mnp.where(magnitude < 3.25, magnitude, 1)
    near = near_x * _polyval(_DAWSN_NEAR[0], near_x * near_x) / _polyval(_DAWSN_NEAR[1], near_x * near_x)
    far_x = mnp.where(magnitude >= 3.25, magnitude, 4)
    t = 1 / (far_x * far_x)
    middle = (1 + t * _polyval(_DAWSN_MIDDLE[0], t) / _polyval(_DAWSN_MIDDLE[1], t)) / (2 * far_x)
    far = (1 + t * _polyval(_DAWSN_FAR[0], t) / _polyval(_DAWSN_FAR[1], t)) / (2 * far_x)
    return mnp.sign(x) * mnp.where(magnitude < 3.25, near, mnp.where(magnitude < 6.25, middle, far))


@_custom_jvp
def _dawsn(x):
    return _in_float32(_dawsn_value, x)


_defjvps(_dawsn, lambda t, ans, x: t * (1 - 2 * x * ans))


@_compiled()
def dawsn(x):
    """Dawson's integral e^(-x^2) times the integral of e^(t^2) from 0 to x."""
    (x,) = _real_only("dawsn", x)
    return _dawsn(x)


# Cephes's rational approximation (spence.c, as JAX's): -w P(w) / Q(w) is spence(1 + w) for
# w in [-1/2, 1/2] (after the reflections that bring x there).
_SPENCE_P = [4.65128586073990045278e-5, 7.31589045238094711071e-3, 1.33847639578309018650e-1,
             8.79691311754530315341e-1, 2.71149851196553469920e0, 4.25697156008121755724e0,
             3.29771340985225106936e0, 1.00000000000000000126e0]
_SPENCE_Q = [6.90990488912553276999e-4, 2.54043763932544379113e-2, 2.82974860602568089943e-1,
             1.41172597751831069617e0, 3.63800533345137075418e0, 5.03278880143316990390e0,
             3.54771340985225096217e0, 9.99999999999999998740e-1]


@_compiled()
def spence(x):
    """Spence's function, the integral of log(t) / (1 - t) from 1 to x, for x >= 0 (NaN below,
    as JAX, where SciPy continues it); float32 and float64 only."""
    x = mnp.asarray(x)
    _require_float32_or_64(x)
    # (Like JAX's, its derivative is that of the formulas: NaN on (1, 2], where log(1 - x) is. The
    # constant cases take a safe x, so that the formulas' derivatives there are not NaN either.)
    constant = (x < 0) | (x == 0) | (x == 1)
    safe = mnp.where(constant, 0.5, x)
    inverted = safe > 2
    y = mnp.where(inverted, 1 / safe, safe)
    above, below = y > 1.5, y < 0.5
    w = mnp.where(above, 1 / y - 1, mnp.where(below, -y, y - 1))
    value = -w * _polyval(_SPENCE_P, w) / _polyval(_SPENCE_Q, w)
    value = mnp.where(below, np.pi ** 2 / 6 - mnp.log(y) * mnp.log(1 - y) - value, value)
    value = mnp.where(inverted | above, -0.5 * mnp.log(y) ** 2 - value, value)
    return mnp.where(x < 0, np.nan, mnp.where(x == 1, 0, mnp.where(x == 0, np.pi ** 2 / 6, value)))


# -- the sine and cosine integrals ------------------------------------------------------------
# Cephes's approximations (sici.c, as JAX's): up to 4, Si(x) = x P(x^2) / Q(x^2) and
# Ci(x) = gamma + log x + x^2 P(x^2) / Q(x^2); above, with the auxiliary functions
# f(x) = P(z) / (x Q(z)) and g(x) = z P(z) / Q(z) of z = 1 / x^2 (one pair of rational functions
# below 8, another above), Si(x) = pi / 2 - f cos x - g sin x and Ci(x) = f sin x - g cos x;
# beyond 1e9, f = 1 / x and g = 0.
_SI_NEAR = ([-8.39167827910303881427e-11, 4.62591714427012837309e-8, -9.75759303843632795789e-6,
             9.76945438170435310816e-4, -4.13470316229406538752e-2, 1.00000000000000000302e0],
            [2.03269266195951942049e-12, 1.27997891179943299903e-9, 4.41827842801218905784e-7,
             9.96412122043875552487e-5, 1.42085239326149893930e-2, 9.99999999999999996984e-1])
_CI_NEAR = ([2.02524002389102268789e-11, -1.35249504915790756375e-8, 3.59325051419993077021e-6,
             -4.74007206873407909465e-4, 2.89159652607555242092e-2, -1.00000000000000000080e0],
            [4.07746040061880559506e-12, 3.06780997581887812692e-9, 1.23210355685883423679e-6,
             3.17442024775032769882e-4, 5.10028056236446052392e-2, 4.00000000000000000080e0])
_SICI_F_BELOW_8 = ([4.23612862892216586994e0, 5.45937717161812843388e0, 1.62083287701538329132e0,
                    1.67006611831323023771e-1, 6.81020132472518137426e-3, 1.08936580650328664411e-4,
                    5.48900223421373614008e-7],
                   [1.0, 8.16496634205391016773e0, 7.30828822505564552187e0, 1.86792257950184183883e0,
                    1.78792052963149907262e-1, 7.01710668322789753610e-3, 1.10034357153915731354e-4,
                    5.48900252756255700982e-7])
_SICI_G_BELOW_8 = ([8.71001698973114191777e-2, 6.11379109952219284151e-1, 3.97180296392337498885e-1,
                    7.48527737628469092119e-2, 5.38868681462177273157e-3, 1.61999794598934024525e-4,
                    1.97963874140963632189e-6, 7.82579040744090311069e-9],
                   [1.0, 1.64402202413355338886e0, 6.66296701268987968381e-1, 9.88771761277688796203e-2,
                    6.22396345441768420760e-3, 1.73221081474177119497e-4, 2.02659182086343991969e-6,
                    7.82579218933534490868e-9])
_SICI_F_ABOVE_8 = ([4.55880873470465315206e-1, 7.13715274100146711374e-1, 1.60300158222319456320e-1,
                    1.16064229408124407915e-2, 3.49556442447859055605e-4, 4.86215430826454749482e-6,
                    3.20092790091004902806e-8, 9.41779576128512936592e-11, 9.70507110881952024631e-14],
                   [1.0, 9.17463611873684053703e-1, 1.78685545332074536321e-1, 1.22253594771971293032e-2,
                    3.58696481881851580297e-4, 4.92435064317881464393e-6, 3.21956939101046018377e-8,
                    9.43720590350276732376e-11, 9.70507110881952025725e-14])
_SICI_G_ABOVE_8 = ([6.97359953443276214934e-1, 3.30410979305632063225e-1, 3.84878767649974295920e-2,
                    1.71718239052347903558e-3, 3.48941165502279436777e-5, 3.47131167084116673800e-7,
                    1.70404452782044526189e-9, 3.85945925430276600453e-12, 3.14040098946363334640e-15],
                   [1.0, 1.68548898811011640017e0, 4.87852258695304967486e-1, 4.67913194259625806320e-2,
                    1.90284426674399523638e-3, 3.68475504442561108162e-5, 3.57043223443740838771e-7,
                    1.72693748966316146736e-9, 3.87830166023954706752e-12, 3.14040098946363335242e-15])


def _rational(coefficients, x):
    numerator, denominator = coefficients
    return _polyval(numerator, x) / _polyval(denominator, x)


def _sici_value(x):
    magnitude = mnp.abs(x)
    near_x = mnp.where(magnitude <= 4, magnitude, 1)
    square = near_x * near_x
    si_near = mnp.where(magnitude == 0, 0, near_x * _rational(_SI_NEAR, square))
    ci_near = mnp.where(magnitude == 0, -np.inf, np.euler_gamma + mnp.log(near_x) + square * _rational(_CI_NEAR, square))
    far_x = mnp.where(magnitude > 4, magnitude, 5)
    z = 1 / (far_x * far_x)
    below_8 = far_x < 8
    f = mnp.where(below_8, _rational(_SICI_F_BELOW_8, z), _rational(_SICI_F_ABOVE_8, z)) / far_x
    g = z * mnp.where(below_8, _rational(_SICI_G_BELOW_8, z), _rational(_SICI_G_ABOVE_8, z))
    huge = magnitude > 1e9
    f = mnp.where(huge, 1 / magnitude, f)
    g = mnp.where(huge, 0, g)
    sine, cosine = mnp.sin(magnitude), mnp.cos(magnitude)
    si_far = mnp.where(magnitude == np.inf, np.pi / 2, np.pi / 2 - f * cosine - g * sine)
    ci_far = mnp.where(magnitude == np.inf, 0, f * sine - g * cosine)
    near = magnitude <= 4
    si = mnp.sign(x) * mnp.where(near, si_near, si_far)
    ci = mnp.where((x == -np.inf) | mnp.isnan(x), np.nan, mnp.where(near, ci_near, ci_far))
    return si, ci


@_custom_jvp
def _sici(x):
    if x.dtype in _SMALL_FLOATS:
        return tuple(v.astype(x.dtype) for v in _sici_value(x.astype(mnp.float32)))
    return _sici_value(x)


@_sici.defjvp
def _sici_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _sici(x), (mnp.sinc(x / np.pi) * t, mnp.cos(x) / x * t)


@_compiled()
def sici(x):
    """The sine and cosine integrals (Si(x), Ci(x)): Si is the integral of sin(t) / t from 0 to x,
    Ci(x) = gamma + log x + the integral of (cos t - 1) / t. As JAX, Ci(-x) = Ci(x) (SciPy gives
    NaN) and Ci(-inf) is NaN."""
    (x,) = _real_only("sici", x)
    return _sici(x)
