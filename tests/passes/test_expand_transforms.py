"""mlax-expand-transforms through `mlax opt`, on hand-written IR: transformation ops nested
in each other (here a vmap inside the function a vjp differentiates) are expanded innermost
first, each into a call of a new function."""

import numpy as np

from opt_helper import check_output, mlax_opt, run_lowered

# grad of sum(vmap(g)(xs)), with g(x) = sum(sin(x)).
GRAD_OF_VMAP = """
func.func private @g(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "mlax.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "mlax.reduce_sum"(%0) {axes = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
func.func private @f(%xs: tensor<2x3xf32>) -> tensor<f32> {
  %v = "mlax.vmap"(%xs) {callee = @g, in_axes = array<i64: 0>, out_axes = array<i64: 0>, axis_size = 2} : (tensor<2x3xf32>) -> tensor<2xf32>
  %s = "mlax.reduce_sum"(%v) {axes = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
func.func @main(%xs: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %one = "mlax.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r:2 = "mlax.vjp"(%xs, %one) {callee = @f, wrt = array<i64: 0>} : (tensor<2x3xf32>, tensor<f32>) -> (tensor<f32>, tensor<2x3xf32>)
  return %r#1 : tensor<2x3xf32>
}
"""

# The vmap becomes a call of @g_vmap (g batched: the reduction over axis 1), and then the vjp
# a call of @f_vjp, which differentiates @f with its vmap already expanded.
GRAD_OF_VMAP_EXPANDED = """
// CHECK-LABEL: func.func private @f(
// CHECK-SAME:      %[[XS:.*]]: tensor<2x3xf32>) -> tensor<f32>
// CHECK-NEXT:    %[[V:.*]] = call @g_vmap(%[[XS]]) : (tensor<2x3xf32>) -> tensor<2xf32>
// CHECK-NEXT:    %[[S:.*]] = "mlax.reduce_sum"(%[[V]]) {axes = array<i64: 0>}
// CHECK-NEXT:    return %[[S]] : tensor<f32>

// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[XS:.*]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[ONE:.*]] = "mlax.constant"() {value = dense<1.000000e+00> : tensor<f32>}
// CHECK-NEXT:    %[[R:.*]]:2 = call @f_vjp(%[[XS]], %[[ONE]]) : (tensor<2x3xf32>, tensor<f32>) -> (tensor<f32>, tensor<2x3xf32>)
// CHECK-NEXT:    return %[[R]]#1 : tensor<2x3xf32>

// CHECK-LABEL: func.func private @g_vmap(
// CHECK-SAME:      %[[XS:.*]]: tensor<2x3xf32>) -> tensor<2xf32>
// CHECK-NEXT:    %[[SIN:.*]] = "mlax.sin"(%[[XS]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[S:.*]] = "mlax.reduce_sum"(%[[SIN]]) {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
// CHECK-NEXT:    return %[[S]] : tensor<2xf32>

// The derivative: the cotangent broadcast back through both sums, times cos(xs).
// CHECK-LABEL: func.func private @f_vjp(
// CHECK-SAME:      %[[XS:.*]]: tensor<2x3xf32>, %[[CT:.*]]: tensor<f32>) -> (tensor<f32>, tensor<2x3xf32>)
// CHECK-DAG:     %[[SIN:.*]] = "mlax.sin"(%[[XS]])
// CHECK-DAG:     %[[COS:.*]] = "mlax.cos"(%[[XS]])
// CHECK-DAG:     %[[ROWS:.*]] = "mlax.reduce_sum"(%[[SIN]]) {axes = array<i64: 1>}
// CHECK-DAG:     %[[Y:.*]] = "mlax.reduce_sum"(%[[ROWS]]) {axes = array<i64: 0>}
// CHECK-DAG:     %[[CT_ROWS:.*]] = "mlax.broadcast_in_dim"(%[[CT]]) {broadcast_dimensions = array<i64>, shape = array<i64: 2>}
// CHECK-DAG:     %[[CT_XS:.*]] = "mlax.broadcast_in_dim"(%[[CT_ROWS]]) {broadcast_dimensions = array<i64: 0>, shape = array<i64: 2, 3>}
// CHECK:         %[[DX:.*]] = "mlax.mul"(%[[CT_XS]], %[[COS]])
// CHECK-NEXT:    return %[[Y]], %[[DX]] : tensor<f32>, tensor<2x3xf32>

// Every transformation op is gone.
// GONE-NOT:      mlax.vjp
// GONE-NOT:      mlax.vmap
"""


def test_vmap_inside_grad_expands_innermost_first(tmp_path, capsys):
    status, out, err = mlax_opt(GRAD_OF_VMAP, ["mlax-expand-transforms"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, GRAD_OF_VMAP_EXPANDED, prefixes=("CHECK", "GONE"))


def test_grad_of_vmap_lowers_and_computes_the_derivative(tmp_path, capsys):
    status, out, err = mlax_opt(GRAD_OF_VMAP, ["mlax-expand-transforms", "mlax-simplify", "mlax-lower"],
                                tmp_path, capsys)
    assert (status, err) == (0, "")
    xs = np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -3.0]], np.float32)
    [grad] = run_lowered(out, xs)
    np.testing.assert_allclose(grad, np.cos(xs), rtol=1e-6)


# A call with its own JVP rule: @g calls @f (sin) through custom_jvp_call, whose rule @f_rule
# says the tangent is twice the input tangent.
CUSTOM_JVP = """
func.func private @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mlax.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @f_rule(%x: tensor<3xf32>, %t: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %0 = "mlax.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "mlax.add"(%t, %t) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0, %1 : tensor<3xf32>, tensor<3xf32>
}
func.func private @g(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mlax.custom_jvp_call"(%x) {callee = @f, jvp = @f_rule} : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func @main(%x: tensor<3xf32>, %ct: tensor<3xf32>) -> tensor<3xf32> {
  %r:2 = "mlax.vjp"(%x, %ct) {callee = @g, wrt = array<i64: 0>} : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %r#1 : tensor<3xf32>
}
"""


def test_a_custom_jvp_rule_gives_the_derivative(tmp_path, capsys):
    status, out, err = mlax_opt(CUSTOM_JVP, ["mlax-expand-transforms", "mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    x, ct = np.array([0.5, -1.0, 2.0], np.float32), np.array([1.0, 2.0, -3.0], np.float32)
    [grad] = run_lowered(out, x, ct)
    np.testing.assert_allclose(grad, 2 * ct, rtol=1e-6)


# With no transformation left to give it meaning, a custom_jvp_call is a plain call of its callee.
CUSTOM_JVP_ALONE = """
// CHECK-LABEL: func.func private @g(
// CHECK-SAME:      %[[X:.*]]: tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = call @f(%[[X]]) : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<3xf32>

// GONE-NOT:      mlax.custom_jvp_call
"""


def test_a_custom_jvp_call_left_alone_becomes_a_call(tmp_path, capsys):
    text = CUSTOM_JVP.split("func.func @main")[0]
    status, out, err = mlax_opt(text, ["mlax-expand-transforms"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, CUSTOM_JVP_ALONE, prefixes=("CHECK", "GONE"))
