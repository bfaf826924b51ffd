"""Gamma draws, their derivative, and the distributions built on them: beta,
Dirichlet, chi-square, F, Student's t, the generalized normal and the Lp ball.

As JAX draws them: the key is split into one key per element, and each element
runs Marsaglia and Tsang's rejection loop on its own key (an alpha below 1 is
raised by one and the draw scaled by u ** (1 / alpha)). The derivative of a
draw with respect to alpha is the implicit one: holding the draw's CDF value
fixed, dx/dalpha = -(dF/dalpha) / (dF/dx) for F the regularized incomplete
gamma function, summed by its series (x below 1 or alpha) or its continued
fraction, with XLA's stopping rules, so that gradients agree with JAX's too.
"""

import functools
import operator

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.custom_rules import custom_jvp
from mlax.api.jit import compiled
from mlax.api.vmap import vmap
from mlax.core import dtypes
from mlax.random._core import (_as_param, _check_safe_cast, _check_shape, _float_dtype, _sample_shape, _shape,
                               normal, split, uniform)
from mlax.random._distributions import exponential, rademacher


def _marsaglia_tsang(key, alpha, log_space):
    """One Gamma(alpha) draw, or its log, from its own key."""
    dtype = alpha.dtype
    zero, one = lax.full((), 0, dtype), lax.full((), 1, dtype)
    at_least_one = alpha >= one
    boosted = lax.select(at_least_one, alpha, alpha + one)
    d = boosted - 1 / 3
    c = (1 / 3) / mnp.sqrt(d)

    def rejected(state):
        _, x_squared, v, u = state
        squeeze = u >= 1 - 0.0331 * (x_squared * x_squared)
        return squeeze & (mnp.log(u) >= x_squared * 0.5 + d * (1 - v + mnp.log(v)))

    def redraw(state):
        key, subkey = split(state[0])
        x = normal(subkey, (), dtype)
        return key, x, 1 + x * c

    def propose(state):
        key, normal_key, uniform_key = split(state[0], 3)
        _, x, v = lax.while_loop(lambda s: s[2] <= zero, redraw, (normal_key, zero, -one))
        return key, x * x, v * v * v, uniform(uniform_key, (), dtype)

    key, boost_key = split(key)
    # (x^2, v, u) = (0, 1, 2) is rejected, so the loop proposes at least once.
    _, _, v, _ = lax.while_loop(rejected, propose, (key, zero, one, lax.full((), 2, dtype)))
    if log_space:
        log_u = -exponential(boost_key, (), dtype)
        log_boost = lax.select(at_least_one | (log_u == zero), zero, log_u * (one / alpha))
        return mnp.log(d) + mnp.log(v) + log_boost
    u = 1 - uniform(boost_key, (), dtype)
    return d * v * lax.select(at_least_one, one, lax.pow(u, one / alpha))


def _flat(arrays):
    """The arrays' elements, one after the other."""
    return lax.concatenate([lax.reshape(a, (a.size,)) for a in arrays], 0)


def _unflat(flat, like):
    """The pieces of `flat` shaped as the arrays `like` (the inverse of _flat)."""
    pieces, start = [], 0
    for a in like:
        pieces.append(lax.reshape(lax.slice(flat, (start,), (start + a.size,)), a.shape))
        start += a.size
    return tuple(pieces)


@functools.partial(custom_jvp, nondiff_argnums=(2,))
def _standard_gammas(keys, alphas, log_space):
    """For each key and array of alphas, the Gamma(alpha) draws (their logs where log_space)
    that gamma(key, alpha) gives: each element from its own split of the key. All of them run
    in one loop (beta and f draw two arrays), so that a program holds one loop to compile."""
    if sum(a.size for a in alphas) == 0:
        return alphas
    element_keys = lax.concatenate([split(k, a.size) for k, a in zip(keys, alphas) if a.size], 0)
    draws = vmap(lambda k, a: _marsaglia_tsang(k, a, log_space))(element_keys, _flat(alphas))
    return _unflat(draws, alphas)


@_standard_gammas.defjvp
def _standard_gammas_jvp(log_space, primals, tangents):
    keys, alphas = primals
    draws = _standard_gammas(keys, alphas, log_space)
    if sum(a.size for a in alphas) == 0:
        return draws, tuple(tangents[1])
    flat_alphas, flat_draws = _flat(alphas), _flat(draws)
    if log_space:  # d log x = dx / x, with x = exp(log x) kept off zero
        x = mnp.exp(flat_draws)
        x = lax.select(x == 0, lax.full(x.shape, dtypes.finfo(x.dtype).tiny, x.dtype), x)
        derivative = _draw_derivative(flat_alphas, x) / x
    else:
        derivative = _draw_derivative(flat_alphas, flat_draws)
    return draws, tuple(t * d for t, d in zip(tangents[1], _unflat(derivative, alphas)))


def _draw_derivative(alpha, x):
    """dx/dalpha of Gamma(alpha) draws x (16-bit floats computed in float32, as in XLA)."""
    if alpha.dtype.itemsize == 2:
        return _draw_derivative(alpha.astype(np.float32), x.astype(np.float32)).astype(alpha.dtype)
    is_nan = mnp.isnan(alpha) | mnp.isnan(x)
    x_is_zero = x == 0
    domain_error = (x < 0) | (alpha <= 0)
    use_fraction = (x > 1) & (x > alpha)
    log_ax = alpha * mnp.log(x) - x - lax.lgamma(alpha)
    underflow = log_ax < -mnp.log(mnp.asarray(dtypes.finfo(alpha.dtype).max, alpha.dtype))
    enabled = ~(x_is_zero | domain_error | underflow | is_nan)
    eps = dtypes.finfo(alpha.dtype).eps
    out = lax.select(use_fraction, -_fraction_derivative(alpha, x, enabled & use_fraction, eps),
                     _series_derivative(alpha, x, enabled & ~use_fraction, eps))
    out = lax.select(x_is_zero, mnp.zeros_like(out), out)
    return lax.select(domain_error | is_nan, mnp.full_like(out, np.nan), out)


def _series_derivative(alpha, x, enabled, eps):
    """-(dP/dalpha) / (dP/dx) from P(alpha, x)'s series, summed where `enabled` until its
    derivative's terms fall below eps."""
    def step(state):
        on, r, c, total, dc, dtotal = state
        r_next = r + 1
        dc_next = dc * (x / r_next) - (c * x) / (r_next * r_next)
        dtotal_next = dtotal + dc_next
        c_next = c * (x / r_next)
        still = on & (mnp.abs(dc_next / dtotal_next) > eps)
        updated = (r_next, c_next, total + c_next, dc_next, dtotal_next)
        return (still,) + tuple(lax.select(on, new, old) for new, old in zip(updated, state[1:]))

    ones, zeros = mnp.ones_like(x), mnp.zeros_like(x)
    init = (enabled, alpha, ones, ones, zeros, zeros)
    _, _, _, total, _, dtotal = lax.while_loop(lambda s: mnp.any(s[0]), step, init)
    dlog_ax = mnp.log(x) - lax.digamma(alpha + 1)
    return -(dtotal + total * dlog_ax) * x / alpha


def _fraction_derivative(alpha, x, enabled, eps):
    """(dQ/dalpha) / (dP/dx) from Q(alpha, x)'s continued fraction (at most 2000 terms), where
    `enabled`, until its derivative changes by less than eps; its convergents rescaled by eps
    when they grow past 1/eps."""
    def step(state):
        on, count, total, y, z, p1, q1, p2, q2, dp2, dq2, dp1, dq1, dtotal = state
        count = count + 1
        y_next, z_next = y + 1, z + 2
        yc = y_next * count
        pk = p1 * z_next - p2 * yc
        qk = q1 * z_next - q2 * yc
        nonzero = qk != 0
        total_next = lax.select(nonzero, pk / qk, total)
        dpk = dp1 * z_next - p1 - dp2 * yc + p2 * count
        dqk = dq1 * z_next - q1 - dq2 * yc + q2 * count
        dtotal_next = lax.select(nonzero, (dpk - total_next * dqk) / qk, dtotal)
        change = lax.select(nonzero, mnp.abs(dtotal_next - dtotal), mnp.ones_like(dtotal))
        rescale = mnp.abs(pk) > 1 / eps
        shifted = [lax.select(rescale, v * eps, v) for v in (p1, pk, q1, qk, dp1, dq1, dpk, dqk)]
        p2n, p1n, q2n, q1n, dp2n, dq2n, dp1n, dq1n = shifted
        updated = (total_next, y_next, z_next, p1n, q1n, p2n, q2n, dp2n, dq2n, dp1n, dq1n, dtotal_next)
        old = (total, y, z, p1, q1, p2, q2, dp2, dq2, dp1, dq1, dtotal)
        return (on & (change > eps), count) + tuple(lax.select(on, n, o) for n, o in zip(updated, old))

    y = 1 - alpha
    z = x + y + 1
    p1, q1 = x + 1, z * x
    total = p1 / q1
    zeros = mnp.zeros_like(x)
    dq1 = -x
    dtotal = (zeros - total * dq1) / q1
    init = (enabled, mnp.zeros((), x.dtype), total, y, z, p1, q1, mnp.ones_like(x), x, zeros, zeros, zeros, dq1,
            dtotal)
    state = lax.while_loop(lambda s: (s[1] < 2000) & mnp.any(s[0]), step, init)
    total, dtotal = state[2], state[13]
    dlog_ax = mnp.log(x) - lax.digamma(alpha)
    return -((dtotal + total * dlog_ax) * x)


def _gamma_draws(name, key, a, shape, dtype, log_space):
    dtype = _float_dtype(name, dtype)
    a = mnp.asarray(a)
    shape = a.shape if shape is None else _shape(shape)
    _check_shape(name, shape, a.shape)
    return _standard_gammas((key,), (mnp.broadcast_to(a.astype(dtype), shape),), log_space)[0]


@compiled("shape", "dtype")
def gamma(key, a, shape=None, dtype=None):
    """Gamma(a, 1) floats (density x^(a-1) e^-x); differentiable with respect to a."""
    return _gamma_draws("gamma", key, a, shape, dtype, log_space=False)


@compiled("shape", "dtype")
def loggamma(key, a, shape=None, dtype=None):
    """The logs of Gamma(a, 1) draws, computed in log space (accurate where a << 1 puts the draws
    near 0); exp of them is gamma's draws."""
    return _gamma_draws("loggamma", key, a, shape, dtype, log_space=True)


@compiled("shape", "dtype")
def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) floats: G_a / (G_a + G_b) of two gamma draws, taken in log space."""
    dtype = _float_dtype("beta", dtype)
    _check_safe_cast("beta", dtype, a, b)
    shape = _sample_shape("beta", shape, a, b)
    log_a, log_b = _standard_gammas(tuple(split(key)), (_as_param(a, dtype, shape), _as_param(b, dtype, shape)),
                                    True)
    log_max = lax.max(log_a, log_b)
    scaled_a, scaled_b = mnp.exp(log_a - log_max), mnp.exp(log_b - log_max)
    return scaled_a / (scaled_a + scaled_b)


@compiled("shape", "dtype")
def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) vectors along alpha's last axis: the softmax of log-gamma draws; `shape`
    is the batch shape, without that axis."""
    dtype = _float_dtype("dirichlet", dtype)
    alpha = mnp.asarray(alpha)
    if alpha.ndim < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {alpha.ndim}")
    if shape is None:
        shape = alpha.shape[:-1]
    else:
        shape = _shape(shape)
        _check_shape("dirichlet", shape, alpha.shape[:-1])
    log_draws = loggamma(key, alpha.astype(dtype), shape + alpha.shape[-1:], dtype)
    unnormalized = mnp.exp(log_draws - mnp.max(log_draws, -1, keepdims=True))
    return unnormalized / mnp.sum(unnormalized, -1, keepdims=True)


@compiled("shape", "dtype")
def chisquare(key, df, shape=None, dtype=None):
    """Chi-square floats of `df` degrees of freedom: twice a Gamma(df / 2) draw."""
    dtype = _float_dtype("chisquare", dtype)
    shape = _sample_shape("chisquare", shape, df)
    _check_safe_cast("chisquare", dtype, df)
    return mnp.exp(loggamma(key, _as_param(df, dtype) / 2, shape, dtype)) * 2


@compiled("shape", "dtype")
def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distributed floats: the ratio of two chi-square draws, each over its degrees of freedom."""
    dtype = _float_dtype("f", dtype)
    shape = _sample_shape("f", shape, dfnum, dfden)
    _check_safe_cast("f", dtype, dfnum, dfden)
    dfnum, dfden = _as_param(dfnum, dtype), _as_param(dfden, dtype)
    den_key, num_key = split(key)
    # chisquare(num_key, dfnum) and chisquare(den_key, dfden), drawn in one loop.
    halves = tuple(mnp.broadcast_to(df / 2, shape) for df in (dfnum, dfden))
    num, den = (mnp.exp(log_draws) * 2 for log_draws in _standard_gammas((num_key, den_key), halves, True))
    return (num / dfnum) / (den / dfden)


@compiled("shape", "dtype")
def t(key, df, shape=None, dtype=None):
    """Student's t floats of `df` degrees of freedom: z * sqrt((df / 2) / G) for standard normal
    z and G ~ Gamma(df / 2)."""
    dtype = _float_dtype("t", dtype)
    shape = _sample_shape("t", shape, df)
    _check_safe_cast("t", dtype, df)
    normal_key, gamma_key = split(key)
    z = normal(normal_key, shape, dtype)
    half_df = _as_param(df, dtype) / 2
    return z * mnp.sqrt(half_df / gamma(gamma_key, half_df, shape, dtype))


@compiled("shape", "dtype")
def generalized_normal(key, p, shape=(), dtype=None):
    """Floats of density proportional to exp(-|x|^p): a random sign times G^(1/p) for
    G ~ Gamma(1/p)."""
    shape = _shape(shape)
    gamma_key, sign_key = split(key)
    p = mnp.asarray(p)
    draws = gamma(gamma_key, 1 / p, shape, dtype)
    return rademacher(sign_key, shape, draws.dtype) * draws ** (1 / p)


@compiled("d", "shape", "dtype")
def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniform in the unit Lp ball of dimension d, of shape (*shape, d): generalized normal
    coordinates over the p-norm of (those and an exponential draw) (Barthe et al.)."""
    shape, d = _shape(shape), operator.index(d)
    coordinates_key, exponential_key = split(key)
    p = mnp.asarray(p)
    g = generalized_normal(coordinates_key, p, (*shape, d), dtype)
    e = exponential(exponential_key, shape, dtype)
    return g / ((mnp.sum(mnp.abs(g) ** p, axis=-1) + e) ** (1 / p))[..., None]
