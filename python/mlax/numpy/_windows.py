"""mlax.numpy's window functions (bartlett, blackman, hamming, hanning, kaiser) and the
modified Bessel function i0 that kaiser needs.

i0 is Cephes' approximation, as in JAX: exp(|x|) times a Chebyshev series for i0e in
|x| <= 8 and another in 1/|x| beyond; its derivative is that of the series.
"""

import operator

import numpy as np

from mlax import lax
from mlax.core import dtypes
from mlax.core.trace import Tracer
from mlax.numpy._dtypes import astype
from mlax.numpy._promotion import promote_args_inexact
from mlax.numpy._ufuncs import abs, cos, exp, sqrt, where  # noqa: A004 - NumPy's name


def _length(M, name):  # noqa: N803 - NumPy's name
    if isinstance(M, Tracer):
        raise M._concretization_error(f"the M argument of {name}")
    return operator.index(M)


def _window(name, M, formula):  # noqa: N803
    M = _length(M, name)
    dtype = dtypes.default_float()
    if M <= 1:
        return lax.full((max(M, 0),), 1, dtype)
    return formula(lax.iota(dtype, M), M)


def bartlett(M):  # noqa: N803
    """The triangular (Bartlett) window of M points."""
    return _window("bartlett", M, lambda n, M: 1 - abs(2 * n + 1 - M) / (M - 1))


def blackman(M):  # noqa: N803
    """The Blackman window of M points."""
    return _window("blackman", M, lambda n, M: 0.42 - 0.5 * cos(2 * np.pi * n / (M - 1))
                   + 0.08 * cos(4 * np.pi * n / (M - 1)))


def hamming(M):  # noqa: N803
    """The Hamming window of M points."""
    return _window("hamming", M, lambda n, M: 0.54 - 0.46 * cos(2 * np.pi * n / (M - 1)))


def hanning(M):  # noqa: N803
    """The Hann window of M points."""
    return _window("hanning", M, lambda n, M: 0.5 * (1 - cos(2 * np.pi * n / (M - 1))))


def kaiser(M, beta):  # noqa: N803
    """The Kaiser window of M points with shape parameter beta."""
    def formula(n, M):
        alpha = 0.5 * (M - 1)
        return i0(beta * sqrt(1 - ((n - alpha) / alpha) ** 2)) / i0(beta)
    return _window("kaiser", M, formula)


# Cephes' Chebyshev coefficients of i0e (float32 sets; the float64 ones extend them).
_I0E_SMALL = [-1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
              1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
              -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
              1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
              -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
              1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1]
_I0E_LARGE = [3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
              2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
              8.04490411014108831608E-1]
_I0E_SMALL_64 = [-4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
                 1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
                 -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
                 9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9]
_I0E_LARGE_64 = [-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
                 3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
                 1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
                 -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
                 7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
                 -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10]


def _chebyshev(x, coefficients):
    """Clenshaw's sum of the Chebyshev series with `coefficients` (Cephes' chbevl)."""
    b0 = b1 = b2 = lax.full(x.shape, 0, x.dtype, weak_type=x.weak_type)
    for c in coefficients:
        b2, b1 = b1, b0
        b0 = x * b1 - b2 + lax.full(x.shape, c, x.dtype, weak_type=x.weak_type)
    return 0.5 * (b0 - b2)


def _i0e(x):
    """exp(-|x|) i0(x) for float32 or float64 x."""
    wide = x.dtype == dtypes.float64
    x = abs(x)
    small = x <= 8.0
    # Each branch sees only the arguments it is meant for, so the other's derivative stays finite.
    x_small, x_large = where(small, x, 0.0), where(small, 8.0, x)
    near = _chebyshev(0.5 * x_small - 2.0, (_I0E_SMALL_64 if wide else []) + _I0E_SMALL)
    far = _chebyshev(32.0 / x_large - 2.0, (_I0E_LARGE_64 if wide else []) + _I0E_LARGE) / sqrt(x_large)
    return where(small, near, far)


def i0(x):
    """The modified Bessel function of the first kind, order 0, elementwise."""
    (x,) = promote_args_inexact("i0", x)
    if not dtypes.is_float(x.dtype):
        raise ValueError(f"Unsupported input type to jax.numpy.i0: {x.dtype}")
    computed = x if x.dtype in (dtypes.float32, dtypes.float64) else astype(x, dtypes.float32)
    out = exp(abs(computed)) * _i0e(computed)
    return out if computed is x else astype(out, x.dtype)
