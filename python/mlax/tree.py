"""`jax.tree`: the pytree functions of mlax.tree_util under short names (`mlax.tree.map` is
`tree_util.tree_map`), with JAX's signatures, and `static`, a dataclass field that
register_dataclass makes static."""

import dataclasses

from mlax import tree_util

# `all` and `map` below shadow the builtins, which this module does not use.


def all(tree, *, is_leaf=None):  # noqa: A001 - JAX's name
    """Whether every leaf of `tree` is true."""
    return tree_util.tree_all(tree, is_leaf=is_leaf)


def broadcast(prefix_tree, full_tree, is_leaf=None):
    """`full_tree`'s structure with each leaf of `prefix_tree` repeated over its subtree."""
    return tree_util.tree_broadcast(prefix_tree, full_tree, is_leaf=is_leaf)


def flatten(tree, is_leaf=None):
    """(leaves, treedef) of `tree`."""
    return tree_util.tree_flatten(tree, is_leaf)


def flatten_with_path(tree, is_leaf=None, is_leaf_takes_path=False):
    """([(key path, leaf), ...], treedef) of `tree`."""
    return tree_util.tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)


def leaves(tree, is_leaf=None):
    """The leaves of `tree`."""
    return tree_util.tree_leaves(tree, is_leaf)


def leaves_with_path(tree, is_leaf=None, is_leaf_takes_path=False):
    """[(key path, leaf), ...] of `tree`."""
    return tree_util.tree_leaves_with_path(tree, is_leaf, is_leaf_takes_path)


def map(f, tree, *rest, is_leaf=None):  # noqa: A001 - JAX's name
    """Apply `f` leafwise over `tree` and the trees `rest` (of which `tree` is a prefix)."""
    return tree_util.tree_map(f, tree, *rest, is_leaf=is_leaf)


def map_with_path(f, tree, *rest, is_leaf=None, is_leaf_takes_path=False):
    """map with each leaf's key path as f's first argument."""
    return tree_util.tree_map_with_path(f, tree, *rest, is_leaf=is_leaf, is_leaf_takes_path=is_leaf_takes_path)


def reduce(function, tree, initializer=tree_util._UNSPECIFIED, is_leaf=None):
    """functools.reduce over the leaves of `tree`."""
    return tree_util.tree_reduce(function, tree, initializer, is_leaf=is_leaf)


def reduce_associative(operation, tree, *, identity=tree_util._UNSPECIFIED, is_leaf=None):
    """Reduce the leaves of `tree` with an associative operation, halves first."""
    return tree_util.tree_reduce_associative(operation, tree, identity=identity, is_leaf=is_leaf)


def structure(tree, is_leaf=None):
    """The PyTreeDef of `tree`."""
    return tree_util.tree_structure(tree, is_leaf)


def transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn a tree of structure outer-of-inner into inner-of-outer."""
    return tree_util.tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose)


def unflatten(treedef, leaves):
    """Rebuild a pytree of shape `treedef` from `leaves`."""
    return tree_util.tree_unflatten(treedef, leaves)


def static(**kwargs):
    """dataclasses.field(**kwargs) marked static: register_dataclass makes it aux data."""
    metadata = {"static": True, **(kwargs.pop("metadata", None) or {})}
    return dataclasses.field(metadata=metadata, **kwargs)
