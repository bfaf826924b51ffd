"""The documentation: every public function and class of mlax's API modules has a docstring
(the API reference, docs/api/ built by mkdocstrings, is made from them), each module has its
reference page, and the tour's code (docs/index.md) runs.

A module's public names are its __all__, or else its names without a leading underscore;
the objects NumPy and the standard library lend it (mnp.dtype is numpy.dtype) are theirs to
document.
"""

import importlib
import inspect
import json
import os
import pkgutil
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ("mlax", "mlax.numpy", "mlax.numpy.linalg", "mlax.numpy.fft", "mlax.lax", "mlax.lax.linalg", "mlax.nn",
           "mlax.random", "mlax.tree_util", "mlax.tree", "mlax.scipy.special", "mlax.scipy.linalg", "mlax.scipy.stats",
           "mlax.sharding", "mlax.image", "mlax.dlpack", "mlax.monitoring", "mlax.profiler", "mlax.experimental",
           *(f"mlax.scipy.stats.{m.name}" for m in pkgutil.iter_modules(
               importlib.import_module("mlax.scipy.stats").__path__) if not m.name.startswith("_")))


def _public(module):
    """{qualified name: object} of the module's public callables that mlax defines."""
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    found = {}
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not callable(obj):
            continue
        if not (getattr(obj, "__module__", None) or "").startswith("mlax"):
            continue  # NumPy's, ml_dtypes' and the standard library's objects
        found[f"{module.__name__}.{name}"] = obj
    return found


def _undocumented(module_name):
    return {name for name, obj in _public(importlib.import_module(module_name)).items()
            if not (inspect.getdoc(obj) or "").strip()}


@pytest.mark.parametrize("module_name", MODULES)
def test_public_callables_have_docstrings(module_name):
    missing = sorted(_undocumented(module_name))
    assert not missing, f"public names of {module_name} without a docstring: {missing}"


def test_each_module_has_a_reference_page():
    pages = os.path.join(ROOT, "docs", "api")
    directives = set()
    for page in os.listdir(pages):
        with open(os.path.join(pages, page)) as f:
            directives |= set(re.findall(r"^::: ([\w.]+)\s*$", f.read(), re.M))
    assert directives == set(MODULES)


def test_linalg_exports_the_jax_names_it_has():
    """mlax.numpy.linalg's __all__, which the reference follows, holds every name of
    jax.numpy.linalg that mlax has (a function added without its entry would be missing from
    the reference), and only functions."""
    import mlax.numpy.linalg as linalg

    with open(os.path.join(ROOT, "tests", "data", "jax_public_names.json")) as f:
        jax_names = json.load(f)["modules"]["jax.numpy.linalg"]
    assert {n for n in jax_names if hasattr(linalg, n)} <= set(linalg.__all__)
    assert all(inspect.isfunction(getattr(linalg, n)) for n in linalg.__all__)


def test_numpy_does_not_export_the_trace_stack():
    import mlax.numpy

    assert not hasattr(mlax.numpy, "current_trace")


def test_the_tour_runs(capsys):
    """The Python blocks of docs/index.md, run in order in one namespace; the tour's comments
    give the printed values (JAX's loss is 1.5083e-4)."""
    with open(os.path.join(ROOT, "docs", "index.md")) as f:
        blocks = re.findall(r"^```python\n(.*?)^```", f.read(), re.M | re.S)
    assert blocks, "docs/index.md has no python block"
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/index.md", "exec"), namespace)
    loss, shape = capsys.readouterr().out.splitlines()
    assert abs(float(loss) - 1.5083e-4) < 1e-7
    assert shape == "(4, 3)"
