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
