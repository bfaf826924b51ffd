"""Pytrees: nested containers whose leaves are arrays, as in `jax.tree_util`.

dict, list, tuple, None, namedtuples, OrderedDict and defaultdict are containers out
of the box; other types join with `register_pytree_node` (or its variants: with keys,
from a class's methods, a dataclass, a static value). Dict keys are ordered by sorting,
as JAX does, so the same dict always flattens the same way (an OrderedDict keeps its
own order). Each child of a container has a key (`DictKey`, `SequenceKey`, `GetAttrKey`,
or `FlattenedIndexKey` for containers registered without keys); the `*_with_path`
functions give each leaf its key path, and `keystr` prints one as `['a'][0].x`.
`jax.tree` spells the common functions shortly; that is `mlax.tree`.
"""

import collections
import dataclasses
import functools
import operator
import typing

# -- keys: how a container reaches one of its children ----------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DictKey:
    """The key of a mapping's child: `['a']`."""

    key: typing.Hashable

    def __str__(self):
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    """The index of a tuple's or list's child: `[0]`."""

    idx: int

    def __post_init__(self):
        object.__setattr__(self, "idx", _index("SequenceKey", self.idx))

    def __str__(self):
        return f"[{self.idx}]"


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """The attribute holding a child (namedtuples, dataclasses): `.x`."""

    name: str

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"GetAttrKey: name must be a str, got {self.name!r}")

    def __str__(self):
        return f".{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class FlattenedIndexKey:
    """The position of a child among those of a container registered without keys."""

    key: int

    def __post_init__(self):
        object.__setattr__(self, "key", _index("FlattenedIndexKey", self.key))

    def __str__(self):
        return f"[<flat index {self.key}>]"


def _index(what, value):
    try:
        return int(operator.index(value))
    except TypeError:
        raise TypeError(f"{what}: the index must be an int, got {value!r}") from None


KeyEntry = typing.TypeVar("KeyEntry", bound=typing.Any)
KeyPath = tuple[KeyEntry, ...]


def keystr(keys, *, simple=False, separator=""):
    """The key path `keys` as text: `['a'][0].x`, or with simple=True the bare keys (`a`, `0`,
    `x`), joined by `separator`."""
    return separator.join(_simple_keystr(k) if simple else str(k) for k in keys)


def _simple_keystr(key):
    if isinstance(key, (DictKey, FlattenedIndexKey)):
        return str(key.key)
    if isinstance(key, SequenceKey):
        return str(key.idx)
    if isinstance(key, GetAttrKey):
        return key.name
    return str(key)


# -- the registry of container types ----------------------------------------------------------


class _Node(typing.NamedTuple):
    """How a container type flattens: flatten(x) -> (children, aux); unflatten(aux, children) -> x;
    flatten_with_keys(x) -> ((key, child) pairs, aux), or None: FlattenedIndexKey(i) keys."""

    flatten: typing.Callable
    unflatten: typing.Callable
    flatten_with_keys: typing.Optional[typing.Callable]


_registry: dict = {}


def register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func=None):
    """Make `nodetype` a container: flatten_func(x) -> (children, aux_data),
    unflatten_func(aux_data, children) -> x, and optionally flatten_with_keys_func(x) ->
    ((key, child) pairs, aux_data) for key paths. Each type registers once."""
    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _registry[nodetype] = _Node(flatten_func, unflatten_func, flatten_with_keys_func)


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func, flatten_func=None):
    """register_pytree_node from a flatten that names each child's key; `flatten_func` (same
    children and aux, without keys) is optional."""
    if not flatten_func:
        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [child for _, child in pairs], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls):
    """Register `cls` by its methods `tree_flatten()` and classmethod `tree_unflatten(aux,
    children)`; returns cls, so it works as a decorator."""
    register_pytree_node(cls, operator.methodcaller("tree_flatten"), cls.tree_unflatten)
    return cls


def register_pytree_with_keys_class(cls):
    """Register `cls` by its methods `tree_flatten_with_keys()`, classmethod `tree_unflatten`
    and optionally `tree_flatten()`; returns cls."""
    flatten_func = operator.methodcaller("tree_flatten") if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(cls, operator.methodcaller("tree_flatten_with_keys"), cls.tree_unflatten, flatten_func)
    return cls


def register_static(cls):
    """Make instances of `cls` containers without children whose value is their structure
    (static under jit, so they must be hashable); returns cls."""
    register_pytree_with_keys(cls, lambda x: ((), x), lambda x, _: x)
    return cls


def register_dataclass(nodetype, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a dataclass: `data_fields` are children, `meta_fields` static aux data (both
    given, or neither: then read from the dataclass, fields marked static being meta). A
    dataclass's fields with init=True, less `drop_fields`, must each be in exactly one list."""
    if (data_fields is None) != (meta_fields is None):
        raise TypeError("register_dataclass: data_fields and meta_fields must both be given when either is, got "
                        f"data_fields={data_fields!r}, meta_fields={meta_fields!r}")
    if data_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype!r} is not a dataclass, so data_fields and meta_fields "
                            "must be given")
        fields = dataclasses.fields(nodetype)
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    meta_fields, data_fields = tuple(meta_fields), tuple(data_fields)
    if dataclasses.is_dataclass(nodetype):
        init_fields = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
        missing, unexpected = init_fields - {*meta_fields, *data_fields}, {*meta_fields, *data_fields} - init_fields
        if missing or unexpected:
            raise ValueError("register_dataclass: data_fields and meta_fields must hold the dataclass's fields with "
                             f"init=True and only them; missing {sorted(missing)} (add them to drop_fields to leave "
                             f"them out), unexpected {sorted(unexpected)}")
    if overlap := set(data_fields) & set(meta_fields):
        raise ValueError(f"register_dataclass: data_fields and meta_fields overlap in {sorted(overlap)}")

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def flatten_with_keys(x):
        return [(GetAttrKey(n), getattr(x, n)) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def unflatten(meta, children):
        return nodetype(**dict(zip(meta_fields, meta)), **dict(zip(data_fields, children)))

    register_pytree_node(nodetype, flatten, unflatten, flatten_with_keys)
    return nodetype


def _sequence_keys(seq):
    return tuple((SequenceKey(i), c) for i, c in enumerate(seq)), None


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError as error:  # keys that do not compare (1 and "a"): JAX's error
        raise ValueError("Comparator raised exception while sorting pytree dictionary keys.") from error


def _dict_children(d):
    keys = tuple(_sorted_keys(d))
    return tuple(d[k] for k in keys), keys


def _dict_keys(d):
    keys = tuple(_sorted_keys(d))
    return tuple((DictKey(k), d[k]) for k in keys), keys


# The built-in containers give their children in the containers JAX's flatten_one_level shows.
register_pytree_node(tuple, lambda t: (t, None), lambda _, c: tuple(c), _sequence_keys)
register_pytree_node(list, lambda xs: (xs, None), lambda _, c: list(c), _sequence_keys)
register_pytree_node(type(None), lambda n: ((), None), lambda _, c: None, lambda n: ((), None))
register_pytree_node(dict, _dict_children, lambda keys, c: dict(zip(keys, c)), _dict_keys)
# As in JAX: an OrderedDict keeps its order; a defaultdict sorts its keys and keeps its factory.
register_pytree_with_keys(collections.OrderedDict, lambda d: ([(DictKey(k), v) for k, v in d.items()], tuple(d)),
                          lambda keys, c: collections.OrderedDict(zip(keys, c)))
register_pytree_with_keys(
    collections.defaultdict,
    lambda d: ([(DictKey(k), d[k]) for k in _sorted_keys(d)], (d.default_factory, tuple(_sorted_keys(d)))),
    lambda aux, c: collections.defaultdict(aux[0], zip(aux[1], c)),
)
# A namedtuple's type is its node type (its aux data is None); PyTreeDef rebuilds it.
_NAMEDTUPLE = _Node(lambda t: (list(t), None), None,
                    lambda t: ([(GetAttrKey(f), c) for f, c in zip(t._fields, t)], None))


def _is_namedtuple_type(typ):
    return isinstance(typ, type) and issubclass(typ, tuple) and hasattr(typ, "_fields")


def _node_rule(x):
    """The _Node of x's type, or None for a leaf."""
    rule = _registry.get(type(x))
    if rule is None and _is_namedtuple_type(type(x)):
        return _NAMEDTUPLE
    return rule


def _keyed(rule, x):
    """((key, child) pairs, aux) of the node x."""
    if rule.flatten_with_keys is not None:
        return rule.flatten_with_keys(x)
    children, aux = rule.flatten(x)
    return [(FlattenedIndexKey(i), c) for i, c in enumerate(children)], aux


def is_tree_node(typ):
    """Whether the type `typ` is a container: registered, or a namedtuple."""
    return isinstance(typ, type) and (typ in _registry or _is_namedtuple_type(typ))


# -- structures -------------------------------------------------------------------------------


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

    def flatten_up_to(self, tree):
        """The subtrees of `tree` at this structure's leaves; this structure must be a prefix of
        tree's."""
        return _flatten_up_to(self, tree, "tree")

    def compose(self, inner):
        """This structure with the structure `inner` at each of its leaves."""
        if self.node_type is None:
            return inner
        return PyTreeDef(self.node_type, self.aux, [c.compose(inner) for c in self.children])

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


def treedef_tuple(treedefs):
    """The structure of a tuple whose children have the structures `treedefs`."""
    return PyTreeDef(tuple, None, list(treedefs))


def treedef_children(treedef):
    """The structures of the children of `treedef`'s root (none for a leaf)."""
    return list(treedef.children)


def treedef_is_leaf(treedef):
    """Whether `treedef` has one node: a leaf, or a container with no children (None, (), ...),
    as in JAX."""
    return treedef.num_nodes == 1


# -- flattening -------------------------------------------------------------------------------


def tree_flatten(tree, is_leaf=None):
    """(leaves, treedef) of `tree`, leaves in a fixed left-to-right order."""
    leaves = []
    return leaves, _flatten(tree, is_leaf, leaves)


# The walks are module functions, not closures: a recursive closure is a reference cycle that
# holds the leaves (arrays, device memory) until the garbage collector next runs.
def _flatten(x, is_leaf, leaves):
    rule = None if (is_leaf is not None and is_leaf(x)) else _node_rule(x)
    if rule is None:
        leaves.append(x)
        return _LEAF
    children, aux = rule.flatten(x)
    return PyTreeDef(type(x), aux, [_flatten(c, is_leaf, leaves) for c in children])


def tree_flatten_with_path(tree, is_leaf=None, is_leaf_takes_path=False):
    """([(key path, leaf), ...], treedef) of `tree`; `is_leaf` takes (path, x) when
    is_leaf_takes_path, else x."""
    predicate = is_leaf if is_leaf is None or is_leaf_takes_path else (lambda _, x: is_leaf(x))
    leaves = []
    return leaves, _flatten_with_path(tree, (), predicate, leaves)


def _flatten_with_path(x, path, predicate, leaves):
    rule = None if (predicate is not None and predicate(path, x)) else _node_rule(x)
    if rule is None:
        leaves.append((path, x))
        return _LEAF
    pairs, aux = _keyed(rule, x)
    return PyTreeDef(type(x), aux, [_flatten_with_path(c, (*path, k), predicate, leaves) for k, c in pairs])


def tree_unflatten(treedef, leaves):
    """Rebuild a pytree of shape `treedef` from `leaves`."""
    leaves = iter(leaves)
    try:
        result = _build(treedef, leaves)
    except StopIteration:
        raise ValueError(f"too few leaves for tree structure {treedef}") from None
    if next(leaves, _LEAF) is not _LEAF:
        raise ValueError(f"too many leaves for tree structure {treedef}")
    return result


def _build(treedef, leaves):
    if treedef.node_type is None:
        return next(leaves)
    children = [_build(c, leaves) for c in treedef.children]
    if treedef.node_type not in _registry and _is_namedtuple_type(treedef.node_type):
        return treedef.node_type(*children)
    return _registry[treedef.node_type].unflatten(treedef.aux, children)


def tree_leaves(tree, is_leaf=None):
    """The leaves of `tree`."""
    return tree_flatten(tree, is_leaf)[0]


def tree_leaves_with_path(tree, is_leaf=None, is_leaf_takes_path=False):
    """[(key path, leaf), ...] of `tree`."""
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def tree_structure(tree, is_leaf=None):
    """The PyTreeDef of `tree`."""
    return tree_flatten(tree, is_leaf)[1]


def flatten_one_level(tree):
    """(children, aux data) of the container `tree`, one level down; ValueError for a leaf."""
    rule = _node_rule(tree)
    if rule is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    children, aux = rule.flatten(tree)
    return children, (type(tree) if rule is _NAMEDTUPLE else aux)


def flatten_one_level_with_keys(tree):
    """((key, child) pairs, aux data) of the container `tree`; ValueError for a leaf."""
    rule = _node_rule(tree)
    if rule is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    pairs, aux = _keyed(rule, tree)
    if type(tree) not in (tuple, list, dict, type(None)):
        pairs = list(pairs)  # as in JAX: the built-in containers give a tuple, the others a list
    return pairs, (type(tree) if rule is _NAMEDTUPLE else aux)


def all_leaves(iterable, is_leaf=None):
    """Whether every element of `iterable` is a leaf."""
    if is_leaf is None:
        return all(_node_rule(x) is None for x in iterable)
    items = list(iterable)
    leaves = tree_leaves(items, is_leaf)
    return len(leaves) == len(items) and all(item is leaf for item, leaf in zip(items, leaves))


# -- mapping over several trees ---------------------------------------------------------------


def _flatten_up_to(treedef, tree, name):
    """The subtrees of `tree` at the leaves of `treedef`, which must be a prefix of its
    structure; otherwise a ValueError naming the key path where they first differ (JAX's)."""
    subtrees = []
    _subtrees_up_to(treedef, tree, (), name, subtrees)
    return subtrees


def _subtrees_up_to(td, x, steps, name, subtrees):
    """Append to `subtrees` those of `x` at the leaves of `td`; `steps` ((node, child index), ...)
    lead to `x`, made into a key path only for an error."""
    if td.node_type is None:
        subtrees.append(x)
        return
    if type(x) is not td.node_type:
        raise _structure_error(name, steps, "different types", f"\n    {td.node_type}\nbut at the same key "
                               f"path the full pytree has a subtree of different type\n    {type(x)}.")
    children, aux = _node_rule(x).flatten(x)
    children = list(children)
    if len(children) != len(td.children) and td.node_type in (list, tuple):
        kind = td.node_type.__name__
        raise _structure_error(name, steps, f"different lengths of {kind}", f" {kind} of length "
                               f"{len(td.children)}, but the full pytree has a subtree of the same type but of "
                               f"length {len(children)}.")
    if len(children) != len(td.children):
        keys = " ".join(_simple_keystr(k) for k, _ in _keyed(_node_rule(x), x)[0])
        raise _structure_error(name, steps, "different numbers of pytree children", f"\n    {td.node_type}\n"
                               f"with {len(td.children)} children, but at the same key path the full pytree has a "
                               f"subtree of the same type but with {len(children)} children, keyed\n    {keys}")
    if aux != td.aux:
        raise _structure_error(name, steps, "different pytree metadata", f"\n    {td.node_type}\nwith metadata"
                               f"\n    {td.aux}\nbut at the same key path the full pytree has a subtree of the "
                               f"same type but with metadata\n    {aux}")
    for i, (child_def, child) in enumerate(zip(td.children, children)):
        _subtrees_up_to(child_def, child, (*steps, (x, i)), name, subtrees)


def _structure_error(name, steps, difference, detail):
    path = tuple(list(_keyed(_node_rule(node), node)[0])[i][0] for node, i in steps)
    return ValueError(f"pytree structure error: {difference} at key path\n    {name}{keystr(path)}\nAt that key "
                      f"path, the prefix pytree {name} has a subtree of type{detail}")


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply `f` leafwise over `tree` and the trees `rest`, whose structure `tree`'s must be a
    prefix of (as in JAX: a leaf of `tree` meets a whole subtree of each of them)."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = [_flatten_up_to(treedef, other, "tree_map tree") for other in rest]
    return treedef.unflatten(f(*xs) for xs in zip(leaves, *others))


def tree_map_with_path(f, tree, *rest, is_leaf=None, is_leaf_takes_path=False):
    """tree_map with each leaf's key path as f's first argument: f(path, x, *ys)."""
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = [_flatten_up_to(treedef, other, "tree_map_with_path tree") for other in rest]
    return treedef.unflatten(f(path, x, *ys) for (path, x), *ys in zip(pairs, *others))


def tree_broadcast(prefix_tree, full_tree, is_leaf=None):
    """`full_tree`'s structure with each leaf of `prefix_tree` (a prefix of it) repeated over the
    leaves of the subtree it meets."""
    leaves, treedef = tree_flatten(prefix_tree, is_leaf)
    subtrees = _flatten_up_to(treedef, full_tree, "broadcast_prefix prefix_tree")
    broadcast = [x for x, subtree in zip(leaves, subtrees) for _ in range(tree_structure(subtree).num_leaves)]
    return tree_structure(full_tree).unflatten(broadcast)


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn a tree of structure outer-of-inner into inner-of-outer (`inner_treedef` None: read
    from the first outer leaf)."""
    flat, treedef = tree_flatten(pytree_to_transpose)
    if inner_treedef is None:
        inner_treedef = tree_structure(outer_treedef.flatten_up_to(pytree_to_transpose)[0])
    inner_size, outer_size = inner_treedef.num_leaves, outer_treedef.num_leaves
    if treedef.num_leaves != inner_size * outer_size:
        raise TypeError(f"Mismatch\n{treedef}\n != \n{outer_treedef.compose(inner_treedef)}")
    rows = [flat[i * inner_size:(i + 1) * inner_size] for i in range(outer_size)]
    return inner_treedef.unflatten(outer_treedef.unflatten(column) for column in zip(*rows))


# -- reductions -------------------------------------------------------------------------------


class _Unspecified:
    """The default of an argument for which None is a value (an initializer, an identity)."""

    def __repr__(self):
        return "<unspecified>"


_UNSPECIFIED = _Unspecified()


def tree_reduce(function, tree, initializer=_UNSPECIFIED, is_leaf=None):
    """functools.reduce over the leaves of `tree`."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _UNSPECIFIED:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_reduce_associative(operation, tree, *, identity=_UNSPECIFIED, is_leaf=None):
    """Reduce the leaves of `tree` with the associative `operation` as a balanced tree (halves
    first); `identity` is the result for a tree without leaves."""

    def reduce(leaves):
        if len(leaves) == 1:
            return leaves[0]
        half = len(leaves) // 2
        return operation(reduce(leaves[:half]), reduce(leaves[half:]))

    leaves = tree_leaves(tree, is_leaf)
    if leaves:
        return reduce(leaves)
    if identity is _UNSPECIFIED:
        raise TypeError("Must specify identity for parallel reduction of empty sequence.")
    return identity


def tree_all(tree, *, is_leaf=None):
    """Whether every leaf of `tree` is true."""
    return all(tree_leaves(tree, is_leaf))


# -- Partial: a function with bound arguments that is a pytree ---------------------------------


class _HashableCallableShim:
    """A functools.partial held as Partial's function, so that Partial does not merge its
    arguments in (they stay out of the leaves); calls, hashes and compares as the partial."""

    def __init__(self, fun):
        self.fun = fun

    def __call__(self, *args, **kwargs):
        return self.fun(*args, **kwargs)

    def __hash__(self):
        return hash(self.fun)

    def __eq__(self, other):
        return self.fun == (other.fun if isinstance(other, _HashableCallableShim) else other)

    def __repr__(self):
        return f"_HashableCallableShim({self.fun!r})"


class Partial(functools.partial):
    """functools.partial whose bound arguments are pytree leaves, so that it can be passed to
    (and returned from) jit, grad and vmap; the function is static."""

    def __new__(cls, func, *args, **kwargs):
        if isinstance(func, functools.partial):
            original, func = func, _HashableCallableShim(func)
            out = super().__new__(cls, func, *args, **kwargs)
            func.func, func.args, func.keywords = original.func, original.args, original.keywords
            return out
        return super().__new__(cls, func, *args, **kwargs)


register_pytree_node(Partial, lambda p: ((p.args, p.keywords), p.func),
                     lambda func, children: Partial(func, *children[0], **children[1]))


# -- the registry as an object, as jax.tree_util.default_registry -----------------------------


class _Registry:
    """mlax's one pytree registry, with the methods of JAX's PyTreeRegistry."""

    def flatten(self, tree, leaf_predicate=None):
        return tree_flatten(tree, leaf_predicate)

    def flatten_with_path(self, tree, leaf_predicate=None):
        """leaf_predicate takes (key path, x)."""
        return tree_flatten_with_path(tree, leaf_predicate, is_leaf_takes_path=True)

    def flatten_one_level(self, tree):
        """(children, aux), or None for a leaf."""
        return flatten_one_level(tree) if _node_rule(tree) is not None else None

    def flatten_one_level_with_keys(self, tree):
        return flatten_one_level_with_keys(tree) if _node_rule(tree) is not None else None

    def is_node(self, type):  # noqa: A002 - JAX's name
        return is_tree_node(type)

    def register_node(self, type, to_iterable, from_iterable, to_iterable_with_keys=None):  # noqa: A002
        register_pytree_node(type, to_iterable, from_iterable, to_iterable_with_keys)

    def register_dataclass_node(self, type, data_fields, meta_fields, /):  # noqa: A002
        register_dataclass(type, data_fields, meta_fields)

    def __repr__(self):
        return "mlax.tree_util.default_registry"


default_registry = _Registry()
