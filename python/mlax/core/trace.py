"""Tracing: running a Python function on Tracers to record its ops as MLIR.

A `Trace` is one `func.func` under construction (built by core/ir_builder.py). While a trace is active,
every op bound (by mlax.numpy, mlax.lax, ...) is appended to the innermost
trace's block. Values from an enclosing trace or concrete device arrays that
an inner function uses are *captured*: they become extra arguments of the
function, and whoever calls it (a transformation op, or the runtime for a
top-level jit) passes them in. With no trace active, ops run eagerly.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import numpy.typing as npt

from iree.compiler import ir

from mlax import errors
from mlax.core import dtypes, mlir
from mlax.core.array_methods import ArrayMethods
from mlax.core.aval import ShapeDtypeStruct, ShapedArray
from mlax.core.ir_builder import FunctionBuilder, ModuleBuilder

if TYPE_CHECKING:
    from mlax.core.op import Op

_state = threading.local()

# numpy constants with more elements than this are moved to the device and
# passed as arguments rather than printed into the IR.
_INLINE_CONSTANT_LIMIT: int = 1024


def _stack() -> list["Trace"]:
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


def current_trace() -> "Trace | None":
    stack = _stack()
    return stack[-1] if stack else None


def _not_installed(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("mlax's runtime and op table are not loaded: import mlax (not only mlax.core)")


# The hooks' signatures (see _Hooks).
EagerHook = Callable[["Op", Sequence[Any], dict[str, Any]], list[Any]]
DevicePutHook = Callable[[np.ndarray, ShapedArray], ArrayMethods]
ConstantHook = Callable[["Trace", np.ndarray, ShapedArray], "Tracer"]


class _Hooks:
    """What the layers above core install: how to run an op outside any trace and
    move numpy data to a device (the runtime), and how to build a constant (ops)."""

    eager: EagerHook = _not_installed            # (op, operands, attrs) -> list of arrays
    device_put: DevicePutHook = _not_installed   # (numpy array, aval) -> mlax.Array of that aval
    constant: ConstantHook = _not_installed      # (trace, numpy value, aval) -> Tracer in that trace


_hooks = _Hooks()


def install_runtime(eager: EagerHook, device_put: DevicePutHook) -> None:
    """Called by the runtime: ops bound outside any trace run through `eager`."""
    _hooks.eager, _hooks.device_put = eager, device_put


def device_constant(value: np.ndarray, aval: ShapedArray) -> ArrayMethods:
    """An mlax.Array holding `value`, typed `aval` (made by the runtime's hook)."""
    return _hooks.device_put(value, aval)


def install_constant_builder(constant: ConstantHook) -> None:
    """Called by the op table: `constant(trace, value, aval)` emits a constant op."""
    _hooks.constant = constant


class Trace:
    """A function under construction from Python code; use as a context manager
    around tracing. Its ops are built by a FunctionBuilder; the trace adds the
    Tracers, the capture of outer values and its place on the trace stack."""

    def __init__(self, builder: ModuleBuilder, name: str, in_avals: Sequence[ShapedArray],
                 parent: "Trace | None" = None, private: bool = True, embed_constants: bool = False,
                 origin: str | None = None) -> None:
        self.builder = builder
        self.parent = parent
        self.origin = origin  # the user's file:line that started tracing, for tracer-leak errors
        # Concrete arrays become constants in the IR rather than extra arguments
        # (for export, whose program must stand alone).
        self.embed_constants = embed_constants
        self.function = FunctionBuilder(builder, name, in_avals, private)
        self.name = self.function.name
        self.in_avals = list(in_avals)
        self.captures: list[ArrayMethods] = []    # outer values, in the order of the extra arguments
        self._captured: dict[int, ir.Value] = {}  # id(outer value) -> block argument
        self.finished = False
        self.out_avals: list[ShapedArray] | None = None
        self.args = [Tracer(self, v, a) for v, a in zip(self.function.arguments, self.in_avals)]

    def __enter__(self) -> "Trace":
        _stack().append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        popped = _stack().pop()
        assert popped is self
        self.finished = True

    # -- values -------------------------------------------------------------
    def lift(self, x: Any) -> ir.Value:
        """The ir.Value standing for `x` inside this function."""
        if isinstance(x, Tracer):
            if x.is_linear:
                raise TypeError(f"a tangent ({x.aval.str_short()}) was used where a primal value is needed: "
                                "a differentiation rule applied a non-linear operation to it")
            if x._trace is self:
                return x.value
            if x._trace.finished or not self._encloses(x._trace):
                raise x.leak_error()
            return self._capture(x)
        if _is_concrete_array(x) and not self.embed_constants:
            return self._capture(x)
        value = np.asarray(x) if not isinstance(x, (bool, int, float, complex)) else x
        aval = aval_of(value)
        if isinstance(value, np.ndarray) and value.size > _INLINE_CONSTANT_LIMIT and not self.embed_constants:
            return self._capture(device_constant(value, aval))
        return self.constant(np.asarray(value, aval.dtype), aval).value

    def _encloses(self, other: "Trace") -> bool:
        trace = self.parent
        while trace is not None:
            if trace is other:
                return True
            trace = trace.parent
        return False

    def _capture(self, outer: ArrayMethods) -> ir.Value:
        key = id(outer)
        if key not in self._captured:
            self._captured[key] = self.function.add_argument(outer.aval.strip_weak_type())
            self.captures.append(outer)
        return self._captured[key]

    def constant(self, value: np.ndarray, aval: ShapedArray) -> "Tracer":
        """A constant op holding the numpy array `value` (built by the op table's constant builder)."""
        return _hooks.constant(self, value, aval)

    # -- ops ----------------------------------------------------------------
    def emit(self, op: "Op", operands: Sequence[Any], attrs: dict[str, Any],
             out_avals: Sequence[ShapedArray] | None = None) -> list["Tracer"]:
        """Append `op` to this function; return its results as Tracers."""
        values = [self.lift(x) for x in operands]
        if out_avals is None:
            out_avals = op.abstract_eval([aval_of(x) for x in operands], attrs)
        location = current_location() or user_location(op.mlir_name)
        results = self.function.emit(op, values, attrs, out_avals, location)
        return [Tracer(self, r, a) for r, a in zip(results, out_avals)]

    def call(self, name: str, operands: Sequence[Any], out_avals: Sequence[ShapedArray]) -> list["Tracer"]:
        """Append a func.call of the function `name` in this module; return its results."""
        results = self.function.call(name, [self.lift(x) for x in operands], out_avals)
        return [Tracer(self, r, a) for r, a in zip(results, out_avals)]

    def finish(self, outputs: Sequence[Any]) -> None:
        """Return `outputs` from the function and fix its signature."""
        values = [self.lift(x) for x in outputs]
        self.out_avals = [aval_of(x) for x in outputs]
        self.function.finish(values)


def aval_of(x: Any) -> ShapedArray:
    """The ShapedArray of a Tracer, Array, numpy value or Python scalar."""
    if isinstance(x, Tracer) or _is_concrete_array(x):
        return x.aval
    if isinstance(x, (bool, int, float, complex)):
        return ShapedArray((), dtypes.python_scalar_dtype(x), weak_type=True)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return ShapedArray(np.shape(x), dtypes.canonicalize(x.dtype))
    if isinstance(x, (list, tuple)):
        return aval_of(np.asarray(x))
    raise TypeError(f"{type(x).__name__} is not a valid mlax array type: {x!r}")


def _is_concrete_array(x: Any) -> bool:
    """Whether x is an mlax.Array (the runtime's arrays are the ArrayMethods that are not Tracers)."""
    return isinstance(x, ArrayMethods) and not isinstance(x, Tracer)


def arg_aval(x: Any, where: str) -> ShapedArray:
    """The abstract value a transformation sees for a dynamic argument leaf."""
    if isinstance(x, ArrayMethods):
        return x.aval
    if isinstance(x, (ShapeDtypeStruct, ShapedArray)):
        return ShapedArray(x.shape, dtypes.canonicalize(x.dtype), x.weak_type)
    if isinstance(x, (np.ndarray, np.generic, bool, int, float, complex)):
        return aval_of(x)
    raise TypeError(f"{where} of type {type(x).__name__} is not a valid mlax type: pass arrays, "
                    "scalars or pytrees of them, or mark it static (static_argnums/static_argnames)")


def bind(op: "Op", operands: Sequence[Any], attrs: dict[str, Any]) -> Any:
    """Apply `op`: record it on the tape of linear operands, in the active trace, or
    run it now (through the runtime's eager hook) when no trace is active."""
    linear = next((x for x in operands if getattr(x, "is_linear", False)), None)
    if linear is not None:
        outs = linear.tape.record(op, operands, attrs)
    elif (trace := current_trace()) is None:
        leaked = next((x for x in operands if isinstance(x, Tracer)), None)
        if leaked is not None:
            raise leaked.leak_error()
        outs = _hooks.eager(op, operands, attrs)
    elif getattr(_state, "compile_time_eval", False) and not any(isinstance(x, Tracer) for x in operands):
        _state.compile_time_eval = False  # the runtime traces its kernels without it
        try:
            outs = _hooks.eager(op, operands, attrs)
        finally:
            _state.compile_time_eval = True
    else:
        outs = trace.emit(op, operands, attrs)
    return outs if op.multiple_results else outs[0]


# -- Tracers ------------------------------------------------------------------
_MLAX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_outside_mlax: dict[str, bool] = {}  # file name -> not part of mlax (nor functools)


def _user_code_frame() -> FrameType | None:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        outside = _outside_mlax.get(filename)
        if outside is None:
            path = os.path.abspath(filename)
            outside = _outside_mlax[filename] = not path.startswith(_MLAX_DIR) and "functools" not in path
        if outside:
            return frame
        frame = frame.f_back
    return None


@contextlib.contextmanager
def compile_time_eval() -> Iterator[None]:
    """Inside the block (in this thread), an op whose operands are all concrete runs now,
    even while a function is traced: its result is a concrete array, not a traced value."""
    outer = getattr(_state, "compile_time_eval", False)
    _state.compile_time_eval = True
    try:
        yield
    finally:
        _state.compile_time_eval = outer


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[None]:
    """Ops traced inside the block (in this thread) have `name/` before their location's
    name (nested scopes: outer/inner/mlax.sin at file:line)."""
    outer: tuple[str, ...] = getattr(_state, "name_stack", ())
    _state.name_stack = outer + (name,)
    try:
        yield
    finally:
        _state.name_stack = outer


def current_location() -> ir.Location | None:
    """The location `at_location` gives this thread's new ops now, if any."""
    return getattr(_state, "location", None)


@contextlib.contextmanager
def at_location(location: ir.Location | None) -> Iterator[None]:
    """Ops emitted meanwhile (by this thread) take `location`: a pass applying an op's rule
    gives the new ops the location of the op they stand for."""
    outer = getattr(_state, "location", None)
    _state.location = location
    try:
        yield
    finally:
        _state.location = outer


def user_location(op_name: str) -> ir.Location:
    """The location of an op `op_name` emitted now: its name and the file:line of the
    innermost stack frame outside the mlax package, as one name ("mlax.sort at
    train.py:12", after the names of the enclosing name_scopes), which IREE's diagnostics
    quote whole (they print only the file:line of a structured location)."""
    frame = _user_code_frame()
    where = "<unknown>" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"
    scope = "".join(f"{name}/" for name in getattr(_state, "name_stack", ()))
    return ir.Location.name(f"{scope}{op_name} at {where}", context=mlir.context())


def user_frame() -> str:
    """'file:line' of the innermost stack frame outside the mlax package."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_MLAX_DIR) and "functools" not in filename:
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class Tracer(ArrayMethods):
    """A value inside a function being traced: it has a shape and dtype, no data."""

    is_linear = False  # True for the symbolic tangents of reverse-mode autodiff

    def __init__(self, trace: Trace, value: ir.Value, aval: ShapedArray) -> None:
        self._trace = trace
        self.value = value  # None for a LinearValue
        self.aval = aval

    def leak_error(self) -> errors.UnexpectedTracerError:
        """The error for this tracer used outside the transformation that made it."""
        trace = self._trace
        started = f" (traced from {trace.origin})" if trace.origin else ""
        return errors.UnexpectedTracerError(
            f"a traced value ({self.aval.str_short()}) from a finished transformation was used outside it at "
            f"{user_frame()} (a tracer leak): it was created while tracing '{trace.name}'{started}; return "
            "values from transformed functions instead of storing them in globals or closures")

    def _concretization_error(self, what: str,
                              kind: type[errors.ConcretizationTypeError] = errors.ConcretizationTypeError
                              ) -> errors.ConcretizationTypeError:
        return kind(
            f"Abstract tracer value encountered where a concrete value is expected: {what} "
            f"of a traced array {self.aval.str_short()} at {user_frame()}. The value is only known "
            "when the compiled program runs; use mlax.numpy.where / mlax.lax.cond for data-dependent "
            "choices, or mark the argument static (static_argnums)."
        )

    def __bool__(self) -> NoReturn:
        raise self._concretization_error("bool() (Python control flow such as `if` or `while`)",
                                         errors.TracerBoolConversionError)

    def __int__(self) -> NoReturn:
        raise self._concretization_error("int()")

    def __float__(self) -> NoReturn:
        raise self._concretization_error("float()")

    def __complex__(self) -> NoReturn:
        raise self._concretization_error("complex()")

    def __index__(self) -> NoReturn:
        raise errors.TracerIntegerConversionError(
            f"a traced array {self.aval.str_short()} was used as a Python integer (an index or a "
            f"range bound) at {user_frame()}; use mlax.lax.dynamic_slice or static arguments"
        )

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> NoReturn:
        raise errors.TracerArrayConversionError(
            f"a traced array {self.aval.str_short()} was converted to a NumPy array at {user_frame()}; "
            "inside jit/grad/vmap use mlax.numpy functions instead of numpy ones"
        )

    def item(self) -> NoReturn:
        raise self._concretization_error(".item()")

    def tolist(self) -> NoReturn:
        raise self._concretization_error(".tolist()")

    def __iter__(self) -> Iterator[Any]:
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self) -> NoReturn:
        raise TypeError("traced arrays are unhashable")

    def __repr__(self) -> str:
        return f"Traced<{self.aval.str_short()}>"
