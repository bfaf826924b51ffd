"""mlax-vmap through `mlax opt`, on hand-written IR: a vmap op becomes a
batched function built from the op table's batching rules."""

import numpy as np

from opt_helper import check_output, mlax_opt, run_lowered

VMAP = """
func.func private @f(%x: tensor<3xf32>, %w: tensor<3xf32>) -> tensor<f32> {
  %0 = "mlax.mul"(%x, %w) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "mlax.reduce_sum"(%0) {axes = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  %2 = "mlax.tanh"(%1) : (tensor<f32>) -> tensor<f32>
  return %2 : tensor<f32>
}
func.func @main(%xs: tensor<3x4xf32>, %w: tensor<3xf32>) -> tensor<4xf32> {
  %r = "mlax.vmap"(%xs, %w) {callee = @f, in_axes = array<i64: 1, -1>, out_axes = array<i64: 0>, axis_size = 4} : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


# mlax-vmap alone: the vmap op becomes a call of a new function @f_vmap, @f batched along
# axis 1 of %xs; the unmapped %w is broadcast to the batched shape.
VMAP_EXPANDED = """
// CHECK-LABEL: func.func private @f(
// CHECK:         "mlax.tanh"
// CHECK:         return

// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[XS:.*]]: tensor<3x4xf32>, %[[W:.*]]: tensor<3xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[R:.*]] = call @f_vmap(%[[XS]], %[[W]]) : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<4xf32>
// CHECK-NEXT:    return %[[R]] : tensor<4xf32>

// CHECK-LABEL: func.func private @f_vmap(
// CHECK-SAME:      %[[XS:.*]]: tensor<3x4xf32>, %[[W:.*]]: tensor<3xf32>) -> tensor<4xf32>
// CHECK:         %[[M:.*]] = "mlax.mul"({{.*}}) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT:    %[[S:.*]] = "mlax.reduce_sum"(%[[M]]) {axes = array<i64: 1>}
// CHECK-NEXT:    %[[T:.*]] = "mlax.tanh"(%[[S]])
// CHECK-NEXT:    return %[[T]] : tensor<4xf32>

// GONE-NOT:      mlax.vmap
"""


def test_vmap_becomes_a_call_of_a_batched_function(tmp_path, capsys):
    status, out, err = mlax_opt(VMAP, ["mlax-vmap"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, VMAP_EXPANDED, prefixes=("CHECK", "GONE"))


# After inlining: the batch axis moved to the front, %w broadcast along it, and each op of @f
# batched (the reduction now over axis 1).
VMAP_SIMPLIFIED = """
// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[XS:.*]]: tensor<3x4xf32>, %[[W:.*]]: tensor<3xf32>) -> tensor<4xf32>
// CHECK-DAG:     %[[X:.*]] = "mlax.transpose"(%[[XS]]) {permutation = array<i64: 1, 0>} : (tensor<3x4xf32>) -> tensor<4x3xf32>
// CHECK-DAG:     %[[WB:.*]] = "mlax.broadcast_in_dim"(%[[W]]) {broadcast_dimensions = array<i64: 1>, shape = array<i64: 4, 3>}
// CHECK:         %[[M:.*]] = "mlax.mul"(%[[X]], %[[WB]]) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT:    %[[S:.*]] = "mlax.reduce_sum"(%[[M]]) {axes = array<i64: 1>} : (tensor<4x3xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[T:.*]] = "mlax.tanh"(%[[S]]) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    return %[[T]] : tensor<4xf32>

// GONE-NOT:      mlax.vmap
"""


def test_vmap_writes_a_batched_function(tmp_path, capsys):
    status, out, err = mlax_opt(VMAP, ["mlax-vmap", "mlax-simplify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, VMAP_SIMPLIFIED, prefixes=("CHECK", "GONE"))


def test_vmapped_module_matches_a_loop_over_examples(tmp_path, capsys):
    status, out, err = mlax_opt(VMAP, ["mlax-vmap", "mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    xs = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    w = np.array([1.0, -0.5, 0.25], np.float32)
    [out_values] = run_lowered(out, xs, w)
    np.testing.assert_allclose(out_values, [np.tanh(np.sum(xs[:, i] * w)) for i in range(4)], rtol=1e-6)


def test_vmap_of_mapped_output_with_out_axes_none_is_rejected(tmp_path, capsys):
    bad = VMAP.replace("out_axes = array<i64: 0>", "out_axes = array<i64: -1>").replace(
        "-> tensor<4xf32>\n  return", "-> tensor<f32>\n  return").replace(
        "return %r : tensor<4xf32>", "return %r : tensor<f32>").replace(
        "(%xs: tensor<3x4xf32>, %w: tensor<3xf32>) -> tensor<4xf32>", "(%xs: tensor<3x4xf32>, %w: tensor<3xf32>) -> tensor<f32>")
    status, _, err = mlax_opt(bad, ["mlax-vmap"], tmp_path, capsys)
    assert status == 2
    assert "depends on the mapped axis" in err
