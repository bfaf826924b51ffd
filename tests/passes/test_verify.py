"""mlax-verify through `mlax opt`: valid IR passes unchanged; each kind of bad op is
rejected with one line naming the op and the problem."""

import pytest

from opt_helper import check_output, mlax_opt

VALID = """
func.func private @scale(%x: tensor<3xf32>, %s: tensor<f32>) -> tensor<3xf32> {
  %0 = "mlax.broadcast_in_dim"(%s) {shape = array<i64: 3>, broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<3xf32>
  %1 = "mlax.mul"(%x, %0) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %1 : tensor<3xf32>
}
func.func @main(%x: tensor<2x3xf32>) -> tensor<3xf32> {
  %0 = "mlax.reduce_sum"(%x) {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
  %1 = "mlax.reduce_max"(%0) {axes = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
  %2 = call @scale(%0, %1) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  %3 = "mlax.gt"(%2, %0) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  %4 = "mlax.select"(%3, %2, %0) : (tensor<3xi1>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %4 : tensor<3xf32>
}
"""


# The same ops, in the same order, on the same operands.
VALID_UNCHANGED = """
// CHECK:      module {
// CHECK-NEXT:   func.func private @scale(%[[X:.*]]: tensor<3xf32>, %[[S:.*]]: tensor<f32>) -> tensor<3xf32> {
// CHECK-NEXT:     %[[SB:.*]] = "mlax.broadcast_in_dim"(%[[S]]) {broadcast_dimensions = array<i64>, shape = array<i64: 3>} : (tensor<f32>) -> tensor<3xf32>
// CHECK-NEXT:     %[[XS:.*]] = "mlax.mul"(%[[X]], %[[SB]]) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     return %[[XS]] : tensor<3xf32>
// CHECK-NEXT:   }
// CHECK-NEXT:   func.func @main(%[[A:.*]]: tensor<2x3xf32>) -> tensor<3xf32> {
// CHECK-NEXT:     %[[SUM:.*]] = "mlax.reduce_sum"(%[[A]]) {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     %[[MAX:.*]] = "mlax.reduce_max"(%[[SUM]]) {axes = array<i64: 0>} : (tensor<3xf32>) -> tensor<f32>
// CHECK-NEXT:     %[[SCALED:.*]] = call @scale(%[[SUM]], %[[MAX]]) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
// CHECK-NEXT:     %[[GT:.*]] = "mlax.gt"(%[[SCALED]], %[[SUM]]) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
// CHECK-NEXT:     %[[SEL:.*]] = "mlax.select"(%[[GT]], %[[SCALED]], %[[SUM]]) : (tensor<3xi1>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     return %[[SEL]] : tensor<3xf32>
// CHECK-NEXT:   }
// CHECK-NEXT: }
"""


def test_valid_module_passes_unchanged(tmp_path, capsys):
    status, out, err = mlax_opt(VALID, ["mlax-verify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, VALID_UNCHANGED)


def _main_body(*lines):
    """@main(%x: tensor<2x3xf32>, %i: tensor<i32>) holding `lines`, returning %x."""
    body = "\n".join(f"  {line}" for line in lines)
    return (f"func.func @main(%x: tensor<2x3xf32>, %i: tensor<i32>) -> tensor<2x3xf32> {{\n{body}\n"
            "  return %x : tensor<2x3xf32>\n}\n")


# (what is wrong, module, what the one-line error must name)
BAD_MODULES = [
    ("wrong-result-type",
     _main_body('%0 = "mlax.sin"(%x) : (tensor<2x3xf32>) -> tensor<3x2xf32>'),
     ["mlax.sin", "tensor<3x2xf32>", "tensor<2x3xf32>"]),
    ("wrong-result-dtype",
     _main_body('%0 = "mlax.lt"(%x, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>'),
     ["mlax.lt", "tensor<2x3xi1>"]),
    ("unknown-op",
     _main_body('%0 = "mlax.frobnicate"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>'),
     ["unknown op mlax.frobnicate"]),
    ("operand-count",
     _main_body('%0 = "mlax.add"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>'),
     ["mlax.add takes 2 operands, got 1"]),
    ("operand-shapes",
     _main_body('%0 = "mlax.transpose"(%x) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>',
                '%1 = "mlax.add"(%x, %0) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x3xf32>'),
     ["mlax.add", "(2, 3)", "(3, 2)"]),
    ("operand-dtype",
     _main_body('%0 = "mlax.log"(%i) : (tensor<i32>) -> tensor<i32>'),
     ["mlax.log", "floating-point", "int32"]),
    ("unknown-attribute",
     _main_body('%0 = "mlax.neg"(%x) {bogus = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>'),
     ["mlax.neg", "unknown attributes ['bogus']"]),
    ("attribute-value",
     _main_body('%0 = "mlax.reduce_sum"(%x) {axes = array<i64: 2>} : (tensor<2x3xf32>) -> tensor<2xf32>'),
     ["mlax.reduce_sum", "axes (2,)", "(2, 3)"]),
    ("in-private-function",
     VALID.replace('"mlax.mul"(%x, %0)', '"mlax.shift_left"(%x, %0)'),
     ["mlax.shift_left", "integer", "float32"]),
]


@pytest.mark.parametrize("module, fragments", [b[1:] for b in BAD_MODULES], ids=[b[0] for b in BAD_MODULES])
def test_bad_op_is_rejected_naming_it(module, fragments, tmp_path, capsys):
    status, out, err = mlax_opt(module, ["mlax-verify"], tmp_path, capsys)
    assert (status, out) == (2, "")
    assert err.startswith("mlax opt: error: mlax-verify: ") and err.count("\n") == 1
    for fragment in fragments:
        assert fragment in err
