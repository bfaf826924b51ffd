"""Process-wide settings: `mlax.config.update(name, value)`, as in JAX, and each setting
as a context manager (`with mlax.enable_x64(True): ...`, `with mlax.debug_nans(True): ...`).

Every option has an mlax name (`mlax_enable_x64`) and JAX's (`jax_enable_x64`); either
works with `update` and `read`. A context manager sets the option for the current thread
only, as JAX's do. Options can also be set from the environment before import, as
MLAX_<NAME> (MLAX_ENABLE_X64=1, MLAX_DEBUG_NANS=1); MLAX_PLATFORM names the platform.

Options mlax does not implement keep JAX's name and default so that code setting them
to the default runs; setting one to anything else raises NotImplementedError naming it.
"""

import contextlib
import os
import threading


class _NoDefault:
    def __repr__(self):
        return "<no default>"


_NO_DEFAULT = _NoDefault()
_values = {}                     # mlax name -> the process-wide value
_states = {}                     # mlax name -> State
_aliases = {}                    # JAX's name (and other spellings) -> mlax name


class _ThreadSettings(threading.local):
    """The settings context managers made in one thread."""

    # {mlax name: value}; a class default, so that reading it never raises AttributeError
    # (a missing attribute of a threading.local made every read cost a microsecond).
    overrides = None


_thread = _ThreadSettings()
_overriding = 0                  # context-manager blocks open in any thread: none, and reads skip _thread
_count_lock = threading.Lock()
_keyed = []                      # the States whose values select a compiled program (trace_context)
_global_context = ()             # trace_context() while no thread override is active


def _bool(value):
    return value.lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)


class State:
    """One option: its value (`.value`, this thread's), and, called, a context manager
    setting it for the duration of a `with` block (`with mlax.debug_nans(True): ...`;
    a boolean option with no argument is set to True)."""

    def __init__(self, name, default, doc, jax_name=None, choices=None, kind=None, unsupported=None,
                 keyed=False):
        self.name = name
        self.jax_name = jax_name or "jax_" + name[len("mlax_"):]
        self.__doc__ = doc
        self._choices = choices            # the values JAX allows (None: any value of `kind`)
        self._kind = kind or (bool if isinstance(default, bool) else None)
        self._unsupported = unsupported    # why mlax has only the default, or None
        self.default = default
        env = os.environ.get("MLAX_" + name[len("mlax_"):].upper())
        _values[name] = default if env is None else self._check(env)
        _states[name] = self
        _aliases[self.jax_name] = name
        if keyed:
            _keyed.append(self)

    def _check(self, value):
        """`value` validated (and converted) for this option, as JAX validates it."""
        if self._kind is bool:
            value = _bool(value)
        elif self._choices is not None and value not in self._choices:
            raise ValueError(f"{self.jax_name} must be one of {list(self._choices)}, got {value!r}")
        if self._unsupported is not None and value != self.default:
            raise NotImplementedError(f"{self.jax_name}={value!r} is not supported: {self._unsupported}; only "
                                      f"{self.jax_name}={self.default!r} is")
        return value

    @property
    def value(self):
        """The value in effect in this thread."""
        if _overriding:
            overrides = _thread.overrides
            if overrides and self.name in overrides:
                return overrides[self.name]
        return _values[self.name]

    def __call__(self, new_val=_NO_DEFAULT):
        if new_val is _NO_DEFAULT:
            if self._kind is not bool:
                raise TypeError(f"{self.jax_name}: the context manager needs a value")
            new_val = True
        return _override({self.name: self._check(new_val)})

    def __repr__(self):
        return f"State({self.jax_name}={self.value!r})"


@contextlib.contextmanager
def _override(settings):
    """Set options for this thread inside the block; the outer values come back after it."""
    global _overriding
    previous = _thread.overrides
    _thread.overrides = {**(previous or {}), **settings}
    with _count_lock:
        _overriding += 1
    try:
        yield
    finally:
        with _count_lock:
            _overriding -= 1
        _thread.overrides = previous


def _refresh_context():
    global _global_context
    _global_context = tuple(_values[s.name] for s in _keyed)


def trace_context():
    """The values of the options that select a compiled program (x64, platform, default
    device, promotion rules, checks, user contexts): part of every jit cache key."""
    if _overriding and _thread.overrides:
        return tuple(s.value for s in _keyed)
    return _global_context


def trace_context_names():
    """The (JAX) names of the options whose values trace_context() holds, in its order."""
    return tuple(s.jax_name for s in _keyed)


def update(name, value):
    """Set option `name` (mlax's or JAX's spelling) to `value` for the whole process."""
    canonical = _aliases.get(name, name)
    if canonical not in _values:
        raise AttributeError(f"unknown mlax config option {name!r}; options: {sorted(_values)}")
    _values[canonical] = _states[canonical]._check(value) if canonical in _states else value
    _refresh_context()


def read(name):
    """The current value of option `name` in this thread."""
    canonical = _aliases.get(name, name)
    state = _states.get(canonical)
    return state.value if state is not None else _values[canonical]


def x64_enabled():
    return bool(enable_x64.value if _overriding else _values["mlax_enable_x64"])


def __getattr__(name):
    if _aliases.get(name, name) in _values:
        return read(name)
    raise AttributeError(name)


_PRNG = "mlax's generator is threefry2x32 over raw uint32 keys, with JAX's partitionable counters"
_ALLOW_GUARD = (None, "allow", "log", "disallow", "log_explicit", "disallow_explicit")

enable_x64 = State("mlax_enable_x64", False, "Use 64-bit dtypes (float64, int64, complex128) where asked for; "
                   "without it they become their 32-bit counterparts.", keyed=True)
platform_name = State("mlax_platform_name", os.environ.get("MLAX_PLATFORM", ""),
                      "The backend arrays and programs go to by default (cpu unless set).", keyed=True)
_aliases.update(jax_platforms="mlax_platform_name")
disable_jit_state = State("mlax_disable_jit", False, "Run jitted functions as plain Python, op by op.", keyed=True)
debug_nans = State("mlax_debug_nans", False, "Raise FloatingPointError when an op or a jitted function "
                   "produces a NaN (a jitted function is then run op by op to name the op).", keyed=True)
debug_infs = State("mlax_debug_infs", False, "Raise FloatingPointError when an op or a jitted function "
                   "produces an infinity.", keyed=True)
default_device = State("mlax_default_device", None, "The device (or platform name) arrays and single-device "
                       "programs go to when none is given; None: the default backend's first device.", keyed=True)
default_matmul_precision = State(
    "mlax_default_matmul_precision", None,
    "The precision of matmuls given none: validated as in JAX; mlax computes every product at the full "
    "precision of its dtype (as JAX on CPU).",
    choices=(None, "default", "high", "highest", "bfloat16", "tensorfloat32", "float32", "bfloat16_3x",
             "fastest"))
numpy_rank_promotion = State("mlax_numpy_rank_promotion", "allow", "Whether NumPy-style broadcasting of arrays "
                             "of different ranks is allowed ('allow'), warned about or an error.",
                             choices=("allow", "warn", "raise"),
                             unsupported="mlax.numpy always broadcasts operands of different ranks")
numpy_dtype_promotion = State("mlax_numpy_dtype_promotion", "standard", "'standard': JAX's type promotion "
                              "lattice; 'strict': only Python scalars promote implicitly.",
                              choices=("standard", "strict"), keyed=True)
log_compiles = State("mlax_log_compiles", False, "Log (logger 'mlax', level WARNING) each function jit "
                     "traces and compiles: its name, argument shapes, device, the seconds it took, and "
                     "whether IREE compiled it or its output came from the disk cache.")
jit_tiering = State("mlax_jit_tiering", True, "Run a jitted function's first calls on the interpreter tier "
                    "(op by op on precompiled kernels) while IREE compiles it in the background (MLAX_JIT_TIERING=0 "
                    "turns it off: every call waits for the compiled program).")
explain_cache_misses = State("mlax_explain_cache_misses", False, "Log (logger 'mlax', level WARNING) why a "
                             "jitted function was traced again: the arguments (by name), static values "
                             "or settings that differ from the closest signature traced before.")
enable_checks = State("mlax_enable_checks", False, "Check every traced program against the op table "
                      "(mlax-verify) before lowering it.", keyed=True)
check_tracer_leaks = State("mlax_check_tracer_leaks", False, "Raise when a traced value outlives the "
                           "transformation that made it (checked as each jitted function is traced).",
                           keyed=True)
no_tracing = State("mlax_no_tracing", False, "Raise RuntimeError when a jitted function would be traced.")
transfer_guard_host_to_device = State(
    "mlax_transfer_guard_host_to_device", None, "Guard host-to-device transfers.", choices=_ALLOW_GUARD,
    unsupported="mlax has no transfer guards")
transfer_guard_device_to_host = State(
    "mlax_transfer_guard_device_to_host", None, "Guard device-to-host transfers.", choices=_ALLOW_GUARD,
    unsupported="mlax has no transfer guards")
transfer_guard_device_to_device = State(
    "mlax_transfer_guard_device_to_device", None, "Guard device-to-device transfers.", choices=_ALLOW_GUARD,
    unsupported="mlax has no transfer guards")
default_prng_impl = State("mlax_default_prng_impl", "threefry2x32", "The generator of new PRNG keys.",
                          choices=("threefry2x32", "threefry4x32", "rbg", "unsafe_rbg", "philox2x32", "philox4x32"),
                          unsupported=_PRNG)
threefry_partitionable = State("mlax_threefry_partitionable", True, "Threefry counters as JAX's partitionable "
                               "variant lays them out.", unsupported=_PRNG)
legacy_prng_key = State("mlax_legacy_prng_key", "allow", "Whether raw uint32 keys (PRNGKey) are allowed.",
                        choices=("allow", "warn", "error"), unsupported="mlax's keys are raw uint32 key data")
enable_custom_prng = State("mlax_enable_custom_prng", False, "Typed PRNG keys everywhere.",
                           unsupported="mlax's keys are raw uint32 key data")
debug_key_reuse = State("mlax_debug_key_reuse", False, "Check that no PRNG key is used twice.",
                        unsupported="mlax has no key-reuse checker")
allow_f16_reductions = State("mlax_allow_f16_reductions", True, "Allow reductions in float16.",
                             unsupported="mlax reduces float16 as the op table's lowering does")
array_garbage_collection_guard = State(
    "mlax_array_garbage_collection_guard", None, "Guard arrays collected in reference cycles.",
    choices=(None, "allow", "log", "fatal"), unsupported="mlax has no garbage-collection guard")
no_execution = State("mlax_no_execution", False, "Refuse to run programs.",
                     unsupported="mlax has no execution guard")
softmax_custom_jvp = State("mlax_softmax_custom_jvp", False, "JAX's alternative softmax derivative.",
                           unsupported="mlax.nn.softmax has one derivative rule")
thread_guard = State("mlax_thread_guard", False, "Refuse use from several threads.",
                     unsupported="mlax has no thread guard")
jax2tf_associative_scan_reductions = State(
    "mlax_jax2tf_associative_scan_reductions", False, "jax2tf's lowering of cumulative reductions.",
    jax_name="jax2tf_associative_scan_reductions", unsupported="mlax has no jax2tf")
_refresh_context()


def disable_jit(disable=True):
    """A context manager inside which jitted functions run as plain Python, op by op."""
    return disable_jit_state(disable)


def transfer_guard(new_val):
    """A context manager setting the three transfer guards to `new_val`."""
    return _override({s.name: s._check(new_val) for s in (transfer_guard_host_to_device,
                                                          transfer_guard_device_to_host,
                                                          transfer_guard_device_to_device)})


def checking_leaks():
    """A context manager inside which tracer leaks are checked (check_tracer_leaks)."""
    return check_tracer_leaks(True)


_user_contexts = 0


def make_user_context(default_value=None):
    """A new option of the caller's: a context manager whose value is part of every jit
    cache key, so a jitted function is traced again when it changes."""
    global _user_contexts
    _user_contexts += 1
    state = State(f"mlax_user_context_{_user_contexts}", default_value, "A user context (make_user_context).",
                  kind=object, keyed=True)
    _refresh_context()
    return state
