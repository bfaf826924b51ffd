"""The op table of the mlax dialect: importing this package defines every op.

Each module defines one family of ops (see its docstring); `OPS` maps op names
to their `Op` entries.
"""

from mlax.core.op import OPS, Op, lookup  # noqa: F401
from mlax.ops import collectives, control_flow, convolution, elementwise, indexing, linalg, reduction, sorting, structural, transforms  # noqa: F401
