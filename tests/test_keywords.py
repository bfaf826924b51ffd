"""Every keyword of the public API does something: a keyword that is accepted and ignored
gives a silent wrong answer wherever JAX would honour it.

The test walks the public functions of mlax, mlax.numpy (with linalg), mlax.lax (with
linalg), mlax.random, mlax.nn and mlax.tree_util. For each parameter with a default it calls
the function with the default and then with other values: one of them must change the result
(its value, shape, dtype, weak type, device or tree structure) or make the call raise, and a
NotImplementedError must name the keyword. A call's arguments are guessed (a small float32
matrix for each required parameter, a PRNG key for `key`) unless CALLS gives them; the other
values come from VALUES first, then from the default's type (`_candidates`).

A keyword that can show no effect is in ACCEPTED with its reason and in the section
"Keywords accepted for compatibility" of docs/compatibility.md; the test checks that the two
lists agree and that each such keyword is accepted and changes nothing. KNOWN_IGNORED lists
the ignored keywords whose fix lies outside the library's top layers (strict xfails: they
fail once fixed, to be taken off the list).
"""

import dataclasses
import inspect
import operator
import os
import re

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
import mlax.scipy.special
from mlax import lax, nn, random, tree, tree_util
from mlax.core.array_methods import ArrayMethods

MODULES = (mlax, mnp, mnp.linalg, lax, lax.linalg, random, nn, tree_util, tree, mlax.scipy.special)
DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "compatibility.md")
SECTION = "## Keywords accepted for compatibility"

X = mnp.asarray(np.array([[-1.5, 0.5, 2.0], [3.0, -0.25, 1.0]], np.float32))
XI = mnp.asarray(np.array([[1, -2, 3], [4, 5, -6]], np.int32))
NANS = mnp.asarray(np.array([1.0, np.nan], np.float32))
NONFINITE = mnp.asarray(np.array([np.nan, np.inf, -np.inf, 1.0], np.float32))
SPARSE = mnp.asarray(np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]], np.float32))
ASYMMETRIC = mnp.asarray(np.array([[4.0, 1.0], [2.0, 3.0]], np.float32))  # positive definite either way
TALL = mnp.asarray(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]], np.float32))
COMPLEX = mnp.asarray(np.array([[2.0 + 1.0j, 0.0], [1.0 - 1.0j, 1.0 + 2.0j]], np.complex64))
KEY = random.PRNGKey(0)


# -- the functions and their keywords ---------------------------------------------------------

def _public_functions():
    """{name: function} of the public functions, each once: under the name it was defined
    with where a module exports it under several (amax is max)."""
    found = {}
    for module in MODULES:
        for attr in sorted(dir(module)):
            fn = getattr(module, attr)
            if attr.startswith("_") or inspect.isclass(fn) or inspect.ismodule(fn) or not callable(fn):
                continue
            if isinstance(fn, mlax.config.State):
                continue  # the settings (enable_x64, debug_nans, ...): tests/api/test_toplevel_flags.py
            if not (getattr(fn, "__module__", None) or "").startswith("mlax"):
                continue  # NumPy's and the standard library's functions that modules import
            name = f"{module.__name__}.{attr}"
            earlier = found.get(id(fn))
            if earlier is None or (attr == getattr(fn, "__name__", None) != earlier[0].rsplit(".", 1)[1]):
                found[id(fn)] = (name, fn)
    return dict(found.values())


FUNCTIONS = _public_functions()
KEYWORDS = sorted((name, p.name) for name, fn in FUNCTIONS.items()
                  for p in inspect.signature(fn).parameters.values() if p.default is not p.empty)


# -- calls whose arguments cannot be guessed ------------------------------------------------------

def _double(x):
    return x * 2


def _static_probe(x, n):
    """x * 2 when n arrives as a Python int (static), x when it arrives traced."""
    return x * 2 if isinstance(n, int) else x


def _jit_argument_type():
    """The type a jitted function sees its argument as: Tracer, or Array under disable_jit."""
    seen = []
    mlax.jit(lambda x: seen.append(type(x).__name__) or x)(X)
    return seen[0]


def _within(context, probe):
    with context:
        return probe()


def _two_arguments(x, y):
    return mnp.sum(mnp.sin(x) * y)


def _pair(x):
    return mnp.sin(x), x


def _sums_over_i(x):
    """psum over the axis named "i" where one is bound, else x."""
    try:
        return lax.psum(x, "i")
    except NameError:
        return x


def _donated(**keywords):
    x = X + 0
    out = mlax.jit(_double, **keywords)(x)
    return out, x.is_deleted()


def _donated_by_name(**keywords):
    x = X + 0
    out = mlax.jit(_double, **keywords)(x=x)
    return out, x.is_deleted()


def _device_put(device=None):
    """device_put to the device of that number (a second CPU device shows the effect)."""
    return mlax.device_put(X, None if device is None else mlax.devices()[device])


def _registered_leaves(**keywords):
    """The leaves of an instance of a dataclass registered afresh with `keywords`."""
    @dataclasses.dataclass
    class Pair:
        a: int
        b: int
    tree_util.register_dataclass(Pair, **keywords)
    return tree_util.tree_leaves(Pair(1, 2))


class _Two:
    def __init__(self, a, b):
        self.a, self.b = a, b


def _two_flatten(t):
    return (t.a, t.b), None


def _two_keys(t):
    return ((tree_util.GetAttrKey("a"), t.a), (tree_util.GetAttrKey("b"), t.b)), None


def _fresh_two(register, flatten, **keywords):
    """(key paths, leaves) of an instance of a class registered afresh by `register` with `keywords`."""
    cls = type("Two", (_Two,), {})
    register(cls, flatten, lambda _, children: cls(*children), **keywords)
    two = cls(1, 2)
    return tree_util.tree_leaves_with_path(two), tree_util.tree_leaves(two)


def _result_or_error(fn, *args, **keywords):
    """fn's result, or the name of the exception it raises."""
    try:
        return fn(*args, **keywords)
    except Exception as error:  # noqa: BLE001 - the error is the result
        return type(error).__name__


def _takes_two(*args):
    """An is_leaf that says whether it was given the path too."""
    return len(args) == 2


_AUTO = mlax.sharding.AxisType.Auto
_MESH = mlax.make_mesh((1,), ("x",))  # axis type Explicit
_ROW_SHARDED = mlax.NamedSharding(_MESH, mlax.P("x"))
_ONE_BLOCK_MESH = mlax.make_mesh((1,), ("x",), axis_types=(_AUTO,))


def _auto_mesh(shape, names):
    """A mesh of Auto axes, made when a test runs (a mesh over several devices needs the fixture's)."""
    return mlax.make_mesh(shape, names, axis_types=(_AUTO,) * len(shape))


def _scaled_by_block_rows(block):
    """block times its number of rows, which shows how shard_map split its argument."""
    return block * block.shape[0]


def _sums_over_y(x):
    """psum over the axis named "y" where one is bound, else x."""
    try:
        return lax.psum(x, "y")
    except NameError:
        return x


GATHER = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
SCATTER = lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                      scatter_dims_to_operand_dims=(0,))
OUT_OF_BOUNDS = mnp.asarray(np.array([[5]], np.int32))
LHS, RHS = mnp.ones((2, 2, 5), "int32"), mnp.asarray(np.arange(8, dtype=np.int32).reshape(2, 2, 2))
TREE = ((1, 2), 3)


def _with_initial(reduction):
    """The reduction of X with an initial value, which a reduction needs for where= to apply."""
    return lambda **kw: reduction(X, **{"initial": 0.0, **kw})


def _scatter_call(fn):
    return lambda **kw: fn(X, OUT_OF_BOUNDS, mnp.full((1, 3), 2.0), SCATTER, **kw)


def _newton(f, x):
    """Five Newton steps for a root of f from x (custom_root's solver in the keyword calls)."""
    for _ in range(5):
        x = x - f(x) / (2 * x)
    return x


CONV_T_LHS, CONV_T_RHS = mnp.ones((1, 3, 2), "int32"), mnp.asarray(np.arange(8, dtype=np.int32).reshape(2, 2, 2))
LOCAL_RHS = mnp.asarray(np.arange(48, dtype=np.int32).reshape(3, 4, 4))
CUBE = mnp.arange(8.0).reshape(2, 2, 2)
ATTENTION = mnp.reshape(mnp.arange(24.0), (1, 3, 2, 4))
SPD = mnp.asarray(np.array([[2.0, 0.5], [0.5, 1.0]], np.float32))


# name or name.keyword -> call(**keywords). A parameter a call passes must not be the keyword
# it tests (pass defaults through the dict, as {"num": 5, **kw}).
CALLS = {
    "mlax.numpy.searchsorted": lambda **kw: mnp.searchsorted(mnp.asarray([3.0, 1.0, 2.0, 2.0]), mnp.asarray([2.0, 0.5]),
                                                             **kw),
    "mlax.checkpoint": lambda **kw: mlax.jit(lambda x: mlax.checkpoint(_static_probe, **kw)(x, 3))(X),
    "mlax.device_put": _device_put,
    "mlax.export": lambda **kw: mlax.export(_double, **kw)(X).platforms,
    "mlax.grad": lambda **kw: mlax.grad(_two_arguments, **kw)(X, X),
    "mlax.value_and_grad": lambda **kw: mlax.value_and_grad(_two_arguments, **kw)(X, X),
    "mlax.jacfwd": lambda **kw: mlax.jacfwd(_two_arguments, **kw)(X, X),
    "mlax.jacrev": lambda **kw: mlax.jacrev(_two_arguments, **kw)(X, X),
    "mlax.hessian": lambda **kw: mlax.hessian(_two_arguments, **kw)(X, X),
    "mlax.jacfwd.has_aux": lambda **kw: mlax.jacfwd(_pair, **kw)(X),
    "mlax.jacrev.has_aux": lambda **kw: mlax.jacrev(_pair, **kw)(X),
    "mlax.hessian.has_aux": lambda **kw: mlax.hessian(_pair, **kw)(X),
    "mlax.jvp": lambda **kw: mlax.jvp(_pair, (X,), (X,), **kw),
    "mlax.disable_jit": lambda **kw: _within(mlax.disable_jit(**kw), _jit_argument_type),
    "mlax.fwd_and_bwd": lambda **kw: mlax.fwd_and_bwd(_pair, 0, **kw)[0](X),
    "mlax.fwd_and_bwd.jitted": lambda **kw: mlax.fwd_and_bwd(_pair, 0, **kw),
    "mlax.linear_transpose": lambda **kw: mlax.linear_transpose(_double, X, **kw)(X),
    "mlax.make_jaxpr": lambda **kw: str(mlax.make_jaxpr(_static_probe, **kw)(X, 3)),
    "mlax.make_user_context": lambda **kw: mlax.make_user_context(**kw).value,
    "mlax.named_call": lambda **kw: mlax.make_mlir(mlax.named_call(_double, **kw))(X),
    "mlax.pure_callback": lambda **kw: mlax.pure_callback(np.negative, mlax.ShapeDtypeStruct((2, 3), np.float32), X,
                                                          **kw),
    "mlax.vjp": lambda **kw: mlax.vjp(_pair, X, **kw),
    "mlax.jit": lambda **kw: mlax.jit(_static_probe, **kw)(X, 3),
    "mlax.jit.fun": lambda **kw: mlax.jit(**kw),
    "mlax.jit.donate_argnums": _donated,
    "mlax.jit.donate_argnames": _donated_by_name,
    "mlax.make_mlir": lambda **kw: mlax.make_mlir(_static_probe, **kw)(X, 3),
    "mlax.pmap": lambda **kw: mlax.pmap(_sums_over_i, **kw)(X),
    "mlax.pmap.static_broadcasted_argnums": lambda **kw: mlax.pmap(_static_probe, in_axes=(0, None), **kw)(X, 3),
    "mlax.vmap": lambda **kw: mlax.vmap(_sums_over_i, **kw)(X),
    "mlax.numpy.all": lambda **kw: mnp.all(SPARSE, **kw),
    "mlax.numpy.any": lambda **kw: mnp.any(SPARSE, **kw),
    "mlax.numpy.can_cast": lambda **kw: mnp.can_cast(np.float32, np.int32, **kw),
    "mlax.numpy.concat": lambda **kw: mnp.concat([X, X], **kw),
    "mlax.numpy.concatenate": lambda **kw: mnp.concatenate([X, X], **kw),
    "mlax.numpy.split": lambda **kw: mnp.split(X, [1], **kw),
    "mlax.numpy.array_split": lambda **kw: mnp.array_split(X, [1], **kw),
    "mlax.numpy.diagonal": lambda **kw: mnp.diagonal(mnp.reshape(X, (1, 2, 3)), **kw),
    "mlax.numpy.trace": lambda **kw: mnp.trace(mnp.reshape(X, (1, 2, 3)), **kw),
    "mlax.numpy.squeeze": lambda **kw: mnp.squeeze(mnp.reshape(X, (1, 6, 1)), **kw),
    "mlax.numpy.full_like": lambda **kw: mnp.full_like(X, 2.0, **kw),
    "mlax.numpy.linspace.axis": lambda **kw: mnp.linspace(mnp.zeros(2), mnp.ones(2), **{"num": 5, **kw}),
    "mlax.numpy.logspace.axis": lambda **kw: mnp.logspace(mnp.zeros(2), mnp.ones(2), **{"num": 5, **kw}),
    **{f"mlax.numpy.{fn}.where": _with_initial(getattr(mnp, fn)) for fn in ("max", "min", "nanmax", "nanmin")},
    "mlax.numpy.allclose": lambda **kw: mnp.allclose(X, X + 0.1, **kw),
    "mlax.numpy.allclose.equal_nan": lambda **kw: mnp.allclose(NANS, NANS, **kw),
    "mlax.numpy.isclose": lambda **kw: mnp.isclose(X, X + 0.1, **kw),
    "mlax.numpy.isclose.equal_nan": lambda **kw: mnp.isclose(NANS, NANS, **kw),
    "mlax.numpy.array_equal": lambda **kw: mnp.array_equal(NANS, NANS, **kw),
    "mlax.numpy.nan_to_num": lambda **kw: mnp.nan_to_num(NONFINITE, **kw),
    "mlax.numpy.nonzero": lambda **kw: mnp.nonzero(SPARSE, **{"size": 4, **kw}),
    "mlax.numpy.flatnonzero": lambda **kw: mnp.flatnonzero(SPARSE, **{"size": 4, **kw}),
    "mlax.numpy.argwhere": lambda **kw: mnp.argwhere(SPARSE, **{"size": 4, **kw}),
    "mlax.numpy.linspace": lambda **kw: mnp.linspace(0.0, 1.0, **{"num": 5, **kw}),
    "mlax.numpy.logspace": lambda **kw: mnp.logspace(0.0, 1.0, **{"num": 5, **kw}),
    "mlax.numpy.meshgrid": lambda **kw: mnp.meshgrid(X[0], X[1, :2], **kw),
    "mlax.numpy.reshape": lambda **kw: mnp.reshape(X, (3, 2), **kw),
    "mlax.numpy.reshape.shape": lambda **kw: mnp.reshape(X, **{"newshape": (3, 2), **kw}),
    "mlax.numpy.dot": lambda **kw: mnp.dot(XI, XI.T, **kw),
    "mlax.numpy.matmul": lambda **kw: mnp.matmul(XI, XI.T, **kw),
    "mlax.numpy.einsum": lambda **kw: mnp.einsum("ij,kj->ik", XI, XI, **kw),
    "mlax.numpy.select": lambda **kw: mnp.select([X > 0], [X], **kw),
    "mlax.numpy.einsum_path": lambda **kw: mnp.einsum_path("ij,jk,kl->il", mnp.ones((4, 5)), mnp.ones((5, 6)),
                                                           mnp.ones((6, 1)), **kw)[0],
    "mlax.numpy.convolve": lambda **kw: mnp.convolve(XI[0], XI[1, :2], **kw),
    "mlax.numpy.take": lambda **kw: mnp.take(X, mnp.asarray([0, 9]), **kw),
    "mlax.numpy.take_along_axis": lambda **kw: mnp.take_along_axis(X, mnp.asarray([[0, 5], [1, 2]]), 1, **kw),
    "mlax.numpy.quantile": lambda **kw: mnp.quantile(X, 0.3, **kw),
    "mlax.numpy.percentile": lambda **kw: mnp.percentile(X, 30.0, **kw),
    "mlax.numpy.repeat": lambda **kw: mnp.repeat(X, 2, **kw),
    "mlax.numpy.linalg.cholesky": lambda **kw: mnp.linalg.cholesky(ASYMMETRIC, **kw),
    "mlax.numpy.linalg.eigh": lambda **kw: mnp.linalg.eigh(ASYMMETRIC, **kw),
    "mlax.numpy.linalg.eigvalsh": lambda **kw: mnp.linalg.eigvalsh(ASYMMETRIC, **kw),
    # The triangle read matters only when the input is not symmetrized.
    "mlax.numpy.linalg.eigh.UPLO": lambda **kw: mnp.linalg.eigh(ASYMMETRIC, symmetrize_input=False, **kw),
    "mlax.numpy.linalg.eigvalsh.UPLO": lambda **kw: mnp.linalg.eigvalsh(ASYMMETRIC, symmetrize_input=False, **kw),
    "mlax.numpy.linalg.qr": lambda **kw: mnp.linalg.qr(TALL, **kw),
    "mlax.numpy.linalg.svd": lambda **kw: mnp.linalg.svd(ASYMMETRIC, **kw),
    "mlax.numpy.linalg.svd.full_matrices": lambda **kw: mnp.linalg.svd(TALL, **kw),
    "mlax.numpy.linalg.matmul": lambda **kw: mnp.linalg.matmul(XI, XI.T, **kw),
    "mlax.numpy.nanquantile": lambda **kw: mnp.nanquantile(mnp.where(X > 2.5, mnp.nan, X), 0.3, **kw),
    "mlax.numpy.nanpercentile": lambda **kw: mnp.nanpercentile(mnp.where(X > 2.5, mnp.nan, X), 30.0, **kw),
    # Duplicate indices: each is deleted once, or (assume_unique_indices) as if they were two.
    "mlax.numpy.delete": lambda **kw: mnp.delete(mnp.arange(5), mnp.asarray([1, 1]), **kw),
    "mlax.numpy.geomspace": lambda **kw: mnp.geomspace(mnp.asarray([1.0, 2.0]), mnp.asarray([100.0, 8.0]),
                                                       **{"num": 3, **kw}),
    "mlax.numpy.indices": lambda **kw: mnp.indices((2, 3), **kw),
    "mlax.numpy.interp": lambda **kw: mnp.interp(mnp.asarray([-1.0, 0.5, 2.5, 7.0]), mnp.asarray([0.0, 1.0, 2.0]),
                                                 mnp.asarray([1.0, 3.0, 2.0]), **kw),
    "mlax.numpy.polyint": lambda **kw: mnp.polyint(mnp.asarray([3.0, 2.0, 1.0]), **kw),
    "mlax.numpy.polymul": lambda **kw: mnp.polymul(mnp.asarray([0.0, 1.0, 2.0]), mnp.asarray([1.0, 3.0]), **kw),
    "mlax.lax.all_gather": lambda **kw: mlax.vmap(lambda v: lax.all_gather(v, "i", **kw), axis_name="i")(X),
    "mlax.lax.conv": lambda **kw: lax.conv(LHS, RHS, (1,), "VALID", **kw),
    "mlax.lax.conv_general_dilated": lambda **kw: lax.conv_general_dilated(LHS, RHS, (1,), [(0, 0)], **kw),
    "mlax.lax.conv_with_general_padding": lambda **kw: lax.conv_with_general_padding(
        LHS, RHS, (1,), [(0, 0)], (1,), (1,), **kw),
    "mlax.lax.dot": lambda **kw: lax.dot(XI, XI.T, **kw),
    "mlax.lax.dot_general": lambda **kw: lax.dot_general(XI, XI, (((1,), (1,)), ((), ())), **kw),
    "mlax.lax.full": lambda **kw: lax.full((2,), 1.0, **{"dtype": np.float32, **kw}),
    "mlax.lax.full.dtype": lambda **kw: lax.full((2,), 1.0, **kw),
    # A negative start counts from the end unless allow_negative_indices=False (then clamped to 0).
    "mlax.lax.dynamic_index_in_dim": lambda **kw: lax.dynamic_index_in_dim(X, -1, **kw),
    "mlax.lax.dynamic_slice": lambda **kw: lax.dynamic_slice(X, (-1, 0), (1, 3), **kw),
    "mlax.lax.dynamic_update_slice": lambda **kw: lax.dynamic_update_slice(X, X[:1] * 0, (-1, 0), **kw),
    "mlax.lax.gather": lambda **kw: lax.gather(X, OUT_OF_BOUNDS, GATHER, (1, 3), **kw),
    "mlax.lax.gather.fill_value": lambda **kw: lax.gather(X, OUT_OF_BOUNDS, GATHER, (1, 3), mode="fill", **kw),
    "mlax.lax.scatter": _scatter_call(lax.scatter),
    "mlax.lax.scatter_add": _scatter_call(lax.scatter_add),
    "mlax.lax.scatter_max": _scatter_call(lax.scatter_max),
    "mlax.lax.scatter_min": _scatter_call(lax.scatter_min),
    "mlax.lax.scatter_mul": _scatter_call(lax.scatter_mul),
    "mlax.lax.reduce_window": lambda **kw: lax.reduce_window(X, 0.0, lax.add, (1, 2), **kw),
    "mlax.lax.reshape": lambda **kw: lax.reshape(X, (3, 2), **kw),
    "mlax.lax.scan": lambda **kw: lax.scan(lambda c, x: (c + x, c * x), 0.0, **{"xs": X[0], **kw}),
    "mlax.lax.scan.xs": lambda **kw: lax.scan(lambda c, x: (c + (1.0 if x is None else x), c), 0.0,
                                              **{"length": 3, **kw}),
    "mlax.lax.slice": lambda **kw: lax.slice(X, (0, 0), (2, 3), **kw),
    "mlax.lax.slice_in_dim": lambda **kw: lax.slice_in_dim(X, 0, 2, **kw),
    "mlax.lax.sort": lambda **kw: lax.sort((X, XI), **kw),
    "mlax.lax.triangular_solve": lambda **kw: lax.triangular_solve(ASYMMETRIC, ASYMMETRIC.T, **kw),
    "mlax.lax.triangular_solve.conjugate_a": lambda **kw: lax.triangular_solve(COMPLEX, COMPLEX, **kw),
    "mlax.lax.while_loop": lambda **kw: lax.while_loop(lambda v: v < 10.0, lambda v: v + 1.0, 0.0, **kw),
    "mlax.lax.linalg.cholesky": lambda **kw: lax.linalg.cholesky(ASYMMETRIC, **kw),
    "mlax.lax.linalg.eigh": lambda **kw: lax.linalg.eigh(ASYMMETRIC, **kw),
    "mlax.lax.linalg.eigh.lower": lambda **kw: lax.linalg.eigh(ASYMMETRIC, symmetrize_input=False, **kw),
    "mlax.lax.linalg.eigh.sort_eigenvalues": lambda **kw: lax.linalg.eigh(mnp.diag(mnp.asarray([2.0, 1.0])), **kw),
    "mlax.lax.linalg.qr": lambda **kw: lax.linalg.qr(TALL, **kw),
    "mlax.lax.linalg.svd": lambda **kw: lax.linalg.svd(TALL, **kw),
    "mlax.random.permutation": lambda **kw: random.permutation(KEY, mnp.arange(12).reshape(3, 4), **kw),
    "mlax.random.truncated_normal": lambda **kw: random.truncated_normal(KEY, -1.0, 1.0, **kw),
    "mlax.tree_util.register_dataclass": _registered_leaves,
    "mlax.tree_util.tree_flatten": lambda **kw: tree_util.tree_flatten(TREE, **kw)[0],
    "mlax.tree_util.tree_leaves": lambda **kw: tree_util.tree_leaves(TREE, **kw),
    "mlax.tree_util.tree_structure": lambda **kw: str(tree_util.tree_structure(TREE, **kw)),
    "mlax.tree_util.tree_map": lambda **kw: tree_util.tree_map(lambda x: [x], TREE, **kw),
    "mlax.tree_util.tree_reduce": lambda **kw: tree_util.tree_reduce(operator.add, [(1,), (2,)], **kw),
    "mlax.tree_util.register_pytree_node": lambda **kw: _fresh_two(tree_util.register_pytree_node, _two_flatten, **kw),
    "mlax.tree_util.register_pytree_with_keys": lambda **kw: _fresh_two(tree_util.register_pytree_with_keys, _two_keys,
                                                                        **kw),
    "mlax.tree_util.keystr": lambda **kw: tree_util.keystr((tree_util.DictKey("a"), tree_util.SequenceKey(0)), **kw),
    "mlax.tree_util.tree_flatten_with_path": lambda **kw: tree_util.tree_flatten_with_path(TREE, **kw)[0],
    "mlax.tree_util.tree_flatten_with_path.is_leaf_takes_path": lambda **kw: tree_util.tree_flatten_with_path(
        TREE, _takes_two, **kw)[0],
    "mlax.tree_util.tree_leaves_with_path": lambda **kw: tree_util.tree_leaves_with_path(TREE, **kw),
    "mlax.tree_util.tree_leaves_with_path.is_leaf_takes_path": lambda **kw: tree_util.tree_leaves_with_path(
        TREE, _takes_two, **kw),
    "mlax.tree_util.tree_map_with_path": lambda **kw: tree_util.tree_map_with_path(lambda p, x: [x], TREE, **kw),
    "mlax.tree_util.tree_map_with_path.is_leaf_takes_path": lambda **kw: tree_util.tree_map_with_path(
        lambda p, x: [x], TREE, is_leaf=_takes_two, **kw),
    "mlax.tree_util.tree_all": lambda **kw: tree_util.tree_all([[], 1], **kw),
    "mlax.tree_util.tree_broadcast": lambda **kw: tree_util.tree_broadcast([1, (2, 3)], [[5, 6], (7, 8)], **kw),
    "mlax.tree_util.all_leaves": lambda **kw: tree_util.all_leaves([(1,)], **kw),
    "mlax.tree_util.tree_reduce_associative": lambda **kw: tree_util.tree_reduce_associative(
        operator.add, [(1,), (2,)], **kw),
    "mlax.tree_util.tree_reduce_associative.identity": lambda **kw: _result_or_error(
        tree_util.tree_reduce_associative, operator.add, [], **kw),
    "mlax.tree.all": lambda **kw: tree.all([[], 1], **kw),
    "mlax.tree.broadcast": lambda **kw: tree.broadcast([1, (2, 3)], [[5, 6], (7, 8)], **kw),
    "mlax.tree.flatten": lambda **kw: tree.flatten(TREE, **kw)[0],
    "mlax.tree.flatten_with_path": lambda **kw: tree.flatten_with_path(TREE, **kw)[0],
    "mlax.tree.flatten_with_path.is_leaf_takes_path": lambda **kw: tree.flatten_with_path(TREE, _takes_two, **kw)[0],
    "mlax.tree.leaves": lambda **kw: tree.leaves(TREE, **kw),
    "mlax.tree.leaves_with_path": lambda **kw: tree.leaves_with_path(TREE, **kw),
    "mlax.tree.leaves_with_path.is_leaf_takes_path": lambda **kw: tree.leaves_with_path(TREE, _takes_two, **kw),
    "mlax.tree.map": lambda **kw: tree.map(lambda x: [x], TREE, **kw),
    "mlax.tree.map_with_path": lambda **kw: tree.map_with_path(lambda p, x: [x], TREE, **kw),
    "mlax.tree.map_with_path.is_leaf_takes_path": lambda **kw: tree.map_with_path(lambda p, x: [x], TREE,
                                                                                  is_leaf=_takes_two, **kw),
    "mlax.tree.reduce": lambda **kw: tree.reduce(operator.add, [(1,), (2,)], **kw),
    "mlax.tree.reduce_associative": lambda **kw: tree.reduce_associative(operator.add, [(1,), (2,)], **kw),
    "mlax.tree.reduce_associative.identity": lambda **kw: _result_or_error(tree.reduce_associative, operator.add, [],
                                                                           **kw),
    "mlax.tree.structure": lambda **kw: tree.structure(TREE, **kw),
    # The asymptotic series is used only far in the lower tail.
    "mlax.scipy.special.log_ndtr": lambda **kw: mlax.scipy.special.log_ndtr(mnp.asarray([-20.0, 1.0]), **kw),
    "mlax.numpy.unique.equal_nan": lambda **kw: mnp.unique(mnp.asarray([np.nan, np.nan]), **kw),
    **{f"mlax.numpy.{fn}.fill_value": lambda fn=fn, **kw: getattr(mnp, fn)(X, **{"size": 8, **kw})
       for fn in ("unique", "unique_all", "unique_counts", "unique_inverse", "unique_values")},
    # Repeated values: assume_unique=True (a promise they break) treats them as distinct.
    **{f"mlax.numpy.{fn}": lambda fn=fn, **kw: getattr(mnp, fn)(mnp.asarray([1.0, 1.0, 2.0]), mnp.asarray([3.0]), **kw)
       for fn in ("intersect1d", "setdiff1d", "setxor1d")},
    **{f"mlax.numpy.{fn}.fill_value": lambda fn=fn, **kw: getattr(mnp, fn)(X, X[0], **{"size": 8, **kw})
       for fn in ("intersect1d", "setdiff1d", "setxor1d", "union1d")},
    "mlax.numpy.lexsort": lambda **kw: mnp.lexsort([X, X[::-1]], **kw),
    "mlax.numpy.partition": lambda **kw: mnp.partition(X, 1, **kw),
    "mlax.numpy.argpartition": lambda **kw: mnp.argpartition(X, 1, **kw),
    "mlax.numpy.extract": lambda **kw: mnp.extract(SPARSE, SPARSE, **{"size": 4, **kw}),
    "mlax.numpy.extract.size": lambda **kw: mnp.extract(SPARSE, SPARSE, **kw),
    "mlax.numpy.compress": lambda **kw: mnp.compress(mnp.asarray([True, False]), X, **{"size": 1, **kw}),
    "mlax.numpy.compress.size": lambda **kw: mnp.compress(mnp.asarray([True, False]), X, **kw),
    "mlax.numpy.compress.fill_value": lambda **kw: mnp.compress(mnp.asarray([True, False]), X, **{"size": 2, **kw}),
    "mlax.numpy.choose": lambda **kw: mnp.choose(mnp.asarray([0, 2, 1]), [X[0], X[1], -X[0]], **kw),
    "mlax.numpy.choose.mode": lambda **kw: _result_or_error(mnp.choose, mnp.asarray([0, 3, -1]), [X[0], X[1], -X[0]],
                                                            **kw),
    # The in-place edits are refused (as in JAX); the calls make copies unless the test passes inplace.
    "mlax.numpy.place": lambda **kw: mnp.place(X, X > 0, mnp.asarray([7.0]), **{"inplace": False, **kw}),
    "mlax.numpy.put": lambda **kw: mnp.put(X, mnp.asarray([0, 9]), 7.0, **{"inplace": False, **kw}),
    "mlax.numpy.put_along_axis": lambda **kw: mnp.put_along_axis(X, mnp.asarray([[0], [5]]), 7.0, 1,
                                                                 **{"inplace": False, **kw}),
    "mlax.numpy.fill_diagonal": lambda **kw: mnp.fill_diagonal(X, 7.0, **{"inplace": False, **kw}),
    "mlax.numpy.mask_indices": lambda **kw: mnp.mask_indices(3, mnp.triu, **kw),
    "mlax.numpy.ravel_multi_index": lambda **kw: mnp.ravel_multi_index((mnp.asarray([1, 2]), mnp.asarray([2, 0])),
                                                                       (3, 3), **kw),
    "mlax.numpy.ravel_multi_index.mode": lambda **kw: _result_or_error(
        mnp.ravel_multi_index, (mnp.asarray([1, 4]), mnp.asarray([2, -1])), (3, 3), **kw),
    "mlax.numpy.trim_zeros": lambda **kw: mnp.trim_zeros(mnp.asarray([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), **kw),
    "mlax.numpy.packbits": lambda **kw: mnp.packbits(XI > 0, **kw),
    "mlax.numpy.unpackbits": lambda **kw: mnp.unpackbits(mnp.asarray(np.array([[3, 200]], np.uint8)), **kw),
    "mlax.numpy.unwrap": lambda **kw: mnp.unwrap(mnp.asarray([0.0, 3.0, 6.5, 1.0]), **kw),
    "mlax.numpy.vander": lambda **kw: mnp.vander(X[0], **kw),
    "mlax.numpy.polydiv": lambda **kw: mnp.polydiv(mnp.asarray([1.0, 2.0, 1.0]), mnp.asarray([1.0, 1.0]), **kw),
    "mlax.numpy.polyfit": lambda **kw: mnp.polyfit(mnp.asarray([0.0, 1.0, 2.0, 3.0]), mnp.asarray([1.0, 0.0, 2.0, 5.0]),
                                                   1, **kw),
    "mlax.numpy.roots": lambda **kw: mnp.roots(mnp.asarray([0.0, 1.0, -3.0, 2.0]), **kw),
    "mlax.numpy.bincount": lambda **kw: mnp.bincount(mnp.asarray([0, 2, 2, 5]), **kw),
    "mlax.numpy.digitize": lambda **kw: mnp.digitize(X, mnp.asarray([-1.5, 0.5, 2.0]), **kw),
    "mlax.numpy.histogram2d": lambda **kw: mnp.histogram2d(X[0], X[1], **kw),
    "mlax.numpy.correlate": lambda **kw: mnp.correlate(X[0], X[1, :2], **kw),
    "mlax.numpy.vectorize": lambda **kw: mnp.vectorize(mnp.sum, **kw)(X),
    "mlax.numpy.frompyfunc": lambda **kw: mnp.frompyfunc(mnp.add, 2, 1, **kw).reduce(X),
    "mlax.numpy.frombuffer": lambda **kw: mnp.frombuffer(np.arange(4, dtype=np.float32).tobytes(), **kw),
    "mlax.numpy.fromstring": lambda **kw: mnp.fromstring("1 2 3", sep=" ", **kw),
    "mlax.numpy.fromfunction": lambda **kw: mnp.fromfunction(lambda i: i * 2, (3,), **kw),
    "mlax.numpy.from_dlpack": lambda **kw: mnp.from_dlpack(np.ones(2, np.float32), **kw),
    "mlax.numpy.from_dlpack.device": lambda device=None: mnp.from_dlpack(
        np.ones(2, np.float32), device=None if device is None else mlax.devices()[device]),
    "mlax.make_mesh": lambda **kw: repr(mlax.make_mesh((1,), ("x",), **kw)),
    "mlax.make_array_from_callback": lambda **kw: mlax.make_array_from_callback(
        (2, 3), _ROW_SHARDED, lambda index: np.asarray(X)[index], **kw),
    "mlax.make_array_from_process_local_data": lambda **kw: mlax.make_array_from_process_local_data(_ROW_SHARDED, X,
                                                                                                    **kw),
    "mlax.make_array_from_single_device_arrays": lambda **kw: mlax.make_array_from_single_device_arrays(
        (2, 3), _ROW_SHARDED, [X], **kw),
    "mlax.shard_map": lambda **kw: mlax.shard_map(_scaled_by_block_rows, out_specs=mlax.P("x"),
                                                  **{"mesh": _auto_mesh((2,), ("x",)), **kw})(X),
    "mlax.shard_map.f": lambda f=None: mlax.shard_map(f, out_specs=mlax.P()),
    "mlax.shard_map.mesh": lambda **kw: _within(mlax.set_mesh(_auto_mesh((2,), ("x",))), lambda: mlax.shard_map(
        _scaled_by_block_rows, in_specs=mlax.P("x"), out_specs=mlax.P("x"), **kw)(X)),
    # psum over "y" where "y" is a manual axis; over the others the function sees no axis "y".
    "mlax.shard_map.axis_names": lambda **kw: mlax.shard_map(_sums_over_y, mesh=_auto_mesh((1, 2), ("x", "y")), in_specs=mlax.P(),
                                                             out_specs=mlax.P(), **kw)(X),
    # An output that varies along an axis its out_specs leave out: an error unless check_vma=False.
    "mlax.shard_map.check_vma": lambda **kw: _result_or_error(mlax.shard_map(
        _scaled_by_block_rows, mesh=_auto_mesh((2,), ("x",)), in_specs=mlax.P("x"), out_specs=mlax.P(), **kw), X),
    "mlax.smap.f": lambda f=None: mlax.smap(f, in_axes=0, out_axes=0, axis_name="x"),
    # mlax cannot infer in_axes from sharding types, so the default raises NotImplementedError.
    "mlax.smap.in_axes": lambda **kw: _within(mlax.set_mesh(_auto_mesh((2,), ("x",))), lambda: _result_or_error(
        lambda: mlax.smap(_scaled_by_block_rows, out_axes=0, axis_name="x", **kw)(X))),
    **{f"mlax.device_put.{keyword}": lambda **kw: mlax.device_put(X, **kw) for keyword in ("src", "donate", "may_alias")},
    "mlax.lax.collapse": lambda **kw: lax.collapse(X, 0, **kw),
    "mlax.lax.full_like": lambda **kw: lax.full_like(X, 1.0, **kw),
    "mlax.lax.empty": lambda **kw: lax.empty((2,), np.float32, **kw),
    "mlax.lax.split": lambda **kw: lax.split(X, (1, 1), **kw),
    "mlax.lax.stack": lambda **kw: lax.stack([X, X], **kw),
    "mlax.lax.batch_matmul": lambda **kw: lax.batch_matmul(X[None], X.T[None], **kw),
    "mlax.lax.index_in_dim": lambda **kw: lax.index_in_dim(X, 0, **kw),
    "mlax.lax.dynamic_slice_in_dim": lambda **kw: lax.dynamic_slice_in_dim(X, -1, 1, **kw),
    "mlax.lax.dynamic_update_slice_in_dim": lambda **kw: lax.dynamic_update_slice_in_dim(X, X[:, :1] * 0, -1, 1, **kw),
    "mlax.lax.dynamic_update_index_in_dim": lambda **kw: lax.dynamic_update_index_in_dim(X, X[0] * 0, -1, 0, **kw),
    "mlax.lax.scatter_sub": _scatter_call(lax.scatter_sub),
    "mlax.lax.scatter_apply": lambda **kw: lax.scatter_apply(X, OUT_OF_BOUNDS, mnp.exp, SCATTER,
                                                             **{"update_shape": (1, 3), **kw}),
    "mlax.lax.scatter_apply.update_shape": lambda **kw: lax.scatter_apply(
        X, mnp.asarray(np.array([0, 1], np.int32)), mnp.exp, lax.ScatterDimensionNumbers((), (0, 1), (0, 1)), **kw),
    "mlax.lax.reduce": lambda **kw: lax.reduce(X, 0.0, lax.add, (0,), **kw),
    "mlax.lax.associative_scan": lambda **kw: lax.associative_scan(lax.add, X, **kw),
    "mlax.lax.approx_max_k": lambda **kw: lax.approx_max_k(X, 2, **kw),
    "mlax.lax.approx_min_k": lambda **kw: lax.approx_min_k(X, 2, **kw),
    "mlax.lax.conv_transpose": lambda **kw: lax.conv_transpose(CONV_T_LHS, CONV_T_RHS, (2,), "SAME", **kw),
    "mlax.lax.conv_transpose.use_consistent_padding": lambda **kw: lax.conv_transpose(CONV_T_LHS, CONV_T_RHS, (2,),
                                                                                      ((1, 0),), **kw),
    "mlax.lax.conv_general_dilated_patches": lambda **kw: lax.conv_general_dilated_patches(LHS, (2,), (1,), "VALID",
                                                                                           **kw),
    "mlax.lax.conv_general_dilated_local": lambda **kw: lax.conv_general_dilated_local(LHS, LOCAL_RHS, (1,), "VALID",
                                                                                       (2,), **kw),
    "mlax.lax.conv_shape_tuple": lambda **kw: lax.conv_shape_tuple((2, 3, 5), (4, 3, 2), (1,), "VALID", **kw),
    "mlax.lax.reduce_window_shape_tuple": lambda **kw: lax.reduce_window_shape_tuple((5,), (2,), (1,), ((0, 0),), **kw),
    "mlax.lax.psum_scatter": lambda **kw: mlax.vmap(lambda v: lax.psum_scatter(v, "i", **kw), axis_name="i")(CUBE[0]),
    "mlax.lax.all_to_all": lambda **kw: mlax.vmap(lambda v: lax.all_to_all(v, "i", 0, 1, **kw), axis_name="i")(CUBE),
    "mlax.lax.pswapaxes": lambda **kw: mlax.vmap(lambda v: lax.pswapaxes(v, "i", 0, **kw), axis_name="i")(CUBE),
    "mlax.lax.custom_root": lambda **kw: lax.custom_root(lambda x: x * x - 2.0, 1.0, _newton, lambda g, y: y / g(1.0),
                                                         **kw),
    "mlax.lax.custom_linear_solve": lambda **kw: lax.custom_linear_solve(_double, X, lambda matvec, b: b / 2.0, **kw),
    # symmetric=True changes how it differentiates (reverse mode by a custom_vjp): forward mode raises.
    "mlax.lax.custom_linear_solve.symmetric": lambda **kw: _result_or_error(
        mlax.jvp, lambda b: lax.custom_linear_solve(_double, b, lambda matvec, v: v / 2.0, **kw), (X,), (X,)),
    "mlax.lax.composite": lambda **kw: lax.composite(_double, "my.double", **kw)(X),
    "mlax.nn.dot_product_attention": lambda **kw: nn.dot_product_attention(ATTENTION / 10, ATTENTION / 7, ATTENTION,
                                                                           **kw),
    "mlax.nn.get_scaled_dot_general_config": lambda **kw: nn.get_scaled_dot_general_config("nvfp4", **kw),
    "mlax.nn.scaled_matmul": lambda **kw: nn.scaled_matmul(X[None], X[None], X[None, :, :1], X[None, :, :1], **kw),
    "mlax.nn.scaled_dot_general": lambda **kw: nn.scaled_dot_general(
        mnp.reshape(mnp.arange(64.0), (1, 2, 32)), mnp.ones((1, 2, 32)), (((2,), (2,)), ((0,), (0,))), **kw),
    "mlax.nn.glu": lambda **kw: nn.glu(mnp.reshape(mnp.arange(8.0), (2, 4)), **kw),
    "mlax.random.multinomial": lambda **kw: random.multinomial(KEY, 5.0, mnp.asarray([0.2, 0.3, 0.5]), **kw),
    "mlax.random.multivariate_normal": lambda **kw: random.multivariate_normal(KEY, mnp.zeros(2), SPD, **kw),
    # Without q (the Riemann zeta function) it raises NotImplementedError.
    "mlax.scipy.special.zeta": lambda **kw: _result_or_error(mlax.scipy.special.zeta, mnp.asarray([2.0, 3.0]), **kw),
}

_IS_TUPLE = lambda x: isinstance(x, tuple)

# name.keyword -> values to try before those the default's type suggests.
VALUES = {
    "mlax.checkpoint.static_argnums": [(1,)],
    "mlax.device_put.device": [1],
    "mlax.export.platforms": [("cuda",)],
    "mlax.grad.argnums": [1], "mlax.value_and_grad.argnums": [1], "mlax.jacfwd.argnums": [1],
    "mlax.jacrev.argnums": [1], "mlax.hessian.argnums": [1],
    "mlax.jit.fun": [_double],
    "mlax.jit.static_argnums": [1],
    "mlax.jit.static_argnames": ["n"],
    "mlax.jit.donate_argnums": [0],
    "mlax.jit.donate_argnames": ["x"],
    "mlax.make_mlir.static_argnums": [1],
    "mlax.pmap.axis_name": ["i"], "mlax.vmap.axis_name": ["i"],
    "mlax.pmap.in_axes": [1], "mlax.pmap.out_axes": [1], "mlax.vmap.in_axes": [1], "mlax.vmap.out_axes": [1],
    "mlax.pmap.static_broadcasted_argnums": [(1,)],
    "mlax.numpy.array.ndmin": [3],
    "mlax.numpy.all.where": [SPARSE == 0], "mlax.numpy.any.where": [SPARSE == 0],
    "mlax.numpy.can_cast.casting": ["unsafe"],
    **{f"mlax.numpy.{fn}.initial": [10.0, -10.0] for fn in ("max", "min", "nanmax", "nanmin")},
    **{f"mlax.numpy.{fn}.where": [X < 0] for fn in ("max", "min", "nanmax", "nanmin")},
    "mlax.numpy.std.dtype": [np.float16], "mlax.numpy.var.dtype": [np.float16],
    "mlax.numpy.pad.mode": ["edge"], "mlax.numpy.take.mode": ["clip"], "mlax.numpy.take_along_axis.mode": ["clip"],
    "mlax.numpy.transpose.axes": [(0, 1)],
    "mlax.numpy.allclose.rtol": [1.0], "mlax.numpy.isclose.rtol": [1.0],
    "mlax.numpy.allclose.atol": [1.0], "mlax.numpy.isclose.atol": [1.0],
    "mlax.numpy.average.weights": [X],
    "mlax.numpy.linspace.num": [3], "mlax.numpy.logspace.num": [3],
    "mlax.numpy.nonzero.fill_value": [-1], "mlax.numpy.flatnonzero.fill_value": [-1],
    "mlax.numpy.argwhere.fill_value": [-1],
    "mlax.numpy.quantile.method": ["lower"], "mlax.numpy.percentile.method": ["lower"],
    "mlax.numpy.repeat.total_repeat_length": [3],
    "mlax.numpy.dot.preferred_element_type": [np.float32], "mlax.numpy.matmul.preferred_element_type": [np.float32],
    "mlax.numpy.einsum.preferred_element_type": [np.float32],
    "mlax.numpy.einsum_path.optimize": [False],
    "mlax.numpy.convolve.preferred_element_type": [np.float32],
    "mlax.lax.dot.preferred_element_type": [np.float32], "mlax.lax.dot_general.preferred_element_type": [np.float32],
    "mlax.lax.conv.preferred_element_type": [np.float32],
    "mlax.lax.conv_general_dilated.preferred_element_type": [np.float32],
    "mlax.lax.conv_with_general_padding.preferred_element_type": [np.float32],
    "mlax.lax.conv_general_dilated.lhs_dilation": [(2,)], "mlax.lax.conv_general_dilated.rhs_dilation": [(2,)],
    "mlax.lax.conv_general_dilated.dimension_numbers": [("NCW", "IOW", "NCW")],
    "mlax.lax.reduce_window.window_strides": [(2, 1)], "mlax.lax.reduce_window.padding": ["SAME"],
    "mlax.lax.reduce_window.base_dilation": [(1, 2)], "mlax.lax.reduce_window.window_dilation": [(1, 2)],
    "mlax.lax.gather.mode": ["fill"], "mlax.lax.gather.fill_value": [0.0],
    "mlax.lax.scatter.mode": ["clip"], "mlax.lax.scatter_add.mode": ["clip"], "mlax.lax.scatter_max.mode": ["clip"],
    "mlax.lax.scatter_min.mode": ["clip"], "mlax.lax.scatter_mul.mode": ["clip"],
    "mlax.lax.reshape.dimensions": [(1, 0)],
    "mlax.lax.scan.xs": [X[0]],
    "mlax.lax.slice.strides": [(1, 2)],
    "mlax.numpy.searchsorted.side": ["right"], "mlax.numpy.searchsorted.sorter": [mnp.asarray([1, 2, 3, 0])],
    "mlax.lax.while_loop.max_steps": [3],
    "mlax.random.choice.p": [mnp.asarray([0.0, 1.0])],
    "mlax.random.categorical.shape": [(4, 2)],
    **{f"mlax.random.{fn}.dtype": [np.float16] for fn in ("normal", "uniform", "gumbel", "truncated_normal")},
    "mlax.random.randint.dtype": [np.int16],
    "mlax.tree_util.tree_flatten.is_leaf": [_IS_TUPLE], "mlax.tree_util.tree_leaves.is_leaf": [_IS_TUPLE],
    "mlax.tree_util.tree_structure.is_leaf": [_IS_TUPLE], "mlax.tree_util.tree_map.is_leaf": [_IS_TUPLE],
    "mlax.tree_util.tree_reduce.is_leaf": [_IS_TUPLE], "mlax.tree_util.tree_reduce.initializer": [(0,)],
    "mlax.tree_util.register_dataclass.data_fields": [("a",)],
    "mlax.tree_util.register_dataclass.meta_fields": [("b",)],
    "mlax.tree_util.register_dataclass.drop_fields": [("b",)],
    "mlax.tree_util.register_pytree_node.flatten_with_keys_func": [_two_keys],
    "mlax.tree_util.register_pytree_with_keys.flatten_func": [lambda t: ((t.b, t.a), None)],
    "mlax.tree_util.tree_all.is_leaf": [lambda x: x == []], "mlax.tree.all.is_leaf": [lambda x: x == []],
    "mlax.tree_util.tree_reduce_associative.identity": [0], "mlax.tree.reduce_associative.identity": [0],
    "mlax.tree.reduce.initializer": [(0,)],
    **{f"{name}.is_leaf": [_IS_TUPLE] for name in (
        "mlax.tree_util.tree_flatten_with_path", "mlax.tree_util.tree_leaves_with_path",
        "mlax.tree_util.tree_map_with_path", "mlax.tree_util.tree_broadcast", "mlax.tree_util.all_leaves",
        "mlax.tree_util.tree_reduce_associative", "mlax.tree.broadcast", "mlax.tree.flatten",
        "mlax.tree.flatten_with_path", "mlax.tree.leaves", "mlax.tree.leaves_with_path", "mlax.tree.map",
        "mlax.tree.map_with_path", "mlax.tree.reduce", "mlax.tree.reduce_associative", "mlax.tree.structure")},
    **{f"mlax.numpy.{fn}.inplace": [True] for fn in ("place", "put", "put_along_axis", "fill_diagonal")},
    "mlax.numpy.put.mode": ["wrap"], "mlax.numpy.put_along_axis.mode": ["clip"],
    "mlax.numpy.choose.mode": ["wrap"], "mlax.numpy.ravel_multi_index.mode": ["wrap"],
    "mlax.numpy.ravel_multi_index.dtype": [np.int16],
    "mlax.numpy.compress.size": [1], "mlax.numpy.extract.size": [1],
    "mlax.numpy.unwrap.discont": [10.0], "mlax.numpy.bincount.minlength": [10],
    "mlax.numpy.vectorize.excluded": [{0}], "mlax.numpy.vectorize.signature": ["(n)->()"],
    "mlax.numpy.packbits.bitorder": ["little"], "mlax.numpy.unpackbits.bitorder": ["little"],
    "mlax.make_mesh.axis_types": [(mlax.sharding.AxisType.Auto,)], "mlax.make_mesh.devices": [[]],
    "mlax.make_array_from_callback.dtype": [np.int32], "mlax.make_array_from_single_device_arrays.dtype": [np.int32],
    "mlax.make_array_from_process_local_data.global_shape": [(4, 3)],
    "mlax.shard_map.f": [_double], "mlax.shard_map.mesh": [_ONE_BLOCK_MESH], "mlax.shard_map.in_specs": [mlax.P("x")],
    "mlax.shard_map.axis_names": [{"x"}], "mlax.shard_map.check_vma": [False],
    "mlax.smap.f": [_double], "mlax.smap.in_axes": [0],
    "mlax.numpy.from_dlpack.copy": [False], "mlax.numpy.from_dlpack.device": [1],
    "mlax.numpy.frombuffer.offset": [8], "mlax.numpy.bincount.weights": [mnp.asarray([1.0, 2.0, 3.0, 4.0])],
    "mlax.numpy.cov.y": [X[::-1]], "mlax.numpy.corrcoef.y": [X[::-1]],
    "mlax.numpy.cov.dtype": [np.float16], "mlax.numpy.corrcoef.dtype": [np.float16],
    "mlax.numpy.cov.aweights": [mnp.asarray([1.0, 2.0, 3.0])], "mlax.numpy.cov.fweights": [mnp.asarray([1, 2, 3])],
    "mlax.numpy.histogram.range": [(0.0, 1.0)], "mlax.numpy.histogram_bin_edges.range": [(0.0, 1.0)],
    "mlax.numpy.histogram2d.range": [((0.0, 1.0), (0.0, 1.0))], "mlax.numpy.histogramdd.range": [[(0.0, 1.0)] * 3],
    "mlax.numpy.histogram.weights": [X], "mlax.numpy.histogram2d.weights": [X[0]],
    "mlax.numpy.histogramdd.weights": [mnp.asarray([1.0, 2.0])],
    "mlax.numpy.polyfit.w": [mnp.asarray([1.0, 2.0, 3.0, 4.0])], "mlax.numpy.trapezoid.x": [X[0] * X[0]],
    "mlax.device_put.src": [1], "mlax.device_put.donate": [True], "mlax.device_put.may_alias": [True],
    "mlax.lax.scatter_sub.mode": ["clip"], "mlax.lax.scatter_apply.mode": ["clip"],
    "mlax.lax.conv_transpose.rhs_dilation": [(2,)], "mlax.lax.conv_transpose.dimension_numbers": [("NCH", "OIH", "NCH")],
    "mlax.lax.conv_transpose.preferred_element_type": [np.float32],
    **{f"mlax.lax.conv_general_dilated_{kind}.{keyword}": values for kind in ("patches", "local")
       for keyword, values in (("lhs_dilation", [(2,)]), ("rhs_dilation", [(2,)]),
                               ("dimension_numbers", [("NHC", "HIO", "NHC")]))},
    "mlax.lax.conv_general_dilated_patches.preferred_element_type": [np.float32],
    "mlax.lax.reduce_window_shape_tuple.base_dilation": [(2,)],
    "mlax.lax.reduce_window_shape_tuple.window_dilation": [(2,)],
    "mlax.nn.scaled_dot_general.configs": [[mlax.nn.get_scaled_dot_general_config("mxfp8")] * 3],
    "mlax.random.multinomial.shape": [(2, 3)], "mlax.random.multinomial.dtype": [np.float16],
    "mlax.random.multivariate_normal.shape": [(3,)], "mlax.random.multivariate_normal.dtype": [np.float16],
    "mlax.random.multivariate_normal.method": ["eigh"], "mlax.scipy.special.zeta.q": [2.0],
    "mlax.random.lognormal.sigma": [0.5],
}

_PRECISION = ("mlax computes float32 products at full float32 precision, JAX's 'highest'; a lower "
              "precision only permits a faster, less accurate product on accelerators")
_HINT = "a promise about the indices that permits a faster program; the result is the same when it holds"
_STABLE = "mlax always sorts stably, which is one of the orders an unstable sort may give"
_COPY = "mlax arrays are immutable, so a copy cannot be told from the original (as in JAX)"

# name.keyword -> (a value other than the default, why it shows no effect).
ACCEPTED = {
    "mlax.numpy.array.copy": (False, _COPY),
    "mlax.numpy.asarray.copy": (False, _COPY),
    "mlax.numpy.astype.copy": (True, _COPY),
    "mlax.numpy.nan_to_num.copy": (False, _COPY),
    "mlax.numpy.sort.stable": (False, _STABLE),
    "mlax.numpy.argsort.stable": (False, _STABLE),
    "mlax.lax.sort.is_stable": (False, _STABLE),
    "mlax.lax.sort_key_val.is_stable": (False, _STABLE),
    "mlax.numpy.take.unique_indices": (True, _HINT),
    "mlax.numpy.take.indices_are_sorted": (True, _HINT),
    "mlax.lax.gather.unique_indices": (True, _HINT),
    "mlax.lax.gather.indices_are_sorted": (True, _HINT),
    **{f"mlax.lax.{fn}.{hint}": (True, _HINT) for fn in ("scatter", "scatter_add", "scatter_max", "scatter_min",
                                                          "scatter_mul", "scatter_sub", "scatter_apply")
       for hint in ("unique_indices", "indices_are_sorted")},
    **{f"{fn}.precision": ("highest", _PRECISION) for fn in (
        "mlax.numpy.dot", "mlax.numpy.matmul", "mlax.numpy.einsum", "mlax.numpy.convolve", "mlax.lax.dot",
        "mlax.lax.dot_general", "mlax.lax.conv", "mlax.lax.conv_general_dilated",
        "mlax.lax.conv_with_general_padding", "mlax.numpy.linalg.matmul", "mlax.numpy.linalg.tensordot",
        "mlax.numpy.vecdot", "mlax.numpy.linalg.multi_dot", "mlax.numpy.correlate", "mlax.lax.batch_matmul",
        "mlax.lax.conv_transpose", "mlax.lax.conv_general_dilated_patches", "mlax.lax.conv_general_dilated_local")},
    "mlax.numpy.isin.assume_unique": (True, _HINT),
    "mlax.pure_callback.vmap_method": ("sequential", "it chooses how a callback is batched under vmap, where mlax's "
                                                     "pure_callback is not available"),
    "mlax.numpy.einsum.optimize": ("greedy", "the order of the pairwise contractions; the result is the same"),
    "mlax.lax.scan.unroll": (2, "how many steps a loop iteration holds; the result is the same"),
    "mlax.random.multinomial.unroll": (2, "how many steps a loop iteration holds; the result is the same"),
    "mlax.checkpoint.prevent_cse": (False, "it only permits an optimisation"),
    "mlax.numpy.searchsorted.method": ("compare_all", "it picks JAX's algorithm; every method gives the same indices"),
    "mlax.numpy.digitize.method": ("compare_all", "it picks searchsorted's algorithm; every method gives the same "
                                                  "indices"),
    "mlax.numpy.unique.sorted": (False, "JAX's unique returns its values sorted whatever it says; a sorted result "
                                        "is one of the orders sorted=False allows"),
    "mlax.lax.composite.version": (1, "a composite's name and version only let a compiler that knows the op "
                                      "substitute a kernel of its own; its value is its decomposition's"),
    "mlax.nn.scaled_dot_general.implementation": ("cudnn", "deprecated in JAX and ignored there too; the system "
                                                           "picks the backend"),
    "mlax.numpy.histogram_bin_edges.weights": (X, "JAX ignores it too: weights only feed NumPy's string estimators "
                                                  "for bins, which JAX and mlax lack"),
}

# name.keyword -> the file a fix needs, and what is wrong there.
KNOWN_IGNORED: dict[str, str] = {}


# -- the check ------------------------------------------------------------------------------------

def _observed(result):
    """What a caller can see of a result: arrays by value, shape, dtype, weak type and device;
    containers by type and contents; functions by type; anything else by its repr."""
    if isinstance(result, (ArrayMethods, np.ndarray, np.generic)):
        value = np.asarray(result)
        return ("array", value.shape, value.dtype.str, getattr(result, "weak_type", None),
                str(getattr(result, "device", None)), value.tobytes())
    if isinstance(result, (tuple, list)):
        return (type(result).__name__, tuple(_observed(x) for x in result))
    if isinstance(result, dict):
        return ("dict", tuple((k, _observed(v)) for k, v in sorted(result.items())))
    if callable(result):
        return ("callable", type(result).__name__)
    return (type(result).__name__, repr(result))


def _candidates(default):
    """Values other than `default` to try, from its type."""
    if isinstance(default, bool):
        values = [not default]
    elif isinstance(default, int):
        values = [default + 1, default - 1, 2, 0, -1, (0,)]
    elif isinstance(default, float):
        values = [1.0, 0.5, 2.0, -1.0, 0.0]
    elif isinstance(default, str):
        values = ["F", "same", "valid", "wrap", "clip", "edge", "complete", "r", "ij", "U", "SAME", "unsafe", "bogus"]
    elif isinstance(default, tuple):
        values = [(1,), (0,), (1, 0), (2,), 1]
    elif isinstance(default, type):  # a dtype
        values = [np.uint8, np.float32]
    elif default is None:
        values = [0, 1, -1, (0,), np.int32, "float32", True, 2.0]
    else:
        values = []
    return [v for v in values if not (type(v) is type(default) and v == default)]


_GUESSED = {}


def _guessed_call(name):
    """call(**keywords) with guessed arguments: the first guess whose default call works."""
    if name not in _GUESSED:
        fn = FUNCTIONS[name]
        parameters = list(inspect.signature(fn).parameters.values())
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        required = [p for p in parameters if p.default is p.empty and p.kind in positional]
        optional_positional_only = [p for p in parameters if p.default is not p.empty and p.kind is p.POSITIONAL_ONLY]
        key = [KEY] if required and required[0].name == "key" else []
        count = len(required) - len(key)
        guesses = [(X,) * count]
        if count:
            guesses += [([X, X],) + (X,) * (count - 1), (X,) + (1,) * (count - 1), (3,) * count]

        def call_with(args):
            def call(**keywords):
                # A positional-only keyword goes in its place, after the defaults of those before it.
                given = [i for i, p in enumerate(optional_positional_only) if p.name in keywords]
                extra = [keywords.pop(p.name, p.default) for p in optional_positional_only[:max(given) + 1]] if given else []
                return fn(*key, *args, *extra, **keywords)
            return call

        errors = []
        for args in guesses:
            call = call_with(args)
            try:
                _DEFAULTS[call] = _observed(call())
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")
                continue
            _GUESSED[name] = call
            break
        else:
            pytest.fail(f"{name}: no guessed arguments work ({'; '.join(errors)}); give a call in CALLS")
    return _GUESSED[name]


_DEFAULTS = {}


def _default(call):
    if call not in _DEFAULTS:
        _DEFAULTS[call] = _observed(call())
    return _DEFAULTS[call]


def _misplaced(error):
    """Whether a TypeError comes from the test's call itself rather than from the keyword's value."""
    return isinstance(error, TypeError) and ("multiple values for" in str(error) or "unexpected keyword" in str(error))


@pytest.fixture(autouse=True)
def three_cpu_devices(monkeypatch):
    monkeypatch.setenv("MLAX_NUM_CPU_DEVICES", "3")


def _marks(name, keyword):
    known = KNOWN_IGNORED.get(f"{name}.{keyword}")
    return [pytest.mark.xfail(reason=known, strict=True)] if known else []


@pytest.mark.parametrize("name, keyword", [pytest.param(n, k, id=f"{n}.{k}", marks=_marks(n, k)) for n, k in KEYWORDS])
def test_keyword_has_an_effect(name, keyword):
    entry = f"{name}.{keyword}"
    call = CALLS.get(entry) or CALLS.get(name) or _guessed_call(name)
    default = _default(call)
    if entry in ACCEPTED:
        value, _ = ACCEPTED[entry]
        assert _observed(call(**{keyword: value})) == default, (
            f"{entry}={value!r} changes the result: take it off ACCEPTED and docs/compatibility.md")
        return
    errors = []
    for value in [*VALUES.get(entry, ()), *_candidates(inspect.signature(FUNCTIONS[name]).parameters[keyword].default)]:
        try:
            result = call(**{keyword: value})
        except NotImplementedError as e:
            assert keyword in str(e), f"{entry}={value!r}: the NotImplementedError must name the keyword: {e}"
            return
        except Exception as e:
            assert not _misplaced(e), (f"{entry}: the keyword is passed twice or forwarded to a function that "
                                       f"lacks it (check CALLS and the function): {e}")
            errors.append(e)
            continue
        if _observed(result) != default:
            return
    assert errors, (f"{entry} is accepted and changes nothing: implement it as JAX does, raise "
                    f"NotImplementedError naming it, or list it in ACCEPTED and {SECTION!r} of docs/compatibility.md")


def _documented():
    """The name.keyword entries of the docs section, written `mlax.numpy.array(copy=...)`."""
    with open(DOC) as f:
        text = f.read()
    assert SECTION in text, f"docs/compatibility.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return {f"{fn}.{keyword}" for fn, keyword in re.findall(r"`(mlax(?:\.\w+)+)\((\w+)=", section)}


def test_accepted_keywords_are_documented():
    documented = _documented()
    assert not set(ACCEPTED) - documented, f"missing from {SECTION!r}: {sorted(set(ACCEPTED) - documented)}"
    assert not documented - set(ACCEPTED), f"documented but not in ACCEPTED: {sorted(documented - set(ACCEPTED))}"


def test_the_tables_name_real_keywords():
    keywords = {f"{n}.{k}" for n, k in KEYWORDS}
    names = set(FUNCTIONS) | keywords
    assert not set(ACCEPTED) - keywords, sorted(set(ACCEPTED) - keywords)
    assert not set(KNOWN_IGNORED) - keywords, sorted(set(KNOWN_IGNORED) - keywords)
    assert not set(VALUES) - keywords, sorted(set(VALUES) - keywords)
    assert not set(CALLS) - names, sorted(set(CALLS) - names)


def test_lax_full_takes_weak_type_without_dtype():
    # The dtype comes from the fill value; weak_type=True still makes the result weakly typed.
    assert lax.full((2,), np.float32(1.0), weak_type=True).weak_type
    assert not lax.full((2,), np.float32(1.0)).weak_type
