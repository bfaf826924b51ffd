"""Compiled programs never write their inputs: IREE may run an in-place op in an
argument's storage once its own folding turns `-(-x)`, `x * 1`, `x.T.T` ... into `x`,
so the runtime hands such arguments a private copy (runtime/aliasing.py).

Inputs are read back from their device buffers (not from the host copy an Array keeps
once read), byte for byte, after every call."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax import lax, ops


def device_bytes(x):
    """The bytes in the array's device buffer now."""
    return x._device.fetch(x._buffer, x.shape, x.dtype).tobytes()


# Ops (from the op table) that IREE folds to their operand, each as a function of x.
IDENTITIES = {
    "neg twice": lambda x: ops.neg(ops.neg(x)),
    "times one": lambda x: ops.mul(x, mnp.ones_like(x)),
    "plus zero": lambda x: ops.add(x, mnp.zeros_like(x)),
    "transpose twice": lambda x: ops.transpose(ops.transpose(x, (1, 0)), (1, 0)),
    "reshape round trip": lambda x: ops.reshape(ops.reshape(x, (x.size,)), x.shape),
    "max with itself": lambda x: ops.max(x, x),
    "select true": lambda x: ops.select(mnp.ones(x.shape, bool), x, mnp.zeros_like(x)),
    "convert to its dtype": lambda x: ops.convert_element_type(x, x.dtype),
    "bitcast round trip": lambda x: ops.bitcast_convert_type(ops.bitcast_convert_type(x, np.uint32), x.dtype),
    "pad by zero": lambda x: ops.pad(x, mnp.zeros((), x.dtype), ((0, 0, 0), (0, 0, 0))),
    "full slice": lambda x: ops.slice(x, (0, 0), x.shape),
    "full dynamic_slice": lambda x: ops.dynamic_slice(x, (0, 0), x.shape),
    "rev twice": lambda x: ops.rev(ops.rev(x, (0,)), (0,)),
    "broadcast to its shape": lambda x: ops.broadcast_in_dim(x, x.shape, (0, 1)),
    "optimization_barrier": ops.optimization_barrier,
    "stop_gradient": ops.stop_gradient,
}

# Ops IREE may run in the storage of their operand.
SINKS = {
    "dynamic_update_slice": lambda y: ops.dynamic_update_slice(y, mnp.full((1, y.shape[1]), 9, y.dtype), (0, 0)),
    "scatter set": lambda y: y.at[1].set(7),
    "scatter add": lambda y: y.at[:, 0].add(2),
    "sort": lambda y: ops.sort(y, dimension=1),
    "sort_key_val": lambda y: ops.sort_key_val(y, y[::-1], dimension=0)[1],
    "fori_loop carry": lambda y: lax.fori_loop(0, 2, lambda i, c: c.at[i].set(-1), y),
    "scan carry": lambda y: lax.scan(lambda c, _: (c.at[0].add(1), None), y, None, length=2)[0],
    "cond branch": lambda y: lax.cond(y[0, 0] > -100, lambda c: c.at[0].set(5), lambda c: c, y),
    "while carry": lambda y: lax.while_loop(lambda c: c[0][0, 0] < 50, lambda c: (c[0].at[0, 0].add(30), c[1]),
                                            (y, y))[0],
}


def _compose(identities, sink):
    def program(x):
        for name in identities:
            x = IDENTITIES[name](x)
        return SINKS[sink](x)
    return program


def _inputs(dtype, rows, cols, seed):
    values = np.random.default_rng(seed).integers(-50, 50, (rows, cols)).astype(dtype)
    return values, mnp.asarray(values)


@settings(max_examples=40, deadline=None)
@given(identities=st.lists(st.sampled_from(sorted(IDENTITIES)), max_size=3), sink=st.sampled_from(sorted(SINKS)),
       dtype=st.sampled_from([np.float32, np.int32]), rows=st.integers(2, 5), cols=st.integers(2, 5),
       seed=st.integers(0, 2**16))
def test_jit_never_writes_its_inputs(identities, sink, dtype, rows, cols, seed):
    values, x = _inputs(dtype, rows, cols, seed)
    program = _compose(identities, sink)
    f = mlax.jit(program)
    expected = np.asarray(program(mnp.asarray(values)))
    for _ in range(2):
        assert np.array_equal(np.asarray(f(x)), expected)
        assert device_bytes(x) == values.tobytes(), f"{identities} then {sink} wrote its input"


@pytest.mark.parametrize("identity", sorted(IDENTITIES))
def test_second_argument_and_closed_over_array_are_not_written(identity):
    values, x = _inputs(np.float32, 3, 4, 1)
    captured_values, captured = _inputs(np.float32, 3, 4, 2)
    f = mlax.jit(lambda a, b: (SINKS["dynamic_update_slice"](IDENTITIES[identity](b)),
                               SINKS["scatter set"](IDENTITIES[identity](captured)) + a))
    f(x, x)
    f(x, x)
    assert device_bytes(x) == values.tobytes()
    assert device_bytes(captured) == captured_values.tobytes()


@pytest.mark.parametrize("sink", sorted(SINKS))
def test_eager_ops_never_write_their_inputs(sink):
    values, x = _inputs(np.float32, 3, 4, 3)
    SINKS[sink](x)
    assert device_bytes(x) == values.tobytes()


def test_issue_examples_leave_the_input_alone():
    # The reports: each of these, in front of dynamic_update_slice, overwrote x.
    for front in (lambda x: x * 1.0, lambda x: x.T.T, lambda x: mnp.pad(x, 0), lambda x: mnp.maximum(x, x)):
        x = mnp.array([[0.0, 1, 2], [3, 4, 5]])
        y = mlax.jit(lambda x: lax.dynamic_update_slice(front(x), mnp.ones((1, 3)), (0, 0)))(x)
        assert device_bytes(x) == np.array([[0, 1, 2], [3, 4, 5]], np.float32).tobytes()
        np.testing.assert_array_equal(y, [[1, 1, 1], [3, 4, 5]])


def test_read_only_programs_take_their_arguments_without_a_copy():
    # Copies cost a buffer and a memcpy per call: programs that only read get none.
    f = mlax.jit(lambda x, y: (mnp.tanh(x) @ y).sum(axis=0) + x[0, 0])
    compiled, _ = f._compiled((mnp.ones((3, 3)), mnp.ones((3, 2))), {})
    assert compiled._copy_args == set()
    writer, _ = mlax.jit(lambda x, y: lax.dynamic_update_slice(x, y[:1], (1, 0)) + y)._compiled((mnp.ones((3, 3)), mnp.ones((3, 3))), {})
    assert writer._copy_args == {0}


def test_arrays_a_loop_only_reads_are_not_copied():
    # scan carries xs through its loop unchanged; only the carry's storage is written.
    f = mlax.jit(lambda c, xs: lax.scan(lambda c, x: (c + x.sum(), c * 2), c, xs))
    compiled, _ = f._compiled((mnp.zeros(()), mnp.ones((5, 3))), {})
    assert compiled._copy_args == {0}
