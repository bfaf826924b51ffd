"""mlax-pmap through `mlax opt`, on hand-written IR: a pmap op becomes one function
running the callee on each device, its collectives made of transfers."""

import numpy as np

from opt_helper import check_output, mlax_opt, run_lowered

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


# One copy of @f's ops per device (device 0 first), device 1's inputs sent to it; psum is
# device 1's part sent to device 0, added there, and the sum sent back; axis_index is each
# device's own index; the results are joined on device 0 along out_axes 1.
PMAP_SIMPLIFIED = """
// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[XS:.*]]: tensor<2x3xf32>, %[[W:.*]]: tensor<3xf32>) -> tensor<3x2xf32>
// CHECK:         %[[S0:.*]] = "mlax.slice"(%[[XS]]) {limit_indices = array<i64: 1, 3>, start_indices = array<i64: 0, 0>
// CHECK-NEXT:    %[[X0:.*]] = "mlax.reshape"(%[[S0]]) {new_sizes = array<i64: 3>}
// CHECK-NEXT:    %[[S1:.*]] = "mlax.slice"(%[[XS]]) {limit_indices = array<i64: 2, 3>, start_indices = array<i64: 1, 0>
// CHECK-NEXT:    %[[X1:.*]] = "mlax.reshape"(%[[S1]]) {new_sizes = array<i64: 3>}
// CHECK-DAG:     %[[X1_ON_1:.*]] = "mlax.transfer"(%[[X1]]) {source = 0 : i64, target = 1 : i64}
// CHECK-DAG:     %[[W_ON_1:.*]] = "mlax.transfer"(%[[W]]) {source = 0 : i64, target = 1 : i64}
// CHECK:         %[[M0:.*]] = "mlax.mul"(%[[X0]], %[[W]])
// CHECK-NEXT:    %[[M1:.*]] = "mlax.mul"(%[[X1_ON_1]], %[[W_ON_1]])
// CHECK-NEXT:    %[[M1_ON_0:.*]] = "mlax.transfer"(%[[M1]]) {source = 1 : i64, target = 0 : i64}
// CHECK-NEXT:    %[[SUM0:.*]] = "mlax.add"(%[[M0]], %[[M1_ON_0]])
// CHECK-NEXT:    %[[SUM1:.*]] = "mlax.transfer"(%[[SUM0]]) {source = 0 : i64, target = 1 : i64}
// CHECK-DAG:     %[[I0:.*]] = "mlax.constant"() {value = dense<0> : tensor<i32>}
// CHECK-DAG:     %[[I1:.*]] = "mlax.constant"() {value = dense<1> : tensor<i32>}
// CHECK-DAG:     %[[F0:.*]] = "mlax.convert_element_type"(%[[I0]]) {new_dtype = f32}
// CHECK-DAG:     %[[F1:.*]] = "mlax.convert_element_type"(%[[I1]]) {new_dtype = f32}
// CHECK-DAG:     %[[B0:.*]] = "mlax.broadcast_in_dim"(%[[F0]])
// CHECK-DAG:     %[[B1:.*]] = "mlax.broadcast_in_dim"(%[[F1]])
// CHECK-DAG:     %[[R0:.*]] = "mlax.add"(%[[SUM0]], %[[B0]])
// CHECK-DAG:     %[[R1:.*]] = "mlax.add"(%[[SUM1]], %[[B1]])
// CHECK-DAG:     %[[C0:.*]] = "mlax.reshape"(%[[R0]]) {new_sizes = array<i64: 3, 1>}
// CHECK-DAG:     %[[R1_ON_0:.*]] = "mlax.transfer"(%[[R1]]) {source = 1 : i64, target = 0 : i64}
// CHECK-DAG:     %[[C1:.*]] = "mlax.reshape"(%[[R1_ON_0]]) {new_sizes = array<i64: 3, 1>}
// CHECK:         %[[OUT:.*]] = "mlax.concatenate"(%[[C0]], %[[C1]]) {dimension = 1 : i64}
// CHECK-NEXT:    return %[[OUT]] : tensor<3x2xf32>

// No pmap, collective or axis_index op is left, and @f's mul is there once per device.
// GONE-NOT:      mlax.pmap
// GONE-NOT:      mlax.psum
// GONE-NOT:      mlax.axis_index
// MUL-COUNT-2:   "mlax.mul"
// MUL-NOT:       "mlax.mul"
"""


def test_pmap_writes_per_device_ops_joined_by_transfers(tmp_path, capsys):
    status, out, err = mlax_opt(PMAP, ["mlax-pmap", "mlax-simplify"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, PMAP_SIMPLIFIED, prefixes=("CHECK", "GONE", "MUL"))


# Lowered, a transfer to device 1 is a flow.tensor.transfer to that device's affinity.
PMAP_LOWERED = """
// CHECK-LABEL: func.func @main(
// CHECK:         flow.tensor.transfer %{{.*}} : tensor<3xf32> to #hal.device.affinity<@__device_1>
"""


def test_pmapped_module_runs_on_two_devices(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLAX_NUM_CPU_DEVICES", "2")
    status, out, err = mlax_opt(PMAP, ["mlax-pmap", "mlax-simplify", "mlax-lower"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, PMAP_LOWERED)
    xs = np.arange(6, dtype=np.float32).reshape(2, 3)
    w = np.array([1.0, -0.5, 2.0], np.float32)
    [result] = run_lowered(out, xs, w)
    total = (xs * w).sum(0)
    np.testing.assert_allclose(result, np.stack([total, total + 1], axis=1), rtol=1e-6)


def test_a_collective_no_pmap_binds_cannot_be_lowered(tmp_path, capsys):
    status, _, err = mlax_opt(PMAP, ["mlax-lower"], tmp_path, capsys)
    assert status == 2
    assert "mlax.psum over axis 'i' cannot be lowered: no vmap or pmap binds the axis name 'i'" in err


# The module says how many devices its program runs on; the runtime compiles it for that many.
PMAP_DEVICES = """
// CHECK: module attributes {mlax.num_devices = 2 : i64}
"""


def test_pmap_records_the_number_of_devices_on_the_module(tmp_path, capsys):
    status, out, err = mlax_opt(PMAP, ["mlax-pmap"], tmp_path, capsys)
    assert (status, err) == (0, "")
    check_output(out, PMAP_DEVICES)
