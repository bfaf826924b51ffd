"""The NumPy methods and operators of mlax.Array and Tracer, attached to their
shared base class (core's ArrayMethods) when mlax.numpy is imported.

Each forwards to the mlax.numpy function of the NumPy name, so `x + y`,
`x.sum(0)` and `x[1:, None]` mean the same traced or eager.
"""

import numpy as np

from mlax.core.array_methods import ArrayMethods


import mlax.numpy as mnp  # still initializing when this module is imported: used only in calls


def _mnp():
    return mnp


# Operators: Python method -> (mlax.numpy function, operands reversed?)
_OPERATORS = {
    "__add__": ("add", False), "__radd__": ("add", True),
    "__sub__": ("subtract", False), "__rsub__": ("subtract", True),
    "__mul__": ("multiply", False), "__rmul__": ("multiply", True),
    "__truediv__": ("true_divide", False), "__rtruediv__": ("true_divide", True),
    "__floordiv__": ("floor_divide", False), "__rfloordiv__": ("floor_divide", True),
    "__mod__": ("remainder", False), "__rmod__": ("remainder", True),
    "__pow__": ("power", False), "__rpow__": ("power", True),
    "__matmul__": ("matmul", False), "__rmatmul__": ("matmul", True),
    "__and__": ("bitwise_and", False), "__rand__": ("bitwise_and", True),
    "__or__": ("bitwise_or", False), "__ror__": ("bitwise_or", True),
    "__xor__": ("bitwise_xor", False), "__rxor__": ("bitwise_xor", True),
    "__lshift__": ("left_shift", False), "__rlshift__": ("left_shift", True),
    "__rshift__": ("right_shift", False), "__rrshift__": ("right_shift", True),
    "__lt__": ("less", False), "__le__": ("less_equal", False),
    "__gt__": ("greater", False), "__ge__": ("greater_equal", False),
    "__eq__": ("equal", False), "__ne__": ("not_equal", False),
    "__divmod__": ("divmod", False), "__rdivmod__": ("divmod", True),
}
_UNARY = {"__neg__": "negative", "__pos__": "positive", "__abs__": "abs", "__invert__": "invert"}
# Methods that forward to the mlax.numpy function of the same name.
_METHODS = ("sum", "prod", "mean", "var", "std", "max", "min", "argmax", "argmin", "all", "any",
            "cumsum", "cumprod", "squeeze", "swapaxes", "flatten", "ravel",
            "round", "clip", "conj", "conjugate", "dot", "repeat", "take", "trace", "nonzero",
            "argsort", "sort", "diagonal")


def _operator(name, reverse):
    def method(self, other):
        if not _is_operand(other):
            return NotImplemented
        fn = getattr(_mnp(), name)
        return fn(other, self) if reverse else fn(self, other)
    return method


def _unary(name):
    return lambda self: getattr(_mnp(), name)(self)


def _method(name):
    def method(self, *args, **kwargs):
        return getattr(_mnp(), name)(self, *args, **kwargs)
    method.__name__ = name
    return method


class _Methods:
    """Properties and methods whose signatures differ from their mlax.numpy function."""

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return _mnp().transpose(self)

    @property
    def mT(self):  # noqa: N802
        return _mnp().swapaxes(self, -1, -2)

    @property
    def real(self):
        return _mnp().real(self)

    @property
    def imag(self):
        return _mnp().imag(self)

    @property
    def at(self):
        return _mnp()._indexing.IndexUpdateHelper(self)

    def astype(self, dtype):
        return _mnp().astype(self, dtype)

    def reshape(self, *shape, order="C"):
        """x.reshape(2, 3) or x.reshape((2, 3))."""
        return _mnp().reshape(self, shape[0] if len(shape) == 1 else shape, order)

    def transpose(self, *axes):
        """x.transpose(), x.transpose(1, 0) or x.transpose((1, 0))."""
        return _mnp().transpose(self, (axes[0] if len(axes) == 1 else axes) if axes else None)

    def __getitem__(self, index):
        return _mnp()._indexing.getitem(self, index)


for _name, _member in vars(_Methods).items():
    if not _name.startswith("__") or _name == "__getitem__":
        setattr(ArrayMethods, _name, _member)
for _name, (_fn, _rev) in _OPERATORS.items():
    setattr(ArrayMethods, _name, _operator(_fn, _rev))
for _name, _fn in _UNARY.items():
    setattr(ArrayMethods, _name, _unary(_fn))
for _name in _METHODS:
    setattr(ArrayMethods, _name, _method(_name))


def _is_operand(x):
    return isinstance(x, (ArrayMethods, np.ndarray, np.generic, int, float, complex, bool))
