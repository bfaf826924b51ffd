"""mlax.scipy.stats: probability distributions and sample statistics over mlax arrays, as
jax.scipy.stats.

Each distribution is a module (norm, gamma, binom ...) of the functions JAX gives it (logpdf,
pdf, cdf, logcdf, sf, logsf, ppf, isf; logpmf and pmf for the discrete ones), with JAX's
arguments (loc and scale where JAX has them), broadcasting, dtype promotion, and JAX's values at
and outside the support (-inf, 0, 1, NaN for invalid parameters) and derivatives. The
cumulative functions of gamma, chi2, beta, gennorm and poisson rest on the incomplete gamma and
beta functions of mlax.scipy.special. mode, rankdata and sem are functions, gaussian_kde a class.
"""

from mlax.scipy.stats import (bernoulli, beta, betabinom, binom, cauchy, chi2, dirichlet, expon, gamma,  # noqa: F401
                              gennorm, geom, gumbel_l, gumbel_r, laplace, logistic, multinomial,
                              multivariate_normal, nbinom, norm, pareto, poisson, t, truncnorm, uniform, vonmises,
                              wrapcauchy)
from mlax.scipy.stats._core import mode, rankdata, sem  # noqa: F401
from mlax.scipy.stats._kde import gaussian_kde  # noqa: F401
