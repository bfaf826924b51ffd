"""mlax.numpy's array-editing, difference, index, NaN-ignoring, window, polynomial and
index-trick functions against jax.numpy's. Every case is a row of ROWS, `name: (fn, kind)`:
`fn(lnp, a, b)` runs with mlax.numpy and with jax.numpy on two float32 arrays of the kind's
shape, drawn by hypothesis (derandomized) with the special values mixed in ("v": (6,),
"m": (3, 4); "moderate" kinds leave out values near overflow, which sums round differently),
or `fn(lnp)` for a row of kind None with its arguments written in. Results must agree in
structure, shape, dtype, weak type and value. Rows in DIFFERENTIABLE also have the first
derivative in `a` and the four second-order mode combinations compared (under one jit).
Adding a case is one line; their error rows are in test_errors.py."""

import builtins

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlax
import mlax.numpy as mnp

from ._oracle import marked, on_both
from .test_functions import SPECIAL, _close, _modes

jax.config.update("jax_platforms", "cpu")

XP = np.linspace(-50, 50, 6).astype(np.float32)
INTS = np.array([[3, -1, 0, 7], [2, 2, -5, 1], [0, 9, 4, -3]], np.int32)
BOOLS = np.array([True, False, False, True, True, False])
NANS = np.array([[np.nan, 1.0, 2.0, np.nan], [np.nan] * 4, [3.0, -1.0, 0.0, 5.0]], np.float32)
EMPTY = np.zeros((0,), np.float32)
COMPLEX = np.array([1 + 0j, 2j, -0.0 + 0j, np.nan + 1j], np.complex64)
P = np.array([2.0, -1.0, 0.5], np.float32)

ROWS = {
    # nonzero and its relatives: concrete, and with size= under jit (regressions: mlax needed a
    # concrete array even with size, and argwhere of a 0-d array failed)
    "nonzero": (lambda lnp, a, b: lnp.nonzero(a > 0), "m"),
    "nonzero size under jit": (lambda lnp, a, b: lib(lnp).jit(lambda v: lnp.nonzero(v > 0, size=4, fill_value=(-1, -2)))(a),
                               "m"),
    "flatnonzero size under jit": (lambda lnp, a, b: lib(lnp).jit(lambda v: lnp.flatnonzero(v, size=3, fill_value=7))(a),
                                   "m"),
    "argwhere size under jit": (lambda lnp, a, b: lib(lnp).jit(lambda v: lnp.argwhere(v < b, size=2))(a), "m"),
    "nonzero concrete with size": (lambda lnp, a, b: lnp.nonzero(a > b, size=2, fill_value=5), "m"),
    "argwhere of 0-d": (lambda lnp: [lnp.argwhere(1), lnp.argwhere(0.0), lnp.argwhere(1, size=3)], None),
    "array_equal of different shapes": (lambda lnp, a, b: [lnp.array_equal(a, b[0]), lnp.array_equal(a, b)], "m"),
    # differences
    "diff": (lambda lnp, a, b: lnp.diff(a), "v"),
    "diff n=2": (lambda lnp, a, b: lnp.diff(a, n=2), "v"),
    "diff n=0": (lambda lnp, a, b: lnp.diff(a, n=0), "v"),
    "diff axis=0": (lambda lnp, a, b: lnp.diff(a, axis=0), "m"),
    "diff prepend append": (lambda lnp, a, b: lnp.diff(a, prepend=b[:1], append=2.0), "v"),
    "diff prepend 2-d": (lambda lnp, a, b: lnp.diff(a, axis=0, prepend=b[:1]), "m"),
    "diff of ints": (lambda lnp: lnp.diff(INTS, axis=1), None),
    "diff of bools": (lambda lnp: lnp.diff(BOOLS, n=2), None),
    "diff of weak": (lambda lnp: lnp.diff(lnp.broadcast_to(2.0, (3,)), prepend=1.0), None),
    "diff of empty": (lambda lnp: lnp.diff(EMPTY), None),
    "ediff1d": (lambda lnp, a, b: lnp.ediff1d(a), "m"),
    "ediff1d to_begin to_end": (lambda lnp, a, b: lnp.ediff1d(a, to_end=b[:2], to_begin=-1), "v"),
    "ediff1d of ints to_end float": (lambda lnp: lnp.ediff1d(INTS, to_end=np.array([2.5, 3.5])), None),
    "gradient": (lambda lnp, a, b: lnp.gradient(a), "moderate v"),
    "gradient 2-d": (lambda lnp, a, b: lnp.gradient(a), "moderate m"),
    "gradient axis=1 spacing": (lambda lnp, a, b: lnp.gradient(a, 0.5, axis=1), "moderate m"),
    "gradient coordinates": (lambda lnp, a, b: lnp.gradient(a, np.array([0, 1, 3, 4.5, 5, 8], np.float32)),
                             "moderate v"),
    "gradient two spacings": (lambda lnp, a, b: lnp.gradient(a, 2.0, np.arange(4.0) ** 2), "moderate m"),
    "gradient of ints": (lambda lnp: lnp.gradient(INTS), None),
    "trapezoid": (lambda lnp, a, b: lnp.trapezoid(a), "moderate v"),
    "trapezoid axis=0 dx": (lambda lnp, a, b: lnp.trapezoid(a, dx=0.5, axis=0), "moderate m"),
    "trapezoid x": (lambda lnp, a, b: lnp.trapezoid(a, XP), "moderate v"),
    "trapezoid x 2-d": (lambda lnp, a, b: lnp.trapezoid(a, b, axis=0), "moderate m"),
    "trapezoid of ints": (lambda lnp: lnp.trapezoid(INTS), None),
    "cross 3 3": (lambda lnp, a, b: lnp.cross(a[:, :3], b[:, :3]), "m"),
    "cross 2 2": (lambda lnp, a, b: lnp.cross(a[:, :2], b[:, :2]), "m"),
    "cross 2 3": (lambda lnp, a, b: lnp.cross(a[:, :2], b[:, 1:]), "m"),
    "cross axes": (lambda lnp, a, b: lnp.cross(a[:, :3], b[:, 1:], axisa=0, axisb=0, axisc=0), "m"),
    "cross axis": (lambda lnp, a, b: lnp.cross(a[:, :2], b[:, 2:], axis=0), "m"),
    "cross of ints": (lambda lnp: lnp.cross(INTS[:, :3], INTS[:, 1:]), None),
    "interp": (lambda lnp, a, b: lnp.interp(a, XP, b), "v"),
    "interp left right": (lambda lnp, a, b: lnp.interp(a, XP, b, left=-7.0, right=b[0]), "v"),
    "interp extrapolate": (lambda lnp, a, b: lnp.interp(a, XP, b, left="extrapolate", right="extrapolate"),
                           "moderate v"),
    "interp period": (lambda lnp, a, b: lnp.interp(a, XP[::-1], b, period=30.0), "moderate v"),
    "interp of ints": (lambda lnp: lnp.interp(np.arange(-1, 5), np.arange(4), np.arange(4) ** 2), None),
    # edits
    "copy": (lambda lnp, a, b: lnp.copy(a), "v"),
    "copy of weak": (lambda lnp: lnp.copy(lnp.asarray(2.0)), None),
    "append": (lambda lnp, a, b: lnp.append(a, b), "m"),
    "append axis=1": (lambda lnp, a, b: lnp.append(a, b[:, :1], axis=1), "m"),
    "append ints to floats": (lambda lnp: lnp.append(INTS, np.float32(0.5)), None),
    "insert scalar": (lambda lnp, a, b: lnp.insert(a, 2, 5.0), "v"),
    "insert values": (lambda lnp, a, b: lnp.insert(a, np.array([1, 3]), b[:2]), "v"),
    "insert unsorted repeated": (lambda lnp, a, b: lnp.insert(a, np.array([5, 0, 0, -1]), b[:4]), "v"),
    "insert slice": (lambda lnp, a, b: lnp.insert(a, slice(0, 4, 2), b[:2]), "v"),
    "insert end": (lambda lnp, a, b: lnp.insert(a, 6, b[:3]), "v"),
    "insert axis=0": (lambda lnp, a, b: lnp.insert(a, 1, b[0], axis=0), "m"),
    "insert axis=1 column": (lambda lnp, a, b: lnp.insert(a, np.array([2]), b[:, :1], axis=1), "m"),
    "insert axis=1 scalar index": (lambda lnp, a, b: lnp.insert(a, 2, b[:, 0], axis=1), "m"),
    "insert flattened": (lambda lnp, a, b: lnp.insert(a, 3, 9.0), "m"),
    "insert floats into ints": (lambda lnp: lnp.insert(INTS, 1, np.array([2.7, -3.5, 1.0, 8.0]), axis=0), None),
    "insert empty index": (lambda lnp: lnp.insert(np.arange(4.0), np.array([], np.int32), EMPTY), None),
    "insert traced index": (lambda lnp: lib(lnp).jit(lambda x, i: lnp.insert(x, i, -1.0))(np.arange(5.0), 3), None),
    "delete": (lambda lnp, a, b: lnp.delete(a, 2), "v"),
    "delete negative": (lambda lnp, a, b: lnp.delete(a, -1), "v"),
    "delete several": (lambda lnp, a, b: lnp.delete(a, np.array([0, 3])), "v"),
    "delete repeated": (lambda lnp, a, b: lnp.delete(a, np.array([4, 0, 0, 4])), "v"),
    "delete repeated assume unique": (lambda lnp, a, b: lnp.delete(a, np.array([4, 0, 0]),
                                                                   assume_unique_indices=True), "v"),
    "delete slice": (lambda lnp, a, b: lnp.delete(a, slice(1, None, 2)), "v"),
    "delete mask": (lambda lnp, a, b: lnp.delete(a, BOOLS), "v"),
    "delete axis=1": (lambda lnp, a, b: lnp.delete(a, np.array([1, 2]), axis=1), "m"),
    "delete flattened": (lambda lnp, a, b: lnp.delete(a, 5), "m"),
    "delete traced": (lambda lnp: lib(lnp).jit(lambda x, i: lnp.delete(x, i, assume_unique_indices=True))(
        np.arange(6.0), np.array([4, 1])), None),
    "resize": (lambda lnp, a, b: lnp.resize(a, (4, 5)), "m"),
    "resize smaller": (lambda lnp, a, b: lnp.resize(a, 4), "m"),
    "resize empty": (lambda lnp: [lnp.resize(EMPTY, (2, 3)), lnp.resize(INTS, (0, 2))], None),
    # comparisons
    "isin": (lambda lnp, a, b: lnp.isin(a, b), "v"),
    "isin self": (lambda lnp, a, b: lnp.isin(a, a[::-1]), "m"),
    "isin invert": (lambda lnp, a, b: lnp.isin(a, b[:3], invert=True), "m"),
    "isin methods": (lambda lnp, a, b: [lnp.isin(a, b, method=m) for m in ("compare_all", "binary_search")],
                     "v"),
    "isin ints and floats": (lambda lnp: lnp.isin(INTS, np.array([2.0, 7.5, -5.0])), None),
    "isin empty": (lambda lnp: [lnp.isin(EMPTY, P), lnp.isin(P, EMPTY, invert=True)], None),
    "array_equiv": (lambda lnp, a, b: [lnp.array_equiv(a, b), lnp.array_equiv(a, a), lnp.array_equiv(a, a[:1, :1])],
                    "m"),
    "array_equiv broadcast": (lambda lnp: [lnp.array_equiv(np.ones((2, 3)), np.ones(3)),
                                           lnp.array_equiv(np.ones((2, 3)), np.zeros((1, 3))),
                                           lnp.array_equiv(lnp.ones((2, 3)), lnp.ones(2))], None),
    "iscomplex isreal": (lambda lnp, a, b: [lnp.iscomplex(a), lnp.isreal(a)], "v"),
    "iscomplex isreal of complex": (lambda lnp: [lnp.iscomplex(COMPLEX), lnp.isreal(COMPLEX)], None),
    # index arrays
    "tril_indices": (lambda lnp: [lnp.tril_indices(4), lnp.tril_indices(3, 1, 5), lnp.tril_indices(3, -4)], None),
    "triu_indices": (lambda lnp: [lnp.triu_indices(4), lnp.triu_indices(3, -1, 2), lnp.triu_indices(0)], None),
    "tril triu indices_from": (lambda lnp: [lnp.tril_indices_from(INTS, k=1), lnp.triu_indices_from(INTS, -1)],
                               None),
    "diag_indices": (lambda lnp: [lnp.diag_indices(3), lnp.diag_indices(4, 3), lnp.diag_indices(0, 1)], None),
    "diag_indices_from": (lambda lnp: lnp.diag_indices_from(np.ones((3, 3, 3))), None),
    "diagflat": (lambda lnp, a, b: lnp.diagflat(a[:2]), "m"),
    "diagflat k": (lambda lnp, a, b: [lnp.diagflat(a[:3], k=2), lnp.diagflat(a[:2], -1)], "v"),
    "diagflat of ints": (lambda lnp: lnp.diagflat(INTS[0]), None),
    "indices": (lambda lnp: [lnp.indices((2, 3)), lnp.indices((2, 0, 1), dtype=np.float32), lnp.indices(())],
                None),
    "indices sparse": (lambda lnp: lnp.indices((2, 3, 4), sparse=True), None),
    "ix_": (lambda lnp: lnp.ix_(np.array([0, 2]), np.array([3.5, 4.5, 1.0]), np.zeros(0, np.int32)), None),
    "geomspace": (lambda lnp: [lnp.geomspace(1, 1000, 4), lnp.geomspace(-1.0, -256.0, 5, endpoint=False)], None),
    "geomspace dtype": (lambda lnp: [lnp.geomspace(2, 32, 5, dtype=np.float32), lnp.geomspace(1, 2, 3, dtype=int)],
                        None),
    "geomspace dtype=int32": (lambda lnp: lnp.geomspace(2, 32, 5, dtype=np.int32), None),
    "geomspace arrays axis": (lambda lnp: lnp.geomspace(np.array([1.0, 10.0]), np.array([100.0, 1e4]), 3, axis=1),
                              None),
    # NaN-ignoring reductions
    **{f"{fn} {label}": (lambda lnp, a, b, fn=fn, kw=kw: getattr(lnp, fn)(a, **kw), "moderate m")
       for fn in ("nanvar", "nanstd")
       for label, kw in (("", {}), ("axis=0", {"axis": 0}), ("axis=1 ddof=1 keepdims", {"axis": 1, "ddof": 1,
                                                                                       "keepdims": True}))},
    "nanvar where mean": (lambda lnp, a, b: lnp.nanvar(a, axis=1, where=b > 0, mean=b[:, :1]), "moderate m"),
    "nanvar ddof beyond": (lambda lnp: lnp.nanvar(NANS, axis=1, ddof=2), None),
    "nanstd of ints dtype": (lambda lnp: [lnp.nanstd(INTS), lnp.nanvar(INTS, dtype=np.float16)], None),
    **{f"{fn} axis={axis}": (lambda lnp, a, b, fn=fn, axis=axis: getattr(lnp, fn)(a, axis=axis), "m")
       for fn in ("nanargmax", "nanargmin") for axis in (None, 0, 1)},
    "nanargmax all NaN keepdims": (lambda lnp: [lnp.nanargmax(NANS, axis=1, keepdims=True), lnp.nanargmin(NANS, 1),
                                                lnp.nanargmax(INTS, 0)], None),
    "nancumsum": (lambda lnp, a, b: [lnp.nancumsum(a), lnp.nancumsum(a, axis=1)], "moderate m"),
    "nancumprod": (lambda lnp, a, b: [lnp.nancumprod(a), lnp.nancumprod(a, axis=0)],
                   "moderate m"),
    "nancumsum of NaNs and ints": (lambda lnp: [lnp.nancumsum(NANS, 1), lnp.nancumprod(INTS, dtype=np.float32),
                                                lnp.nancumsum(BOOLS)], None),
    "nanmedian": (lambda lnp, a, b: [lnp.nanmedian(a), lnp.nanmedian(a, axis=1)], "m"),
    "nanmedian keepdims axes": (lambda lnp, a, b: [lnp.nanmedian(a, axis=(0, 1), keepdims=True),
                                                   lnp.nanmedian(a, axis=0, keepdims=True)], "m"),
    "nanmedian of NaNs": (lambda lnp: [lnp.nanmedian(NANS, axis=1), lnp.nanmedian(NANS)], None),
    "nanquantile": (lambda lnp, a, b: lnp.nanquantile(a, 0.3, axis=0), "m"),
    "nanquantile q array keepdims": (lambda lnp, a, b: lnp.nanquantile(a, np.array([0.0, 0.25, 1.0]), axis=1,
                                                                       keepdims=True), "m"),
    **{f"nanquantile {method}": (lambda lnp, a, b, method=method: lnp.nanquantile(a, np.array([0.1, 0.5, 0.9]),
                                                                                  method=method), "m")
       for method in ("lower", "higher", "nearest", "midpoint")},
    "nanquantile of NaNs": (lambda lnp: lnp.nanquantile(NANS, np.array([0.2, 0.7]), axis=1), None),
    "nanpercentile": (lambda lnp, a, b: [lnp.nanpercentile(a, 30.0, axis=1), lnp.nanpercentile(a, np.array([5, 95]))],
                      "m"),
    "nanquantile of ints": (lambda lnp: lnp.nanquantile(INTS, 0.4), None),
    # windows and i0
    **{f"{fn}": (lambda lnp, fn=fn: [getattr(lnp, fn)(m) for m in (0, 1, 2, 5, 8)], None)
       for fn in ("bartlett", "blackman", "hamming", "hanning")},
    "kaiser": (lambda lnp: [lnp.kaiser(m, beta) for m in (0, 1, 6) for beta in (0.0, 5.0, 14.0)], None),
    "i0": (lambda lnp, a, b: lnp.i0(a), "v"),
    "i0 of ints and weak": (lambda lnp: [lnp.i0(INTS), lnp.i0(2.0), lnp.i0(np.float16(3.0))], None),
    # polynomials
    "polyval": (lambda lnp, a, b: lnp.polyval(P, a), "moderate v"),
    "polyval 2-d coefficients": (lambda lnp, a, b: lnp.polyval(a, b[0]), "moderate m"),
    "polyval of ints": (lambda lnp: lnp.polyval(INTS[0], np.arange(3)), None),
    "polyadd polysub": (lambda lnp, a, b: [lnp.polyadd(a, b[:2]), lnp.polysub(a[:2], b), lnp.polysub(a, b)], "v"),
    "polyadd of ints": (lambda lnp: lnp.polyadd(INTS[0], np.array([0.5])), None),
    "polymul": (lambda lnp, a, b: lnp.polymul(a, b[:3]), "moderate v"),
    "polymul trim_leading_zeros": (lambda lnp: lnp.polymul(np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.0, 3.0]),
                                                           trim_leading_zeros=True), None),
    "polymul of ints": (lambda lnp: lnp.polymul(INTS[0], INTS[1]), None),
    "polyder": (lambda lnp, a, b: [lnp.polyder(a), lnp.polyder(a, 3), lnp.polyder(a, 0)], "moderate v"),
    "polyint": (lambda lnp, a, b: [lnp.polyint(a), lnp.polyint(a, 2, k=b[:2]), lnp.polyint(a, 3, k=1.5)],
                "moderate v"),
    "polyder polyint of ints": (lambda lnp: [lnp.polyder(INTS[0], 2), lnp.polyint(INTS[0])], None),
    # index tricks
    "r_": (lambda lnp: [lnp.r_[1:4, 0, np.array([7, 8])], lnp.r_[-1:1:5j], lnp.r_["0,2", [1, 2], [3, 4]],
                        lnp.r_["r", [1, 2, 3]], lnp.r_[np.ones((2, 2)), np.zeros((1, 2))]], None),
    "c_": (lambda lnp: [lnp.c_[np.array([1, 2]), np.array([3.0, 4.0])], lnp.c_[np.ones((2, 2)), [5, 6]],
                        lnp.c_["c", [1, 2]]], None),
    "mgrid ogrid": (lambda lnp: [lnp.mgrid[0:3, 1:5:2], lnp.mgrid[0:1:4j], lnp.ogrid[0:2, 0:3:0.5],
                                 lnp.mgrid[0:2.0, 0:2]], None),
    "s_ index_exp": (lambda lnp, a, b: [lnp.asarray(a)[lnp.s_[1:4]], lnp.asarray(a)[lnp.index_exp[::2]]], "v"),
}

# The rows whose derivatives in `a` are compared (fn(lnp, a, b) rows).
DIFFERENTIABLE = ["diff n=2", "diff prepend append", "ediff1d to_begin to_end", "copy", "polyval",
                  "polyval 2-d coefficients"]

# Known differences: row -> reason (strict xfail).
XFAIL = {
    "geomspace dtype=int32": "XLA's pow gives 15.999999 for 10 ** log10(16), which truncates to 15; IREE's gives 16.0",
}

# name -> fn(lib, lnp): JAX raises; mlax must raise the same type (or a subclass).
def lib(lnp):
    """mlax for mlax.numpy, jax for jax.numpy."""
    return mlax if lnp is mnp else jax


finite = st.floats(-100, 100, width=32, allow_subnormal=False)  # IREE flushes subnormals (docs/compatibility.md)
values = st.one_of(st.sampled_from(SPECIAL), finite)
moderate = st.one_of(st.sampled_from([v for v in SPECIAL if builtins.abs(v) != 1e30]), finite)
smooth = st.floats(-2, 2, width=32).filter(lambda v: builtins.abs(v) > 1e-2)
SHAPES = {"v": (6,), "m": (3, 4)}


def _arrays(elements, shape, unique=False):
    size = int(np.prod(shape))
    return st.lists(elements, min_size=size, max_size=size, unique=unique).map(
        lambda v: np.array(v, np.float32).reshape(shape))


def _pair(kind, elements):
    shape = SHAPES[kind.split()[-1]]
    return st.tuples(_arrays(elements, shape), _arrays(elements, shape))


def _same(got, expected):
    """_close, and the weak types of JAX's arrays."""
    assert str(jax.tree_util.tree_structure(got)) == str(jax.tree_util.tree_structure(expected))
    _close(got, expected)
    for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        if isinstance(e, jax.Array):
            assert getattr(g, "weak_type", False) == e.weak_type, "weak type"


def _both(fn, *args):
    return on_both(jnp, mnp, fn, *args)


RANDOM = [n for n, (_, kind) in ROWS.items() if kind is not None]
FIXED = [n for n, (_, kind) in ROWS.items() if kind is None]
EXAMPLES = settings(max_examples=3, deadline=None, derandomize=True, database=None)
ONCE = settings(max_examples=1, deadline=None, derandomize=True, database=None)


@pytest.mark.parametrize("name", marked(RANDOM, XFAIL))
@EXAMPLES
@given(data=st.data())
def test_row(name, data):
    fn, kind = ROWS[name]
    a, b = data.draw(_pair(kind, moderate if kind.startswith("moderate") else values))
    _same(*_both(fn, a, b))


@pytest.mark.parametrize("name", marked(FIXED, XFAIL))
def test_fixed_row(name):
    _same(*_both(ROWS[name][0]))


def _joined(lnp, out):
    """The leaves of a row's result as one vector (the rows of several results differentiate all)."""
    leaves = jax.tree_util.tree_leaves(out)
    return lnp.concatenate([lnp.ravel(leaf) for leaf in leaves]) if len(leaves) > 1 else leaves[0]


def _all_modes(library, fn, x, t):
    return library.jit(lambda a, b: _modes(library, fn, a, b))(x, t)


@pytest.mark.parametrize("name", marked(DIFFERENTIABLE, XFAIL))
@ONCE
@given(data=st.data())
def test_derivatives_in_all_modes(name, data):
    fn, kind = ROWS[name]
    shape = SHAPES[kind.split()[-1]]
    a = data.draw(_arrays(smooth, shape, unique=True))
    b = np.linspace(0.5, 1.5, a.size, dtype=np.float32).reshape(shape)
    if "nan" in name:  # a NaN, whose derivative is zero in both
        a = a.copy()
        a.flat[1] = np.nan
    t = np.linspace(0.5, 1.5, a.size, dtype=np.float32).reshape(shape)
    expected = _all_modes(jax, lambda v: _joined(jnp, fn(jnp, v, b)), a, t)
    got = _all_modes(mlax, lambda v: _joined(mnp, fn(mnp, v, b)), a, t)
    for mode in expected:
        # As in test_functions.py: second derivatives subtract nearly equal terms.
        np.testing.assert_allclose(got[mode], expected[mode], rtol=1e-4 if mode == "grad" else 1e-3, atol=1e-5,
                                   err_msg=f"{name} {mode}")


def test_nonzero_errors_name_the_problem():
    with pytest.raises(ValueError, match="0-d"):
        mnp.nonzero(np.float32(1))
    with pytest.raises(mlax.errors.ConcretizationTypeError, match="size="):
        mlax.jit(mnp.nonzero)(np.ones(3))
    with pytest.raises(ValueError, match="one entry per axis"):
        mnp.nonzero(np.ones((2, 2)), size=2, fill_value=(1, 2, 3))


def test_local_devices_takes_jax_parameters():
    assert mlax.local_devices(0) == mlax.local_devices(process_index=0, backend="cpu") == mlax.devices()
    assert mlax.local_devices(host_id=0) == mlax.devices()
    with pytest.raises(ValueError, match="process_index 1"):
        mlax.local_devices(1)
