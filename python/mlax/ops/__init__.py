"""The op table of the mlax dialect: importing this package defines every op.

Each module defines one family of ops (see its docstring). Every op's entry
(`<name>_p`, an `Op`) is registered in `OPS` by its name; its builder, the
function that binds it under JAX's lax name, is exported here, and mlax.lax
re-exports the builders.
"""

from mlax.core.op import OPS, Op, lookup  # noqa: F401
from mlax.ops import (collectives, control_flow, conversion, convolution, elementwise, fourier, higher_order,  # noqa: F401
                      indexing, linalg, numeric, reduction, sorting, structural)
from mlax.ops.elementwise import *  # noqa: F401,F403
from mlax.ops.conversion import *  # noqa: F401,F403
from mlax.ops.numeric import *  # noqa: F401,F403
from mlax.ops.structural import *  # noqa: F401,F403
from mlax.ops.reduction import *  # noqa: F401,F403
from mlax.ops.indexing import *  # noqa: F401,F403
from mlax.ops.sorting import *  # noqa: F401,F403
from mlax.ops.linalg import *  # noqa: F401,F403
from mlax.ops.convolution import *  # noqa: F401,F403
from mlax.ops.control_flow import *  # noqa: F401,F403
from mlax.ops.collectives import *  # noqa: F401,F403
from mlax.ops.higher_order import *  # noqa: F401,F403
from mlax.ops.fourier import *  # noqa: F401,F403
from mlax.ops.special import *  # noqa: F401,F403

__all__ = sorted({name for family in (elementwise, conversion, numeric, structural, reduction, indexing, sorting, linalg,
                                      convolution, control_flow, collectives, higher_order, fourier)
                  for name in family.__all__})
