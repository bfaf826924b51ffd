"""The name -> pass registry: each pass module registers its pass here with `@register`."""

from __future__ import annotations

from collections.abc import Callable

from iree.compiler import ir

PassFunction = Callable[[ir.Operation], None]  # pass(module_op), editing the module in place

PASSES: dict[str, PassFunction] = {}


def register(name: str) -> Callable[[PassFunction], PassFunction]:
    """Register `fn(module_op)` as the pass `name` (the name `mlax opt --passes` uses)."""
    def wrap(fn: PassFunction) -> PassFunction:
        PASSES[name] = fn
        return fn
    return wrap
