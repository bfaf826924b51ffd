"""Counts: Poisson, binomial and multinomial draws.

Each runs JAX's two algorithms over the whole array in loops that draw for
every element until each has a value (one key split per round), and picks
per element: Knuth's product of uniforms (lam < 10) or Hormann's transformed
rejection for Poisson; the inversion of geometric waiting times (n p <= 10)
or Kachitvichyanukul and Schmeiser's BTRS for binomial, on min(p, 1 - p).
Both algorithms run for every element, as in JAX, so the same key gives the
same counts.
"""

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.random._core import _check_shape, _float_dtype, _shape, split, uniform

_INT32_MAX = 2 ** 31 - 1


def _pick(use_first, first, second):
    """select(use_first, first, second) of two loops' draws. The choice goes behind an
    optimization barrier: where it is a constant (poisson(key, 2.5, (4,))), IREE
    (iree-base-compiler 3.13) folds the select, finds the other loop dead, and its compilation fails
    with "maximum iteration count exceeded in fixed point pipeline"."""
    return lax.select(lax.optimization_barrier(use_first), first, second)


def _round_limit(dtype):
    """JAX stops its loops after iinfo(dtype).max rounds (or finfo's): only 8- and 16-bit counts
    can reach that."""
    info = dtypes.iinfo(dtype) if dtypes.is_integer(dtype) else dtypes.finfo(dtype)
    return min(int(info.max), _INT32_MAX)


def _knuth(key, lam, shape, dtype):
    """Poisson(lam) draws for small lam: one less than the number of uniforms whose product
    first falls below exp(-lam)."""
    limit = _round_limit(dtype)

    def going(state):
        rounds, _, _, log_product = state
        return mnp.any(log_product > -lam) & (rounds < limit)

    def step(state):
        rounds, count, key, log_product = state
        key, subkey = split(key)
        count = lax.select(log_product > -lam, count + 1, count)
        return rounds + 1, count, key, log_product + mnp.log(uniform(subkey, shape, np.float32))

    init = (lax.full((), 0, np.int32), mnp.zeros(shape, dtype), key, mnp.zeros(shape, np.float32))
    return (lax.while_loop(going, step, init)[1] - 1).astype(dtype)


def _transformed_rejection(key, lam, shape, dtype):
    """Poisson(lam) draws for large lam by Hormann's transformed rejection (PTRS)."""
    limit = _round_limit(dtype)
    log_lam = mnp.log(lam)
    b = 0.931 + 2.53 * mnp.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def step(state):
        rounds, drawn, accepted, key = state
        key, u_key, v_key = split(key, 3)
        u = uniform(u_key, shape, lam.dtype) - 0.5
        v = uniform(v_key, shape, lam.dtype)
        u_shifted = 0.5 - mnp.abs(u)
        k = mnp.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = mnp.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t = -lam + k * log_lam - lax.lgamma(k + 1)
        sure = (u_shifted >= 0.07) & (v <= v_r)
        rejected = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        accept = sure | (~rejected & (s <= t))
        return rounds + 1, lax.select(accept, k, drawn), accepted | accept, key

    def going(state):
        return mnp.any(~state[2]) & (state[0] < limit)

    init = (lax.full((), 0, np.int32), mnp.full(shape, -1, lam.dtype), mnp.zeros(shape, bool), key)
    return lax.while_loop(going, step, init)[1].astype(dtype)


@compiled("shape", "dtype")
def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) counts of an integer dtype (default int); lam is computed with in float32."""
    dtype = dtypes.canonicalize(dtype or dtypes.default_int())
    if not dtypes.is_integer(dtype):
        raise ValueError(f"dtype argument to `poisson` must be an int dtype, got {dtype.name}")
    lam = mnp.asarray(lam)
    shape = lam.shape if shape is None else _shape(shape)
    lam = mnp.broadcast_to(lam, shape).astype(np.float32)
    small = mnp.isnan(lam) | (lam < 10)
    knuth = _knuth(key, lax.select(small, lam, mnp.zeros_like(lam)), shape, dtype)
    rejection = _transformed_rejection(key, lax.select(small, mnp.full_like(lam, 1e5), lam), shape, dtype)
    draws = _pick(small, knuth, rejection)
    return lax.select(lam == 0, mnp.zeros_like(draws), draws)


def _inversion(key, count, prob, shape, dtype):
    """Binomial(count, prob) draws as the number of geometric waiting times that fit in count."""
    limit = _round_limit(dtype)
    log_q = mnp.log1p(-prob)

    def step(state):
        rounds, successes, waited, key = state
        subkey, key = split(key)
        successes = lax.select(waited <= count, successes + 1, successes)
        waited = waited + mnp.ceil(mnp.log(uniform(subkey, shape, prob.dtype)) / log_q)
        return rounds + 1, successes, waited, key

    def going(state):
        return mnp.any(state[2] <= count) & (state[0] < limit)

    zeros = mnp.zeros(shape, prob.dtype)
    return (lax.while_loop(going, step, (lax.full((), 0, np.int32), zeros, zeros, key))[1] - 1).astype(dtype)


# log(k!) - (k + 1/2) log(k + 1) + (k + 1) - log(2 pi) / 2 for k = 0..9: Stirling's series' error.
_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                  0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                  0.00925546218271273, 0.00833056343336287)


def _stirling_tail(k):
    """The error of Stirling's approximation of log(k!): a table up to 9, beyond it the series
    (evaluated, as JAX does, at k clipped to 9)."""
    clipped = mnp.clip(k, 0.0, 9.0)
    squared = (clipped + 1) * (clipped + 1)
    series = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / squared) / squared) / (clipped + 1)
    table = mnp.asarray(np.array(_STIRLING_TAIL, k.dtype))[mnp.floor(clipped).astype(np.int32)]
    return lax.select(k <= 9, table, series)


def _btrs(key, count, prob, shape, dtype):
    """Binomial(count, prob) draws by transformed rejection with squeeze (BTRS)."""
    limit = _round_limit(dtype)
    stddev = mnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = mnp.floor((count + 1) * prob)

    def step(state):
        rounds, drawn, accepted, key = state
        key, u_key, v_key = split(key, 3)
        u = uniform(u_key, shape, prob.dtype) - 0.5
        v = uniform(v_key, shape, prob.dtype)
        us = 0.5 - mnp.abs(u)
        sure = (us >= 0.07) & (v <= v_r)
        k = mnp.floor((2 * a / us + b) * u + c)
        rejected = (k < 0) | (k > count)
        log_v = mnp.log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * mnp.log((m + 1) / (r * (count - m + 1)))
                 + (count + 1) * mnp.log((count - m + 1) / (count - k + 1))
                 + (k + 0.5) * mnp.log(r * (count - k + 1) / (k + 1))
                 + _stirling_tail(m) + _stirling_tail(count - m) - _stirling_tail(k) - _stirling_tail(count - k))
        accept = sure | (~rejected & (log_v <= bound))
        return rounds + 1, lax.select(accept, k, drawn), accepted | accept, key

    def going(state):
        return mnp.any(~state[2]) & (state[0] < limit)

    init = (lax.full((), 0, np.int32), mnp.full(shape, -1, prob.dtype), mnp.zeros(shape, bool), key)
    return lax.while_loop(going, step, init)[1].astype(dtype)


def _check_arrays(name, *values):
    """A TypeError, as JAX's, for an argument that is neither an array nor a scalar (a list)."""
    for position, value in enumerate(values):
        if not (np.isscalar(value) or hasattr(value, "shape")):
            raise TypeError(f"{name} requires ndarray or scalar arguments, got {type(value)} at position {position}.")


@compiled("shape", "dtype")
def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) counts, as floats: n is floored; NaN where p is NaN or negative or n is NaN
    or negative, inf where n is infinite."""
    _check_arrays("binomial", n, p)
    dtype = _float_dtype("binomial", dtype)
    n, p = mnp.asarray(n), mnp.asarray(p)
    if shape is None:
        shape = tuple(mnp.broadcast_shapes(n.shape, p.shape))
    else:
        shape = _shape(shape)
        _check_shape("binomial", shape, n.shape, p.shape)
    prob = p.astype(mnp.inexact_dtype(p.dtype))
    count = mnp.broadcast_to(n.astype(prob.dtype), shape)
    prob = mnp.broadcast_to(prob, shape)
    below_half = prob < 0.5
    q = lax.select(below_half, prob, 1.0 - prob)
    count_bad = mnp.isnan(count) | (count < 0.0)
    count_inf = mnp.isinf(count)
    q_nan, q_negative = mnp.isnan(q), q < 0.0
    q = lax.select(q_nan | q_negative, mnp.full_like(q, 0.01), q)
    by_inversion = count_bad | (count * q <= 10.0)
    count = mnp.floor(count)
    draws = _pick(
        by_inversion,
        _inversion(key, lax.select(by_inversion, count, mnp.zeros_like(count)), q, shape, dtype),
        _btrs(key, lax.select(by_inversion, mnp.full_like(count, 1e4), count),
              lax.select(by_inversion, mnp.full_like(q, 0.5), q), shape, dtype))
    invalid = q_negative | q_nan | count_bad
    draws = lax.select(invalid, mnp.full_like(draws, np.nan), draws)
    draws = lax.select(count_inf & ~invalid, mnp.full_like(draws, np.inf), draws)
    return lax.select(below_half | count_bad | q_nan | count_inf, draws, count.astype(dtype) - draws)


@compiled("shape", "dtype", "unroll")
def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Counts of n draws among the outcomes along p's last axis: a binomial draw per outcome of
    what the earlier ones left, with its probability among the outcomes left. As in JAX, `shape`
    is the whole result's shape (n broadcasts to shape[:-1], p to shape)."""
    _check_arrays("multinomial", n, p)
    n, p = mnp.asarray(n), mnp.asarray(p)
    common = mnp.inexact_dtype(mnp.result_type(n, p))
    n, p = n.astype(common), p.astype(common)
    shape = p.shape if shape is None else _shape(shape)
    n = mnp.broadcast_to(n, shape[:-1])
    p = mnp.moveaxis(mnp.broadcast_to(p, shape), -1, 0)
    remaining = lax.cumsum(p, 0, reverse=True)
    ratios = p / mnp.where(remaining == 0, 1, remaining)

    def outcome(left, ratio_and_key):
        ratio, outcome_key = ratio_and_key
        drawn = binomial(outcome_key, left, mnp.clip(ratio, 0, 1), dtype=left.dtype)
        return left - drawn, drawn

    _, counts = lax.scan(outcome, n, (ratios, split(key, ratios.shape[0])), unroll=unroll)
    return mnp.moveaxis(counts, 0, -1).astype(dtype or dtypes.default_float())
