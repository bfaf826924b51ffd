"""mlax's MLIR passes, one per file, found by name through `PASSES`.

Each pass is a Python function over a module, registered with `@register`
(passes/_registry.py) under the name `mlax opt --passes` uses, and run by MLIR's
PassManager. Importing this package imports every pass module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from iree.compiler import ir, passmanager

from mlax.core import mlir
from mlax.passes import autodiff, expand_transforms, lower, pmap, simplify, verify, vmap  # noqa: F401 (they register)
from mlax.passes._registry import PASSES, PassFunction, register  # noqa: F401


def run(module: ir.Module, names: Sequence[str]) -> ir.Module:
    """Run the passes `names`, in order, on `module` through MLIR's PassManager."""
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise ValueError(f"unknown pass(es) {unknown}; known passes: {sorted(PASSES)}")
    with mlir.context(), ir.Location.unknown():
        manager = passmanager.PassManager()
        for name in names:
            manager.add(_as_external_pass(PASSES[name]), name=name)
        manager.run(module.operation)
    return module


def _as_external_pass(fn: PassFunction) -> Callable[[ir.Operation, passmanager.ExternalPass], None]:
    def external(op: ir.Operation, _pass: passmanager.ExternalPass) -> None:
        fn(op)
    return external


def available() -> dict[str, PassFunction]:
    """The registered passes by name."""
    return dict(PASSES)
