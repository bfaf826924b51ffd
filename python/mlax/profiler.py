"""jax.profiler: trace annotations and traces of mlax's work, written as trace-event JSON.

Between start_trace(log_dir) and stop_trace(), mlax records the spans of
TraceAnnotation/StepTraceAnnotation/annotate_function blocks, of tracing,
lowering and compiling each jitted function (the monitoring events
"/jax/core/compile/..."), and of each jitted call ("/mlax/jit/execute": the
dispatch, which returns before an asynchronous device finishes). stop_trace
writes them in the Chrome trace-event format to
log_dir/plugins/profile/<run>/<host>.trace.json.gz, where JAX writes its own
(TensorBoard's profile plugin, chrome://tracing and ui.perfetto.dev read it).
mlax has no device-side tracer and no XPlane file: the trace holds host spans.
"""

import contextlib
import functools
import gzip
import json
import os
import socket
import threading
import time

from mlax.api import events

__all__ = ["StepTraceAnnotation", "TraceAnnotation", "annotate_function", "device_memory_profile",
           "save_device_memory_profile", "start_server", "start_trace", "stop_server", "stop_trace", "trace"]


class _Session:
    """The spans recorded by one start_trace ... stop_trace."""

    def __init__(self, log_dir, create_perfetto_trace):
        self.log_dir = str(log_dir)
        self.create_perfetto_trace = create_perfetto_trace
        self.events = []
        self.lock = threading.Lock()

    def add(self, name, start, end, args):
        event = {"name": name, "ph": "X", "ts": start * 1e6, "dur": (end - start) * 1e6, "pid": os.getpid(),
                 "tid": threading.get_ident(), "args": {k: str(v) for k, v in args.items()}}
        with self.lock:
            self.events.append(event)

    def on_time_span(self, event, start_time, end_time, **kwargs):
        self.add(event, start_time, end_time, kwargs)

    def write(self):
        run = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime())
        folder = os.path.join(self.log_dir, "plugins", "profile", run)
        os.makedirs(folder, exist_ok=True)
        trace = {"displayTimeUnit": "ns", "traceEvents": self.events}
        with gzip.open(os.path.join(folder, f"{socket.gethostname()}.trace.json.gz"), "wt") as f:
            json.dump(dict(trace, metadata={"producer": "mlax"}), f)
        if self.create_perfetto_trace:
            with gzip.open(os.path.join(folder, "perfetto_trace.json.gz"), "wt") as f:
                json.dump(trace, f)  # Perfetto refuses a "metadata" field


_state_lock = threading.Lock()
_session = [None]


def start_trace(log_dir, create_perfetto_link=False, create_perfetto_trace=False, profiler_options=None):
    """Start recording spans; stop_trace writes them under log_dir. With create_perfetto_trace,
    a perfetto_trace.json.gz for ui.perfetto.dev is written too."""
    if create_perfetto_link:
        raise NotImplementedError("start_trace: create_perfetto_link=True is not supported (mlax serves no trace "
                                  "to a browser); use create_perfetto_trace=True and open the file in ui.perfetto.dev")
    if profiler_options is not None:
        raise NotImplementedError("start_trace: profiler_options are not supported (mlax has no device tracer)")
    with _state_lock:
        if _session[0] is not None:
            raise RuntimeError("Profile has already been started. Only one profile may be run at a time.")
        _session[0] = _Session(log_dir, create_perfetto_trace)
        events.time_span_listeners.append(_session[0].on_time_span)


def stop_trace():
    """Stop recording and write the trace to the log_dir given to start_trace."""
    with _state_lock:
        session = _session[0]
        if session is None:
            raise RuntimeError("No profile started")
        events.time_span_listeners.remove(session.on_time_span)
        _session[0] = None
    session.write()


@contextlib.contextmanager
def trace(log_dir, create_perfetto_link=False, create_perfetto_trace=False, profiler_options=None):
    """A trace of the block (start_trace on entry, stop_trace on exit)."""
    start_trace(log_dir, create_perfetto_link, create_perfetto_trace, profiler_options)
    try:
        yield
    finally:
        stop_trace()


class TraceAnnotation:
    """A span named `name` (with kwargs as its arguments) over the block, in the trace being recorded."""

    def __init__(self, name, **kwargs):
        self.name = name
        self.kwargs = kwargs
        self._start = None

    def __enter__(self):
        self._start = time.time()
        return self

    def __exit__(self, *exc):
        session = _session[0]
        if session is not None:
            session.add(self.name, self._start, time.time(), self.kwargs)
        return False


class StepTraceAnnotation(TraceAnnotation):
    """A TraceAnnotation marking one step of a loop (pass step_num= to number it)."""


def annotate_function(func, name=None, **decorator_kwargs):
    """func, each call of which is a TraceAnnotation named `name` (default: its qualified name)."""
    name = name or getattr(func, "__qualname__", None) or func.__name__

    @functools.wraps(func)
    def annotated(*args, **kwargs):
        with TraceAnnotation(name, **decorator_kwargs):
            return func(*args, **kwargs)
    return annotated


def device_memory_profile(backend=None):
    """Not available: mlax records no allocation sites for a pprof heap profile."""
    raise NotImplementedError("device_memory_profile is not supported: mlax records no allocation sites of its "
                              "device buffers; mlax.live_arrays() lists the arrays alive")


def save_device_memory_profile(filename, backend=None):
    """Not available (see device_memory_profile)."""
    raise NotImplementedError("save_device_memory_profile is not supported: mlax records no allocation sites of "
                              "its device buffers; mlax.live_arrays() lists the arrays alive")


def start_server(port):
    """Not available: mlax has no profiler server for TensorBoard to connect to."""
    raise NotImplementedError("start_server is not supported: mlax has no profiler server; use start_trace")


def stop_server():
    """Not available (see start_server)."""
    raise NotImplementedError("stop_server is not supported: mlax has no profiler server; use start_trace")
