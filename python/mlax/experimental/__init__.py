"""jax.experimental: io_callback, and the compilation_cache settings."""

from mlax.experimental import compilation_cache  # noqa: F401
from mlax.experimental._io_callback import io_callback

__all__ = ["compilation_cache", "io_callback"]
