"""mlax-autodiff through `mlax opt`, on hand-written IR (no Python tracing):
jvp and vjp ops become derivative functions, which lower, compile and give
the analytic derivative."""

import numpy as np

from opt_helper import mlax_opt, op_names, run_lowered

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


def test_autodiff_writes_the_derivative_as_mlax_ops(tmp_path, capsys):
    status, out, err = mlax_opt(GRAD, ["mlax-autodiff", "mlax-simplify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    names = op_names(out)
    assert "mlax.vjp" not in names and "func.call" not in names
    # The derivative of sum(sin(x) * x): sin(x) + x * cos(x), in plain mlax ops.
    assert {"mlax.sin", "mlax.cos", "mlax.mul", "mlax.add"} <= set(names)


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
