"""jax.stages for mlax: the stages of ahead-of-time compilation. `mlax.jit(f)` is a
Wrapped; `.lower(*args)` gives a Lowered (`.as_text(stage)`), whose `.compile()`
gives a Compiled, called like f."""

from mlax.api.jit import Compiled, Jitted as Wrapped, Lowered  # noqa: F401
