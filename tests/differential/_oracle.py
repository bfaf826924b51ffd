"""What the differential tables share: strict xfail marks for known differences, and running
one function under JAX's module and mlax's."""

import numpy as np
import pytest


def marked(names, xfail):
    """Test parameters for `names`, each named in `xfail` (name -> reason) marked strict xfail."""
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=xfail[n])) if n in xfail else n
            for n in names]


def on_both(jax_module, mlax_module, fn, *args):
    """(fn(mlax_module, *args), fn(jax_module, *args)), NumPy's floating-point warnings off."""
    with np.errstate(all="ignore"):
        expected = fn(jax_module, *args)
        got = fn(mlax_module, *args)
    return got, expected
