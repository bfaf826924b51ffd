"""mlax.scipy: SciPy's functions over mlax arrays, as jax.scipy (its special, stats and linalg modules)."""

from mlax.scipy import linalg, special, stats  # noqa: F401
