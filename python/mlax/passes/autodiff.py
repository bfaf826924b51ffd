"""mlax-autodiff: expand jvp and vjp ops into derivative functions.

Forward and reverse mode share one set of per-op rules, the op table's JVP
rules. The pass is an interpreter over the ops of the differentiated function
that calls each op's JVP rule; the rules emit ordinary mlax ops into a new
function, so higher derivatives come from running the pass again.

1. Pick a jvp/vjp op whose callee (and everything it calls) holds no
   unexpanded transformation op, so nested transformations expand innermost first.
2. jvp: write @f_jvp(args, tangents); interpret @f with the tangents; return
   the results and their tangents.
3. vjp: write @f_vjp(args, cotangents); interpret @f with symbolic tangents
   (LinearValues) for the wrt arguments, so the linear part of the JVP is
   recorded on a tape while the primal part is emitted. An op whose entry has a
   linearize rule (control flow, custom_vjp_call, checkpoint) emits its primal
   part and records one step on the tape that maps its results' cotangents to
   its operands'. Then walk the tape backwards, calling each step's transpose
   rule, and return the results and the cotangents of the wrt arguments.
4. Replace the op by a func.call of the new function; repeat until none is left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from iree.compiler import ir

from mlax.core import dtypes, mlir, op as op_table
from mlax.core.aval import ShapedArray
from mlax.core.mlir import Symbol
from mlax.core.tape import Equation, LinearValue, Tape
from mlax.core.trace import Trace, at_location, current_trace
from mlax.ops._rules import add_tangents, instantiate, is_linear
from mlax.passes._expansion import Interpreter, RuleContext, arg_avals, expand, reemit, result_avals, writer
from mlax.passes._registry import register


def _has_tangent(aval: ShapedArray) -> bool:
    return dtypes.is_inexact(aval.dtype)


class Differentiate(Interpreter):
    """Runs a function's body on Tracers paired with their tangents (None: zero), applying
    JVP rules where tangents flow. It is the context the rules get first."""

    unknown = "mlax-autodiff: cannot differentiate through {}"

    def run(self, name: str, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """(results, result tangents) of @name on `primals` with `tangents` (None: zero)."""
        pairs = self.walk(self.module.function(name), list(zip(primals, tangents)))
        return [p for p, _ in pairs], [t for _, t in pairs]

    def pullback(self, name: str, primals: Sequence[Any], tangents: Sequence[Any],
                 cotangents: Sequence[Any]) -> list[Any]:
        """Cotangents of the operands whose `tangents` are linear, given those of @name's
        results at `primals`: @name's linear part recorded on a new tape and transposed."""
        tape = Tape(cast(Trace, current_trace()))
        inner = [tape.new_input(t.aval) if is_linear(t) else None for t in tangents]
        _, out_tangents = self.run(name, primals, inner)
        return backward_pass(self, tape, out_tangents, cotangents, inner)

    def apply(self, operation: ir.Operation, entry: op_table.Op, ins: list[Any]) -> list[Any]:
        attrs = mlir.op_attrs(operation)
        out_tangents: list[Any]
        primals, tangents = [p for p, _ in ins], [t for _, t in ins]
        if all(t is None for t in tangents):
            outs = reemit(operation, entry, primals, attrs)
            out_tangents = [None] * len(outs)
        elif entry.jvp is None:
            raise NotImplementedError(f"differentiation rule for mlax.{entry.name} is not implemented")
        elif entry.linearize is not None and any(is_linear(t) for t in tangents):
            # Reverse mode: the rule emits the primal op and says how to map cotangents back.
            outs, backward = entry.linearize(self, primals, tangents, **attrs)
            out_tangents = [None] * len(outs) if backward is None else _record(entry.name, backward, tangents, outs)
        else:
            outs, out_tangents = entry.jvp(self, primals, tangents, **attrs)
        return [(out, tangent if tangent is not None and _has_tangent(out.aval) else None)
                for out, tangent in zip(outs, out_tangents)]


class _Backward:
    """A step on the tape whose transpose is the backward function a linearize rule gave."""

    def __init__(self, name: str, backward: Callable[[list[Any]], list[Any]],
                 outs: Sequence[LinearValue | None]) -> None:
        self.name, self.backward, self.outs = name, backward, outs

    def transpose(self, ctx: op_table.RuleContext, cotangents: Sequence[Any], *operands: Any) -> list[Any]:
        """Cotangents of the step's operands (the backward function takes every result's)."""
        return self.backward([instantiate(ct, o) if o is not None else None for ct, o in zip(cotangents, self.outs)])


def _record(name: str, backward: Callable[[list[Any]], list[Any]], tangents: Sequence[Any],
            outs: Sequence[Any]) -> list[LinearValue | None]:
    """Put a multi-result linear step on the tape of `tangents`; return its output tangents."""
    tape = next(t.tape for t in tangents if is_linear(t))
    linear_outs = [LinearValue(o.aval.strip_weak_type(), tape) if _has_tangent(o.aval) else None for o in outs]
    tape.equations.append(Equation(_Backward(name, backward, linear_outs), list(tangents), {}, linear_outs))
    return linear_outs


def backward_pass(ctx: Differentiate, tape: Tape, out_tangents: Sequence[Any], cotangents: Sequence[Any],
                  inputs: Sequence[Any]) -> list[Any]:
    """Transpose the tape: cotangents of `inputs` (LinearValues or None) given those of `out_tangents`."""
    accumulated: dict[int, Any] = {}

    def accumulate(linear: Any, ct: Any) -> None:
        if ct is not None and is_linear(linear):
            key = id(linear)
            accumulated[key] = ct if key not in accumulated else add_tangents([accumulated[key], ct])

    for tangent, ct in zip(out_tangents, cotangents):
        accumulate(tangent, ct)
    for equation in reversed(tape.equations):
        cts = [accumulated.pop(id(o), None) if o is not None else None for o in equation.outs]
        if all(ct is None for ct in cts):
            continue
        if equation.op.transpose is None:
            raise NotImplementedError(f"transpose rule for mlax.{equation.op.name} is not implemented")
        with at_location(equation.location):
            cts_in = equation.op.transpose(ctx, cts, *equation.operands, **equation.attrs)
        for operand, ct in zip(equation.operands, cts_in):
            accumulate(operand, ct)
    return [accumulated.get(id(x)) if x is not None else None for x in inputs]


@writer("jvp")
def jvp_function(ctx: RuleContext, callee: str, wrt: Sequence[int]) -> Symbol:
    """Write @callee_jvp(args, tangents of the args in `wrt`) -> (results, their tangents)."""
    in_avals = arg_avals(ctx.module.function(callee))
    trace = Trace(ctx.module.builder, f"{callee}_jvp", in_avals + [in_avals[i] for i in wrt])
    with trace:
        primals, tangent_args = trace.args[:len(in_avals)], trace.args[len(in_avals):]
        tangents: list[Any] = [None] * len(in_avals)
        for i, t in zip(wrt, tangent_args):
            tangents[i] = t
        outs, out_tangents = Differentiate(ctx.module).run(callee, primals, tangents)
        trace.finish(outs + [instantiate(t, o) for t, o in zip(out_tangents, outs)])
    return Symbol(trace.name)


@writer("vjp")
def vjp_function(ctx: RuleContext, callee: str, wrt: Sequence[int]) -> Symbol:
    """Write @callee_vjp(args, cotangents of the results) -> (results, cotangents of the args in `wrt`)."""
    function = ctx.module.function(callee)
    in_avals, out_avals = arg_avals(function), result_avals(function)
    trace = Trace(ctx.module.builder, f"{callee}_vjp", in_avals + out_avals)
    with trace:
        primals, cotangents = trace.args[:len(in_avals)], trace.args[len(in_avals):]
        tape = Tape(trace)
        tangents = [tape.new_input(in_avals[i]) if i in wrt else None for i in range(len(in_avals))]
        differentiate = Differentiate(ctx.module)
        outs, out_tangents = differentiate.run(callee, primals, tangents)
        cts = backward_pass(differentiate, tape, out_tangents, cotangents, [tangents[i] for i in wrt])
        trace.finish(outs + [instantiate(ct, primals[i]) for ct, i in zip(cts, wrt)])
    return Symbol(trace.name)


@register("mlax-autodiff")
def autodiff(module_op: ir.Operation) -> None:
    expand(module_op, [jvp_function, vjp_function])
