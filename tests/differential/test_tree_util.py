"""mlax.tree_util against jax.tree_util on the same trees: leaves, structures, round trips,
tree_map over several trees, reductions and the containers (dicts sort their keys, None
is a node without children, namedtuples, OrderedDict, defaultdict, registered classes and
dataclasses). Each row is `fn(tu)`, run with both modules; its result is compared with
each library's treedefs in a common form (the tree they rebuild, with numbered leaves) and
its exceptions by type. Adding a case is one entry."""

import collections
import dataclasses

import jax
import numpy as np
import pytest

import mlax


class Box:
    """A registered class whose aux data is a string."""

    def __init__(self, a, b, tag="box"):
        self.a, self.b, self.tag = a, b, tag


@dataclasses.dataclass
class Pair:
    u: object
    v: object
    name: str = "n"


Point = collections.namedtuple("Point", "x y")

for _tu in (jax.tree_util, mlax.tree_util):
    _tu.register_pytree_node(Box, lambda b: ((b.a, b.b), b.tag), lambda tag, c: Box(*c, tag=tag))
    _tu.register_dataclass(Pair, data_fields=["u", "v"], meta_fields=["name"])

TREES = {
    "a leaf": 1,
    "None": None,
    "empty tuple": (),
    "empty list": [],
    "empty dict": {},
    "one-tuple": (1,),
    "nested list": [1, (2, 3)],
    "dict with keys out of order": {"b": 1, "a": 2, "c": [3, None]},
    "int keys": {1: "x", 0: "y", -3: "z"},
    "namedtuple": Point(1, (2, 3)),
    "namedtuple of empties": Point(x=None, y=[]),
    "registered class": Box(1, [2, 3]),
    "dataclass": Pair(1, (2,), "z"),
    "Nones": [None, [None]],
    "None in a tuple": (None, 1),
    "dict of an empty dict": {"a": {}},
    "OrderedDict": collections.OrderedDict([("b", 1), ("a", 2)]),
    "defaultdict": collections.defaultdict(int, {"b": 1, "a": 2}),
    "arrays": {"w": np.ones((2, 2), np.float32), "b": [np.zeros(3, np.int32), 2.5]},
}


def _rebuilt(tu, treedef):
    """The tree a treedef stands for, its leaves numbered."""
    return tu.tree_unflatten(treedef, [f"leaf {i}" for i in range(treedef.num_leaves)])


def _plain(tu, x):
    """x with each library's treedefs, classes and arrays in a form both share."""
    if isinstance(x, tu.PyTreeDef):
        return ("treedef", x.num_leaves, x.num_nodes, _plain(tu, _rebuilt(tu, x)))
    if isinstance(x, dict):
        return (type(x).__name__, [(k, _plain(tu, v)) for k, v in x.items()],
                getattr(x, "default_factory", None))
    if hasattr(type(x), "_fields"):
        return (type(x).__name__, [_plain(tu, v) for v in x])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_plain(tu, v) for v in x])
    if isinstance(x, (Box, Pair)):
        return (type(x).__name__, {k: _plain(tu, v) for k, v in vars(x).items()})
    if isinstance(x, (np.ndarray, jax.Array, mlax.numpy.ndarray)):
        return ("array", np.asarray(x).dtype.name, np.asarray(x).tolist())
    return x


def _flattened(tu, tree):
    leaves, treedef = tu.tree_flatten(tree)
    return [leaves, treedef, tu.tree_unflatten(treedef, leaves), tu.treedef_is_leaf(treedef),
            tu.tree_structure(tree) == treedef]


def _equalities(tu, trees):
    """Which of `trees` have equal structures (and equal hashes where they are equal)."""
    defs = [tu.tree_structure(t) for t in trees]
    return [[a == b and hash(a) == hash(b) for b in defs] for a in defs]


ROWS = {
    **{f"flatten {name}": (lambda tu, tree=tree: _flattened(tu, tree)) for name, tree in TREES.items()},
    "leaves with is_leaf": lambda tu: [tu.tree_leaves([1, None, (2, None)], is_leaf=lambda x: x is None),
                                       tu.tree_leaves({"a": (1, 2), "b": [3]}, is_leaf=lambda x: isinstance(x, tuple)),
                                       tu.tree_structure([Point(1, 2), 3], is_leaf=lambda x: isinstance(x, Point))],
    "structure equality": lambda tu: _equalities(tu, [
        {"a": 1}, {"a": 2}, {"b": 1}, (1,), [1], Point(1, 2), (1, 2), Box(1, 2), Box(1, 2, "other"), Pair(1, 2),
        Pair(1, 2, "m"), None, (), [None], collections.OrderedDict(a=1), collections.defaultdict(list, a=1),
        collections.defaultdict(int, a=1)]),
    "unflatten other leaves": lambda tu: tu.tree_unflatten(tu.tree_structure(TREES["dataclass"]), ["p", "q"]),
    "unflatten too few leaves": lambda tu: tu.tree_unflatten(tu.tree_structure([1, 2]), [1]),
    "unflatten too many leaves": lambda tu: tu.tree_unflatten(tu.tree_structure([1, 2]), [1, 2, 3]),
    "treedef unflatten method": lambda tu: tu.tree_structure({"b": (1, 2), "a": 3}).unflatten([7, 8, 9]),
    "tree_map": lambda tu: tu.tree_map(lambda x: x * 2, TREES["dict with keys out of order"]),
    "tree_map of two dicts in other orders": lambda tu: tu.tree_map(
        lambda a, b: a + b, {"x": 1, "y": (2, 3)}, {"y": (20, 30), "x": 10}),
    "tree_map of three trees": lambda tu: tu.tree_map(lambda a, b, c: (a, b, c), [1, Point(2, 3)],
                                                      [4, Point(5, 6)], [7, Point(8, 9)]),
    "tree_map over a prefix": lambda tu: tu.tree_map(lambda a, b: (a, b), [1, 2], [[5, 6], {"k": 7}]),
    "tree_map with is_leaf": lambda tu: tu.tree_map(lambda a, b: (a, b), [1, [2, 3]], [4, 5],
                                                    is_leaf=lambda x: isinstance(x, list) and x == [2, 3]),
    "tree_map skips None": lambda tu: tu.tree_map(lambda x: x + 1, [1, None, {"a": None, "b": 2}]),
    "tree_map of None as a leaf": lambda tu: tu.tree_map(lambda x: x is None, [1, None], is_leaf=lambda x: x is None),
    "tree_map of a registered class": lambda tu: tu.tree_map(lambda x: -x, Box(1, [2, 3], "t")),
    "tree_map of a dataclass": lambda tu: tu.tree_map(lambda x: x * 10, Pair(1, (2,), "z")),
    "tree_map of arrays": lambda tu: tu.tree_map(lambda x: np.asarray(x) + 1, TREES["arrays"]),
    **{f"tree_map mismatch {name}": (lambda tu, a=a, b=b: tu.tree_map(lambda x, y: (x, y), a, b))
       for name, a, b in (("list and tuple", [1, 2], (1, 2)), ("None and a leaf", [1, None], [1, 2]),
                          ("lengths", [1, 2], [1, 2, 3]), ("dict keys", {"a": 1}, {"b": 1}),
                          ("registered aux", Box(1, 2, "x"), Box(1, 2, "y")),
                          ("namedtuple and tuple", Point(1, 2), (1, 2)))},
    "tree_reduce": lambda tu: [tu.tree_reduce(lambda a, b: a + b, [1, 2, (3,), {"x": 4}]),
                               tu.tree_reduce(lambda a, b: a + b, [], 5),
                               tu.tree_reduce(lambda a, b: a + [b], [1, (2, 3)], []),
                               tu.tree_reduce(lambda a, b: a + len(b), [(1, 2), (3,)], 0,
                                              is_leaf=lambda x: isinstance(x, tuple))],
    "tree_reduce of nothing": lambda tu: tu.tree_reduce(lambda a, b: a + b, []),
    "dict with keys that do not compare": lambda tu: tu.tree_flatten({"a": 1, 2: 3}),
}

# The repr of a treedef: mlax prints the tree ({'a': *}), JAX wraps it (PyTreeDef({'a': *}))
# and names custom nodes (CustomNode(namedtuple[Point], [*, *])); exported programs record
# mlax's form.
XFAIL = {"str of treedefs": "mlax prints treedefs as {'a': *}; JAX as PyTreeDef({'a': *}), custom nodes as "
                            "CustomNode(Point[...], [...])"}
ROWS["str of treedefs"] = lambda tu: [str(tu.tree_structure(t)) for t in TREES.values()]


def _run(tu, fn):
    try:
        return _plain(tu, fn(tu))
    except Exception as error:  # noqa: BLE001 - compared by type
        builtin = next(c for c in type(error).__mro__ if c.__module__ == "builtins")
        return ("raised", builtin.__name__)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=XFAIL[n]))
                                  if n in XFAIL else n for n in ROWS])
def test_agrees_with_jax(name):
    expected = _run(jax.tree_util, ROWS[name])
    got = _run(mlax.tree_util, ROWS[name])
    assert got == expected
