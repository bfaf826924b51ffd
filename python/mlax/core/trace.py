"""Tracing: running a Python function on Tracers to record its ops as MLIR.

A `Trace` is one `func.func` under construction. While a trace is active,
every op bound (by mlax.numpy, mlax.lax, ...) is appended to the innermost
trace's block. Values from an enclosing trace or concrete device arrays that
an inner function uses are *captured*: they become extra arguments of the
function, and whoever calls it (a transformation op, or the runtime for a
top-level jit) passes them in. With no trace active, ops run eagerly.
"""

import os
import sys
import threading

import numpy as np

from iree.compiler import ir
from iree.compiler.dialects import func as func_dialect

from mlax import errors
from mlax.core import dtypes, mlir
from mlax.core.array_methods import ArrayMethods
from mlax.core.aval import ShapedArray

_state = threading.local()

# numpy constants with more elements than this are moved to the device and
# passed as arguments rather than printed into the IR.
_INLINE_CONSTANT_LIMIT = 1024


def _stack():
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


def current_trace():
    stack = _stack()
    return stack[-1] if stack else None


class ModuleBuilder:
    """A module being traced (new, or an existing module op a pass extends),
    with unique function names."""

    def __init__(self, module_op=None):
        if module_op is None:
            with mlir.context(), ir.Location.unknown():
                self.module = ir.Module.create()
            module_op = self.module.operation
        self.body = module_op.regions[0].blocks[0]
        self.total_elements = 0     # produced by the ops traced into it
        self.largest_elements = 0   # produced by its largest op
        self.has_control_flow = False
        self._names = {ir.StringAttr(op.attributes["sym_name"]).value
                       for op in self.body.operations if "sym_name" in op.operation.attributes}

    @property
    def work(self):
        """The cost estimate that picks the executor: the elements the program produces,
        or, when it loops, those of its largest op (each step's dispatches are what the
        worker threads would have to pay off, however many steps run)."""
        return self.largest_elements if self.has_control_flow else self.total_elements

    def unique_name(self, base):
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in base) or "f"
        name, i = base, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name


class Trace:
    """A function under construction; use as a context manager around tracing."""

    def __init__(self, builder, name, in_avals, parent=None, private=True, embed_constants=False):
        self.builder = builder
        self.parent = parent
        # Concrete arrays become constants in the IR rather than extra arguments
        # (for export, whose program must stand alone).
        self.embed_constants = embed_constants
        self.name = builder.unique_name(name)
        self.in_avals = list(in_avals)
        self.captures = []          # outer values, in the order of the extra arguments
        self._captured = {}         # id(outer value) -> block argument
        self.finished = False
        self.out_avals = None
        with mlir.context(), ir.Location.unknown():
            fn_type = ir.FunctionType.get([a.mlir_type() for a in self.in_avals], [])
            with ir.InsertionPoint(builder.body):
                self.func = func_dialect.FuncOp(self.name, fn_type, visibility="private" if private else None)
            self.block = self.func.add_entry_block()
        self.args = [Tracer(self, v, a) for v, a in zip(self.block.arguments, self.in_avals)]

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        popped = _stack().pop()
        assert popped is self
        self.finished = True

    # -- values -------------------------------------------------------------
    def lift(self, x):
        """The ir.Value standing for `x` inside this function."""
        if isinstance(x, Tracer):
            if x.is_linear:
                raise TypeError(f"a tangent ({x.aval.str_short()}) was used where a primal value is needed: "
                                "a differentiation rule applied a non-linear operation to it")
            if x._trace is self:
                return x.value
            if x._trace.finished or not self._encloses(x._trace):
                raise errors.UnexpectedTracerError(
                    f"a traced value ({x.aval.str_short()}) from a finished transformation was used "
                    f"outside it (a tracer leak): it was created while tracing '{x._trace.name}'; "
                    "return values from transformed functions instead of storing them in globals or closures"
                )
            return self._capture(x)
        if _is_concrete_array(x) and not self.embed_constants:
            return self._capture(x)
        value = np.asarray(x) if not isinstance(x, (bool, int, float, complex)) else x
        aval = aval_of(value)
        if isinstance(value, np.ndarray) and value.size > _INLINE_CONSTANT_LIMIT and not self.embed_constants:
            from mlax.core.array import device_put

            return self._capture(device_put(value))
        return self.emit_constant(np.asarray(value, aval.dtype), aval)

    def _encloses(self, other):
        trace = self.parent
        while trace is not None:
            if trace is other:
                return True
            trace = trace.parent
        return False

    def _capture(self, outer):
        key = id(outer)
        if key not in self._captured:
            with mlir.context(), ir.Location.unknown():
                arg = self.block.add_argument(outer.aval.strip_weak_type().mlir_type(), ir.Location.unknown())
            self._captured[key] = arg
            self.captures.append(outer)
        return self._captured[key]

    def emit_constant(self, value, aval):
        """A constant op holding the numpy array `value` (complex ones are built
        from their real and imaginary parts: MLIR's Python bindings cannot read
        complex dense attributes back)."""
        return self.constant(value, aval).value

    def constant(self, value, aval):
        from mlax.core.op import OPS

        if dtypes.is_complex(aval.dtype):
            part = aval.update(dtype=dtypes.real_dtype(aval.dtype))
            real, imag = self.constant(np.real(value), part), self.constant(np.imag(value), part)
            [out] = self.emit(OPS["complex"], [real, imag], {}, [aval])
            return out
        [out] = self.emit(OPS["constant"], [], {"value": value}, [aval])
        return out

    # -- ops ----------------------------------------------------------------
    def emit(self, op, operands, attrs, out_avals=None):
        """Append `op` to this function; return its results as Tracers."""
        values = [self.lift(x) for x in operands]
        if out_avals is None:
            out_avals = op.abstract_eval([aval_of(x) for x in operands], attrs)
        with mlir.context(), ir.Location.unknown(), ir.InsertionPoint(self.block):
            operation = ir.Operation.create(
                op.mlir_name,
                results=[a.mlir_type() for a in out_avals],
                operands=values,
                attributes=op.encode_attrs(attrs),
                regions=op.regions,
            )
        produced = sum(a.size for a in out_avals if None not in a.shape)
        self.builder.total_elements += produced
        self.builder.largest_elements = max(self.builder.largest_elements, produced)
        self.builder.has_control_flow |= "control_flow" in op.traits
        return [Tracer(self, r, a) for r, a in zip(operation.results, out_avals)]

    def call(self, name, operands, out_avals):
        """Append a func.call of the function `name` in this module; return its results."""
        values = [self.lift(x) for x in operands]
        with mlir.context(), ir.Location.unknown(), ir.InsertionPoint(self.block):
            call = func_dialect.CallOp([a.mlir_type() for a in out_avals], ir.FlatSymbolRefAttr.get(name), values)
        return [Tracer(self, r, a) for r, a in zip(call.results, out_avals)]

    def finish(self, outputs):
        """Return `outputs` from the function and fix its signature."""
        values = [self.lift(x) for x in outputs]
        self.out_avals = [aval_of(x) for x in outputs]
        with mlir.context(), ir.Location.unknown(), ir.InsertionPoint(self.block):
            func_dialect.ReturnOp(values)
            arg_types = [a.type for a in self.block.arguments]
            self.func.attributes["function_type"] = ir.TypeAttr.get(
                ir.FunctionType.get(arg_types, [v.type for v in values]))


def aval_of(x):
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


def _is_concrete_array(x):
    from mlax.core.array import Array

    return isinstance(x, Array)


def bind(op, operands, attrs):
    """Apply `op`: record it in the active trace, or run it now when none is."""
    trace = current_trace()
    if any(getattr(x, "is_linear", False) for x in operands):
        from mlax.core.linear import record

        outs = record(op, operands, attrs)
    elif trace is None:
        from mlax.runtime.eager import apply_eagerly

        outs = apply_eagerly(op, operands, attrs)
    else:
        outs = trace.emit(op, operands, attrs)
    return outs if op.multiple_results else outs[0]


# -- Tracers ------------------------------------------------------------------
_MLAX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame():
    """'file:line' of the innermost stack frame outside the mlax package."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_MLAX_DIR) and "functools" not in filename:
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class Tracer(ArrayMethods):
    """A value inside a function being traced: it has a shape and dtype, no data."""

    is_linear = False  # True for the symbolic tangents of reverse-mode autodiff

    def __init__(self, trace, value, aval):
        self._trace = trace
        self.value = value
        self.aval = aval

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def _concretization_error(self, what):
        return errors.ConcretizationTypeError(
            f"Abstract tracer value encountered where a concrete value is expected: {what} "
            f"of a traced array {self.aval.str_short()} at {user_frame()}. The value is only known "
            "when the compiled program runs; use mlax.numpy.where / mlax.lax.cond for data-dependent "
            "choices, or mark the argument static (static_argnums)."
        )

    def __bool__(self):
        raise self._concretization_error("bool() (Python control flow such as `if` or `while`)")

    def __int__(self):
        raise self._concretization_error("int()")

    def __float__(self):
        raise self._concretization_error("float()")

    def __complex__(self):
        raise self._concretization_error("complex()")

    def __index__(self):
        raise errors.TracerIntegerConversionError(
            f"a traced array {self.aval.str_short()} was used as a Python integer (an index or a "
            f"range bound) at {user_frame()}; use mlax.lax.dynamic_slice or static arguments"
        )

    def __array__(self, dtype=None, copy=None):
        raise errors.TracerArrayConversionError(
            f"a traced array {self.aval.str_short()} was converted to a NumPy array at {user_frame()}; "
            "inside jit/grad/vmap use mlax.numpy functions instead of numpy ones"
        )

    def item(self):
        raise self._concretization_error(".item()")

    def tolist(self):
        raise self._concretization_error(".tolist()")

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        raise TypeError("traced arrays are unhashable")

    def __repr__(self):
        return f"Traced<{self.aval.str_short()}>"
