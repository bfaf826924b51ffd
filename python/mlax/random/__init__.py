"""mlax.random: a counter-based PRNG with explicit keys, as jax.random.

A key is a uint32 array of shape (2,) (`key(seed)`, `PRNGKey(seed)`); the
same key gives the same numbers eagerly, under jit and under vmap, and the
numbers JAX gives for that key. `_core` holds the keys, the Threefry bit
streams and the basic samplers; `_distributions` the distributions that
transform uniform or normal draws; `_gamma` the gamma sampler and what is
built on it; `_counts` the Poisson, binomial and multinomial counts.
"""

from mlax.random._core import (PRNGKey, bernoulli, bits, categorical, choice, clone, fold_in, gumbel, key,
                               key_data, key_dtype, key_impl, normal, permutation, randint, split, threefry_2x32,
                               truncated_normal, uniform, wrap_key_data)
from mlax.random._counts import binomial, multinomial, poisson
from mlax.random._distributions import (cauchy, double_sided_maxwell, exponential, geometric, laplace, logistic,
                                        lognormal, maxwell, multivariate_normal, orthogonal, pareto, rademacher,
                                        rayleigh, triangular, wald, weibull_min)
from mlax.random._gamma import (ball, beta, chisquare, dirichlet, f, gamma, generalized_normal, loggamma, t)

__all__ = ["PRNGKey", "ball", "bernoulli", "beta", "binomial", "bits", "categorical", "cauchy", "chisquare",
           "choice", "clone", "dirichlet", "double_sided_maxwell", "exponential", "f", "fold_in", "gamma",
           "generalized_normal", "geometric", "gumbel", "key", "key_data", "key_dtype", "key_impl", "laplace",
           "loggamma", "logistic", "lognormal", "maxwell", "multinomial", "multivariate_normal", "normal",
           "orthogonal", "pareto", "permutation", "poisson", "rademacher", "randint", "rayleigh", "split", "t",
           "threefry_2x32", "triangular", "truncated_normal", "uniform", "wald", "weibull_min", "wrap_key_data"]
