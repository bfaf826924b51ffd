"""Core is the ground floor: the runtime and the op table install the hooks it calls."""

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax.core import trace


def test_hooks_not_installed_say_what_to_import():
    hooks = trace._Hooks()
    with pytest.raises(RuntimeError, match="import mlax"):
        hooks.eager(None, [], {})
    with pytest.raises(RuntimeError, match="import mlax"):
        hooks.device_put(np.zeros(3), None)


def test_importing_mlax_installs_the_hooks():
    # Eager ops run through the runtime's hook; large constants are moved by it to the device.
    assert np.allclose(np.asarray(mnp.sin(mnp.ones(3))), np.sin(np.ones(3, np.float32)))
    big = np.arange(5000, dtype=np.float32)
    assert np.allclose(np.asarray(mlax.jit(lambda x: x + big)(1.0)), big + 1)

