"""mlax.numpy: the NumPy API over mlax arrays (`import mlax.numpy as mnp`).

Every function builds mlax ops, so it runs eagerly on arrays and traces
under jit and the transformations; results match NumPy to float32 tolerance.

The modules form a chain, each importing only those before it:
_dtypes (dtype names, asarray) -> _promotion -> _shape -> _ufuncs -> _creation
-> _io -> _indexing -> _reductions -> _diagonals, _tiling, _sorting, _contractions,
_convolve -> _differences, _editing, _nan_reductions, _windows, _index_tricks,
_statistics, _functional, _sets -> _selection -> linalg -> _polynomial; array_methods
attaches the methods of mlax.Array and Tracer.
"""

from mlax.numpy._dtypes import *  # noqa: F401,F403
from mlax.numpy._promotion import *  # noqa: F401,F403
from mlax.numpy._shape import *  # noqa: F401,F403
from mlax.numpy._ufuncs import *  # noqa: F401,F403
from mlax.numpy._ufuncs import abs, pow, round  # noqa: F401,A004  (NumPy's names shadow builtins)
from mlax.numpy._creation import *  # noqa: F401,F403
from mlax.numpy._io import *  # noqa: F401,F403
from mlax.numpy._indexing import take, take_along_axis  # noqa: F401
from mlax.numpy._reductions import *  # noqa: F401,F403
from mlax.numpy._reductions import all, any, max, min, sum  # noqa: F401,A004
from mlax.numpy._diagonals import (diag, diag_indices, diag_indices_from, diagflat, diagonal, trace,  # noqa: F401
                                   tril_indices, tril_indices_from, triu_indices, triu_indices_from)
from mlax.numpy._tiling import pad, repeat, tile  # noqa: F401
from mlax.numpy._sorting import argsort, median, percentile, quantile, searchsorted, sort  # noqa: F401
from mlax.numpy._contractions import (dot, einsum, einsum_path, inner, kron, matmul, matvec, outer,  # noqa: F401
                                      tensordot, vdot, vecmat)
from mlax.numpy._linalg_products import vecdot  # noqa: F401  (jnp.vecdot is jnp.linalg.vecdot)
from mlax.numpy._convolve import convolve  # noqa: F401
from mlax.numpy._differences import cross, diff, ediff1d, gradient, interp, trapezoid, unwrap  # noqa: F401
from mlax.numpy._editing import append, copy, delete, insert, resize  # noqa: F401
from mlax.numpy._nan_reductions import (nanargmax, nanargmin, nancumprod, nancumsum, nanmedian,  # noqa: F401
                                        nanpercentile, nanquantile, nanstd, nanvar)
from mlax.numpy._polynomial import (poly, polyadd, polyder, polydiv, polyfit, polyint, polymul, polysub,  # noqa: F401
                                    polyval, roots, vander)
from mlax.numpy._windows import bartlett, blackman, hamming, hanning, i0, kaiser  # noqa: F401
from mlax.numpy._index_tricks import c_, index_exp, mgrid, ogrid, r_, s_  # noqa: F401
from mlax.numpy._statistics import (bincount, corrcoef, correlate, cov, digitize, histogram,  # noqa: F401
                                    histogram2d, histogram_bin_edges, histogramdd)
from mlax.numpy._functional import apply_along_axis, apply_over_axes, frompyfunc, ufunc, vectorize  # noqa: F401
from mlax.numpy._sets import (intersect1d, setdiff1d, setxor1d, union1d, unique, unique_all, unique_counts,  # noqa: F401
                              unique_inverse, unique_values)
from mlax.numpy._selection import (argpartition, block, choose, compress, extract, fill_diagonal, lexsort,  # noqa: F401
                                   mask_indices, partition, piecewise, place, put, put_along_axis, ravel_multi_index,
                                   sort_complex, trim_zeros, unravel_index, unstack)
from mlax.numpy import linalg  # noqa: F401,E402
from mlax.numpy import fft  # noqa: F401,E402
from mlax.numpy import array_methods  # noqa: F401,E402  (attaches the methods of mlax.Array and Tracer)
