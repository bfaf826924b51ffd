"""jit, make_mlir and the lowering API: trace once per signature, compile, cache.

A signature is the static arguments' values, the pytree structure of the
others, their shapes, dtypes and weak types, the device, and the settings that
select a program (config.trace_context). Inside another trace a jitted function
is simply traced inline. The debugging settings act here: disable_jit,
debug_nans/debug_infs, log_compiles, explain_cache_misses, no_tracing and
check_tracer_leaks.
"""

import functools
import gc
import inspect
import logging
import time
import types
import warnings
import weakref


from mlax import config, errors
from mlax.api import events
from mlax.core.trace import Tracer, arg_aval, current_trace, user_frame
from mlax.runtime import backends, interpreter
from mlax.runtime.array import Array
from mlax.runtime.device import default_device
from mlax.runtime.eager import invalid_value
from mlax.runtime.pipeline import trace_program
from mlax.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_leaves

logger = logging.getLogger("mlax")

# Every Jitted object, for clear_caches.
_instances = weakref.WeakSet()


def _normalize_argnums(argnums, count):
    if argnums is None:
        return ()
    argnums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    return tuple(sorted(a % count if count else a for a in argnums))


class Jitted:
    """The callable `mlax.jit(f)` returns."""

    # Whether the function may also run as plain Python, op by op (disable_jit, and the
    # de-optimized rerun of debug_nans): true of the functions given to `jit`; the functions
    # transformations stage trace transformation ops and need a trace around them.
    runs_eagerly = False

    def __init__(self, fun, static_argnums=(), static_argnames=(), donate_argnums=(), backend=None,
                 donate_argnames=()):
        # updated=(): copying fun's __dict__ would clobber our fields when fun is itself jitted.
        functools.update_wrapper(self, fun, updated=())
        self.fun = fun
        self._static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums or ())
        self._static_argnames = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames or ())
        self._backend = backend
        self._cache = {}
        self._fast = {}  # (argument avals, config) -> caller, for calls with Array arguments only
        self._donate_argnums = (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums or ())
        self._donate_argnames = (donate_argnames,) if isinstance(donate_argnames, str) else tuple(donate_argnames or ())
        self._fast_path_allowed = not (self._static_argnums or self._static_argnames or self._donate_argnums
                                       or self._donate_argnames)
        try:
            parameters = inspect.signature(fun).parameters.values()
        except (TypeError, ValueError):
            parameters = []
        self._params = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self._varargs = any(p.kind == p.VAR_POSITIONAL for p in parameters)
        self._last_key = None  # the signature of the latest trace, for explain_cache_misses
        _instances.add(self)

    def __get__(self, obj, objtype=None):
        """As a method, bound to its object like a function (`self` is its first argument:
        `@partial(jit, static_argnums=0)` on a method makes the object static)."""
        return self if obj is None else types.MethodType(self, obj)

    def _split(self, args, kwargs):
        """(static positional args, static keyword args, dynamic (args, kwargs)) for one call.
        A static argument may be named by position or by name, and passed either way."""
        by_name = {i for i, name in enumerate(self._params[:len(args)]) if name in self._static_argnames}
        # argnums count the function's parameters (those passed by keyword too), when it names them.
        count = len(self._params) if self._params and not self._varargs else len(args)
        static_nums = tuple(sorted(set(_normalize_argnums(self._static_argnums, count)) | by_name))
        names = set(self._static_argnames) | {self._params[i] for i in static_nums if i < len(self._params)}
        static_args = tuple((i, args[i]) for i in static_nums if i < len(args))
        static_kwargs = tuple(sorted((k, v) for k, v in kwargs.items() if k in names))
        dynamic_args = tuple(a for i, a in enumerate(args) if i not in static_nums)
        dynamic_kwargs = {k: v for k, v in kwargs.items() if k not in names}
        for _, value in static_args + static_kwargs:
            try:
                hash(value)
            except TypeError:
                raise ValueError(f"static arguments must be hashable, got {type(value).__name__}: "
                                 f"{value!r}") from None
        return static_args, static_kwargs, (dynamic_args, dynamic_kwargs)

    def _program_function(self, static_args, static_kwargs, nargs):
        def fun(*dynamic_args, **dynamic_kwargs):
            args, dynamic = [], iter(dynamic_args)
            statics = dict(static_args)
            for i in range(nargs):
                args.append(statics[i] if i in statics else next(dynamic))
            return self.fun(*args, **dynamic_kwargs, **dict(static_kwargs))
        return fun

    def _signature(self, args, kwargs):
        static_args, static_kwargs, dynamic = self._split(args, kwargs)
        leaves, in_tree = tree_flatten(dynamic)
        avals = tuple(arg_aval(x, f"argument {i}") for i, x in enumerate(leaves))
        backend = self._backend or backends.default_name()
        key = (static_args, static_kwargs, in_tree, avals, backend, default_device(backend), config.trace_context())
        return key, leaves, in_tree, avals, (static_args, static_kwargs, len(args))

    def _compiled(self, args, kwargs):
        key, leaves, in_tree, avals, statics = self._signature(args, kwargs)
        compiled = self._cache.get(key)
        if compiled is None:
            name = getattr(self.fun, "__name__", "fn")
            if config.no_tracing.value:
                raise RuntimeError(f"re-tracing function {name} for `jit`, but 'no_tracing' is set")
            if config.explain_cache_misses.value:
                logger.warning("TRACING CACHE MISS of %s at %s because: %s", name, user_frame(),
                               _explain_miss(self, key))
            self._last_key = key
            start = time.perf_counter()
            with events.timed(events.TRACE_EVENT, fun_name=name):
                program = trace_program(self._program_function(*statics), avals, in_tree, label=name)
            if config.check_tracer_leaks.value:
                _check_leaks(name, program)
            logging_compiles = config.log_compiles.value
            # The interpreter tier runs the first calls while IREE compiles the program, if it can.
            compiled = interpreter.first_tier(program, key[4], key[5],
                                              functools.partial(_compiled_later, name, avals, start, logging_compiles))
            if compiled is None:
                with events.timed(events.LOWER_EVENT, fun_name=name):
                    program.lower()
                with events.timed(events.COMPILE_EVENT, fun_name=name):
                    compiled = program.compile(key[4], key[5] if program.num_devices == 1 else None)
                if logging_compiles:
                    _log_compile(name, avals, compiled, time.perf_counter() - start)
            elif logging_compiles:
                logger.warning("Running %s for [%s] on %s on the interpreter tier (ready in %.2f s) while IREE "
                               "compiles it", name, _shapes(avals), compiled.device, time.perf_counter() - start)
            self._cache[key] = compiled
        return compiled, leaves

    def __call__(self, *args, **kwargs):
        if current_trace() is not None:
            return self.fun(*args, **kwargs)
        if events.time_span_listeners:  # a profiler trace (or a listener) wants each call's span
            start = time.time()
            outs = self._call(args, kwargs)
            events.record_event_time_span(events.EXECUTE_EVENT, start, time.time(),
                                          fun_name=getattr(self.fun, "__name__", "fn"))
            return outs
        return self._call(args, kwargs)

    def _call(self, args, kwargs):
        if not kwargs and self._fast_path_allowed:
            # The hot path: only Array arguments, so their avals (and the settings) pick the program.
            try:
                key = (tuple([a.aval for a in args]), config.trace_context())
            except AttributeError:
                key = None
            fast = self._fast.get(key)
            if fast is not None:
                return fast(args)
        if self.runs_eagerly and config.disable_jit_state.value:
            return self.fun(*args, **kwargs)
        compiled, leaves = self._compiled(args, kwargs)
        checking = config.debug_nans.value or config.debug_infs.value
        if not kwargs and self._fast_path_allowed and not checking and all(type(a) is Array for a in args):
            self._fast[key] = compiled.fast_caller()
        outs = compiled.call_flat(leaves)
        if checking:
            self._check_values(outs, args, kwargs)
        if self._donate_argnums or self._donate_argnames:
            self._donate(args, kwargs, outs)
        return compiled.out_tree.unflatten(outs)

    def _check_values(self, outs, args, kwargs):
        """debug_nans/debug_infs: FloatingPointError for a NaN or infinity among the results.
        A function given to jit runs again op by op first, so that the error names the op."""
        found = invalid_value(outs)
        if found is None:
            return
        name = getattr(self.fun, "__name__", "fn")
        if self.runs_eagerly:
            logger.warning("Invalid %s value in the output of jitted %s: running it op by op to find the op",
                           found, name)
            with config.disable_jit(True):
                self.fun(*args, **kwargs)  # raises FloatingPointError naming the op
            raise FloatingPointError(
                f"invalid value ({found}) encountered in jit({name}); run op by op (without jit) the function "
                "produced no invalid value, so the compiled program's rounding or fusion differs there")
        raise FloatingPointError(f"invalid value ({found}) encountered in {name}, a transformed function (grad, vmap, "
                                 "...) that mlax cannot run op by op to name the op; check it with jit or eagerly")

    def _donate(self, args, kwargs, outs):
        """Delete the donated argument arrays whose buffers a result of the same shape and
        dtype can take (one result each), as JAX does; warn about the others."""
        donated = [leaf for i in _normalize_argnums(self._donate_argnums, len(args)) if i < len(args)
                   for leaf in tree_leaves(args[i])]
        donated += [leaf for name in self._donate_argnames if name in kwargs for leaf in tree_leaves(kwargs[name])]
        taken, unusable = set(), []
        for leaf in donated:
            if not isinstance(leaf, Array) or leaf.is_deleted():
                continue
            match = next((k for k, out in enumerate(outs) if k not in taken
                          and out.shape == leaf.shape and out.dtype == leaf.dtype), None)
            if match is None:
                unusable.append(leaf.aval.str_short())
                continue
            taken.add(match)
            leaf.delete()
        if unusable:
            warnings.warn(f"Some donated buffers were not usable: {', '.join(unusable)} (no result of the same "
                          "shape and dtype takes them)", UserWarning, stacklevel=3)

    def lower(self, *args, **kwargs):
        """Trace for these arguments (arrays or ShapeDtypeStructs) without compiling."""
        return Lowered(self.trace(args, kwargs), self._backend or backends.default_name())

    def trace(self, args, kwargs, embed_constants=False):
        """The Program of the function for these arguments (arrays or ShapeDtypeStructs);
        static arguments are fixed to their values and drop out of its signature."""
        _, _, in_tree, avals, statics = self._signature(args, kwargs)
        return trace_program(self._program_function(*statics), avals, in_tree, embed_constants=embed_constants,
                             label=getattr(self.fun, "__name__", "fn"))

    def clear_cache(self):
        """Forget the compiled programs: the next call traces and compiles again."""
        self._cache.clear()
        self._fast.clear()


def clear_all_caches():
    """Forget the compiled programs of every jitted and transformed function."""
    for jitted in list(_instances):
        jitted.clear_cache()


def _compiled_later(name, avals, start, logging_compiles, compiled, seconds):
    """A program the interpreter tier ran first is compiled (on the compiling thread)."""
    events.record_event_duration_secs(events.COMPILE_EVENT, seconds, fun_name=name)
    if logging_compiles:
        _log_compile(name, avals, compiled, time.perf_counter() - start)


def _shapes(avals):
    return ", ".join(a.str_short() for a in avals)


def _log_compile(name, avals, compiled, seconds):
    """log_compiles: the function, its argument shapes, the device, the seconds from tracing
    to a loaded program, and whether IREE compiled or the disk cache had its output."""
    iree = "disk cache hit" if compiled.from_disk_cache else f"compiled, {compiled.iree_seconds:.2f} s"
    logger.warning("Compiled %s for [%s] on %s in %.2f s (IREE: %s)", name, _shapes(avals), compiled.device,
                   seconds, iree)


def _explain_miss(jitted, key):
    """Why signature `key` found no program: its differences from the closest signature
    traced before (of the same argument structure if any, then with the fewest differences,
    then the latest), each argument named as in the call."""
    seen = list(jitted._cache) or [jitted._last_key]
    if seen == [None]:
        return "the function was never traced before"
    explained = [(old[2] != key[2], _differences(old, key, jitted._params)) for old in reversed(seen)]
    _, differences = min(explained, key=lambda e: (e[0], len(e[1])))
    if not differences:
        return "the program was dropped (clear_caches)"
    closest = f" (against the closest of the {len(seen)} signatures traced before)" if len(seen) > 1 else ""
    return "; ".join(differences) + closest


class _Missing:
    def __repr__(self):
        return "<not passed>"


_MISSING = _Missing()


def _differences(old, new, params):
    """What differs between two signatures (jit cache keys), in words."""
    (old_static, old_static_kw, old_tree, old_avals, *old_rest), (static, static_kw, tree, avals, *rest) = old, new
    reasons = []
    old_static, static = dict(old_static), dict(static)
    for i in sorted(old_static.keys() | static.keys()):
        if old_static.get(i, _MISSING) != static.get(i, _MISSING):
            reasons.append(f"static argument {_param_name(i, params)} changed from "
                           f"{old_static.get(i, _MISSING)!r} to {static.get(i, _MISSING)!r}")
    old_static_kw, static_kw = dict(old_static_kw), dict(static_kw)
    for k in sorted(old_static_kw.keys() | static_kw.keys()):
        if old_static_kw.get(k, _MISSING) != static_kw.get(k, _MISSING):
            reasons.append(f"static argument {k} changed from {old_static_kw.get(k, _MISSING)!r} to "
                           f"{static_kw.get(k, _MISSING)!r}")
    if old_tree != tree:
        reasons.append(f"the argument structure changed from {old_tree} to {tree}")
    elif old_avals != avals:
        names = _leaf_names(tree, set(static), params)
        reasons += [f"argument {names[i]} changed from {_aval_text(a)} to {_aval_text(b)}"
                    for i, (a, b) in enumerate(zip(old_avals, avals)) if a != b]
    (old_backend, old_device, old_settings), (backend, device, settings) = old_rest, rest
    if old_backend != backend:
        reasons.append(f"the backend changed from {old_backend!r} to {backend!r}")
    elif old_device != device:
        reasons.append(f"the device changed from {old_device!r} to {device!r}")
    reasons += [f"the setting {name} changed from {a!r} to {b!r}"
                for name, a, b in zip(config.trace_context_names(), old_settings, settings) if a != b]
    return reasons


def _aval_text(aval):
    return aval.str_short() + " (weak)" * aval.weak_type


def _param_name(position, params):
    """The name of positional argument `position`: its parameter's, or args[position]."""
    return params[position] if position < len(params) else f"args[{position}]"


def _leaf_names(in_tree, static_positions, params):
    """The name of each argument leaf as the call wrote it: `x`, `params[0][1]`, `scale` (a keyword)."""
    numbered = in_tree.unflatten(range(in_tree.num_leaves))
    positions = [i for i in range(len(numbered[0]) + len(static_positions)) if i not in static_positions]
    names = []
    for path, _ in tree_flatten_with_path(numbered)[0]:
        args_or_kwargs, top, rest = path[0].idx, path[1], keystr(path[2:])
        names.append((_param_name(positions[top.idx], params) if args_or_kwargs == 0 else str(top.key)) + rest)
    return names


def _check_leaks(name, program):
    """check_tracer_leaks: UnexpectedTracerError when a traced value of `program` outlived its tracing."""
    gc.collect()
    leaked = [x for x in gc.get_objects() if isinstance(x, Tracer) and x._trace.builder is program.builder]
    if leaked:
        described = ", ".join(sorted({x.aval.str_short() for x in leaked}))
        raise errors.UnexpectedTracerError(
            f"Leaked trace of {name}: {len(leaked)} traced value(s) ({described}) outlived the tracing of {name}, "
            "kept by a global, a closure or an object; return values from transformed functions instead")


class Lowered:
    """A traced program: `.as_text(stage)` for "mlax" and "stablehlo", `.compile()`."""

    def __init__(self, program, backend):
        self._program = program
        self._backend = backend

    def as_text(self, stage="mlax"):
        return self._program.as_text(stage)

    @property
    def in_avals(self):
        return list(self._program.in_avals)

    @property
    def out_avals(self):
        return list(self._program.out_avals)

    def compile(self):
        return Compiled(self._program.compile(self._backend))


class Compiled:
    """A program compiled for fixed argument shapes; call it like the function."""

    def __init__(self, compiled_program):
        self._compiled = compiled_program

    def __call__(self, *args, **kwargs):
        leaves, _ = tree_flatten(((args, kwargs)))
        if len(leaves) != len(self._compiled.in_avals):
            raise TypeError(f"compiled function takes {len(self._compiled.in_avals)} array arguments, "
                            f"got {len(leaves)}")
        for i, (x, aval) in enumerate(zip(leaves, self._compiled.in_avals)):
            got = arg_aval(x, f"argument {i}")
            if got.shape != aval.shape or got.dtype != aval.dtype:
                raise TypeError(f"argument {i} has shape/dtype {got.str_short()} but the function was "
                                f"compiled for {aval.str_short()}")
        return self._compiled.out_tree.unflatten(self._compiled.call_flat(leaves))


def jit(fun=None, *, static_argnums=(), static_argnames=(), donate_argnums=(), donate_argnames=(), backend=None):
    """Compile `fun` with MLIR/IREE; usable as `@jit` or `@partial(jit, static_argnums=...)`.

    Arguments in `donate_argnums`/`donate_argnames` are donated, as in JAX: a donated array
    whose shape and dtype a result has is deleted after the call (using it raises)."""
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, static_argnames=static_argnames,
                                 donate_argnums=donate_argnums, donate_argnames=donate_argnames, backend=backend)
    jitted = Jitted(fun, static_argnums, static_argnames, donate_argnums, backend, donate_argnames)
    jitted.runs_eagerly = True
    return jitted


def compiled(*static_argnames):
    """Decorator for library functions built from many ops (samplers, decompositions):
    called eagerly they run as one compiled program per signature, not op by op."""
    def wrap(fn):
        jitted = jit(fn, static_argnames=static_argnames)
        return functools.wraps(fn)(lambda *args, **kwargs: jitted(*args, **kwargs))
    return wrap


def make_mlir(fun, static_argnums=()):
    """`make_mlir(f)(*args)` returns f traced to the mlax dialect, as text."""
    jitted = Jitted(fun, static_argnums)

    @functools.wraps(fun)
    def text(*args, **kwargs):
        return jitted.lower(*args, **kwargs).as_text("mlax")
    return text
