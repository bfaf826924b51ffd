"""mlax.nn.initializers against jax.nn.initializers: each row's initializer draws with the same
key in both, for a dense and a convolution shape, at the builder's dtype and at float16; the
draws from uniform bits must be JAX's bit for bit, those through erf_inv (normal, truncated
normal) within a few ulps. All rows are one program (and one of JAX's). Also: the names and
signatures are JAX's, the Initializer protocol, the orthogonal initializers (JAX's numbers,
orthonormal), and the errors."""

import inspect

import jax
import jax.nn.initializers as ji
import numpy as np
import pytest

import mlax
import mlax.nn.initializers as mi

from ._oracle import marked

jax.config.update("jax_platforms", "cpu")

DENSE, CONV = (5, 3), (3, 2, 4, 6)

# name -> (builder(initializers), bit for bit)
ROWS = {
    "zeros": (lambda I: I.zeros, True),
    "ones": (lambda I: I.ones, True),
    "constant": (lambda I: I.constant(-7.0), True),
    "constant dtype=int32": (lambda I: I.constant(3, dtype=np.int32), True),
    "uniform": (lambda I: I.uniform(), True),
    "uniform scale=3 dtype=float16": (lambda I: I.uniform(3.0, dtype=np.float16), True),
    "normal": (lambda I: I.normal(), False),
    "normal stddev=0.5": (lambda I: I.normal(0.5), False),
    "truncated_normal": (lambda I: I.truncated_normal(), False),
    "truncated_normal stddev=2 lower=-1 upper=0.5": (
        lambda I: I.truncated_normal(2.0, lower=-1.0, upper=0.5), False),
    **{f"variance_scaling {mode} {distribution}": (
        lambda I, mode=mode, distribution=distribution: I.variance_scaling(0.7, mode, distribution),
        distribution == "uniform")
       for mode, distribution in (("fan_in", "truncated_normal"), ("fan_in", "normal"), ("fan_in", "uniform"),
                                  ("fan_out", "uniform"), ("fan_avg", "normal"), ("fan_geo_avg", "truncated_normal"))},
    "variance_scaling in_axis=0 out_axis=(1, 2)": (
        lambda I: I.variance_scaling(2.0, "fan_avg", "uniform", in_axis=0, out_axis=(1, -1)), True),
    "variance_scaling batch_axis=0": (
        lambda I: I.variance_scaling(1.0, "fan_out", "normal", batch_axis=0), False),
    "variance_scaling uniform complex64": (
        lambda I: I.variance_scaling(1.0, "fan_in", "uniform", dtype=np.complex64), False),
    "variance_scaling truncated_normal complex64": (
        lambda I: I.variance_scaling(1.0, "fan_avg", "truncated_normal", dtype=np.complex64), False),
    "variance_scaling normal complex64": (
        lambda I: I.variance_scaling(1.0, "fan_in", "normal", dtype=np.complex64), False),
    **{f"{name}": (lambda I, name=name: getattr(I, name)(), name.endswith("uniform"))
       for name in ("glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal", "he_uniform", "he_normal")},
    "he_normal in_axis=-1 out_axis=-2 dtype=float16": (
        lambda I: I.he_normal(in_axis=-1, out_axis=-2, dtype=np.float16), False),
}
XFAIL: dict[str, str] = {}


def _draws(initializers, key, name):
    """The row's draws: a dense and a convolution kernel at the builder's dtype (no dtype given),
    and a dense one at float16."""
    init = ROWS[name][0](initializers)
    return {"dense": init(key, DENSE), "conv": init(key, CONV), "dense float16": init(key, DENSE, np.float16)}


def _compare(got, expected, exact, name):
    for where, e in expected.items():
        g = got[where]
        assert (g.shape, g.dtype, g.weak_type) == (e.shape, e.dtype, e.weak_type), (name, where)
        g, e = np.asarray(g), np.asarray(e)
        if exact:
            np.testing.assert_array_equal(g, e, err_msg=f"{name} {where}")
        else:  # erf_inv's last bits
            rtol = 2e-3 if e.dtype == np.float16 else 4e-6
            np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * 1e-2, err_msg=f"{name} {where}")


@pytest.fixture(scope="module")
def draws():
    """(mlax's draws, JAX's draws) of every row, each library's in one program."""
    got = mlax.jit(lambda key: {name: _draws(mi, key, name) for name in ROWS})(mlax.random.PRNGKey(7))
    expected = jax.jit(lambda key: {name: _draws(ji, key, name) for name in ROWS})(jax.random.PRNGKey(7))
    return got, expected


@pytest.mark.parametrize("name", marked(ROWS, XFAIL))
def test_initializer(name, draws):
    got, expected = draws
    _compare(got[name], expected[name], ROWS[name][1], name)


def test_names_and_signatures_are_jax():
    names = [n for n in dir(ji) if not n.startswith("_")]
    assert [n for n in names if not hasattr(mi, n)] == []
    for name in names:
        if name == "Initializer":
            continue
        ours, theirs = inspect.signature(getattr(mi, name)), inspect.signature(getattr(ji, name))
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
            (p.name, p.kind, p.default) for p in theirs.parameters.values()], name
    made = inspect.signature(mi.normal())
    assert [(p.name, p.default) for p in made.parameters.values()] == [
        ("key", inspect.Parameter.empty), ("shape", inspect.Parameter.empty), ("dtype", None),
        ("out_sharding", None)]


def test_aliases():
    for alias, name in (("xavier_uniform", "glorot_uniform"), ("xavier_normal", "glorot_normal"),
                        ("kaiming_uniform", "he_uniform"), ("kaiming_normal", "he_normal")):
        assert getattr(mi, alias) is getattr(mi, name)


def test_initializer_protocol():
    for init in (mi.zeros, mi.ones, mi.constant(1.0), mi.normal(), mi.glorot_uniform(), mi.orthogonal()):
        assert isinstance(init, mi.Initializer)
    assert not isinstance(3, mi.Initializer)


# name -> (builder, shape)
ORTHOGONAL = {
    "orthogonal tall": (lambda I: I.orthogonal(), (5, 3)),
    "orthogonal wide scale=2": (lambda I: I.orthogonal(2.0), (3, 5)),
    "orthogonal column_axis=0 of 3 axes": (lambda I: I.orthogonal(column_axis=0), (4, 2, 3)),
    "orthogonal with an empty axis": (lambda I: I.orthogonal(), (0, 3)),
    "delta_orthogonal 3 axes": (lambda I: I.delta_orthogonal(), (3, 4, 4)),
    "delta_orthogonal 4 axes column_axis=0": (lambda I: I.delta_orthogonal(column_axis=0), (2, 3, 2, 5)),
    "delta_orthogonal 5 axes scale=0.5": (lambda I: I.delta_orthogonal(0.5), (3, 1, 2, 3, 3)),
}


def test_orthogonal():
    # JAX's numbers, and orthonormal columns or rows (whichever are fewer) at the centre.
    got = mlax.jit(lambda key: {name: b(mi)(key, shape) for name, (b, shape) in ORTHOGONAL.items()})(
        mlax.random.PRNGKey(2))
    expected = jax.jit(lambda key: {name: b(ji)(key, shape) for name, (b, shape) in ORTHOGONAL.items()})(
        jax.random.PRNGKey(2))
    for name in ORTHOGONAL:
        g, e = got[name], expected[name]
        assert (g.shape, g.dtype) == (e.shape, e.dtype), name
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-5, atol=1e-5, err_msg=name)
    q = np.asarray(got["orthogonal tall"])
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-5)


INIT_ERRORS = {
    "zeros out_sharding": (lambda: mi.zeros(None, (2,), out_sharding="x"), NotImplementedError,
                           "nn.initializers.zeros: out_sharding"),
    "normal out_sharding": (lambda: mi.normal()(mlax.random.PRNGKey(0), (2,), out_sharding="x"),
                            NotImplementedError, "nn.initializers.normal: out_sharding"),
    "orthogonal out_sharding": (lambda: mi.orthogonal()(mlax.random.PRNGKey(0), (2, 2), out_sharding="x"),
                                NotImplementedError, "out_sharding"),
    "mode": (lambda: mi.variance_scaling(1.0, "fan_max", "normal"), ValueError, "mode must be one of .*'fan_max'"),
    "distribution": (lambda: mi.variance_scaling(1.0, "fan_in", "cauchy"), ValueError,
                     "distribution must be one of .*'cauchy'"),
    "one axis": (lambda: mi.glorot_uniform()(mlax.random.PRNGKey(0), (4,)), ValueError,
                 "a weight shape of 1 axes has no input axis -2"),
    "orthogonal of one axis": (lambda: mi.orthogonal()(mlax.random.PRNGKey(0), (4,)), ValueError,
                               r"at least 2 axes, got \(4,\)"),
    "delta_orthogonal of two axes": (lambda: mi.delta_orthogonal()(mlax.random.PRNGKey(0), (4, 4)), ValueError,
                                     r"3, 4 or 5 axes, got \(4, 4\)"),
    "delta_orthogonal more inputs than outputs": (
        lambda: mi.delta_orthogonal()(mlax.random.PRNGKey(0), (3, 5, 4)), ValueError,
        r"input channels \(shape\[-2\] = 5\) must be at most the output channels \(shape\[-1\] = 4\)"),
}


@pytest.mark.parametrize("name", INIT_ERRORS)
def test_initializer_errors(name):
    call, error, message = INIT_ERRORS[name]
    with pytest.raises(error, match=message):
        call()
