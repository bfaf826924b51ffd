"""Pytrees: nested containers whose leaves are arrays, as in `jax.tree_util`.

dict, list, tuple, None, namedtuples, OrderedDict and defaultdict are containers out
of the box; other types join with `register_pytree_node` or `register_dataclass`.
Dict keys are ordered by sorting, as JAX does, so the same dict always flattens the
same way (an OrderedDict keeps its own order).
"""

import collections
import dataclasses
import functools

# type -> (flatten: node -> (children, aux), unflatten: (aux, children) -> node)
_registry = {}


def register_pytree_node(nodetype, flatten_func, unflatten_func):
    """Make `nodetype` a container: flatten_func(x) -> (children, aux_data),
    unflatten_func(aux_data, children) -> x."""
    _registry[nodetype] = (flatten_func, unflatten_func)


def register_dataclass(nodetype, data_fields=None, meta_fields=None):
    """Register a dataclass: `data_fields` are children, `meta_fields` static aux data (both
    given, or neither: then read from the dataclass, fields marked static being meta)."""
    if (data_fields is None) != (meta_fields is None):
        raise TypeError("register_dataclass: data_fields and meta_fields must both be given when either is, got "
                        f"data_fields={data_fields!r}, meta_fields={meta_fields!r}")
    if data_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype!r} is not a dataclass, so data_fields and meta_fields "
                            "must be given")
        fields = [f for f in dataclasses.fields(nodetype)]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    meta_fields = list(meta_fields or ())
    data_fields = list(data_fields)

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def unflatten(meta, children):
        return nodetype(**dict(zip(data_fields, children)), **dict(zip(meta_fields, meta)))

    register_pytree_node(nodetype, flatten, unflatten)
    return nodetype


register_pytree_node(tuple, lambda t: (list(t), None), lambda _, c: tuple(c))
register_pytree_node(list, lambda l: (list(l), None), lambda _, c: list(c))
register_pytree_node(type(None), lambda n: ([], None), lambda _, c: None)


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError as error:  # keys that do not compare (1 and "a"): JAX's error
        raise ValueError("Comparator raised exception while sorting pytree dictionary keys.") from error


register_pytree_node(
    dict,
    lambda d: ([d[k] for k in _sorted_keys(d)], tuple(_sorted_keys(d))),
    lambda keys, c: dict(zip(keys, c)),
)
# As in JAX: an OrderedDict keeps its order; a defaultdict sorts its keys and keeps its factory.
register_pytree_node(
    collections.OrderedDict,
    lambda d: (list(d.values()), tuple(d)),
    lambda keys, c: collections.OrderedDict(zip(keys, c)),
)
register_pytree_node(
    collections.defaultdict,
    lambda d: ([d[k] for k in _sorted_keys(d)], (d.default_factory, tuple(_sorted_keys(d)))),
    lambda aux, c: collections.defaultdict(aux[0], zip(aux[1], c)),
)


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _node_rule(x):
    if _is_namedtuple(x):
        return (lambda t: (list(t), None)), (lambda _, c, _t=type(x): _t(*c))
    return _registry.get(type(x))


class PyTreeDef:
    """The shape of a pytree without its leaves; hashable, so usable in cache keys."""

    __slots__ = ("node_type", "aux", "children", "num_leaves")

    def __init__(self, node_type, aux, children):
        self.node_type = node_type  # None marks a leaf
        self.aux = aux
        self.children = tuple(children)
        self.num_leaves = 1 if node_type is None else sum(c.num_leaves for c in self.children)

    @property
    def num_nodes(self):
        return 1 + sum(c.num_nodes for c in self.children)

    def unflatten(self, leaves):
        return tree_unflatten(self, leaves)

    def _key(self):
        return (self.node_type, self.aux, self.children)

    def __eq__(self, other):
        return isinstance(other, PyTreeDef) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        if self.node_type is None:
            return "*"
        inner = ", ".join(map(repr, self.children))
        if self.node_type is dict:
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.aux, self.children))
            return "{" + inner + "}"
        if self.node_type is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if self.node_type is list:
            return f"[{inner}]"
        if self.node_type is type(None):
            return "None"
        return f"{self.node_type.__name__}({inner})"

    def __reduce__(self):
        return (PyTreeDef, (self.node_type, self.aux, self.children))


_LEAF = PyTreeDef(None, None, ())


def tree_flatten(tree, is_leaf=None):
    """(leaves, treedef) of `tree`, leaves in a fixed left-to-right order."""
    leaves = []

    def walk(x):
        rule = None if (is_leaf is not None and is_leaf(x)) else _node_rule(x)
        if rule is None:
            leaves.append(x)
            return _LEAF
        children, aux = rule[0](x)
        node_type = type(x)
        return PyTreeDef(node_type, aux, [walk(c) for c in children])

    treedef = walk(tree)
    return leaves, treedef


def tree_unflatten(treedef, leaves):
    """Rebuild a pytree of shape `treedef` from `leaves`."""
    leaves = iter(leaves)

    def build(td):
        if td.node_type is None:
            return next(leaves)
        children = [build(c) for c in td.children]
        if td.node_type not in _registry and hasattr(td.node_type, "_fields"):
            return td.node_type(*children)  # a namedtuple
        return _registry[td.node_type][1](td.aux, children)

    try:
        result = build(treedef)
    except StopIteration:
        raise ValueError(f"too few leaves for tree structure {treedef}") from None
    if next(leaves, _LEAF) is not _LEAF:
        raise ValueError(f"too many leaves for tree structure {treedef}")
    return result


def tree_leaves(tree, is_leaf=None):
    """The leaves of `tree`."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The PyTreeDef of `tree`."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply `f` leafwise over `tree` and the trees `rest`, whose structure `tree`'s must be a
    prefix of (as in JAX: a leaf of `tree` meets a whole subtree of each of them)."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = [_flatten_up_to(treedef, other) for other in rest]
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def _flatten_up_to(treedef, tree):
    """The subtrees of `tree` at the leaves of `treedef`, which must be a prefix of its structure."""
    subtrees = []

    def walk(td, x):
        if td.node_type is None:
            subtrees.append(x)
            return
        rule = _node_rule(x)
        children, aux = rule[0](x) if rule is not None and type(x) is td.node_type else (None, None)
        if children is None or aux != td.aux or len(children) != len(td.children):
            raise ValueError(f"tree_map: the structure {treedef} is not a prefix of {tree_structure(tree)}")
        for child_def, child in zip(td.children, children):
            walk(child_def, child)

    walk(treedef, tree)
    return subtrees


def tree_reduce(function, tree, initializer=None, is_leaf=None):
    """functools.reduce over the leaves of `tree`."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is None:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def treedef_is_leaf(treedef):
    """Whether `treedef` has one node: a leaf, or a container with no children (None, (), ...),
    as in JAX."""
    return treedef.num_nodes == 1
