"""dialect/mlax.irdl.mlir: generated from the op table, checked in, and enforced by MLIR.

The checked-in file must equal what tools/gen_irdl.py generates now, and
`iree-opt --irdl-file` must reject mlax IR that breaks the definition.
"""

import importlib.util
import os


from mlax import cli

from conftest import IRDL_FILE, ROOT, verify_with_irdl


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_irdl", os.path.join(ROOT, "tools", "gen_irdl.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_dialect_is_generated_from_the_op_table():
    with open(IRDL_FILE) as f:
        checked_in = f.read()
    assert checked_in == _load_generator().irdl_text(), "stale: run python tools/gen_irdl.py"


REDUCE_SUM = """
func.func @main(%x: tensor<3x4xf32>) -> tensor<3xf32> {
  %0 = "mlax.reduce_sum"(%x) {axes = AXES} : (tensor<3x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
"""


def test_irdl_accepts_valid_ir_and_rejects_a_wrong_attribute_kind():
    assert verify_with_irdl([REDUCE_SUM.replace("AXES", "array<i64: 1>")]) == ""
    errors = verify_with_irdl([REDUCE_SUM.replace("AXES", "1 : i64")])
    assert "mlax.reduce_sum" in errors
    assert "expected base attribute 'builtin.dense_array' but got 'builtin.integer'" in errors


def test_irdl_rejects_an_unknown_mlax_op():
    errors = verify_with_irdl([REDUCE_SUM.replace('"mlax.reduce_sum"', '"mlax.reduce_frobnicate"')
                               .replace("AXES", "array<i64: 1>")])
    assert "unregistered operation 'mlax.reduce_frobnicate'" in errors


def test_variadic_groups_hold_one_type_in_op_table_and_irdl(tmp_path, capsys):
    """IRDL binds a variadic operand group to one type (llvm/llvm-project#158085); the op
    table asks the same of dynamic_slice's start indices, so both reject mixed index types."""
    dynamic_slice = """
    func.func @main(%x: tensor<5x6xf32>, %i: tensor<i32>, %j: tensor<i64>) -> tensor<2x3xf32> {
      %0 = "mlax.dynamic_slice"(%x, %i, %j) {slice_sizes = array<i64: 2, 3>} : (tensor<5x6xf32>, tensor<i32>, tensor<i64>) -> tensor<2x3xf32>
      return %0 : tensor<2x3xf32>
    }
    """
    source = tmp_path / "dynamic_slice.mlir"
    source.write_text(dynamic_slice)
    assert cli.main(["opt", str(source), "--passes", "mlax-verify"]) == 2
    assert "start indices must all have one integer dtype" in capsys.readouterr().err
    assert "expected 'tensor<i32>' but got 'tensor<i64>'" in verify_with_irdl([dynamic_slice])
