"""mlax-lower through `mlax opt`: every mlax op becomes StableHLO/CHLO, and the result
passes MLIR's own verifiers in a context that knows no unregistered ops."""

from iree.compiler import ir

from opt_helper import check_output, mlax_opt

MIXED_FAMILIES = """
func.func private @affine(%w: tensor<2x3xf32>, %x: tensor<3xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "mlax.dot_general"(%w, %x) {lhs_contracting = array<i64: 1>, rhs_contracting = array<i64: 0>, lhs_batch = array<i64>, rhs_batch = array<i64>} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2xf32>
  %1 = "mlax.add"(%0, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %1 : tensor<2xf32>
}
func.func @main(%w: tensor<2x3xf32>, %x: tensor<3xf32>) -> (tensor<2xf32>, tensor<i32>) {
  %c = "mlax.constant"() {value = dense<[1.0, -1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %0 = call @affine(%w, %x, %c) : (tensor<2x3xf32>, tensor<3xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = "mlax.asin"(%0) : (tensor<2xf32>) -> tensor<2xf32>
  %2 = "mlax.reduce_max"(%w) {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  %3 = "mlax.lt"(%1, %2) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xi1>
  %4 = "mlax.select"(%3, %1, %2) : (tensor<2xi1>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %5 = "mlax.argmax"(%w) {axis = 0 : i64, index_dtype = i32} : (tensor<2x3xf32>) -> tensor<3xi32>
  %6 = "mlax.reduce_sum"(%5) {axes = array<i64: 0>} : (tensor<3xi32>) -> tensor<i32>
  return %4, %6 : tensor<2xf32>, tensor<i32>
}
"""

LOWERED_DIALECTS = ("stablehlo.", "chlo.", "func.", "builtin.")


def strictly_parsed_op_names(text):
    """Parse `text` where only registered dialects are known, verify it, and list its op names."""
    names = []

    def record(operation):
        names.append(operation.name)
        return ir.WalkResult.ADVANCE

    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        assert module.operation.verify()
        module.operation.walk(record)
    return names


# Each family of mlax op in its StableHLO/CHLO form; calls and private functions are kept.
MIXED_FAMILIES_LOWERED = """
// CHECK-LABEL: func.func private @affine(
// CHECK-SAME:      %[[W:.*]]: tensor<2x3xf32>, %[[X:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT:    %[[WX:.*]] = stablehlo.dot_general %[[W]], %[[X]], contracting_dims = [1] x [0] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = stablehlo.add %[[WX]], %[[B]] : tensor<2xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2xf32>

// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[W:.*]]: tensor<2x3xf32>, %[[X:.*]]: tensor<3xf32>) -> (tensor<2xf32>, tensor<i32>)
// CHECK-NEXT:    %[[C:.*]] = stablehlo.constant dense<[1.000000e+00, -1.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = call @affine(%[[W]], %[[X]], %[[C]])
// CHECK-NEXT:    %[[ASIN:.*]] = chlo.asin %[[Y]] : tensor<2xf32> -> tensor<2xf32>
// reduce_max: a reduce with maximum from -inf.
// CHECK-NEXT:    %[[NEG_INF:.*]] = stablehlo.constant dense<0xFF800000> : tensor<f32>
// CHECK-NEXT:    %[[MAX:.*]] = stablehlo.reduce(%[[W]] init: %[[NEG_INF]]) applies stablehlo.maximum across dimensions = [1]
// CHECK-NEXT:    %[[LT:.*]] = stablehlo.compare LT, %[[ASIN]], %[[MAX]], FLOAT
// CHECK-NEXT:    %[[SEL:.*]] = stablehlo.select %[[LT]], %[[ASIN]], %[[MAX]] : tensor<2xi1>, tensor<2xf32>
// argmax: one reduce over the values and their indices (an iota) together.
// CHECK-NEXT:    %[[IDX:.*]] = stablehlo.iota dim = 0 : tensor<2x3xi32>
// CHECK:         %[[ARGMAX:.*]]:2 = stablehlo.reduce(%[[W]] init: %{{.*}}), (%[[IDX]] init: %{{.*}}) across dimensions = [0]
// CHECK:           stablehlo.return
// CHECK:         %[[N:.*]] = stablehlo.reduce(%[[ARGMAX]]#1 init: %{{.*}}) applies stablehlo.add across dimensions = [0] : (tensor<3xi32>, tensor<i32>) -> tensor<i32>
// CHECK-NEXT:    return %[[SEL]], %[[N]] : tensor<2xf32>, tensor<i32>
"""


def test_lowers_to_verified_stablehlo(tmp_path, capsys):
    status, out, err = mlax_opt(MIXED_FAMILIES, ["mlax-verify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    names = strictly_parsed_op_names(out)
    assert [n for n in names if not n.startswith(LOWERED_DIALECTS)] == []
    check_output(out, MIXED_FAMILIES_LOWERED)


# Simplified first: one function, the call inlined.
MIXED_FAMILIES_SIMPLIFIED_LOWERED = """
// ONE-NOT:       call
// ONE:           func.func
// ONE-SAME:      @main(
// ONE-NOT:       func.func
// ONE-NOT:       call
"""


def test_lowering_after_simplify_leaves_one_function(tmp_path, capsys):
    status, out, err = mlax_opt(MIXED_FAMILIES, ["mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    strictly_parsed_op_names(out)  # parses and verifies where only registered dialects are known
    check_output(out, MIXED_FAMILIES_SIMPLIFIED_LOWERED, prefixes=("ONE",))


def test_boolean_add_lowers_to_or(tmp_path, capsys):
    """StableHLO's add on booleans is OR, but IREE computes XOR: mlax emits stablehlo.or."""
    module = """
    func.func @main(%p: tensor<4xi1>) -> (tensor<4xi1>, tensor<i1>) {
      %0 = "mlax.add"(%p, %p) : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
      %1 = "mlax.reduce_sum"(%p) {axes = array<i64: 0>} : (tensor<4xi1>) -> tensor<i1>
      return %0, %1 : tensor<4xi1>, tensor<i1>
    }
    """
    checks = """
    // CHECK:      module {
    // CHECK-NEXT:   func.func @main(%[[P:.*]]: tensor<4xi1>) -> (tensor<4xi1>, tensor<i1>) {
    // CHECK-NEXT:     %[[OR:.*]] = stablehlo.or %[[P]], %[[P]] : tensor<4xi1>
    // CHECK-NEXT:     %[[FALSE:.*]] = stablehlo.constant dense<false> : tensor<i1>
    // CHECK-NEXT:     %[[ANY:.*]] = stablehlo.reduce(%[[P]] init: %[[FALSE]]) applies stablehlo.or across dimensions = [0]
    // CHECK-NEXT:     return %[[OR]], %[[ANY]] : tensor<4xi1>, tensor<i1>
    // CHECK-NEXT:   }
    // CHECK-NEXT: }

    // NO-ADD-NOT:   stablehlo.add
    """
    status, out, err = mlax_opt(module, ["mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    strictly_parsed_op_names(out)  # parses and verifies where only registered dialects are known
    check_output(out, checks, prefixes=("CHECK", "NO-ADD"))


def test_unknown_mlax_op_is_an_error(tmp_path, capsys):
    module = """
    func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
      %0 = "mlax.frobnicate"(%x) : (tensor<3xf32>) -> tensor<3xf32>
      return %0 : tensor<3xf32>
    }
    """
    status, out, err = mlax_opt(module, ["mlax-lower"], tmp_path, capsys)
    assert (status, out) == (2, "")
    assert err == "mlax opt: error: mlax-lower: unknown mlax op mlax.frobnicate\n"
