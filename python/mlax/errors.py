"""The exceptions mlax raises, so users can catch them by name."""


class MlaxError(Exception):
    """Base class of mlax's own errors."""


class ConcretizationTypeError(TypeError, MlaxError):
    """A traced value was used where Python needs a concrete one (if, bool(), int())."""


class TracerBoolConversionError(ConcretizationTypeError):
    """A traced array was used as a Python bool (an `if` or `while` on traced data)."""


class TracerArrayConversionError(TypeError, MlaxError):
    """A traced value was converted to a NumPy array inside a transformation."""


class TracerIntegerConversionError(TypeError, MlaxError):
    """A traced value was used as a Python integer (an index, a range bound)."""


class NonConcreteBooleanIndexError(IndexError, MlaxError):
    """A boolean mask index was traced: the result's shape would depend on its values."""


class UnexpectedTracerError(MlaxError):
    """A traced value escaped the transformation that created it."""


class CompilationError(MlaxError):
    """A stage of the compiler failed; the message names the stage and an IR file."""

    def __init__(self, stage, message, ir_path=None):
        self.stage = stage
        self.ir_path = ir_path
        where = f"; the IR it failed on is saved at {ir_path}" if ir_path else ""
        super().__init__(f"{stage} failed: {message}{where}")


class ExportError(MlaxError):
    """An exported artifact is corrupted, truncated, or from an incompatible version."""


class ShapeError(MlaxError, ValueError, TypeError):
    """Operands whose shapes (or argument counts) do not fit together: a ValueError, as
    NumPy raises, and a TypeError, as JAX raises, so that either `except` catches it."""


class IndexTypeError(MlaxError, IndexError, TypeError):
    """An index of a type that cannot index (a float, a string): an IndexError, as NumPy
    raises, and a TypeError, as JAX raises."""


class BackendError(MlaxError, RuntimeError):
    """A backend, target or device is unknown or not available here."""


class DeviceOutOfMemoryError(MemoryError, MlaxError):
    """A device could not allocate what a program or a transfer needed; the message names the
    device and the bytes involved."""


class DeviceExecutionError(MlaxError, RuntimeError):
    """A program failed on its device. Calls return before their device work ends, so this is
    raised where a result is next read or waited for; the message names the program and device."""
