"""mlax.numpy's I/O, printing and dtype names against jax.numpy's: load/save/savez round trips
(bfloat16 too), frombuffer/fromstring, fromfunction (traced over index arrays), from_dlpack,
array_repr/array_str and the print options, the errors JAX raises (fromfile, fromiter), and the
NumPy type names and predicates (bool ... cdouble, isdtype, iterable)."""

import io

import jax
import jax.numpy as jnp
import ml_dtypes
import mlax
import mlax.numpy as mnp
import numpy as np
import pytest

jax.config.update("jax_platforms", "cpu")


def _same(got, expected):
    """Equal values, shapes, dtypes and weak types (arrays), or equal objects."""
    if isinstance(expected, jax.Array):
        assert isinstance(got, mlax.Array), type(got)
        assert (got.shape, got.dtype, got.weak_type) == (expected.shape, expected.dtype, expected.weak_type)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    else:
        assert type(got) is type(expected), (type(got), type(expected))
        np.testing.assert_array_equal(got, expected)


# name -> f(np_): the call under jax.numpy's names and mlax.numpy's.
ROWS = {
    "frombuffer": lambda np_: np_.frombuffer(np.arange(4, dtype=np.int16).tobytes(), dtype=np.int16),
    "frombuffer default float, count, offset": lambda np_: np_.frombuffer(np.arange(5.0, dtype=np.float32).tobytes(),
                                                                          dtype=np.float32, count=3, offset=4),
    "frombuffer float64 canonicalized": lambda np_: np_.frombuffer(np.arange(3.0).tobytes()),
    "fromstring": lambda np_: np_.fromstring("1 2.5 -3", sep=" "),
    "fromstring dtype count": lambda np_: np_.fromstring("1,2,3,4", dtype=np.int32, count=3, sep=","),
    "fromfunction": lambda np_: np_.fromfunction(lambda i, j: i * 10 + j, (2, 3)),
    "fromfunction int dtype, int shape": lambda np_: np_.fromfunction(lambda i: i * i, 4, dtype=np.int32),
    "fromfunction traced": lambda np_: np_.fromfunction(lambda i, j: np_.where(i == j, np_.sin(i), 0.0), (3, 3)),
    "fromfunction kwargs mapped": lambda np_: np_.fromfunction(lambda i, j, k=1: i * k + j, (2, 3),
                                                               k=np_.array([[10.0, 20.0, 30.0], [1.0, 2.0, 3.0]])),
    "fromfunction empty": lambda np_: np_.fromfunction(lambda i, j: i + j, (0, 2)),
    "from_dlpack": lambda np_: np_.from_dlpack(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "from_dlpack int64 canonicalized": lambda np_: np_.from_dlpack(np.arange(3)),
    "from_dlpack copy": lambda np_: np_.from_dlpack(np.ones(2, np.float32), copy=True),
    "array_repr array_str": lambda np_: (np_.array_repr(np_.arange(3.0)).replace("ArrayImpl", "Array"),
                                         np_.array_str(np_.arange(3.0) / 3)),
    "array_repr keywords": lambda np_: np_.array_str(np_.arange(4.0) / 3, max_line_width=10, precision=2,
                                                     suppress_small=True),
    "printoptions": lambda np_: _printed_with(np_),
    "get_printoptions": lambda np_: np_.get_printoptions()["precision"],
    "dtype names": lambda np_: tuple(np.dtype(t) for t in (np_.bool, np_.single, np_.double, np_.csingle,
                                                           np_.cdouble, np_.uint)),
    "dtype names are the sized ones": lambda np_: (np_.bool is np_.bool_, np_.single is np_.float32,
                                                   np_.double is np_.float64, np_.csingle is np_.complex64,
                                                   np_.cdouble is np_.complex128, np_.uint is np_.uint64),
    "dtype names called": lambda np_: (np_.bool(1), np_.single(2), np_.csingle(1j), np_.uint(3), np_.double(0.5)),
    "numpy's types": lambda np_: (np_.object_ is np.object_, np_.character is np.character,
                                  np_.flexible is np.flexible, np_.ComplexWarning is np.exceptions.ComplexWarning),
    "iterable": lambda np_: (np_.iterable([1]), np_.iterable(3), np_.iterable(np_.arange(2)), np_.iterable("ab")),
    "isdtype kinds": lambda np_: tuple(np_.isdtype(d, k) for d in (np.float32, np.int8, np.uint32, np.bool_,
                                                                    np.complex64, ml_dtypes.bfloat16, np.float16)
                                       for k in ("bool", "signed integer", "unsigned integer", "integral",
                                                 "real floating", "complex floating", "numeric")),
    "isdtype dtypes and tuples": lambda np_: (np_.isdtype(np_.float32, np_.float32), np_.isdtype("int32", np.int64),
                                              np_.isdtype(np.int16, ("bool", np.int16)),
                                              np_.isdtype(np_.bool, ("numeric",)), np_.isdtype(np.float32, None)),
}


def _printed_with(np_):
    with np_.printoptions(precision=2):
        inside = np_.get_printoptions()["precision"], repr(np_.array([1 / 3, 2.0]))
    return inside, np_.get_printoptions()["precision"]


@pytest.mark.parametrize("name", sorted(ROWS))
def test_rows(name):
    with np.errstate(all="ignore"):
        got, expected = ROWS[name](mnp), ROWS[name](jnp)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        _same(g, e)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected)


def test_set_printoptions():
    before = np.get_printoptions()
    try:
        mnp.set_printoptions(precision=3)
        assert jnp.get_printoptions()["precision"] == mnp.get_printoptions()["precision"] == 3
        assert repr(mnp.array([1 / 3])) == repr(jnp.array([1 / 3]))
    finally:
        np.set_printoptions(**before)


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.complex64, np.bool_, ml_dtypes.bfloat16])
def test_save_load_round_trip(dtype):
    x = (np.arange(6) % 2).reshape(2, 3).astype(dtype)
    for save in (mnp.save, jnp.save):
        buffers = {}
        for np_ in (mnp, jnp):
            buffers[np_] = io.BytesIO()
            save(buffers[np_], np_.asarray(x))
            buffers[np_].seek(0)
        assert buffers[mnp].getvalue() == buffers[jnp].getvalue()
        _same(mnp.load(io.BytesIO(buffers[mnp].getvalue())), jnp.load(io.BytesIO(buffers[jnp].getvalue())))


def test_load_leaves_what_mlax_cannot_hold_and_archives_to_numpy():
    strings = io.BytesIO()
    np.save(strings, np.array(["a", "bc"]))
    got, expected = (m.load(io.BytesIO(strings.getvalue())) for m in (mnp, jnp))
    _same(got, expected)
    archive = io.BytesIO()
    mnp.savez(archive, x=mnp.arange(3.0), y=np.ones(2))
    for m in (mnp, jnp):
        with m.load(io.BytesIO(archive.getvalue())) as files:
            assert isinstance(files, np.lib.npyio.NpzFile)
            np.testing.assert_array_equal(files["x"], np.arange(3.0, dtype=np.float32))


def test_fromfunction_under_jit_and_with_jax_semantics_of_arrays():
    f = lambda n: mnp.fromfunction(lambda i, j: i * n + j, (2, 2))  # noqa: E731
    np.testing.assert_array_equal(np.asarray(mlax.jit(f)(3.0)), [[0, 1], [3, 4]])


def test_errors_name_the_problem():
    for name in ("fromfile", "fromiter"):
        for m in (mnp, jnp):
            with pytest.raises(NotImplementedError, match=name):
                getattr(m, name)(io.BytesIO(b""), dtype=np.float32)
    with pytest.raises(NotImplementedError, match="copy=False"):
        mnp.from_dlpack(np.ones(2, np.float32), copy=False)
    with pytest.raises(TypeError, match="shape"):
        mnp.fromfunction(lambda i: i, (2.0,))
    with pytest.raises(ValueError, match="unknown kind 'floaty'"):
        mnp.isdtype(np.float32, "floaty")
    with pytest.raises(TypeError, match="kind"):
        mnp.isdtype(np.float32, 3)
    with pytest.raises(TypeError, match="sep"):
        mnp.fromstring("1 2")
