"""The name -> pass registry: each pass module registers its pass here with `@register`."""

from collections.abc import Callable

PASSES: dict[str, Callable] = {}


def register(name):
    """Register `fn(module_op)` as the pass `name` (the name `mlax opt --passes` uses)."""
    def wrap(fn):
        PASSES[name] = fn
        return fn
    return wrap
