"""mlax-simplify through `mlax opt`: inlining of calls, CSE and dead-code removal."""

import subprocess
import sys


from opt_helper import check_output, mlax_opt

CALLS_DUPLICATES_AND_DEAD_OPS = """
func.func private @square(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mlax.mul"(%x, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
func.func private @twice_square(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = call @square(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "mlax.add"(%0, %0) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %1 : tensor<3xf32>
}
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mlax.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "mlax.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %2 = "mlax.cos"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %3 = "mlax.mul"(%0, %1) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %4 = call @twice_square(%3) : (tensor<3xf32>) -> tensor<3xf32>
  return %4 : tensor<3xf32>
}
"""

# Calls inlined (nested ones too) and private callees erased; the second sin
# merged into the first; the unused cos gone. The whole output, line by line.
SIMPLIFIED = """
// CHECK:      module {
// CHECK-NEXT:   func.func @main(%[[X:arg[0-9]+]]: tensor<3xf32>) -> tensor<3xf32> {
// CHECK-NEXT:     %[[SIN:[0-9]+]] = "mlax.sin"(%[[X]]) : (tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     %[[SQ:[0-9]+]] = "mlax.mul"(%[[SIN]], %[[SIN]]) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     %[[SQ2:[0-9]+]] = "mlax.mul"(%[[SQ]], %[[SQ]]) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     %[[TWICE:[0-9]+]] = "mlax.add"(%[[SQ2]], %[[SQ2]]) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     return %[[TWICE]] : tensor<3xf32>
// CHECK-NEXT:   }
// CHECK-NEXT: }
// CHECK-NOT:  {{.}}
"""


def test_inlines_calls_merges_duplicates_and_drops_dead_ops(tmp_path, capsys):
    status, out, err = mlax_opt(CALLS_DUPLICATES_AND_DEAD_OPS, ["mlax-simplify", "mlax-verify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, SIMPLIFIED, match_full_lines=True)


DISTINCT_OPS = """
func.func @helper(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = "mlax.reduce_sum"(%x) {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
func.func @main(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> (tensor<3xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = "mlax.reduce_sum"(%x) {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
  %1 = "mlax.reduce_sum"(%x) {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  %2 = "mlax.sin"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = "mlax.sin"(%y) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2, %3 : tensor<3xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}
"""


# Nothing merged, nothing dropped: the same ops in the same order.
DISTINCT_OPS_KEPT = """
// CHECK:      module {
// CHECK-NEXT:   func.func @helper(%[[H:.*]]: tensor<2x3xf32>) -> tensor<2xf32> {
// CHECK-NEXT:     %[[HS:.*]] = "mlax.reduce_sum"(%[[H]]) {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
// CHECK-NEXT:     return %[[HS]] : tensor<2xf32>
// CHECK-NEXT:   }
// CHECK-NEXT:   func.func @main(%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<2x3xf32>) -> (tensor<3xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
// CHECK-NEXT:     %[[S0:.*]] = "mlax.reduce_sum"(%[[X]]) {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
// CHECK-NEXT:     %[[S1:.*]] = "mlax.reduce_sum"(%[[X]]) {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
// CHECK-NEXT:     %[[SIN_X:.*]] = "mlax.sin"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:     %[[SIN_Y:.*]] = "mlax.sin"(%[[Y]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:     return %[[S0]], %[[S1]], %[[SIN_X]], %[[SIN_Y]] : tensor<3xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2x3xf32>
// CHECK-NEXT:   }
// CHECK-NEXT: }
"""


def test_keeps_ops_that_differ_and_public_functions(tmp_path, capsys):
    """Ops differing in attributes or operands are not merged; an uncalled public function stays."""
    status, out, err = mlax_opt(DISTINCT_OPS, ["mlax-simplify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, DISTINCT_OPS_KEPT)


def test_call_of_a_declaration_is_kept(tmp_path, capsys):
    module = """
    func.func private @external(tensor<3xf32>) -> tensor<3xf32>
    func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
      %0 = call @external(%x) : (tensor<3xf32>) -> tensor<3xf32>
      return %0 : tensor<3xf32>
    }
    """
    checks = """
    // CHECK:      module {
    // CHECK-NEXT:   func.func private @external(tensor<3xf32>) -> tensor<3xf32>
    // CHECK-NEXT:   func.func @main(%[[X:.*]]: tensor<3xf32>) -> tensor<3xf32> {
    // CHECK-NEXT:     %[[Y:.*]] = call @external(%[[X]]) : (tensor<3xf32>) -> tensor<3xf32>
    // CHECK-NEXT:     return %[[Y]] : tensor<3xf32>
    // CHECK-NEXT:   }
    // CHECK-NEXT: }
    """
    status, out, err = mlax_opt(module, ["mlax-simplify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, checks)


def test_recursive_call_is_an_error(tmp_path):
    source = tmp_path / "recursive.mlir"
    source.write_text("""
    func.func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
      %0 = call @f(%x) : (tensor<3xf32>) -> tensor<3xf32>
      return %0 : tensor<3xf32>
    }
    """)
    # A subprocess, so that an endless loop can be stopped (the limit leaves room for a loaded machine:
    # a whole-suite run once took past 5 s to start it).
    run = subprocess.run([sys.executable, "-m", "mlax.cli", "opt", str(source), "--passes", "mlax-simplify"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr == "mlax opt: error: mlax-simplify: recursive call of @f\n"


def test_mutual_recursion_is_an_error(tmp_path, capsys):
    module = """
    func.func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
      %0 = call @g(%x) : (tensor<3xf32>) -> tensor<3xf32>
      return %0 : tensor<3xf32>
    }
    func.func private @g(%x: tensor<3xf32>) -> tensor<3xf32> {
      %0 = call @f(%x) : (tensor<3xf32>) -> tensor<3xf32>
      return %0 : tensor<3xf32>
    }
    """
    status, _, err = mlax_opt(module, ["mlax-simplify"], tmp_path, capsys)
    assert status == 2
    assert "recursive call of @" in err
