"""User-defined differentiation rules (custom_jvp, custom_vjp), checkpoint, stop_gradient.

Each traces the function and its rules into functions of the module and
emits one op naming them ("mlax.custom_jvp_call", "mlax.custom_vjp_call",
"mlax.checkpoint"); mlax-autodiff uses the rules when it differentiates
through the op, and otherwise turns it into a plain call. The rule functions
take the flat array arguments of the call; `nondiff_argnums` arguments are
fixed Python values baked into all of them.
"""

import functools

from mlax.core.mlir import Symbol
from mlax import ops
from mlax.ops import higher_order
from mlax.core.trace import aval_of, current_trace
from mlax.api import checkpoint_policies
from mlax.api._staging import emit_transform, is_differentiable, leaves_of, trace_function, zeros_like_aval
from mlax.tree_util import tree_flatten, tree_map, tree_structure


def stop_gradient(x):
    """x, treated as a constant by differentiation (zero derivative)."""
    def stop(leaf):
        return ops.stop_gradient(leaf) if is_differentiable(aval_of(leaf)) else leaf
    return tree_map(stop, x)


def _out_avals(sub):
    return [a.strip_weak_type() for a in sub.out_avals]


def _split_static(args, nondiff_argnums):
    """(values of the nondiff arguments, the other arguments, a function merging them back)."""
    nondiff = {i % max(len(args), 1) for i in ((nondiff_argnums,) if isinstance(nondiff_argnums, int)
                                               else nondiff_argnums)}
    static = [args[i] for i in sorted(nondiff)]
    dynamic = tuple(a for i, a in enumerate(args) if i not in nondiff)

    def merge(dyn):
        it, static_it = iter(dyn), iter(static)
        return [next(static_it) if i in nondiff else next(it) for i in range(len(args))]
    return static, dynamic, merge


def _embed_constants(sub):
    """A rule is called with the explicit inputs only: the concrete arrays it closes over
    become constants of its function (`trace_function(..., started=_embed_constants)`)."""
    sub.embed_constants = True


def _check_no_captures(name, *subs):
    if any(sub.captures for sub in subs):
        raise TypeError(f"the custom differentiation rules of {name} close over traced values; pass them as "
                        "arguments instead (a rule only covers the function's explicit inputs)")


def _describe(value):
    return type(value).__name__ + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")


class custom_jvp:  # noqa: N801 - JAX's name
    """A function with its own JVP rule: `@f.defjvp def rule(primals, tangents)`
    returns (primal_out, tangent_out). With nondiff_argnums, the rule takes
    those arguments first: rule(*nondiff_args, primals, tangents)."""

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp_rule = None
        # The rule functions being traced, by the avals and static arguments they are for: a
        # call of the function inside its own rule names that rule (its derivative is then the
        # rule's, to any order, as in JAX) instead of tracing the rule again without end.
        self._rules_in_progress = {}

    def defjvp(self, jvp):
        self.jvp_rule = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per argument: `jvps[i](tangent_i, primal_out, *primals)` is argument i's
        share of the output tangent (None: it contributes nothing); the shares are summed."""
        if self.nondiff_argnums:
            raise TypeError("custom_jvp.defjvps cannot be used with nondiff_argnums; use defjvp")

        def jvp(primals, tangents):
            out = self(*primals)  # the rule, not the body, differentiates `out` again
            shares = [rule(t, out, *primals) for rule, t in zip(jvps, tangents) if rule is not None]
            if not shares:
                return out, tree_map(lambda o: ops.full(aval_of(o).shape, 0, aval_of(o).dtype), out)
            return out, tree_map(lambda *parts: functools.reduce(ops.add, parts), *shares)
        self.defjvp(jvp)

    def __call__(self, *args):
        if self.jvp_rule is None:
            raise AttributeError(f"custom_jvp function {self.__name__} has no JVP rule; call .defjvp(rule)")
        if current_trace() is None:
            return self.fun(*args)
        static, dynamic, merge = _split_static(args, self.nondiff_argnums)
        primal, out_tree = trace_function(lambda *dyn: self.fun(*merge(dyn)), dynamic, name=self.__name__)
        try:
            key = (tuple(aval_of(x) for x in leaves_of(dynamic)), tuple(static))
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self._rules_in_progress:
            results = emit_transform(higher_order.custom_jvp_call_p, primal, leaves_of(dynamic) + primal.captures,
                                     _out_avals(primal), jvp=Symbol(self._rules_in_progress[key]))
            return out_tree.unflatten(results)

        def rule(*primals_and_tangents):
            primals = primals_and_tangents[:len(dynamic)]
            tangents = primals_and_tangents[len(dynamic):]
            out, tangent_out = self.jvp_rule(*static, tuple(primals), tuple(tangents))
            for what, value in (("primal output", out), ("tangent output", tangent_out)):
                if tree_structure(value) != out_tree:
                    raise TypeError(f"the custom_jvp rule of {self.__name__} returned a {what} of structure "
                                    f"{tree_structure(value)}, but the function returns {out_tree}")
            return tree_flatten(out)[0] + tree_flatten(tangent_out)[0]

        def started(sub):
            _embed_constants(sub)
            if key is not None:
                self._rules_in_progress[key] = sub.name
        try:
            rule_sub, _ = trace_function(rule, dynamic + dynamic, name=f"{self.__name__}_jvp", started=started)
        finally:
            self._rules_in_progress.pop(key, None)
        _check_no_captures(self.__name__, rule_sub)
        results = emit_transform(higher_order.custom_jvp_call_p, primal, leaves_of(dynamic) + primal.captures,
                                 _out_avals(primal), jvp=Symbol(rule_sub.name))
        return out_tree.unflatten(results)


class custom_vjp:  # noqa: N801 - JAX's name
    """A function with its own reverse-mode rule: `f.defvjp(fwd, bwd)`, where
    fwd(*args) returns (output, residuals) and bwd(residuals, output_cotangent)
    returns a tuple with one cotangent (or None) per argument. With
    nondiff_argnums, bwd takes those arguments first and returns cotangents for
    the others only."""

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None
        self._tracing_rules = False  # inside its own rules, the function is just its primal

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise AttributeError(f"custom_vjp function {self.__name__} has no rules; call .defvjp(fwd, bwd)")
        if current_trace() is None or self._tracing_rules:
            return self.fun(*args)
        static, dynamic, merge = _split_static(args, self.nondiff_argnums)
        primal, out_tree = trace_function(lambda *dyn: self.fun(*merge(dyn)), dynamic, name=self.__name__)
        residual_trees = []

        def fwd(*dyn):
            result = self.fwd(*merge(dyn))
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(f"custom_vjp fwd of {self.__name__} must return (output, residuals), got "
                                f"{_describe(result)}")
            out, residuals = result
            if tree_structure(out) != out_tree:
                raise TypeError(f"custom_vjp fwd of {self.__name__} returned an output of structure "
                                f"{tree_structure(out)}, but the function returns {out_tree}")
            residual_leaves, residual_tree = tree_flatten(residuals)
            residual_trees.append(residual_tree)
            return tree_flatten(out)[0] + residual_leaves

        self._tracing_rules = True
        try:
            fwd_sub, _ = trace_function(fwd, dynamic, name=f"{self.__name__}_fwd", started=_embed_constants)
        finally:
            self._tracing_rules = False
        residual_avals = fwd_sub.out_avals[out_tree.num_leaves:]

        def bwd(*residuals_and_cts):
            residuals = residual_trees[0].unflatten(residuals_and_cts[:len(residual_avals)])
            ct = out_tree.unflatten(residuals_and_cts[len(residual_avals):])
            return self._flat_cotangents(self.bwd(*static, residuals, ct), dynamic)

        placeholders = [zeros_like_aval(a.strip_weak_type()) for a in residual_avals + _out_avals(primal)]
        self._tracing_rules = True
        try:
            bwd_sub, _ = trace_function(bwd, tuple(placeholders), name=f"{self.__name__}_bwd",
                                        started=_embed_constants)
        finally:
            self._tracing_rules = False
        _check_no_captures(self.__name__, fwd_sub, bwd_sub)
        results = emit_transform(higher_order.custom_vjp_call_p, primal, leaves_of(dynamic) + primal.captures,
                                 _out_avals(primal), fwd=Symbol(fwd_sub.name), bwd=Symbol(bwd_sub.name))
        return out_tree.unflatten(results)

    def _flat_cotangents(self, cts, dynamic):
        """bwd's result checked against the arguments, flattened (None -> zeros)."""
        if not isinstance(cts, (tuple, list)) or len(cts) != len(dynamic):
            raise TypeError(f"custom_vjp bwd of {self.__name__} must return a tuple with one cotangent per "
                            f"differentiable argument ({len(dynamic)}), got {_describe(cts)}")
        flat = []
        for i, (ct, arg) in enumerate(zip(cts, dynamic)):
            arg_leaves, arg_tree = tree_flatten(arg)
            if ct is None:
                flat += [zeros_like_aval(aval_of(x).strip_weak_type()) for x in arg_leaves]
                continue
            if tree_structure(ct) != arg_tree:
                raise TypeError(f"custom_vjp bwd of {self.__name__} returned a cotangent of structure "
                                f"{tree_structure(ct)} for argument {i}, whose structure is {arg_tree}")
            for leaf, x in zip(tree_flatten(ct)[0], arg_leaves):
                if aval_of(leaf).shape != aval_of(x).shape:
                    raise TypeError(f"custom_vjp bwd of {self.__name__} returned a cotangent of shape "
                                    f"{aval_of(leaf).shape} for argument {i} of shape {aval_of(x).shape}")
                flat.append(leaf)
        return flat


def checkpoint(fun, prevent_cse=True, policy=None, static_argnums=()):
    """fun, but reverse-mode differentiation recomputes its intermediate values
    in the backward pass instead of keeping them (less memory, more compute).
    Recomputation is never merged with the forward pass (prevent_cse=False only permits
    that in JAX). Of the saving policies (mlax.checkpoint_policies), nothing_saveable is
    the default and everything_saveable keeps every value (fun is then not checkpointed);
    the selective ones are not supported."""
    if policy is checkpoint_policies.everything_saveable:
        return functools.wraps(fun)(lambda *args: fun(*args))
    if policy not in (None, checkpoint_policies.nothing_saveable):
        raise NotImplementedError(f"checkpoint: policy={policy!r} is not supported; mlax saves nothing inside a "
                                  "checkpointed function and recomputes every intermediate (nothing_saveable, the "
                                  "default), or saves everything (everything_saveable)")

    @functools.wraps(fun)
    def remat_f(*args):
        if current_trace() is None:
            return fun(*args)
        static, dynamic, merge = _split_static(args, static_argnums)
        sub, out_tree = trace_function(lambda *dyn: fun(*merge(dyn)), dynamic)
        results = emit_transform(higher_order.checkpoint_p, sub, leaves_of(dynamic) + sub.captures, _out_avals(sub))
        return out_tree.unflatten(results)
    return remat_f


remat = checkpoint
