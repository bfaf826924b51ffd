"""mlax-lower through `mlax opt`: every mlax op becomes StableHLO/CHLO, and the result
passes MLIR's own verifiers in a context that knows no unregistered ops."""

from iree.compiler import ir

from opt_helper import mlax_opt

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


def test_lowers_to_verified_stablehlo(tmp_path, capsys):
    status, out, err = mlax_opt(MIXED_FAMILIES, ["mlax-verify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    names = strictly_parsed_op_names(out)
    assert [n for n in names if not n.startswith(LOWERED_DIALECTS)] == []
    assert {"stablehlo.dot_general", "chlo.asin", "stablehlo.reduce", "stablehlo.compare", "stablehlo.select",
            "stablehlo.iota", "func.call"} <= set(names)


def test_lowering_after_simplify_leaves_one_function(tmp_path, capsys):
    status, out, err = mlax_opt(MIXED_FAMILIES, ["mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    names = strictly_parsed_op_names(out)
    assert names.count("func.func") == 1 and "func.call" not in names


def test_boolean_add_lowers_to_or(tmp_path, capsys):
    """StableHLO's add on booleans is OR, but IREE computes XOR: mlax emits stablehlo.or."""
    module = """
    func.func @main(%p: tensor<4xi1>) -> (tensor<4xi1>, tensor<i1>) {
      %0 = "mlax.add"(%p, %p) : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
      %1 = "mlax.reduce_sum"(%p) {axes = array<i64: 0>} : (tensor<4xi1>) -> tensor<i1>
      return %0, %1 : tensor<4xi1>, tensor<i1>
    }
    """
    status, out, err = mlax_opt(module, ["mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    names = strictly_parsed_op_names(out)
    assert names.count("stablehlo.or") == 2 and "stablehlo.add" not in names


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
