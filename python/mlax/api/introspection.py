"""Looking at programs without running them: eval_shape, typeof, make_jaxpr; and
naming and evaluating parts of them: named_call, named_scope, ensure_compile_time_eval.

mlax has no jaxpr: `make_jaxpr` returns the traced program in the mlax dialect
(`TracedProgram`), with the parts of JAX's ClosedJaxpr that carry over (avals,
constants, the ops of the function as equations).
"""

import contextlib
import functools

from mlax.api._staging import call_function, leaves_of, trace_function
from mlax.api.jit import Jitted
from mlax.core import mlir, op as op_table
from mlax.core.aval import ShapeDtypeStruct
from mlax.core.axes import bind_axis
from mlax.core.trace import arg_aval, aval_of, compile_time_eval, current_trace, name_scope


def _struct(aval):
    return ShapeDtypeStruct(aval.shape, aval.dtype, weak_type=aval.weak_type)


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes (ShapeDtypeStructs, weak types included) of fun(*args, **kwargs),
    found by tracing fun without compiling or running it. Arguments may be arrays,
    scalars or ShapeDtypeStructs."""
    if current_trace() is not None:  # fun may close over the values being traced
        avals = [arg_aval(x, f"argument {i}") for i, x in enumerate(leaves_of(args, kwargs))]
        sub, out_tree = trace_function(fun, args, kwargs, avals=avals)  # an uncalled function: simplify drops it
        return out_tree.unflatten([_struct(a) for a in sub.out_avals])
    program = Jitted(fun).trace(args, kwargs)
    return program.out_tree.unflatten([_struct(a) for a in program.out_avals])


def typeof(x):
    """The abstract value of `x` (a ShapedArray: shape, dtype, weak type), as tracing sees it."""
    return aval_of(x)


class Equation:
    """One op of a traced function: `primitive` (the op's entry, whose `.name` is its
    name: "sin", "dot_general"; "call" for a call of another function) and `params`
    (its attributes)."""

    __slots__ = ("primitive", "params")

    def __init__(self, primitive, params):
        self.primitive = primitive
        self.params = params

    def __repr__(self):
        return f"Equation({self.primitive.name}, {self.params})"


class _Call:
    name = "call"


class TracedProgram:
    """What `make_jaxpr` gives: a traced function in the mlax dialect. `str()` is the
    module's text (not JAX's jaxpr syntax); `in_avals`, `out_avals`, `consts` (the arrays
    it closed over, passed after its arguments) and `eqns` (the ops of the function, in
    order) are as JAX's ClosedJaxpr's; `.jaxpr` is the program itself."""

    def __init__(self, program):
        self._program = program
        self.in_avals = list(program.in_avals)
        self.out_avals = list(program.out_avals)
        self.consts = list(program.consts)

    @property
    def jaxpr(self):
        return self

    @property
    def eqns(self):
        function = self._program.builder.functions[self._program.name]
        operations = [op.operation for op in function.regions[0].blocks[0].operations][:-1]  # without the return
        return [Equation(op_table.lookup(op.name) or _Call, mlir.op_attrs(op) if op.name.startswith("mlax.") else {})
                for op in operations]

    def __str__(self):
        return self._program.as_text("mlax")

    def pretty_print(self):
        return str(self)


def make_jaxpr(fun, static_argnums=(), axis_env=None, return_shape=False):
    """`make_jaxpr(f)(*args)` traces f for these arguments and returns the TracedProgram
    (with return_shape, also the ShapeDtypeStructs of its results). `axis_env`, a list of
    (axis name, size), binds the axes collectives in f name."""
    jitted = Jitted(fun, static_argnums)

    @functools.wraps(fun)
    def traced(*args, **kwargs):
        with contextlib.ExitStack() as stack:
            for name, size in axis_env or ():
                stack.enter_context(bind_axis(name, size, "pmap"))
            program = jitted.trace(args, kwargs)
        closed = TracedProgram(program)
        if return_shape:
            return closed, program.out_tree.unflatten([_struct(a) for a in program.out_avals])
        return closed
    return traced


def named_call(fun, *, name=None):
    """fun, traced as a function of its own named `name` (default: fun's name) that the
    program calls; outside a trace, fun itself runs."""
    call_name = name or getattr(fun, "__name__", "fn")

    @functools.wraps(fun)
    def named(*args, **kwargs):
        if current_trace() is None:
            return fun(*args, **kwargs)
        sub, out_tree = trace_function(fun, args, kwargs, name=call_name)
        return out_tree.unflatten(call_function(sub, leaves_of(args, kwargs)))
    return named


def named_scope(name):
    """A context manager: ops traced inside it carry `name/` in their location
    (`name/mlax.sin at train.py:12`), as JAX's name stack prefixes their metadata."""
    if not isinstance(name, str):
        raise TypeError(f"named_scope name must be a string, got {type(name).__name__}: {name!r}")
    return name_scope(name)


def ensure_compile_time_eval():
    """A context manager inside which an op whose operands are all concrete runs at once,
    even while a function is traced (its result is a concrete array, usable in Python
    control flow); ops on traced values are traced as usual."""
    return compile_time_eval()
