"""jax.typing for mlax: the annotations of arguments that become arrays (ArrayLike)
and of dtype arguments (DTypeLike)."""

from typing import Union

import numpy as np

from mlax.core.array_methods import ArrayMethods

# An mlax array (or traced value), a NumPy array or scalar, or a Python scalar.
ArrayLike = Union[ArrayMethods, np.ndarray, np.bool_, np.number, bool, int, float, complex]

# What np.dtype accepts: a dtype, a scalar type, a name, or an object with a `dtype`.
DTypeLike = Union[str, type, np.dtype]
