"""Named events and their listeners (the machinery of mlax.monitoring and mlax.profiler).

mlax records JAX's duration events where it does the same work:
tracing a function for jit ("/jax/core/compile/jaxpr_trace_duration"),
running the mlax passes down to StableHLO
("/jax/core/compile/jaxpr_to_mlir_module_duration") and compiling it with
IREE or reading it from the disk cache
("/jax/core/compile/backend_compile_duration"), each with fun_name=; and,
while a time-span listener is registered, each jitted call as the time span
"/mlax/jit/execute" (mlax's own event: JAX records none for execution).
"""

import contextlib
import time

TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
LOWER_EVENT = "/jax/core/compile/jaxpr_to_mlir_module_duration"
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
EXECUTE_EVENT = "/mlax/jit/execute"

event_listeners = []
duration_listeners = []
time_span_listeners = []
scalar_listeners = []


def record_event(event, **kwargs):
    """Tell every event listener that `event` happened (kwargs: its metadata)."""
    for listener in list(event_listeners):
        listener(event, **kwargs)


def record_event_duration_secs(event, duration, **kwargs):
    """Tell every duration listener that `event` took `duration` seconds."""
    for listener in list(duration_listeners):
        listener(event, duration, **kwargs)


def record_event_time_span(event, start_time, end_time, **kwargs):
    """Tell every time-span listener that `event` ran from start_time to end_time (time.time() seconds)."""
    for listener in list(time_span_listeners):
        listener(event, start_time, end_time, **kwargs)


def record_scalar(event, value, **kwargs):
    """Tell every scalar listener the value of `event`."""
    for listener in list(scalar_listeners):
        listener(event, value, **kwargs)


@contextlib.contextmanager
def timed(event, **kwargs):
    """Record the block's duration and time span as `event` (not when it raises)."""
    start = time.time()
    yield
    end = time.time()
    record_event_duration_secs(event, end - start, **kwargs)
    record_event_time_span(event, start, end, **kwargs)
