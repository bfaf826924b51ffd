"""mlax.scipy: SciPy's functions over mlax arrays, as jax.scipy (so far its `special` module)."""

from mlax.scipy import special  # noqa: F401
