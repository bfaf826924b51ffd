"""mlax.numpy's set functions (unique and its array-API forms, intersect1d, setdiff1d, setxor1d,
union1d) and selection functions (lexsort, partition, compress, choose, piecewise, put, ...)
against jax.numpy's. Every case is a row of ROWS, `name: (fn, kind)`: `fn(lnp, a, b)` runs with
mlax.numpy and with jax.numpy on two float32 arrays of the kind's shape drawn by hypothesis
(derandomized) from a few values, so that ties, NaNs, infinities and signed zeros meet ("v":
(8,), "m": (3, 4)), or `fn(lnp)` for a row of kind None with its arguments written in. Results
must agree in structure, shape, dtype, weak type and value. JITTED rows run together under one
jit (with `size=`), DIFFERENTIABLE rows have their derivatives in `a` compared in all modes, and
ERRORS rows must raise JAX's exception type with a message naming the problem. Adding a case is
one line."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp
from mlax import errors

from ._oracle import marked, on_both
from .test_functions import _close, _modes

jax.config.update("jax_platforms", "cpu")

INTS = np.array([[3, -1, 0, 7], [2, 2, -5, 1], [0, 9, 4, -3]], np.int32)
REPEATS = np.array([3, 1, 3, 2, 1, 3, 0], np.int32)
UINTS = np.array([3, 0, 7, 0, 2], np.uint8)
NANS = np.array([np.nan, 1.0, np.nan, -0.0, 0.0, 1.0], np.float32)
EMPTY = np.zeros((0,), np.float32)
COMPLEX = np.array([1 + 2j, 1 - 1j, -3 + 0j, 1 + 2j, 0j], np.complex64)
ROWS2 = np.array([[1, 2], [0, 5], [1, 2], [0, 1]], np.int32)
ZEROS = np.array([0.0, 0.0, 1.0, 0.0, 2.0, 0.0], np.float32)
GRID = np.array([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]], np.int32)
PIECES = [lambda x: x * 2.0, lambda x: -x, 5.0]

ROWS = {
    # unique and its array-API forms
    "unique": (lambda lnp, a, b: lnp.unique(a), "v"),
    "unique all outputs": (lambda lnp, a, b: lnp.unique(a, True, True, True), "v"),
    "unique equal_nan=False": (lambda lnp, a, b: lnp.unique(a, return_counts=True, equal_nan=False), "v"),
    "unique 2-d inverse": (lambda lnp, a, b: lnp.unique(a, return_inverse=True), "m"),
    "unique size fill_value": (lambda lnp, a, b: lnp.unique(a, True, True, True, size=10, fill_value=-7.0), "v"),
    "unique size cut short": (lambda lnp, a, b: lnp.unique(a, True, True, True, size=2), "v"),
    "unique size default fill": (lambda lnp, a, b: lnp.unique(a, size=9), "v"),
    "unique axis=0 rows": (lambda lnp: lnp.unique(ROWS2, True, True, True, axis=0), None),
    "unique axis=1": (lambda lnp: lnp.unique(ROWS2.T, return_inverse=True, axis=1), None),
    "unique axis=0 size": (lambda lnp: lnp.unique(ROWS2, return_counts=True, axis=0, size=4, fill_value=-1), None),
    "unique of ints": (lambda lnp: lnp.unique(REPEATS, True, True, True), None),
    "unique of NaNs": (lambda lnp: [lnp.unique(NANS, True, True, True), lnp.unique(NANS, equal_nan=False)], None),
    "unique of a scalar": (lambda lnp: lnp.unique(2.0, return_inverse=True), None),
    "unique of empty": (lambda lnp: lnp.unique(EMPTY, True, True, True), None),
    "unique of empty size": (lambda lnp: lnp.unique(EMPTY, size=2, fill_value=1.0), None),
    "unique of complex": (lambda lnp: lnp.unique(COMPLEX, return_counts=True), None),
    "unique_all": (lambda lnp, a, b: tuple(lnp.unique_all(a)), "m"),
    "unique_all size": (lambda lnp, a, b: tuple(lnp.unique_all(a, size=8, fill_value=0.5)), "v"),
    "unique_counts": (lambda lnp, a, b: tuple(lnp.unique_counts(a)), "v"),
    "unique_inverse": (lambda lnp, a, b: tuple(lnp.unique_inverse(a)), "m"),
    "unique_values": (lambda lnp, a, b: lnp.unique_values(a), "v"),
    "unique_values size": (lambda lnp, a, b: lnp.unique_values(a, size=3), "v"),
    "unique_all fields": (lambda lnp: [lnp.unique_all(REPEATS).counts, lnp.unique_inverse(REPEATS).inverse_indices,
                                       lnp.unique_counts(REPEATS).values], None),
    # set operations
    "intersect1d": (lambda lnp, a, b: lnp.intersect1d(a, b), "v"),
    "intersect1d return_indices": (lambda lnp, a, b: lnp.intersect1d(a, b[:5], return_indices=True), "v"),
    "intersect1d assume_unique": (lambda lnp: lnp.intersect1d(np.array([5.0, 1, 3]), np.array([3.0, 4, 5, 0]),
                                                              assume_unique=True, return_indices=True), None),
    "intersect1d size": (lambda lnp, a, b: lnp.intersect1d(a, b, size=6), "v"),
    "intersect1d size fill return_indices": (lambda lnp, a, b: lnp.intersect1d(a, b, return_indices=True, size=5,
                                                                               fill_value=9.0), "v"),
    "intersect1d 2-d ints": (lambda lnp: lnp.intersect1d(INTS, REPEATS, return_indices=True), None),
    "intersect1d of empty": (lambda lnp: lnp.intersect1d(EMPTY, NANS, return_indices=True), None),
    "setdiff1d": (lambda lnp, a, b: lnp.setdiff1d(a, b[:4]), "v"),
    "setdiff1d assume_unique": (lambda lnp: lnp.setdiff1d(np.array([5.0, 1, 3, 1]), np.array([3.0]),
                                                          assume_unique=True), None),
    "setdiff1d size": (lambda lnp, a, b: lnp.setdiff1d(a, b[:3], size=7), "v"),
    "setdiff1d size fill_value": (lambda lnp, a, b: lnp.setdiff1d(a, b[:3], size=4, fill_value=-2.0), "v"),
    "setdiff1d of ints and empty": (lambda lnp: [lnp.setdiff1d(INTS, REPEATS), lnp.setdiff1d(EMPTY, NANS, size=2)],
                                    None),
    "setxor1d": (lambda lnp, a, b: lnp.setxor1d(a, b[:5]), "v"),
    "setxor1d assume_unique": (lambda lnp: lnp.setxor1d(np.array([5.0, 1, 3]), np.array([3.0, 4]),
                                                        assume_unique=True), None),
    "setxor1d size": (lambda lnp, a, b: lnp.setxor1d(a, b[:5], size=8), "v"),
    "setxor1d size fill_value": (lambda lnp, a, b: lnp.setxor1d(a, b, size=5, fill_value=3.5), "v"),
    "setxor1d of ints and empty": (lambda lnp: [lnp.setxor1d(INTS, REPEATS), lnp.setxor1d(EMPTY, EMPTY)], None),
    "union1d": (lambda lnp, a, b: lnp.union1d(a, b[:3]), "v"),
    "union1d size fill_value": (lambda lnp, a, b: lnp.union1d(a, b, size=12, fill_value=0.25), "m"),
    "union1d of ints and floats": (lambda lnp: lnp.union1d(REPEATS, np.array([0.5, 3.0], np.float32)), None),
    # ordering
    "lexsort": (lambda lnp, a, b: lnp.lexsort((a, b)), "v"),
    "lexsort axis=0": (lambda lnp, a, b: lnp.lexsort([b, a], axis=0), "m"),
    "lexsort of ints and a scalar": (lambda lnp: [lnp.lexsort(INTS), lnp.lexsort([INTS[0] % 2, INTS[1]]),
                                                  lnp.lexsort([1.0])], None),
    "partition": (lambda lnp, a, b: lnp.partition(a, 3), "v"),
    "partition kth=-1 axis=0": (lambda lnp, a, b: lnp.partition(a, -1, axis=0), "m"),
    "partition of uints and ints": (lambda lnp: [lnp.partition(UINTS, 1), lnp.partition(INTS, 0)], None),
    "partition signed zeros and NaNs": (lambda lnp: [f(np.array([0.0, np.nan, -0.0, -np.nan, 1.0, -0.0], np.float32), k)
                                                      for f in (lnp.partition, lnp.argpartition) for k in (1, 3)],
                                        None),
    "argpartition": (lambda lnp, a, b: lnp.argpartition(a, 2), "v"),
    "argpartition axis=0": (lambda lnp, a, b: lnp.argpartition(a, 1, axis=0), "m"),
    "argpartition of uints": (lambda lnp: lnp.argpartition(UINTS, 3), None),
    "sort_complex": (lambda lnp, a, b: lnp.sort_complex(a), "m"),
    "sort_complex of complex and ints": (lambda lnp: [lnp.sort_complex(COMPLEX), lnp.sort_complex(REPEATS)], None),
    # selection
    "extract": (lambda lnp, a, b: lnp.extract(a > 0, b), "m"),
    "extract size": (lambda lnp, a, b: lnp.extract(a > 0, b, size=5, fill_value=-1.0), "m"),
    "compress": (lambda lnp, a, b: lnp.compress(a[0, :3] > 0, b, axis=0), "m"),
    "compress flattened": (lambda lnp, a, b: lnp.compress(a[0] > 0, b), "m"),
    "compress size axis=1": (lambda lnp, a, b: lnp.compress(a[0] > 0, b, axis=1, size=2, fill_value=7.0), "m"),
    "compress short condition": (lambda lnp: lnp.compress(np.array([True, False]), INTS, axis=1), None),
    "choose": (lambda lnp, a, b: lnp.choose(np.array([0, 1, 1, 0, 1, 0, 0, 1]), [a, b], mode="clip"), "v"),
    "choose wrap and clip": (lambda lnp, a, b: [lnp.choose(INTS, [a, b, 2.0], mode=m) for m in ("wrap", "clip")],
                             "m"),
    "choose of ints": (lambda lnp: lnp.choose(np.array([2, 0, 1]), [INTS[0, :3], 5, INTS[2, :3]]), None),
    "piecewise": (lambda lnp, a, b: lnp.piecewise(a, [a < 0, a > 1], PIECES), "v"),
    "piecewise no default": (lambda lnp, a, b: lnp.piecewise(a, [a < 0, a > 1], PIECES[:2]), "m"),
    "piecewise args of ints": (lambda lnp: lnp.piecewise(INTS, [INTS > 2], [lambda x, k: x * k + 0.5, 1], 3), None),
    "place": (lambda lnp, a, b: lnp.place(a, a > 0, b[:3], inplace=False), "m"),
    "place of ints": (lambda lnp: lnp.place(INTS, INTS % 2 == 0, np.array([10, 20]), inplace=False), None),
    "put": (lambda lnp, a, b: lnp.put(a, np.array([0, 5, 11, -1, 30, -20]), b[0], inplace=False), "m"),
    "put clip and wrap": (lambda lnp, a, b: [lnp.put(a, np.array([-3, 2, 40]), b[:2], m, inplace=False)
                                             for m in ("clip", "wrap")], "m"),
    "put_along_axis": (lambda lnp, a, b: lnp.put_along_axis(a, np.array([[0], [3], [1]]), b[:, :1], 1,
                                                            inplace=False), "m"),
    "put_along_axis axis=None": (lambda lnp, a, b: lnp.put_along_axis(a, np.array([2, 7]), 9.0, None,
                                                                      inplace=False), "m"),
    "fill_diagonal": (lambda lnp, a, b: [lnp.fill_diagonal(a, 2.0, inplace=False),
                                         lnp.fill_diagonal(a, b[0], inplace=False)], "m"),
    "fill_diagonal 3-d": (lambda lnp: lnp.fill_diagonal(np.zeros((3, 3, 3), np.int32), np.array([1, 2]),
                                                        inplace=False), None),
    # indices
    "mask_indices": (lambda lnp: [lnp.mask_indices(3, lnp.triu), lnp.mask_indices(4, lnp.tril, -1),
                                  lnp.mask_indices(3, lnp.triu, 1, size=5)], None),
    "ravel_multi_index": (lambda lnp: [lnp.ravel_multi_index((INTS[1] % 3, INTS[0] % 3), (3, 4)),
                                       lnp.ravel_multi_index((INTS[1], INTS[0]), (3, 4), mode="clip", order="F"),
                                       lnp.ravel_multi_index((INTS[1], INTS[0]), (3, 4), mode="wrap", dtype="int16"),
                                       lnp.ravel_multi_index((np.array(7), 2), (9, 4), mode="ignore")], None),
    "unravel_index": (lambda lnp: [lnp.unravel_index(INTS, (2, 3)), lnp.unravel_index(7, (3, 4)),
                                   lnp.unravel_index(np.array([-1, -7, 12, 0], np.int32), [3, 4]),
                                   lnp.unravel_index(UINTS, 5)], None),
    "trim_zeros": (lambda lnp: [lnp.trim_zeros(ZEROS), lnp.trim_zeros(ZEROS, "f"), lnp.trim_zeros(ZEROS, "B"),
                                lnp.trim_zeros(EMPTY), lnp.trim_zeros(np.zeros(3))], None),
    "trim_zeros axis": (lambda lnp: [lnp.trim_zeros(GRID), lnp.trim_zeros(GRID, axis=0),
                                     lnp.trim_zeros(GRID, "b", axis=(1,))], None),
    "unstack": (lambda lnp, a, b: [lnp.unstack(a), lnp.unstack(b, axis=-1)], "m"),
    "block": (lambda lnp, a, b: lnp.block([[a, b[:, :2]], [b[:2], a[:2, :2]]]), "m"),
    "block of scalars and vectors": (lambda lnp: [lnp.block([1, 2.5, np.array([3, 4])]), lnp.block(INTS),
                                                  lnp.block([[INTS], [REPEATS[:4]]])], None),
}

# The rows traced under jit: each needs `size` where its result's length depends on the values.
JITTED = ["unique size fill_value", "unique size cut short", "unique size default fill", "unique_all size",
          "unique_values size", "intersect1d size", "intersect1d size fill return_indices", "setdiff1d size",
          "setdiff1d size fill_value", "setxor1d size", "setxor1d size fill_value", "union1d size fill_value",
          "lexsort", "partition", "argpartition", "sort_complex", "extract size", "compress size axis=1", "choose",
          "choose wrap and clip", "piecewise", "place", "put", "put clip and wrap", "put_along_axis",
          "fill_diagonal", "unstack", "block"]

# The rows whose derivatives in `a` are compared (fn(lnp, a, b) rows).
DIFFERENTIABLE = ["unique size fill_value", "partition", "piecewise", "put_along_axis", "choose"]

# Known differences: row -> reason (strict xfail).
XFAIL = {
}


def lib(lnp):
    return mlax if lnp is mnp else jax


def _under_jit(lnp, fn):
    """ROWS' rows `fn(lnp, a, b)` under one jit of the library."""
    return lambda a, b: lib(lnp).jit(lambda x, y: fn(lnp, x, y))(a, b)


# name -> (fn(lib, lnp), what mlax's message must name): JAX raises; mlax raises the same type.
ERRORS = {
    "unique traced without size": (lambda lib, lnp: lib.jit(lnp.unique)(lnp.ones(3)), "size"),
    "unique traced size": (lambda lib, lnp: lib.jit(lambda x, n: lnp.unique(x, size=n))(lnp.ones(3), 2), "size"),
    "unique empty with size and no fill": (lambda lib, lnp: lnp.unique(lnp.zeros(0), size=2), "fill_value"),
    "unique axis out of range": (lambda lib, lnp: lnp.unique(lnp.ones((2, 2)), axis=2), "axis"),
    "unique_counts traced": (lambda lib, lnp: lib.jit(lnp.unique_counts)(lnp.ones(3)), "size"),
    "intersect1d traced": (lambda lib, lnp: lib.jit(lnp.intersect1d)(lnp.ones(3), lnp.ones(2)), "size"),
    "setdiff1d traced": (lambda lib, lnp: lib.jit(lnp.setdiff1d)(lnp.ones(3), lnp.ones(2)), "size"),
    "setxor1d traced": (lambda lib, lnp: lib.jit(lnp.setxor1d)(lnp.ones(3), lnp.ones(2)), "size"),
    "union1d traced": (lambda lib, lnp: lib.jit(lnp.union1d)(lnp.ones(3), lnp.ones(2)), "size"),
    "lexsort of no keys": (lambda lib, lnp: lnp.lexsort([]), "keys"),
    "lexsort of unequal shapes": (lambda lib, lnp: lnp.lexsort([lnp.ones(2), lnp.ones(3)]), "shape"),
    "partition of complex": (lambda lib, lnp: lnp.partition(lnp.ones(3, "complex64"), 1), "complex"),
    "argpartition kth out of range": (lambda lib, lnp: lnp.argpartition(lnp.ones(3), 3), "3"),
    "compress of a 2-d condition": (lambda lib, lnp: lnp.compress(lnp.ones((2, 2)) > 0, lnp.ones(4)), "1D"),
    "compress condition out of bounds": (lambda lib, lnp: lnp.compress(np.array([0, 0, 1], bool), lnp.ones(2)),
                                         "out of bounds"),
    "compress size too large": (lambda lib, lnp: lnp.compress(lnp.ones(2) > 0, lnp.ones(2), size=3), "size"),
    "compress traced without size": (lambda lib, lnp: lib.jit(lambda c: lnp.compress(c, lnp.ones(2)))(
        lnp.ones(2) > 0), "bool"),
    "compress with out": (lambda lib, lnp: lnp.compress(lnp.ones(2) > 0, lnp.ones(2), out=lnp.ones(2)), "out"),
    "choose of float indices": (lambda lib, lnp: lnp.choose(lnp.ones(2), [lnp.ones(2)]), "integer"),
    "choose out of range": (lambda lib, lnp: lnp.choose(np.array([0, 2]), [lnp.ones(2), lnp.zeros(2)]), "invalid"),
    "choose traced raise": (lambda lib, lnp: lib.jit(lambda i: lnp.choose(i, [lnp.ones(2)]))(np.array([0, 0])),
                            "mode"),
    "choose bad mode": (lambda lib, lnp: lnp.choose(np.array([0]), [lnp.ones(1)], mode="bogus"), "bogus"),
    "piecewise wrong count": (lambda lib, lnp: lnp.piecewise(lnp.ones(2), [lnp.ones(2) > 0], [1, 2, 3]),
                              "functions"),
    "place inplace": (lambda lib, lnp: lnp.place(lnp.ones(2), lnp.ones(2) > 0, 1.0), "inplace"),
    "place size mismatch": (lambda lib, lnp: lnp.place(lnp.ones(2), lnp.ones(3) > 0, 1.0, inplace=False), "size"),
    "place of no values": (lambda lib, lnp: lnp.place(lnp.ones(2), lnp.ones(2) > 0, lnp.ones(0), inplace=False),
                           "empty"),
    "put inplace": (lambda lib, lnp: lnp.put(lnp.ones(2), 0, 1.0), "inplace"),
    "put raise": (lambda lib, lnp: lnp.put(lnp.ones(2), 0, 1.0, mode="raise", inplace=False), "raise"),
    "put bad mode": (lambda lib, lnp: lnp.put(lnp.ones(2), 0, 1.0, mode="bogus", inplace=False), "bogus"),
    "put_along_axis inplace": (lambda lib, lnp: lnp.put_along_axis(lnp.ones(2), lnp.zeros(1, int), 1.0, 0),
                               "inplace"),
    "put_along_axis ndim": (lambda lib, lnp: lnp.put_along_axis(lnp.ones((2, 2)), lnp.zeros(1, int), 1.0, 0,
                                                                inplace=False), "ndim"),
    "put_along_axis values": (lambda lib, lnp: lnp.put_along_axis(lnp.ones(3), lnp.zeros(2, int), lnp.ones(3), 0,
                                                                  inplace=False), "values"),
    "fill_diagonal inplace": (lambda lib, lnp: lnp.fill_diagonal(lnp.ones((2, 2)), 1.0), "inplace"),
    "fill_diagonal wrap": (lambda lib, lnp: lnp.fill_diagonal(lnp.ones((2, 2)), 1.0, True, inplace=False), "wrap"),
    "fill_diagonal 1-d": (lambda lib, lnp: lnp.fill_diagonal(lnp.ones(2), 1.0, inplace=False), "2-d"),
    "fill_diagonal unequal": (lambda lib, lnp: lnp.fill_diagonal(lnp.ones((2, 2, 3)), 1.0, inplace=False), "equal"),
    "ravel_multi_index out of range": (lambda lib, lnp: lnp.ravel_multi_index((np.array([3]),), (3,)), "invalid"),
    "ravel_multi_index traced raise": (lambda lib, lnp: lib.jit(lambda i: lnp.ravel_multi_index((i,), (3,)))(
        np.array([1])), "mode"),
    "ravel_multi_index float": (lambda lib, lnp: lnp.ravel_multi_index((lnp.ones(1),), (3,), mode="clip"), "int"),
    "ravel_multi_index float dtype": (lambda lib, lnp: lnp.ravel_multi_index((np.array([1]),), (3,), dtype="float32"),
                                      "integer"),
    "ravel_multi_index small dtype": (lambda lib, lnp: lnp.ravel_multi_index((np.array([1]),), (300,),
                                                                             dtype="int8"), "dtype"),
    "ravel_multi_index bad mode": (lambda lib, lnp: lnp.ravel_multi_index((np.array([1]),), (3,), mode="x"), "mode"),
    "ravel_multi_index bad order": (lambda lib, lnp: lnp.ravel_multi_index((np.array([1]),), (3,), order="K"),
                                    "order"),
    "unravel_index 2-d shape": (lambda lib, lnp: lnp.unravel_index(1, [[2, 3]]), "shape"),
    "trim_zeros traced": (lambda lib, lnp: lib.jit(lnp.trim_zeros)(lnp.ones(3)), "filt"),
    "block of a tuple": (lambda lib, lnp: lnp.block((lnp.ones(2), lnp.ones(2))), "tuple"),
    "block of an empty list": (lambda lib, lnp: lnp.block([]), "empty"),
    "block of mismatched depths": (lambda lib, lnp: lnp.block([[lnp.ones(2)], lnp.ones(2)]), "depth"),
    "unstack axis out of range": (lambda lib, lnp: lnp.unstack(lnp.ones(2), axis=1), "axis"),
}

TIES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, np.nan, np.inf, -np.inf])
SHAPES = {"v": (8,), "m": (3, 4)}


def _arrays(elements, shape, unique=False):
    size = int(np.prod(shape))
    return st.lists(elements, min_size=size, max_size=size, unique=unique).map(
        lambda v: np.array(v, np.float32).reshape(shape))


def _same(got, expected):
    assert str(jax.tree_util.tree_structure(got)) == str(jax.tree_util.tree_structure(expected))
    if isinstance(expected, tuple):  # the named results of unique_all and its kin
        assert type(got).__name__.lstrip("_") == type(expected).__name__.lstrip("_")
    _close(got, expected)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        if isinstance(e, jax.Array):
            assert getattr(g, "weak_type", False) == e.weak_type, "weak type"


RANDOM = [n for n, (_, kind) in ROWS.items() if kind is not None]
FIXED = [n for n, (_, kind) in ROWS.items() if kind is None]
EXAMPLES = settings(max_examples=2, deadline=None, derandomize=True, database=None)
ONCE = settings(max_examples=1, deadline=None, derandomize=True, database=None)


@pytest.mark.parametrize("name", marked(RANDOM, XFAIL))
@EXAMPLES
@given(data=st.data())
def test_row(name, data):
    fn, kind = ROWS[name]
    shape = SHAPES[kind]
    a, b = data.draw(_arrays(TIES, shape)), data.draw(_arrays(TIES, shape))
    _same(*on_both(jnp, mnp, fn, a, b))


@pytest.mark.parametrize("name", marked(FIXED, XFAIL))
def test_fixed_row(name):
    _same(*on_both(jnp, mnp, ROWS[name][0]))


@ONCE
@given(data=st.data())
def test_rows_under_jit(data):
    a, b = data.draw(_arrays(TIES, (3, 4))), data.draw(_arrays(TIES, (3, 4)))

    def rows(lnp, x, y):
        return {name: ROWS[name][0](lnp, x if ROWS[name][1] == "m" else x[:2].ravel(),
                                    y if ROWS[name][1] == "m" else y[:2].ravel()) for name in JITTED}
    got, expected = on_both(jnp, mnp, lambda lnp: lib(lnp).jit(lambda x, y: rows(lnp, x, y))(a, b))
    for name in JITTED:
        _same(got[name], expected[name])


def _joined(lnp, out):
    leaves = [leaf for leaf in jax.tree_util.tree_leaves(out) if np.issubdtype(leaf.dtype, np.floating)]
    return lnp.concatenate([lnp.ravel(leaf) for leaf in leaves]) if len(leaves) > 1 else leaves[0]


@pytest.mark.parametrize("name", marked(DIFFERENTIABLE, XFAIL))
@ONCE
@given(data=st.data())
def test_derivatives_in_all_modes(name, data):
    fn, kind = ROWS[name]
    shape = SHAPES[kind]
    a = data.draw(_arrays(st.floats(-2, 2, width=32).filter(lambda v: abs(v) > 1e-2), shape, unique=True))
    b = np.linspace(-1.5, 1.5, a.size, dtype=np.float32).reshape(shape)
    t = np.linspace(0.5, 1.5, a.size, dtype=np.float32).reshape(shape)
    expected = jax.jit(lambda x, v: _modes(jax, lambda u: _joined(jnp, fn(jnp, u, b)), x, v))(a, t)
    got = mlax.jit(lambda x, v: _modes(mlax, lambda u: _joined(mnp, fn(mnp, u, b)), x, v))(a, t)
    for mode in expected:
        np.testing.assert_allclose(got[mode], expected[mode], rtol=1e-4, atol=1e-5, err_msg=f"{name} {mode}")


def _raised(fn, lib_, lnp):
    try:
        fn(lib_, lnp)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return error
    return None


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_raises_what_jax_raises(name):
    fn, named = ERRORS[name]
    expected = _raised(fn, jax, jnp)
    assert expected is not None, "the row must be an error in JAX"
    got = _raised(fn, mlax, mnp)
    assert got is not None, f"mlax raised nothing where JAX raised {type(expected).__name__}"
    own = type(expected).__name__
    if hasattr(jax.errors, own):
        assert isinstance(got, getattr(errors, own)), f"mlax raised {type(got).__name__}, JAX {own}"
    else:
        builtin = next(c for c in type(expected).__mro__ if c.__module__ == "builtins")
        assert isinstance(got, builtin), f"mlax raised {type(got).__mro__}, JAX {own}"
    assert named.lower() in str(got).lower(), f"the message does not name {named!r}: {got}"
