"""mlax-autodiff through `mlax opt`, on hand-written IR (no Python tracing):
jvp and vjp ops become derivative functions, which lower, compile and give
the analytic derivative."""

import numpy as np

from opt_helper import check_output, mlax_opt, run_lowered

F = """
func.func private @f(%x: tensor<3xf32>) -> tensor<f32> {
  %0 = "mlax.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "mlax.mul"(%0, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %2 = "mlax.reduce_sum"(%1) {axes = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
"""

GRAD = F + """
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %one = "mlax.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r:2 = "mlax.vjp"(%x, %one) {callee = @f, wrt = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %r#1 : tensor<3xf32>
}
"""

JVP = F + """
func.func @main(%x: tensor<3xf32>, %t: tensor<3xf32>) -> tensor<f32> {
  %r:2 = "mlax.jvp"(%x, %t) {callee = @f, wrt = array<i64: 0>} : (tensor<3xf32>, tensor<3xf32>) -> (tensor<f32>, tensor<f32>)
  return %r#1 : tensor<f32>
}
"""

# grad of grad: the inner vjp must be expanded before the outer one can be.
SECOND = F + """
func.func private @g(%x: tensor<3xf32>) -> tensor<f32> {
  %one = "mlax.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r:2 = "mlax.vjp"(%x, %one) {callee = @f, wrt = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  %s = "mlax.reduce_sum"(%r#1) {axes = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  return %s : tensor<f32>
}
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %one = "mlax.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r:2 = "mlax.vjp"(%x, %one) {callee = @g, wrt = array<i64: 0>} : (tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)
  return %r#1 : tensor<3xf32>
}
"""

X = np.array([0.5, -1.0, 2.0], np.float32)


# The derivative of sum(sin(x) * x), sin(x) + x * cos(x), in plain mlax ops, the cotangent 1
# broadcast to x's shape; nothing of the vjp op or of a call to a derivative function is left.
GRAD_SIMPLIFIED = """
// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[X:.*]]: tensor<3xf32>) -> tensor<3xf32>
// CHECK-DAG:     %[[ONE:.*]] = "mlax.constant"() {value = dense<1.000000e+00> : tensor<f32>}
// CHECK-DAG:     %[[SIN:.*]] = "mlax.sin"(%[[X]])
// CHECK-DAG:     %[[COS:.*]] = "mlax.cos"(%[[X]])
// CHECK-DAG:     %[[CT:.*]] = "mlax.broadcast_in_dim"(%[[ONE]]) {{.*}}shape = array<i64: 3>}
// CHECK-DAG:     %[[SIN_CT:.*]] = "mlax.mul"(%[[SIN]], %[[CT]])
// CHECK-DAG:     %[[CT_X:.*]] = "mlax.mul"(%[[CT]], %[[X]])
// CHECK:         %[[CT_X_COS:.*]] = "mlax.mul"(%[[CT_X]], %[[COS]])
// CHECK:         %[[GRAD:.*]] = "mlax.add"(%[[SIN_CT]], %[[CT_X_COS]])
// CHECK-NEXT:    return %[[GRAD]] : tensor<3xf32>

// GONE-NOT:      mlax.vjp
// GONE-NOT:      call
"""


def test_autodiff_writes_the_derivative_as_mlax_ops(tmp_path, capsys):
    status, out, err = mlax_opt(GRAD, ["mlax-autodiff", "mlax-simplify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, GRAD_SIMPLIFIED, prefixes=("CHECK", "GONE"))


# mlax-autodiff alone: the jvp op becomes a call of a new function @f_jvp that returns the
# primal output and the tangent (the product rule: t * cos(x) * x + sin(x) * t, summed).
JVP_EXPANDED = """
// CHECK-LABEL: func.func private @f(
// CHECK:         "mlax.sin"
// CHECK:         return

// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[X:.*]]: tensor<3xf32>, %[[T:.*]]: tensor<3xf32>) -> tensor<f32>
// CHECK-NEXT:    %[[R:.*]]:2 = call @f_jvp(%[[X]], %[[T]]) : (tensor<3xf32>, tensor<3xf32>) -> (tensor<f32>, tensor<f32>)
// CHECK-NEXT:    return %[[R]]#1 : tensor<f32>

// CHECK-LABEL: func.func private @f_jvp(
// CHECK-SAME:      %[[X:.*]]: tensor<3xf32>, %[[T:.*]]: tensor<3xf32>) -> (tensor<f32>, tensor<f32>)
// CHECK-DAG:     %[[SIN:.*]] = "mlax.sin"(%[[X]])
// CHECK-DAG:     %[[COS:.*]] = "mlax.cos"(%[[X]])
// CHECK-DAG:     %[[T_COS:.*]] = "mlax.mul"(%[[T]], %[[COS]])
// CHECK-DAG:     %[[Y:.*]] = "mlax.mul"(%[[SIN]], %[[X]])
// CHECK-DAG:     %[[T_COS_X:.*]] = "mlax.mul"(%[[T_COS]], %[[X]])
// CHECK-DAG:     %[[SIN_T:.*]] = "mlax.mul"(%[[SIN]], %[[T]])
// CHECK-DAG:     %[[DY:.*]] = "mlax.add"(%[[T_COS_X]], %[[SIN_T]])
// CHECK-DAG:     %[[OUT:.*]] = "mlax.reduce_sum"(%[[Y]]) {axes = array<i64: 0>}
// CHECK-DAG:     %[[TANGENT:.*]] = "mlax.reduce_sum"(%[[DY]]) {axes = array<i64: 0>}
// CHECK:         return %[[OUT]], %[[TANGENT]] : tensor<f32>, tensor<f32>

// GONE-NOT:      mlax.jvp
"""


def test_jvp_becomes_a_call_of_a_derivative_function(tmp_path, capsys):
    status, out, err = mlax_opt(JVP, ["mlax-autodiff"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, JVP_EXPANDED, prefixes=("CHECK", "GONE"))


def test_grad_module_lowers_and_computes_the_derivative(tmp_path, capsys):
    status, out, err = mlax_opt(GRAD, ["mlax-autodiff", "mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    [grad] = run_lowered(out, X)
    np.testing.assert_allclose(grad, np.sin(X) + X * np.cos(X), rtol=1e-5)


def test_jvp_module_computes_the_directional_derivative(tmp_path, capsys):
    status, out, err = mlax_opt(JVP, ["mlax-autodiff", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    t = np.array([1.0, 0.0, -2.0], np.float32)
    [tangent] = run_lowered(out, X, t)
    np.testing.assert_allclose(tangent, np.sum((np.sin(X) + X * np.cos(X)) * t), rtol=1e-6)


def test_nested_vjp_expands_innermost_first(tmp_path, capsys):
    status, out, err = mlax_opt(SECOND, ["mlax-autodiff", "mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    [second] = run_lowered(out, X)
    np.testing.assert_allclose(second, 2 * np.cos(X) - X * np.sin(X), rtol=1e-5)


def test_vjp_with_wrong_operand_count_is_rejected(tmp_path, capsys):
    bad = GRAD.replace('"mlax.vjp"(%x, %one)', '"mlax.vjp"(%x)').replace(
        "(tensor<3xf32>, tensor<f32>) -> (tensor<f32>, tensor<3xf32>)", "(tensor<3xf32>) -> (tensor<f32>, tensor<3xf32>)")
    status, _, err = mlax_opt(bad, ["mlax-autodiff"], tmp_path, capsys)
    assert status == 2
    assert "mlax.vjp has 1 operands; @f needs 2" in err
