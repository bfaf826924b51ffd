"""Transformation ops, which name a function symbol, and the ops autodiff needs.

    %r:2 = "mlax.vjp"(%x, %ct) {callee = @f, wrt = array<i64: 0>}
             : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)

- jvp:  operands are @callee's arguments, then tangents of the arguments in
        `wrt`; results are @callee's results, then their tangents.
- vjp:  operands are @callee's arguments, then one cotangent per result;
        results are @callee's results, then the cotangents of the `wrt` arguments.
- custom_jvp_call: calls @callee, differentiated with @jvp (arguments, then
        tangents of all arguments -> results, then their tangents).
- custom_vjp_call: calls @callee, differentiated in reverse with @fwd
        (arguments -> results, then residuals) and @bwd (residuals, then
        cotangents of the results -> cotangents of all arguments).
- checkpoint: calls @callee; reverse mode recomputes it instead of saving residuals.
- vmap: @callee mapped over axis `in_axes[i]` of operand i (-1: not mapped),
        its results mapped along `out_axes`, `axis_size` examples; collectives in it
        over `axis_name` (when given) work across the examples.
- pmap: as vmap, one instance per device of `devices` (mlax device ids; `axis_size` of
        them), collectives over `axis_name` working across the devices; out_axes -1:
        the first device's result.
mlax-autodiff, mlax-vmap and mlax-pmap expand them into ordinary mlax functions; their result types
are fixed by the callee, so their shape rule only checks operand counts in the pass.
"""

from mlax.core.op import Op
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise
from mlax.ops._rules import defzero

__all__: list[str] = []  # the builders this family exports (mlax.lax re-exports them)


def _typed_by_callee(*avals, axis_name=None, **attrs):
    raise TypeError("the result types of a transformation op come from its callee function")


def _unexpanded(ctx, *operands, **attrs):
    raise ValueError(f"{ctx.op.name} must be expanded by mlax-expand-transforms before mlax-lower")


_TRANSFORMS = {
    "jvp": {"callee": "symbol", "wrt": "ints"},
    "vjp": {"callee": "symbol", "wrt": "ints"},
    "custom_jvp_call": {"callee": "symbol", "jvp": "symbol"},
    "custom_vjp_call": {"callee": "symbol", "fwd": "symbol", "bwd": "symbol"},
    "checkpoint": {"callee": "symbol"},
    "vmap": {"callee": "symbol", "in_axes": "ints", "out_axes": "ints", "axis_size": "int", "axis_name": "str"},
    "pmap": {"callee": "symbol", "in_axes": "ints", "out_axes": "ints", "axis_size": "int", "axis_name": "str",
             "devices": "ints"},
}

for _name, _attrs in _TRANSFORMS.items():
    _op = Op(_name, ["*operands"], _typed_by_callee, _unexpanded, attrs=_attrs, results=("*results",),
             multiple_results=True, doc=f"The {_name} transformation of the function @callee.")
    _op.traits.update({"transform", "typed_by_callee"})


stop_gradient = Op("stop_gradient", ["x"], lambda x: x, lambda ctx, x: x,
                   doc="x, as a constant for differentiation (its tangent is zero).")
stop_gradient.numpy_ref = lambda x: x
defzero(stop_gradient)


optimization_barrier = Op("optimization_barrier", ["x"], lambda x: x,
                          lambda ctx, x: _hlo.op("stablehlo.optimization_barrier", [x], [x.type]).result,
                          doc="x unchanged, but opaque to simplification: values computed from its result "
                              "are never merged with values computed from x.")
optimization_barrier.numpy_ref = lambda x: x
optimization_barrier.jvp = lambda ctx, primals, tangents: ([optimization_barrier(*primals)], list(tangents))
defbatch_elementwise(optimization_barrier)
defbatch_elementwise(stop_gradient)
