"""jax.custom_derivatives for mlax: user-defined differentiation rules and the
closure conversion that lets them cover values a function closes over."""

from mlax.api.custom_rules import custom_jvp, custom_vjp  # noqa: F401
from mlax.api.extra_transforms import closure_convert, custom_gradient  # noqa: F401
