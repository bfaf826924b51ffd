"""mlax.random's functions against jax.random's: the same key must give the same draws. Each
row is `fn(random, key)`, run under jit with (mlax.random, mlax's key) and (jax.random, JAX's
raw uint32 key from PRNGKey) at derandomized hypothesis seeds; keys, bits and integers must be
equal, floats equal within a few ulps (erf_inv, log and exp round in IREE's and XLA's own
ways). Adding a function or a case is one entry."""

import functools

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax

from ._oracle import marked
from .test_functions import _close
from .test_special_points import assert_same

jax.config.update("jax_platforms", "cpu")

P = np.array([0.1, 0.0, 0.3, 0.6], np.float32)
LOGITS = np.array([[0.5, -1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0], [-np.inf, 0.0, 3.0, -2.0]], np.float32)
A = np.arange(12, dtype=np.float32).reshape(3, 4)
ALPHA = np.array([0.05, 0.7, 1.0, 2.5, 40.0], np.float32)  # below and above gamma's boost at 1
COV = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.5]], np.float32)
LAM = np.array([0.0, 0.5, 3.0, 9.9, 10.0, 25.0, 400.0], np.float32)  # both sides of poisson's switch at 10
# n p on both sides of binomial's switch at 10, and n or p out of their domains (NaN, inf draws).
N = np.array([0.0, 4.0, 30.0, 30.0, 500.0, 7.5, -1.0, np.nan, np.inf, 5.0], np.float32)
PROB = np.array([0.3, 0.5, 0.2, 0.8, 0.45, 1.0, 0.5, 0.5, 0.5, np.nan], np.float32)


def _lib(random):
    """jax for jax.random, mlax for mlax.random: for rows that transform a sampler."""
    return jax if random is jax.random else mlax


def _simple(r, k, dtype=None):
    """One draw of each of the distributions that transform a uniform or normal draw."""
    return [r.exponential(k, (5,), dtype), r.cauchy(k, (5,), dtype), r.laplace(k, (5,), dtype),
            r.logistic(k, (5,), dtype), r.maxwell(k, (2, 2), dtype), r.rayleigh(k, 2.0, (4,), dtype),
            r.lognormal(k, 0.5, (4,), dtype), r.weibull_min(k, 2.0, 1.5, (4,), dtype),
            r.triangular(k, 0.0, 0.3, 1.0, (4,), dtype), r.pareto(k, 3.0, (4,), dtype)]


def _grads(r, k):
    """Derivatives of draws with respect to the distributions' parameters (the key held fixed)."""
    grad = _lib(r).grad
    return [grad(lambda b: r.pareto(k, b, (3,)).sum())(2.5),
            grad(lambda s: r.rayleigh(k, s, (3,)).sum())(1.5),
            grad(lambda m: r.wald(k, m, (3,)).sum())(0.8),
            grad(lambda s, c: r.weibull_min(k, s, c, (3,)).sum(), (0, 1))(2.0, 1.5),
            grad(lambda s: r.lognormal(k, s, (3,)).sum())(0.7),
            grad(lambda lo, m, hi: r.triangular(k, lo, m, hi, (3,)).sum(), (0, 1, 2))(-1.0, 0.2, 2.0),
            grad(lambda lo, s: r.double_sided_maxwell(k, lo, s, (3,)).sum(), (0, 1))(0.5, 2.0),
            grad(lambda m, c: r.multivariate_normal(k, m, c, (2,)).sum(), (0, 1))(A[0, :3], COV)]


def _gamma_grads(r, k):
    """Derivatives of gamma draws with respect to alpha (implicit differentiation), of their logs, and
    of beta's draws (two gamma draws) with respect to a and b."""
    grad = _lib(r).grad
    return [grad(lambda a: r.gamma(k, a).sum())(ALPHA), grad(lambda a: r.loggamma(k, a).sum())(ALPHA),
            grad(lambda a, b: r.beta(k, a, b, (2,)).sum(), (0, 1))(0.6, 3.0)]

# name -> fn(random, key); a row's cases are one program (compiling is most of the time).
ROWS = {
    "split": lambda r, k: [r.split(k), r.split(k, 3), r.split(k, (2, 3))],
    "fold_in": lambda r, k: [r.fold_in(k, d) for d in (0, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1)],
    # Python ints out of uint32's range raise OverflowError in both.
    **{f"fold_in {d} raises": lambda r, k, d=d: r.fold_in(k, d) for d in (-1, 2 ** 32)},
    "fold_in of NumPy integers": lambda r, k: [r.fold_in(k, np.uint32(123456789)), r.fold_in(k, np.int32(-1)),
                                               r.fold_in(k, np.int8(-3))],
    "bits": lambda r, k: [r.bits(k, (3,)), r.bits(k, (), np.uint32), r.bits(k, (2, 3), np.uint32),
                          r.bits(k, (5,), np.uint8), r.bits(k, (5,), np.uint16)],
    "uniform": lambda r, k: [r.uniform(k), r.uniform(k, (2, 3), minval=-2.0, maxval=5.0),
                             r.uniform(k, (3, 4), minval=A[0], maxval=A[0] * 2 + 1)],
    # One row per dtype: 16-bit floats are compared within their ulps (_agree).
    **{f"uniform {dtype}": lambda r, k, dtype=dtype: r.uniform(k, (7,), jax.numpy.dtype(dtype))
       for dtype in ("float32", "float16", "bfloat16")},
    **{f"normal {dtype}": lambda r, k, dtype=dtype: r.normal(k, (7,), jax.numpy.dtype(dtype))
       for dtype in ("float32", "float16", "bfloat16")},
    "normal (2, 3)": lambda r, k: r.normal(k, (2, 3)),
    "randint": lambda r, k: [r.randint(k, (4,), 0, 7), r.randint(k, (6,), -5, 5), r.randint(k, (6,), 5, 1),
                             r.randint(k, (6,), -2 ** 31, 2 ** 31 - 1),
                             r.randint(k, (2, 3), np.array([0, 5, -3]), np.array([4, 6, 3]))],
    # Integers of fewer than 32 bits are drawn as int32 in JAX; unsigned bounds are clipped.
    "randint of other dtypes": lambda r, k: [r.randint(k, (6,), lo, hi, dtype) for lo, hi, dtype in (
        (-128, 127, "int8"), (0, 300, "uint8"), (10, 1000, "int16"), (-3, 1000, "uint32"))],
    "bernoulli": lambda r, k: [r.bernoulli(k, 0.3, (8,)), r.bernoulli(k), r.bernoulli(k, P),
                               r.bernoulli(k, 0.0, (4,)), r.bernoulli(k, 1.0, (4,))],
    "choice": lambda r, k: [r.choice(k, 5, (6,)), r.choice(k, 7, (4,), replace=False), r.choice(k, A, (2,), axis=1),
                            r.choice(k, A, (2,), replace=False)],
    "choice with p": lambda r, k: [r.choice(k, 4, (9,), p=P), r.choice(k, 4, (3,), replace=False, p=P)],
    "permutation": lambda r, k: [r.permutation(k, 10), r.permutation(k, A), r.permutation(k, A, axis=1),
                                 r.permutation(k, A, axis=1, independent=True)],
    "categorical": lambda r, k: [r.categorical(k, LOGITS), r.categorical(k, LOGITS, axis=0),
                                 r.categorical(k, LOGITS, shape=(5, 3))],
    "truncated_normal": lambda r, k: [r.truncated_normal(k, -1.0, 0.5, (6,)),
                                      r.truncated_normal(k, A[0] - 2, A[0] - 1.5)],
    "truncated_normal float16": lambda r, k: r.truncated_normal(k, -2.0, 2.0, (5,), jax.numpy.float16),
    "gumbel": lambda r, k: r.gumbel(k, (7,)),
    "gumbel float16": lambda r, k: r.gumbel(k, (7,), jax.numpy.float16),
    "normal complex64": lambda r, k: r.normal(k, (3,), jax.numpy.complex64),
    "exponential cauchy laplace logistic maxwell rayleigh lognormal weibull_min triangular pareto": _simple,
    **{f"exponential ... pareto {dtype}": lambda r, k, dtype=dtype: _simple(r, k, jax.numpy.dtype(dtype))
       for dtype in ("float16", "bfloat16")},
    # Parameters broadcast against `shape`, or giving it.
    "pareto rayleigh wald triangular lognormal weibull_min of arrays": lambda r, k: [
        r.pareto(k, A[0] + 1, (2, 4)), r.rayleigh(k, A[:, :2] + 0.5), r.wald(k, A[0] + 0.5),
        r.triangular(k, A[0], A[0] + 0.5, A[0] + 2.0, (3, 4)), r.lognormal(k, A[0] / 4),
        r.weibull_min(k, A[0] + 1, 2.0)],
    "rademacher geometric double_sided_maxwell": lambda r, k: [
        r.rademacher(k, (6,)), r.rademacher(k, (3,), jax.numpy.float16), r.rademacher(k, (4,), jax.numpy.int8),
        r.geometric(k, 0.3, (6,)), r.geometric(k, P[:2] + 0.05, (3, 2), jax.numpy.int16),
        r.double_sided_maxwell(k, 1.0, 2.0, (4,)), r.double_sided_maxwell(k, A[0, :2], 1.0),
        r.double_sided_maxwell(k, A[0, :2], 1.0, (3,))],
    "orthogonal": lambda r, k: [r.orthogonal(k, 3), r.orthogonal(k, 2, (2,), m=4), r.orthogonal(k, 4, m=2)],
    "multivariate_normal": lambda r, k: [r.multivariate_normal(k, A[0, :3], COV),
                                         r.multivariate_normal(k, A[:, :3], COV, (2, 3)),
                                         r.multivariate_normal(k, A[0, :3], np.stack([COV, 2 * COV]), dtype=
                                                               jax.numpy.float16)],
    **{f"multivariate_normal {method}": lambda r, k, method=method: r.multivariate_normal(
        k, A[0, :3], COV, (2,), method=method) for method in ("eigh", "svd")},
    # Each gamma draw is a loop nest of its own to compile: the rows hold few of them.
    "gamma loggamma": lambda r, k: [r.gamma(k, ALPHA, (2, 5)), r.loggamma(k, ALPHA), r.gamma(k, ALPHA[:0]),
                                    r.gamma(k, ALPHA, dtype=jax.numpy.float16)],
    "beta dirichlet chisquare f t": lambda r, k: [r.beta(k, ALPHA, 2.0), r.dirichlet(k, ALPHA[1:4], (2,)),
                                                  r.chisquare(k, 3.0, (3,)), r.f(k, ALPHA[1:4] * 4, 5.0),
                                                  r.t(k, ALPHA[2:] * 2)],
    "generalized_normal ball": lambda r, k: [r.generalized_normal(k, 1.5, (3,)), r.ball(k, 3, shape=(2,))],
    # Constant parameters that pick one algorithm for every element (the other loop unused).
    "poisson": lambda r, k: [r.poisson(k, LAM), r.poisson(k, 2.5, (4,)), r.poisson(k, 30.0, (2,)),
                             r.poisson(k, LAM[4:], (2, 3), jax.numpy.int8)],
    "binomial": lambda r, k: [r.binomial(k, N, PROB), r.binomial(k, 12.0, PROB[:4], (2, 4)),
                              r.binomial(k, 5.0, 0.3, (3,)), r.binomial(k, 300.0, 0.4, (2,))],
    "multinomial": lambda r, k: [r.multinomial(k, 20.0, P), r.multinomial(k, N[1:4], P, shape=(3, 4), dtype=
                                                                           jax.numpy.int32)],
    # vmap over keys: each key's draws are that key's own.
    "vmap over keys": lambda r, k: _lib(r).vmap(lambda key: [
        r.exponential(key, (2,)), r.gamma(key, ALPHA[:3]), r.poisson(key, LAM[1:4])])(r.split(k, 3)),
    "key_data of clone": lambda r, k: r.key_data(r.clone(k)),
    "derivatives": _grads,
    "gamma derivatives": _gamma_grads,
}

XFAIL = {f"multivariate_normal {method}": f"the factor comes from mlax.numpy.linalg.{method}, whose vectors' signs "
         "are not LAPACK's, so the draws differ from JAX's (their distribution is the same)"
         for method in ("eigh", "svd")}

seeds = st.one_of(st.sampled_from([0, 1, 42, 2 ** 31 - 1, 2 ** 32 - 1, -1, -2 ** 31]), st.integers(0, 2 ** 32 - 1))
SEEDS = settings(max_examples=3, deadline=None, derandomize=True, database=None)


@SEEDS
@given(seed=seeds)
def test_keys(seed):
    expected = [jax.random.PRNGKey(seed), jax.random.key_data(jax.random.key(seed))]
    got = [mlax.random.PRNGKey(seed), mlax.random.key_data(mlax.random.key(seed))]
    assert_same(got, expected, exact=True)


def test_wrap_key_data():
    data = np.array([3, 4000000000], np.uint32)
    expected = jax.random.key_data(jax.random.wrap_key_data(data))
    got = mlax.random.key_data(mlax.random.wrap_key_data(data))
    assert_same(got, expected, exact=True)
    # Draws from a wrapped key are the draws from the raw key.
    assert_same(mlax.random.normal(mlax.random.wrap_key_data(data), (3,)),
                jax.random.normal(jax.random.wrap_key_data(data), (3,)), exact=False)


def test_key_impl_dtype_and_clone():
    for keys in (mlax.random.PRNGKey(1), mlax.random.split(mlax.random.PRNGKey(1), (2, 3))):
        assert mlax.random.key_impl(keys) == jax.random.key_impl(np.asarray(keys)) == "threefry2x32"
    assert mlax.random.key_dtype() == mlax.random.key_dtype("threefry2x32") == mlax.random.PRNGKey(0).dtype
    key = mlax.random.PRNGKey(5)
    assert_same(mlax.random.uniform(mlax.random.clone(key), (3,)), mlax.random.uniform(key, (3,)), exact=True)


def test_multivariate_normal_factors_give_the_covariance():
    # eigh and svd draws differ from JAX's (see XFAIL), so their covariance is checked instead.
    draws = mlax.jit(lambda k: [mlax.random.multivariate_normal(k, A[0, :3], COV, (20000,), method=method)
                                for method in ("cholesky", "eigh", "svd")])(mlax.random.PRNGKey(7))
    for x in map(np.asarray, draws):
        np.testing.assert_allclose(x.mean(0), A[0, :3], atol=0.05)
        np.testing.assert_allclose(np.cov(x.T), COV, atol=0.08)


K = np.array([0, 5], np.uint32)
# name -> (fn(random), a pattern the message must match); the exception must be JAX's type (a
# ValueError where JAX raises its TypePromotionError, a ValueError).
ERRORS = {
    "float dtype": (lambda r: r.exponential(K, (2,), np.int32), "exponential.*float dtype.*int32"),
    "float dtype of gamma": (lambda r: r.gamma(K, 2.0, (2,), np.int32), "gamma.*float dtype.*int32"),
    "float dtype of binomial": (lambda r: r.binomial(K, 3.0, 0.5, (2,), np.int32), "binomial.*float dtype"),
    "int dtype of geometric": (lambda r: r.geometric(K, 0.5, (2,), np.float32), "geometric.*int dtype.*float32"),
    "parameter wider than dtype": (lambda r: r.pareto(K, np.float32(2.0), (2,), np.float16),
                                   "pareto.*float32 to float16"),
    "shape the parameters do not broadcast to": (lambda r: r.gamma(K, np.ones(2, np.float32), (3,)), r"\(3,\).*\(2,\)"),
    "shape smaller than the parameters'": (lambda r: r.t(K, np.ones((2, 3), np.float32), (3,)), r"\(2, 3\)"),
    "shape of floats": (lambda r: r.cauchy(K, (2.5,)), "integer"),
    "dirichlet of a scalar": (lambda r: r.dirichlet(K, 1.0), "alpha.ndim >= 1"),
    "multivariate_normal method": (lambda r: r.multivariate_normal(K, np.zeros(2), np.eye(2), method="qr"), "method"),
    "multivariate_normal cov shape": (lambda r: r.multivariate_normal(K, np.zeros(2), np.eye(3)), r"cov.shape"),
    "multivariate_normal mean rank": (lambda r: r.multivariate_normal(K, 0.0, np.eye(2)), "mean.ndim >= 1"),
    "orthogonal of a non-integer n": (lambda r: r.orthogonal(K, 2.5), "integer"),
    "ball of a non-integer d": (lambda r: r.ball(K, 2.5), "integer"),
    "binomial of a list": (lambda r: r.binomial(K, [3.0, 4.0], 0.5), "ndarray or scalar"),
    "unknown key implementation": (lambda r: r.key_dtype("fancy"), "fancy"),
    "key of the wrong shape": (lambda r: r.key_impl(np.ones(3, np.uint32)), r"\(2,\)|\[\.\.\., 2\]"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors(name):
    fn, pattern = ERRORS[name]
    expected = _raised(fn, jax.random)
    assert expected is not None, "the call must raise in JAX"
    expected_type = ValueError if type(expected).__name__ == "TypePromotionError" else type(expected)
    with pytest.raises(expected_type, match=pattern):
        fn(mlax.random)


def test_other_key_implementations_are_not_implemented():
    assert str(jax.random.key_dtype("rbg")) == "key<rbg>"
    with pytest.raises(NotImplementedError, match="impl_spec"):
        mlax.random.key_dtype("rbg")


@functools.cache
def _jitted(name):
    """ROWS[name] under jit, one jitted function per library for every seed."""
    programs = {lib.random: lib.jit(lambda k, lib=lib: ROWS[name](lib.random, k)) for lib in (jax, mlax)}
    return lambda random, key: programs[random](key)


def _raised(fn, *args):
    try:
        fn(*args)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return error
    return None


@pytest.mark.parametrize("name", marked(ROWS, XFAIL))
@SEEDS
@given(seed=seeds)
def test_same_key_same_draws(name, seed):
    # Under jit, so that each row is one program to compile (eagerly, choice and permutation
    # are a hundred ops); tests/random checks that eager draws are the jitted ones.
    fn = _jitted(name)
    if name.endswith(" raises"):
        expected = _raised(fn, jax.random, jax.random.PRNGKey(seed))
        assert expected is not None, "the row must raise in JAX"
        assert isinstance(_raised(fn, mlax.random, mlax.random.PRNGKey(seed)), type(expected))
        return
    expected = fn(jax.random, jax.random.PRNGKey(seed))
    got = fn(mlax.random, mlax.random.PRNGKey(seed))
    assert str(jax.tree_util.tree_structure(got)) == str(jax.tree_util.tree_structure(expected))
    _agree(got, expected)


def _agree(got, expected):
    """Exact for bits, keys, integers and booleans; floats within a few ulps (_close), and
    float16 and bfloat16 within 4 of their ulps: their normal and gumbel values are float32 math
    rounded to 16 bits after each op (log, log, erf_inv), which moves them by an ulp or two."""
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        g, e = np.asarray(g), np.asarray(e)
        if e.dtype.itemsize == 2 and e.dtype.kind not in "iub":
            assert (g.shape, g.dtype) == (e.shape, e.dtype)
            eps = float(jax.numpy.finfo(e.dtype).eps)
            np.testing.assert_allclose(g.astype(np.float32), e.astype(np.float32), rtol=4 * eps, atol=4 * eps)
        else:
            _close(g, e)
