"""mlax.numpy: the NumPy API over mlax arrays (`import mlax.numpy as mnp`).

Every function builds mlax ops, so it runs eagerly on arrays and traces
under jit and the transformations; results match NumPy to float32 tolerance.

The modules form a chain, each importing only those before it:
_dtypes (dtype names, asarray) -> _promotion -> _shape -> _ufuncs -> _creation
-> _indexing -> _reductions -> _diagonals, _tiling, _sorting, _contractions,
_convolve -> _differences, _editing, _nan_reductions, _polynomial, _windows,
_index_tricks -> linalg; array_methods attaches the methods of mlax.Array and Tracer.
"""

from mlax.numpy._dtypes import *  # noqa: F401,F403
from mlax.numpy._promotion import *  # noqa: F401,F403
from mlax.numpy._shape import *  # noqa: F401,F403
from mlax.numpy._ufuncs import *  # noqa: F401,F403
from mlax.numpy._ufuncs import abs, round  # noqa: F401,A004  (NumPy's names shadow builtins)
from mlax.numpy._creation import *  # noqa: F401,F403
from mlax.numpy._indexing import take, take_along_axis  # noqa: F401
from mlax.numpy._reductions import *  # noqa: F401,F403
from mlax.numpy._reductions import all, any, max, min, sum  # noqa: F401,A004
from mlax.numpy._diagonals import (diag, diag_indices, diag_indices_from, diagflat, diagonal, trace,  # noqa: F401
                                   tril_indices, tril_indices_from, triu_indices, triu_indices_from)
from mlax.numpy._tiling import pad, repeat, tile  # noqa: F401
from mlax.numpy._sorting import argsort, median, percentile, quantile, searchsorted, sort  # noqa: F401
from mlax.numpy._contractions import (dot, einsum, einsum_path, inner, kron, matmul, outer, tensordot,  # noqa: F401
                                      vdot)
from mlax.numpy._convolve import convolve  # noqa: F401
from mlax.numpy._differences import cross, diff, ediff1d, gradient, interp, trapezoid  # noqa: F401
from mlax.numpy._editing import append, copy, delete, insert, resize  # noqa: F401
from mlax.numpy._nan_reductions import (nanargmax, nanargmin, nancumprod, nancumsum, nanmedian,  # noqa: F401
                                        nanpercentile, nanquantile, nanstd, nanvar)
from mlax.numpy._polynomial import polyadd, polyder, polyint, polymul, polysub, polyval  # noqa: F401
from mlax.numpy._windows import bartlett, blackman, hamming, hanning, i0, kaiser  # noqa: F401
from mlax.numpy._index_tricks import c_, index_exp, mgrid, ogrid, r_, s_  # noqa: F401
from mlax.numpy import linalg  # noqa: F401,E402
from mlax.numpy import fft  # noqa: F401,E402
from mlax.numpy import array_methods  # noqa: F401,E402  (attaches the methods of mlax.Array and Tracer)
