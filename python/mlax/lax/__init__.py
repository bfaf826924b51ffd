"""mlax.lax: the primitive operations, with JAX's names and semantics.

Arguments must already agree in dtype and rank (no promotion and no rank
broadcasting, unlike mlax.numpy); as in jax.lax, 0-d arrays and axes of size 1
of elementwise operands broadcast, and Python scalars take the dtype of the
array they meet.
"""

from mlax.ops import *  # noqa: F401,F403
from mlax.api.custom_rules import stop_gradient  # noqa: F401
from mlax.lax.convolution import (ConvDimensionNumbers, conv, conv_dimension_numbers,  # noqa: F401
                                  conv_general_dilated, conv_with_general_padding, padtype_to_pads, reduce_window)
from mlax.lax.control_flow import cond, fori_loop, map, scan, switch, while_loop  # noqa: F401,A004
from mlax.lax.parallel import all_gather, axis_index, pmax, pmean, pmin, ppermute, psum  # noqa: F401
from mlax.lax import linalg  # noqa: F401,E402
from mlax.lax.rounding import RoundingMethod, round  # noqa: F401,E402,A004
from mlax.lax.gather_scatter import (GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers,  # noqa: F401,E402
                                     gather, scatter, scatter_add, scatter_max, scatter_min, scatter_mul)
from mlax.lax._types import (ConvGeneralDilatedDimensionNumbers, DotDimensionNumbers, Precision,  # noqa: F401,E402
                             PrecisionLike, dtype)
from mlax.lax._shapes import (batch_matmul, broadcast_like, broadcast_shapes, broadcast_to_rank,  # noqa: F401,E402
                              collapse, empty, full_like, select_n, shape_as_value, split, stack, tile, unstack)
from mlax.lax._slicing import (dynamic_slice_in_dim, dynamic_update_index_in_dim,  # noqa: F401,E402
                               dynamic_update_slice_in_dim, index_in_dim, index_take, scatter_apply, scatter_sub)
from mlax.lax._reductions import (approx_max_k, approx_min_k, associative_scan, cumlogsumexp,  # noqa: F401,E402
                                  reduce, reduce_xor)  # noqa: A004
from mlax.lax._bits import clz, mulhi, population_count  # noqa: F401,E402
from mlax.lax._conv_helpers import (conv_general_dilated_local, conv_general_dilated_patches,  # noqa: F401,E402
                                    conv_general_permutations, conv_general_shape_tuple, conv_shape_tuple,
                                    conv_transpose, conv_transpose_shape_tuple, reduce_window_shape_tuple)
from mlax.lax._collectives import all_to_all, axis_size, pshuffle, psum_scatter, pswapaxes  # noqa: F401,E402
from mlax.lax._special import (bessel_i0e, bessel_i1e, erfc, igamma, igamma_grad_a, igammac,  # noqa: F401,E402
                               random_gamma_grad)
from mlax.ops.special import reduce_precision, zeta  # noqa: F401,E402
from mlax.lax._custom_solvers import composite, custom_linear_solve, custom_root  # noqa: F401,E402
