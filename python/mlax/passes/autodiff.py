"""mlax-autodiff: expand jvp and vjp ops into derivative functions.

Forward and reverse mode share one set of per-op rules, the op table's JVP
rules. The pass is an interpreter over the ops of the differentiated function
that calls each op's JVP rule; the rules emit ordinary mlax ops into a new
function, so higher derivatives come from running the pass again.

1. Pick a jvp/vjp op whose callee (and everything it calls) holds no
   unexpanded jvp/vjp op, so nested transformations expand innermost first.
2. jvp: create @f_jvp(args, tangents); interpret @f with the tangents; return
   the results and their tangents.
3. vjp: create @f_vjp(args, cotangents); interpret @f with symbolic tangents
   (LinearValues) for the wrt arguments, so the linear part of the JVP is
   recorded on a tape while the primal part is emitted; then walk the tape
   backwards, calling each linear op's transpose rule, and return the results
   and the cotangents of the wrt arguments.
4. Replace the op by a func.call of the new function; repeat until none is left.
5. custom_jvp_call, custom_vjp_call and checkpoint ops met while interpreting
   use their rule functions; those left over are plain calls of their callee.
"""

from mlax.core import dtypes, mlir, op as op_table
from mlax.core.tape import Equation, LinearValue, Tape
from mlax.core.trace import Trace, current_trace
from mlax.ops._rules import add_tangents, instantiate, is_linear
from mlax.passes import _walk, register
from mlax.passes._expansion import (CALLS_OF_CALLEE, EXPANDERS, RuleContext, arg_avals, expand, reemit,
                                     replace_by_call, result_avals)

_DIFFERENTIATE = ("mlax.jvp", "mlax.vjp")


def _has_tangent(aval):
    return dtypes.is_inexact(aval.dtype)


class Interpreter:
    """Runs a function's body on Tracers, applying JVP rules where tangents flow."""

    def __init__(self, module):
        self.module = module

    def run(self, func_op, args, tangents):
        """(results, result tangents) of func_op on `args` with `tangents` (None: zero)."""
        block = func_op.regions[0].blocks[0]
        env = dict(zip(block.arguments, args))
        tangent_env = {a: t for a, t in zip(block.arguments, tangents) if t is not None}
        for operation in _walk.operations(block):
            ins = [env[v] for v in operation.operands]
            if operation.name == "func.return":
                return ins, [tangent_env.get(v) for v in operation.operands]
            tangents_in = [tangent_env.get(v) for v in operation.operands]
            outs, tangents_out = self._apply(operation, ins, tangents_in)
            for result, out, tangent in zip(operation.results, outs, tangents_out):
                env[result] = out
                if tangent is not None and _has_tangent(out.aval):
                    tangent_env[result] = tangent
        raise ValueError(f"mlax-autodiff: @{_walk.function_name(func_op)} has no return")

    def _apply(self, operation, ins, tangents):
        attrs = mlir.op_attrs(operation)
        differentiating = any(t is not None for t in tangents)
        if operation.name == "func.call" or (operation.name in CALLS_OF_CALLEE and not differentiating):
            return self.run(self.module.function(attrs["callee"]), ins, tangents)
        if operation.name == "mlax.custom_jvp_call":
            return self._custom_jvp(attrs, ins, tangents)
        if operation.name == "mlax.custom_vjp_call":
            return self._custom_vjp(attrs, ins, tangents)
        if operation.name == "mlax.checkpoint":
            return self._checkpoint(attrs, ins, tangents)
        definition = op_table.lookup(operation.name)
        if definition is None:
            raise ValueError(f"mlax-autodiff: cannot differentiate through {operation.name}")
        if not differentiating:
            outs = reemit(operation, definition, ins, attrs)
            return outs, [None] * len(outs)
        if definition.jvp is None:
            raise NotImplementedError(f"differentiation rule for mlax.{definition.name} is not implemented")
        ctx = RuleContext(self.module)
        if definition.linearize is None or not any(is_linear(t) for t in tangents if t is not None):
            return definition.jvp(ctx, ins, tangents, **attrs)
        # Reverse mode: the rule emits the primal op and says how to map cotangents back.
        outs, backward = definition.linearize(ctx, ins, tangents, **attrs)
        if backward is None:
            return outs, [None] * len(outs)
        return outs, _record(_Backward(definition.name, backward), list(tangents), outs)

    def _explicit_count(self, rule_name, ins, tangents, per_input):
        """How many leading operands a custom rule covers; the rest are closed-over values."""
        count = len(arg_avals(self.module.function(rule_name))) // per_input
        if any(t is not None for t in tangents[count:]):
            raise TypeError("a function with a custom differentiation rule was differentiated with respect to a "
                            "value it closes over; the rule only covers its explicit arguments, so pass that "
                            "value as an argument")
        return count

    def _custom_jvp(self, attrs, ins, tangents):
        count = self._explicit_count(attrs["jvp"], ins, tangents, per_input=2)
        primals = ins[:count]
        full_tangents = [instantiate(t, x) for t, x in zip(tangents[:count], primals)]
        results = self.run(self.module.function(attrs["jvp"]), primals + full_tangents, [None] * (2 * count))[0]
        half = len(results) // 2
        return results[:half], results[half:]

    def _custom_vjp(self, attrs, ins, tangents):
        if not any(is_linear(t) for t in tangents if t is not None):
            raise TypeError("a custom_vjp function cannot be differentiated in forward mode (jvp); "
                            "define it with custom_jvp for that")
        count = self._explicit_count(attrs["fwd"], ins, tangents, per_input=1)
        results = self.run(self.module.function(attrs["fwd"]), ins[:count], [None] * count)[0]
        outs_count = len(result_avals(self.module.function(attrs["callee"])))
        outs, residuals = results[:outs_count], results[outs_count:]
        backward = _CustomBackward(self, self.module.function(attrs["bwd"]), residuals)
        return outs, _record(backward, list(tangents[:count]), outs)

    def _checkpoint(self, attrs, ins, tangents):
        callee = self.module.function(attrs["callee"])
        if not any(is_linear(t) for t in tangents if t is not None):
            return self.run(callee, ins, tangents)  # forward mode: nothing is saved anyway
        outs = self.run(callee, ins, [None] * len(ins))[0]
        return outs, _record(_Recompute(self, callee, ins), list(tangents), outs)


def _record(pseudo_op, tangents, outs):
    """Put a multi-result linear step on the tape of `tangents`; return its output tangents."""
    tape = next(t.tape for t in tangents if is_linear(t))
    linear_outs = [LinearValue(o.aval.strip_weak_type(), tape) if _has_tangent(o.aval) else None for o in outs]
    tape.equations.append(Equation(pseudo_op, tangents, {}, linear_outs))
    return linear_outs


class _Backward:
    """Transposes a control-flow op through the backward function its linearize rule gave."""

    def __init__(self, name, backward):
        self.name, self.backward = name, backward

    def transpose(self, ctx, cts, *tangents):
        return self.backward(cts)


class _CustomBackward:
    """Transposes a custom_vjp call: its @bwd maps residuals and cotangents to cotangents."""

    name = "custom_vjp_call"

    def __init__(self, interpreter, bwd, residuals):
        self.interpreter, self.bwd, self.residuals = interpreter, bwd, residuals

    def transpose(self, ctx, cts, *tangents):
        return self.interpreter.run(self.bwd, self.residuals + cts, [None] * (len(self.residuals) + len(cts)))[0]


class _Recompute:
    """Transposes a checkpointed call: recompute its forward pass, then transpose it."""

    name = "checkpoint"

    def __init__(self, interpreter, callee, ins):
        self.interpreter, self.callee, self.ins = interpreter, callee, ins

    def transpose(self, ctx, cts, *tangents):
        # The barrier keeps simplification from merging the recomputation with the forward pass.
        ins = [op_table.OPS["optimization_barrier"](x) for x in self.ins]
        tape = Tape(current_trace())
        inner = [tape.new_input(t.aval) if is_linear(t) else None for t in tangents]
        _, out_tangents = self.interpreter.run(self.callee, list(ins), inner)
        return backward_pass(ctx, tape, out_tangents, cts, inner)


def backward_pass(ctx, tape, out_tangents, cotangents, inputs):
    """Transpose the tape: cotangents of `inputs` (LinearValues or None) given those of `out_tangents`."""
    accumulated = {}

    def accumulate(linear, ct):
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
        if not isinstance(equation.op, op_table.Op):  # a custom_vjp, checkpoint or loop step
            cts = [instantiate(ct, o) if o is not None else None for ct, o in zip(cts, equation.outs)]
        cts_in = equation.op.transpose(ctx, cts, *equation.operands, **equation.attrs)
        for operand, ct in zip(equation.operands, cts_in):
            accumulate(operand, ct)
    return [accumulated.get(id(x)) if x is not None else None for x in inputs]


def jvp_function(module, callee, wrt):
    """Write @callee_jvp(args, tangents of the args in `wrt`) -> (results, their tangents)."""
    in_avals = arg_avals(callee)
    trace = Trace(module.builder, f"{_walk.function_name(callee)}_jvp", in_avals + [in_avals[i] for i in wrt])
    with trace:
        primals, tangent_args = trace.args[:len(in_avals)], trace.args[len(in_avals):]
        tangents = [None] * len(in_avals)
        for i, t in zip(wrt, tangent_args):
            tangents[i] = t
        outs, out_tangents = Interpreter(module).run(callee, primals, tangents)
        trace.finish(outs + [instantiate(t, o) for t, o in zip(out_tangents, outs)])
    return trace.name


def vjp_function(module, callee, wrt):
    """Write @callee_vjp(args, cotangents of the results) -> (results, cotangents of the args in `wrt`)."""
    in_avals, out_avals = arg_avals(callee), result_avals(callee)
    trace = Trace(module.builder, f"{_walk.function_name(callee)}_vjp", in_avals + out_avals)
    with trace:
        primals, cotangents = trace.args[:len(in_avals)], trace.args[len(in_avals):]
        tape = Tape(trace)
        tangents = [tape.new_input(in_avals[i]) if i in wrt else None for i in range(len(in_avals))]
        outs, out_tangents = Interpreter(module).run(callee, primals, tangents)
        cts = backward_pass(RuleContext(module), tape, out_tangents, cotangents, [tangents[i] for i in wrt])
        trace.finish(outs + [instantiate(ct, primals[i]) for ct, i in zip(cts, wrt)])
    return trace.name


def _expand(module, operation):
    """Write the derivative function for one jvp/vjp op and call it instead."""
    attrs = mlir.op_attrs(operation)
    callee = module.function(attrs["callee"])
    wrt = list(attrs["wrt"])
    in_avals, out_avals = arg_avals(callee), result_avals(callee)
    reverse = operation.name == "mlax.vjp"
    extra = out_avals if reverse else [in_avals[i] for i in wrt]
    if len(operation.operands) != len(in_avals) + len(extra):
        raise ValueError(f"mlax-autodiff: {operation.name} has {len(operation.operands)} operands; @{attrs['callee']} "
                         f"needs {len(in_avals) + len(extra)}")
    replace_by_call(operation, (vjp_function if reverse else jvp_function)(module, callee, wrt))


for _kind in _DIFFERENTIATE:
    EXPANDERS[_kind] = _expand


@register("mlax-autodiff")
def autodiff(module_op):
    expand(module_op, set(_DIFFERENTIATE))
