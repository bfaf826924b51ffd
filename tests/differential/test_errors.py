"""Where JAX raises, mlax raises the same exception type, or a subclass of it: the rows run
under both; a JAX error class of its own (jax.errors.X) must have an mlax.errors.X that
mlax raises, and a builtin one (TypeError, ValueError, ...) must be a base of mlax's."""

import builtins

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors

ERROR_ROWS = {
    "grad argnums past the arguments": lambda lib, lnp: lib.grad(lambda x: x, argnums=3)(1.0),
    "grad of an integer input": lambda lib, lnp: lib.grad(lambda x: x)(1),
    "grad of a non-scalar output": lambda lib, lnp: lib.grad(lambda x: x)(lnp.ones(2)),
    "adding shapes that do not broadcast": lambda lib, lnp: lnp.add(lnp.ones(2), lnp.ones(3)),
    "reshape to another size": lambda lib, lnp: lnp.ones(6).reshape(4, 2),
    "matmul of misaligned shapes": lambda lib, lnp: lnp.ones((2, 3)) @ lnp.ones((2, 3)),
    "concatenating different shapes": lambda lib, lnp: lnp.concatenate([lnp.ones((2, 2)), lnp.ones((3, 3))]),
    "transpose with a repeated axis": lambda lib, lnp: lnp.transpose(lnp.ones((2, 3)), (0, 0)),
    "bool of a tracer": lambda lib, lnp: lib.jit(lambda x: 1 if x > 0 else 2)(1.0),
    "int of a tracer": lambda lib, lnp: lib.jit(lambda x: int(x))(1.0),
    "numpy array of a tracer": lambda lib, lnp: lib.jit(lambda x: np.asarray(x))(1.0),
    "vmap over different sizes": lambda lib, lnp: lib.vmap(lambda a, b: a + b)(lnp.ones(2), lnp.ones(3)),
    "vmap over a missing axis": lambda lib, lnp: lib.vmap(lambda a: a, in_axes=2)(lnp.ones(2)),
    "an unhashable static argument": lambda lib, lnp: lib.jit(lambda x, y: x, static_argnums=1)(1.0, [1]),
    "take with an unknown mode": lambda lib, lnp: lnp.take(lnp.ones(3), lnp.array([0]), mode="bogus"),
    "sum over a missing axis": lambda lib, lnp: lnp.sum(lnp.ones(3), axis=2),
    "astype to no dtype": lambda lib, lnp: lnp.ones(3).astype("notatype"),
    "an unknown backend": lambda lib, lnp: lib.devices("no_such_backend"),
    "local devices of another process": lambda lib, lnp: lib.local_devices(1),
    "an unequal split": lambda lib, lnp: lnp.split(lnp.ones(5), 2),
    "a float index": lambda lib, lnp: lnp.ones(3)[1.5],
    "jvp with a tangent of another shape": lambda lib, lnp: lib.jvp(lambda x: x, (1.0,), (lnp.ones(2),)),
    "an integer to a negative concrete power": lambda lib, lnp: lnp.power(lnp.arange(3), -1),
    # mlax.numpy's editing, difference, index, NaN-ignoring, window and polynomial functions
    "diff of a scalar": lambda lib, lnp: lnp.diff(lnp.float32(1.0)),
    "diff of negative order": lambda lib, lnp: lnp.diff(lnp.ones(3), n=-1),
    "diff axis out of bounds": lambda lib, lnp: lnp.diff(lnp.ones(3), axis=1),
    "cross of length 4": lambda lib, lnp: lnp.cross(lnp.ones(4), lnp.ones(3)),
    "copy with order C": lambda lib, lnp: lnp.copy(lnp.ones(3), order="C"),
    "isin with an unknown method": lambda lib, lnp: lnp.isin(lnp.ones(3), lnp.ones(2), method="bogus"),
    "append off-axis mismatch": lambda lib, lnp: lnp.append(lnp.ones((2, 3)), lnp.ones((2, 2)), axis=0),
    "insert 2-d index": lambda lib, lnp: lnp.insert(lnp.ones(3), np.ones((2, 2), int), 1.0),
    "insert float index": lambda lib, lnp: lnp.insert(lnp.ones(3), 1.5, 1.0),
    "delete out of bounds": lambda lib, lnp: lnp.delete(lnp.ones(3), 5),
    "delete mask of another length": lambda lib, lnp: lnp.delete(lnp.ones(3), np.array([True, False])),
    "delete float index": lambda lib, lnp: lnp.delete(lnp.ones(3), np.array([1.0])),
    "delete traced without assume_unique": lambda lib, lnp: lib.jit(lambda i: lnp.delete(lnp.ones(3), i))(
        np.array([1])),
    "tril_indices_from 1-d": lambda lib, lnp: lnp.tril_indices_from(lnp.ones(3)),
    "diag_indices negative": lambda lib, lnp: lnp.diag_indices(-1),
    "diag_indices_from unequal": lambda lib, lnp: lnp.diag_indices_from(lnp.ones((2, 3))),
    "diag_indices_from 1-d": lambda lib, lnp: lnp.diag_indices_from(lnp.ones(3)),
    "ix_ of 2-d": lambda lib, lnp: lnp.ix_(lnp.ones((2, 2))),
    "ix_ of bools": lambda lib, lnp: lnp.ix_(np.array([True, False])),
    "gradient edge_order": lambda lib, lnp: lnp.gradient(lnp.ones(3), edge_order=1),
    "gradient too small": lambda lib, lnp: lnp.gradient(lnp.ones((1, 3))),
    "gradient wrong spacing count": lambda lib, lnp: lnp.gradient(lnp.ones((3, 3)), 1.0, 2.0, 3.0),
    "gradient spacing of another length": lambda lib, lnp: lnp.gradient(lnp.ones(3), lnp.ones(4)),
    "interp bad left string": lambda lib, lnp: lnp.interp(lnp.ones(2), lnp.arange(3.0), lnp.ones(3), left="x"),
    "interp xp fp lengths": lambda lib, lnp: lnp.interp(lnp.ones(2), lnp.arange(3.0), lnp.ones(4)),
    "interp complex": lambda lib, lnp: lnp.interp(lnp.ones(2, np.complex64), lnp.arange(3.0), lnp.ones(3)),
    "nanquantile overwrite_input": lambda lib, lnp: lnp.nanquantile(lnp.ones(3), 0.5, overwrite_input=True),
    "nanquantile unknown method": lambda lib, lnp: lnp.nanquantile(lnp.ones(3), 0.5, method="bogus"),
    "nanquantile 2-d q": lambda lib, lnp: lnp.nanquantile(lnp.ones(3), lnp.ones((2, 2)) / 2),
    "nanargmax of empty": lambda lib, lnp: lnp.nanargmax(lnp.ones(0)),
    "polyval negative unroll": lambda lib, lnp: lnp.polyval(lnp.ones(3), 2.0, unroll=-1),
    "polyder negative": lambda lib, lnp: lnp.polyder(lnp.ones(3), -1),
    "polyint wrong k": lambda lib, lnp: lnp.polyint(lnp.ones(3), 2, k=lnp.ones(3)),
    "polymul trim traced": lambda lib, lnp: lib.jit(lambda p: lnp.polymul(p, p, trim_leading_zeros=True))(
        lnp.ones(3)),
    "hanning traced M": lambda lib, lnp: lib.jit(lnp.hanning)(3),
    "i0 of complex": lambda lib, lnp: lnp.i0(lnp.ones(2, np.complex64)),
    "resize negative": lambda lib, lnp: lnp.resize(lnp.ones(3), (-1, 2)),
    "r_ late directive": lambda lib, lnp: lnp.r_[[1, 2], "r"],
    "r_ bad directive": lambda lib, lnp: lnp.r_["a,b", [1, 2]],
    "nonzero of a 0-d array": lambda lib, lnp: lnp.nonzero(lnp.float32(1)),
    "nonzero under jit without size": lambda lib, lnp: lib.jit(lnp.nonzero)(lnp.ones(3)),
    # lax
    "lax.pow of an integer base": lambda lib, lnp: lib.lax.pow(np.int32(2), np.int32(3)),
    "lax.reciprocal of an integer": lambda lib, lnp: lib.lax.reciprocal(np.int32(2)),
    "lax.select with a predicate of another shape": lambda lib, lnp: lib.lax.select(
        np.array([True, False]), np.ones((2, 3)), np.zeros((2, 3))),
}


def _raised(fn, lib, lnp):
    try:
        fn(lib, lnp)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return error
    return None


@pytest.mark.parametrize("name", sorted(ERROR_ROWS))
def test_raises_what_jax_raises(name):
    expected = _raised(ERROR_ROWS[name], jax, jnp)
    assert expected is not None, "the row must be an error in JAX"
    got = _raised(ERROR_ROWS[name], mlax, mnp)
    assert got is not None, f"mlax raised nothing where JAX raised {type(expected).__name__}"
    own = type(expected).__name__
    if hasattr(jax.errors, own):  # JAX's own class: mlax.errors has its namesake
        assert isinstance(got, getattr(errors, own)), f"mlax raised {type(got).__name__}, JAX {own}"
    else:
        builtin = next(c for c in type(expected).__mro__ if getattr(builtins, c.__name__, None) is c)
        assert isinstance(got, builtin), f"mlax raised {type(got).__mro__}, JAX {own}"
