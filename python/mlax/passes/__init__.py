"""mlax's MLIR passes, one per file, found by name through `PASSES`.

Each pass is a Python function over a module, registered with `@register`
under the name `mlax opt --passes` uses, and run by MLIR's PassManager.
"""

import importlib

from iree.compiler import ir, passmanager

from mlax.core import mlir

PASSES = {}

_PASS_MODULES = ("verify", "autodiff", "vmap", "pmap", "expand_transforms", "simplify", "lower")


def register(name):
    """Register `fn(module_op)` as the pass `name`."""
    def wrap(fn):
        PASSES[name] = fn
        return fn
    return wrap


def _load():
    for module_name in _PASS_MODULES:
        importlib.import_module(f"mlax.passes.{module_name}")


def run(module, names):
    """Run the passes `names`, in order, on `module` through MLIR's PassManager."""
    _load()
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise ValueError(f"unknown pass(es) {unknown}; known passes: {sorted(PASSES)}")
    with mlir.context(), ir.Location.unknown():
        manager = passmanager.PassManager()
        for name in names:
            manager.add(_as_external_pass(PASSES[name]), name=name)
        manager.run(module.operation)
    return module


def _as_external_pass(fn):
    def external(op, _pass):
        fn(op)
    return external


def available():
    _load()
    return dict(PASSES)
