"""mlax-pmap through `mlax opt`, on hand-written IR: a pmap op becomes one function
running the callee on each device, its collectives made of transfers."""

import numpy as np

from opt_helper import mlax_opt, op_names, run_lowered

PMAP = """
func.func private @f(%x: tensor<3xf32>, %w: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mlax.mul"(%x, %w) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = "mlax.psum"(%0) {axis_name = "i"} : (tensor<3xf32>) -> tensor<3xf32>
  %2 = "mlax.axis_index"() {axis_name = "i"} : () -> tensor<i32>
  %3 = "mlax.convert_element_type"(%2) {new_dtype = f32} : (tensor<i32>) -> tensor<f32>
  %4 = "mlax.broadcast_in_dim"(%3) {shape = array<i64: 3>, broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<3xf32>
  %5 = "mlax.add"(%1, %4) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %5 : tensor<3xf32>
}
func.func @main(%xs: tensor<2x3xf32>, %w: tensor<3xf32>) -> tensor<3x2xf32> {
  %r = "mlax.pmap"(%xs, %w) {callee = @f, axis_name = "i", axis_size = 2, devices = array<i64: 0, 1>,
         in_axes = array<i64: 0, -1>, out_axes = array<i64: 1>} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}
"""


def test_pmap_writes_per_device_ops_joined_by_transfers(tmp_path, capsys):
    status, out, err = mlax_opt(PMAP, ["mlax-pmap", "mlax-simplify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    names = op_names(out)
    assert not {"mlax.pmap", "mlax.psum", "mlax.axis_index"} & set(names)
    assert names.count("mlax.mul") == 2  # once per device
    assert "source = 0 : i64, target = 1 : i64" in out and "source = 1 : i64, target = 0 : i64" in out


def test_pmapped_module_runs_on_two_devices(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLAX_NUM_CPU_DEVICES", "2")
    status, out, err = mlax_opt(PMAP, ["mlax-pmap", "mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    assert "#hal.device.affinity<@__device_1>" in out
    xs = np.arange(6, dtype=np.float32).reshape(2, 3)
    w = np.array([1.0, -0.5, 2.0], np.float32)
    [result] = run_lowered(out, xs, w)
    total = (xs * w).sum(0)
    np.testing.assert_allclose(result, np.stack([total, total + 1], axis=1), rtol=1e-6)


def test_a_collective_no_pmap_binds_cannot_be_lowered(tmp_path, capsys):
    status, _, err = mlax_opt(PMAP, ["mlax-lower"], tmp_path, capsys)
    assert status == 2
    assert "mlax.psum over axis 'i' cannot be lowered: no vmap or pmap binds the axis name 'i'" in err
