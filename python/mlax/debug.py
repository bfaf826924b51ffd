"""jax.debug for mlax: print and callback, for values outside transformations
(a compiled mlax program cannot call back into Python yet; inside jit, grad or
vmap they raise NotImplementedError)."""

from mlax.api.callbacks import debug_callback as callback, debug_print as print  # noqa: F401,A004
