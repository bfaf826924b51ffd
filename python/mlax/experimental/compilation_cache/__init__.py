"""jax.experimental.compilation_cache: where compiled programs are kept between processes."""

from mlax.experimental.compilation_cache import compilation_cache  # noqa: F401
