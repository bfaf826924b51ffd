"""jax.monitoring: named events and the listeners told of them.

mlax records JAX's compile-duration events where it does the same work (see
mlax.api.events): "/jax/core/compile/jaxpr_trace_duration",
"/jax/core/compile/jaxpr_to_mlir_module_duration" and
"/jax/core/compile/backend_compile_duration", each with fun_name=.
"""

from mlax.api import events
from mlax.api.events import record_event, record_event_duration_secs, record_event_time_span, record_scalar

__all__ = ["clear_event_listeners", "record_event", "record_event_duration_secs", "record_event_time_span",
           "record_scalar", "register_event_duration_secs_listener", "register_event_listener",
           "register_event_time_span_listener", "register_scalar_listener", "unregister_event_duration_listener",
           "unregister_event_listener", "unregister_event_time_span_listener", "unregister_scalar_listener"]


def register_event_listener(callback):
    """Call callback(event, **kwargs) on each record_event."""
    events.event_listeners.append(callback)


def register_event_duration_secs_listener(callback):
    """Call callback(event, duration_secs, **kwargs) on each record_event_duration_secs."""
    events.duration_listeners.append(callback)


def register_event_time_span_listener(callback):
    """Call callback(event, start_time, end_time, **kwargs) on each record_event_time_span."""
    events.time_span_listeners.append(callback)


def register_scalar_listener(callback):
    """Call callback(event, value, **kwargs) on each record_scalar."""
    events.scalar_listeners.append(callback)


def _unregister(listeners, callback, what):
    if callback not in listeners:
        raise ValueError(f"{what}: {callback!r} is not a registered listener")
    listeners.remove(callback)


def unregister_event_listener(callback):
    """Stop calling callback on record_event. JAX asserts it is registered; mlax raises ValueError."""
    _unregister(events.event_listeners, callback, "unregister_event_listener")


def unregister_event_duration_listener(callback):
    """Stop calling callback on record_event_duration_secs (ValueError if it is not registered)."""
    _unregister(events.duration_listeners, callback, "unregister_event_duration_listener")


def unregister_event_time_span_listener(callback):
    """Stop calling callback on record_event_time_span (ValueError if it is not registered)."""
    _unregister(events.time_span_listeners, callback, "unregister_event_time_span_listener")


def unregister_scalar_listener(callback):
    """Stop calling callback on record_scalar (ValueError if it is not registered)."""
    _unregister(events.scalar_listeners, callback, "unregister_scalar_listener")


def clear_event_listeners():
    """Unregister every listener."""
    for listeners in (events.event_listeners, events.duration_listeners, events.time_span_listeners,
                      events.scalar_listeners):
        listeners.clear()
