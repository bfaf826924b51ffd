"""mlax-expand-transforms: expand every transformation op (jvp, vjp, vmap, pmap), innermost first.

This is mlax-autodiff, mlax-vmap and mlax-pmap run together to a fixed point, so
that grad(vmap(f)), vmap(grad(f)) and grad(pmap(f)) all resolve: each step expands
an op whose callee holds no unexpanded transformation op, whatever its kind.
"""

from mlax.passes import autodiff, pmap, register, vmap  # noqa: F401  (their expanders register themselves)
from mlax.passes._expansion import EXPANDERS, expand


@register("mlax-expand-transforms")
def expand_transforms(module_op):
    expand(module_op, set(EXPANDERS))
