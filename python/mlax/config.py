"""Process-wide settings: `mlax.config.update(name, value)`, as in JAX.

Options can also be set from the environment before import:
MLAX_ENABLE_X64=1, MLAX_PLATFORM=cpu.
"""

import os

_values = {
    "mlax_enable_x64": os.environ.get("MLAX_ENABLE_X64", "0").lower() in ("1", "true"),
    "mlax_platform_name": os.environ.get("MLAX_PLATFORM", ""),
}
# JAX's names are accepted too, so `jax.config.update("jax_enable_x64", True)` ports over.
_aliases = {"jax_enable_x64": "mlax_enable_x64", "jax_platform_name": "mlax_platform_name",
            "jax_platforms": "mlax_platform_name"}


def update(name, value):
    """Set option `name` to `value`."""
    name = _aliases.get(name, name)
    if name not in _values:
        raise AttributeError(f"unknown mlax config option {name!r}; options: {sorted(_values)}")
    _values[name] = value


def read(name):
    """The current value of option `name`."""
    return _values[_aliases.get(name, name)]


def x64_enabled():
    return bool(_values["mlax_enable_x64"])


def __getattr__(name):
    if _aliases.get(name, name) in _values:
        return read(name)
    raise AttributeError(name)
