"""mlax-expand-transforms: expand every transformation op (jvp, vjp, vmap, pmap), innermost first.

This is mlax-autodiff, mlax-vmap and mlax-pmap run together to a fixed point, so
that grad(vmap(f)), vmap(grad(f)) and grad(pmap(f)) all resolve: each step expands
an op whose callee holds no unexpanded transformation op, whatever its kind, with
the writer its entry names (every pass module registers its writers when the
package `mlax.passes` is imported).
"""

from __future__ import annotations

from iree.compiler import ir

from mlax.passes._expansion import WRITERS, expand
from mlax.passes._registry import register


@register("mlax-expand-transforms")
def expand_transforms(module_op: ir.Operation) -> None:
    expand(module_op, WRITERS.values())
