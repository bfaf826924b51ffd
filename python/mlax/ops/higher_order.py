"""Ops that name functions: the transformations (jvp, vjp, vmap, pmap), the calls that
carry their own differentiation rules (custom_jvp_call, custom_vjp_call, checkpoint),
and the ops autodiff needs (stop_gradient, optimization_barrier).

    %r:2 = "mlax.vjp"(%x, %ct) {callee = @f, wrt = array<i64: 0>}
             : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
    %y = "mlax.custom_jvp_call"(%x) {callee = @f, jvp = @f_jvp_rule} : (tensor<3xf32>) -> tensor<3xf32>

- jvp:  operands are @callee's arguments, then tangents of the arguments in
        `wrt`; results are @callee's results, then their tangents.
- vjp:  operands are @callee's arguments, then one cotangent per result;
        results are @callee's results, then the cotangents of the `wrt` arguments.
- vmap: @callee mapped over axis `in_axes[i]` of operand i (-1: not mapped),
        its results mapped along `out_axes`, `axis_size` examples; collectives in it
        over `axis_name` (when given) work across the examples.
- pmap: as vmap, one instance per device of `devices` (mlax device ids; `axis_size` of
        them), collectives over `axis_name` working across the devices; out_axes -1:
        the first device's result.
- custom_jvp_call: calls @callee, differentiated with @jvp (arguments, then
        tangents of all arguments -> results, then their tangents).
- custom_vjp_call: calls @callee, differentiated in reverse with @fwd
        (arguments -> results, then residuals) and @bwd (residuals, then
        cotangents of the results -> cotangents of all arguments).
- checkpoint: calls @callee; reverse mode recomputes it instead of saving residuals.

A transformation's entry names the function writer that expands it (`writer`); the
pass registering that writer (mlax-autodiff, mlax-vmap, mlax-pmap; see
passes/_expansion.py) writes the transformed function and calls it instead. The
other three mean a plain call of @callee unless a transformation applies their rules
(trait "calls_callee"). The result types of all of them come from their functions,
so their shape rule is never asked.
"""

from mlax.core.op import Op
from mlax.core.trace import current_trace
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise, to_front
from mlax.ops._rules import defzero, instantiate

__all__ = ["stop_gradient", "optimization_barrier"]  # the builders this family exports (mlax.lax re-exports them)


def _typed_by_callee(*avals, axis_name=None, **attrs):
    raise TypeError("the result types of a transformation op come from its callee function")


def _unexpanded(ctx, *operands, **attrs):
    raise ValueError(f"{ctx.op.name} must be expanded by mlax-expand-transforms before mlax-lower")


# -- transformations --------------------------------------------------------------------

class Transformation(Op):
    """A transformation of the function @callee. `writer` names the function writer that
    expands it: writer(ctx, **the op's attributes) -> the Symbol of a function taking the
    op's operands and giving its results, which a call then replaces the op by."""

    def __init__(self, name, attrs, writer):
        super().__init__(name, ["*operands"], _typed_by_callee, _unexpanded, attrs={"callee": "symbol", **attrs},
                         results=("*results",), multiple_results=True,
                         doc=f"The {name} transformation of the function @callee.")
        self.writer = writer
        self.traits.update({"transform", "typed_by_callee"})


jvp_p = Transformation("jvp", {"wrt": "ints"}, writer="jvp")
vjp_p = Transformation("vjp", {"wrt": "ints"}, writer="vjp")
vmap_p = Transformation("vmap", {"in_axes": "ints", "out_axes": "ints", "axis_size": "int", "axis_name": "str"},
                        writer="vmap")
pmap_p = Transformation("pmap", {"in_axes": "ints", "out_axes": "ints", "axis_size": "int", "axis_name": "str",
                                 "devices": "ints"}, writer="pmap")


# -- calls with their own rules ---------------------------------------------------------
# Their rules run their functions through the pass's context: ctx.run(name, ...) applies the
# pass's interpreter to @name inline (under autodiff: on values and tangents, which in
# reverse mode are recorded on the tape); ctx.pullback(name, primals, tangents, cotangents)
# transposes @name's linear part inline; ctx.batched and ctx.signature as for control flow.

def _call_op(name, attrs, doc):
    op = Op(name, ["*operands"], _typed_by_callee, _unexpanded, attrs={"callee": "symbol", **attrs},
            results=("*results",), multiple_results=True, doc=doc)
    op.traits.update({"transform", "typed_by_callee", "calls_callee"})
    op.batch = _batch_functions(op)
    op.spmd = _spmd_inline
    return op


def _batch_functions(op):
    """The same op over its functions batched along the leading axis of every argument
    (rule functions take tangents or cotangents after the arguments: all batched alike)."""
    def batch(ctx, args, dims, **functions):
        size = ctx.axis_size
        batched = {key: ctx.batched(name, [0] * len(ctx.signature(name)[0]), size)
                   for key, name in functions.items()}
        outs = current_trace().emit(op, [to_front(x, d, size) for x, d in zip(args, dims)], batched,
                                    ctx.signature(batched["callee"])[1])
        return outs, [0] * len(outs)
    return batch


def _spmd_inline(ctx, values, devices, callee, **rules):
    """Under pmap, when its functions hold a collective over the pmap axis: @callee inline."""
    return ctx.run(callee, values)


def _explicit_count(ctx, rule, tangents, per_input):
    """How many leading operands a custom rule covers; the rest are closed-over values."""
    count = len(ctx.signature(rule)[0]) // per_input
    if any(t is not None for t in tangents[count:]):
        raise TypeError("a function with a custom differentiation rule was differentiated with respect to a "
                        "value it closes over; the rule only covers its explicit arguments, so pass that "
                        "value as an argument")
    return count


custom_jvp_call_p = _call_op("custom_jvp_call", {"jvp": "symbol"}, "@callee(*operands), differentiated with @jvp.")


def _custom_jvp(ctx, primals, tangents, callee, jvp):
    count = _explicit_count(ctx, jvp, tangents, per_input=2)
    primals = list(primals[:count])
    full_tangents = [instantiate(t, x) for t, x in zip(tangents[:count], primals)]
    results = ctx.run(jvp, primals + full_tangents, [None] * (2 * count))[0]
    half = len(results) // 2
    return results[:half], results[half:]


custom_jvp_call_p.jvp = _custom_jvp


custom_vjp_call_p = _call_op("custom_vjp_call", {"fwd": "symbol", "bwd": "symbol"},
                             "@callee(*operands), differentiated in reverse with @fwd and @bwd.")


def _custom_vjp_forward_mode(ctx, primals, tangents, **functions):
    raise TypeError("a custom_vjp function cannot be differentiated in forward mode (jvp); "
                    "define it with custom_jvp for that")


def _custom_vjp_linearize(ctx, primals, tangents, callee, fwd, bwd):
    count = _explicit_count(ctx, fwd, tangents, per_input=1)
    results = ctx.run(fwd, list(primals[:count]), [None] * count)[0]
    outs, residuals = results[:len(ctx.signature(callee)[1])], results[len(ctx.signature(callee)[1]):]

    def backward(cts):
        return ctx.run(bwd, residuals + cts, [None] * (len(residuals) + len(cts)))[0]

    return outs, backward


custom_vjp_call_p.jvp = _custom_vjp_forward_mode
custom_vjp_call_p.linearize = _custom_vjp_linearize


checkpoint_p = _call_op("checkpoint", {}, "@callee(*operands), recomputed rather than saved by reverse mode.")


def _checkpoint_linearize(ctx, primals, tangents, callee):
    outs = ctx.run(callee, primals, [None] * len(primals))[0]

    def backward(cts):
        # The barrier keeps simplification from merging the recomputation with the forward pass.
        return ctx.pullback(callee, [optimization_barrier(x) for x in primals], tangents, cts)

    return outs, backward


checkpoint_p.jvp = lambda ctx, primals, tangents, callee: ctx.run(callee, primals, tangents)  # nothing to save
checkpoint_p.linearize = _checkpoint_linearize


# -- stop_gradient, optimization_barrier ------------------------------------------------

stop_gradient_p = Op("stop_gradient", ["x"], lambda x: x, lambda ctx, x: x,
                     doc="x, as a constant for differentiation (its tangent is zero).")
stop_gradient_p.numpy_ref = lambda x: x
stop_gradient_p.kernel_form = "view"
defzero(stop_gradient_p)
defbatch_elementwise(stop_gradient_p)


def stop_gradient(x):
    """x, with a zero derivative."""
    return stop_gradient_p(x)


optimization_barrier_p = Op("optimization_barrier", ["x"], lambda x: x,
                            lambda ctx, x: _hlo.op("stablehlo.optimization_barrier", [x], [x.type]).result,
                            doc="x unchanged, but opaque to simplification: values computed from its result "
                                "are never merged with values computed from x.")
optimization_barrier_p.numpy_ref = lambda x: x
optimization_barrier_p.kernel_form = "view"
optimization_barrier_p.jvp = lambda ctx, primals, tangents: ([optimization_barrier_p(*primals)], list(tangents))
defbatch_elementwise(optimization_barrier_p)


def optimization_barrier(x):
    """x, but values computed from it are never merged with values computed from x itself."""
    return optimization_barrier_p(x)
