"""Structured control flow: cond, switch, while_loop, fori_loop, scan, map.

The functions passed in are traced once each into functions of the module;
one op ("mlax.cond", "mlax.while", "mlax.scan") names them. Outside any trace
the construct runs as a compiled program of its own.
"""

import numpy as np

from mlax.core import dtypes
from mlax.core.aval import ShapedArray
from mlax.core.mlir import Symbol
from mlax.core.trace import Trace, aval_of, current_trace
from mlax import ops
from mlax.ops import control_flow as control_flow_ops
from mlax.api._staging import staged, trace_function
from mlax.tree_util import tree_flatten, tree_unflatten

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map"]


def _staged_call(fn, *args):
    """fn(*args) in the current trace, or as one compiled program when there is none."""
    if current_trace() is not None:
        return fn(*args)
    return staged(fn)(*args)


def _describe(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _check_same(what, expected_tree, expected_avals, tree, avals, names=("expected", "got")):
    if tree != expected_tree:
        raise TypeError(f"{what}: {names[0]} has tree structure {expected_tree}, {names[1]} {tree}")
    if [(a.shape, a.dtype) for a in avals] != [(a.shape, a.dtype) for a in expected_avals]:
        raise TypeError(f"{what}: {names[0]} has types {_describe(expected_avals)}, {names[1]} {_describe(avals)}")


def _wrapper(traced, leaf_avals, all_captures, name):
    """A function taking (leaves, every capture of every traced function) that calls `traced`
    with its own captures: so that functions with different captures share one operand list."""
    parent = current_trace()
    trace = Trace(parent.builder, name, list(leaf_avals) + [aval_of(c) for c in all_captures], parent=parent)
    with trace:
        count = len(leaf_avals)
        positions = {id(c): count + i for i, c in enumerate(all_captures)}
        args = trace.args[:count] + [trace.args[positions[id(c)]] for c in traced.captures]
        trace.finish(trace.call(traced.name, args, traced.out_avals))
    return Symbol(trace.name)


def _union(captures_lists):
    seen, union = set(), []
    for captures in captures_lists:
        for c in captures:
            if id(c) not in seen:
                seen.add(id(c))
                union.append(c)
    return union


def switch(index, branches, *operands):
    """`branches[index](*operands)`, index clamped into [0, len(branches) - 1]."""
    return _switch(index, list(branches), operands, [f"branch {i}" for i in range(len(branches))])


def _switch(index, branches, operands, names, predicate=False):
    if not branches:
        raise ValueError("switch needs at least one branch")
    for b in branches:
        if not callable(b):
            raise TypeError(f"switch branches must be callable, got {b!r}")

    def run(index, *operands):
        if aval_of(index).shape != ():
            raise TypeError(f"switch index must be a scalar, got shape {aval_of(index).shape}")
        if predicate and aval_of(index).dtype != dtypes.bool_:  # a number is true when nonzero, as in JAX
            index = ops.ne(index, ops.full((), 0, aval_of(index).dtype))
        index = ops.convert_element_type(index, dtypes.int32)
        index = ops.clamp(0, index, len(branches) - 1)
        traced = [trace_function(b, operands, name=getattr(b, "__name__", "branch")) for b in branches]
        (first, out_tree) = traced[0]
        out_avals = [a.strip_weak_type() for a in first.out_avals]
        for i, (sub, tree) in enumerate(traced[1:], start=1):
            _check_same("the branches must return values of the same types", out_tree, out_avals, tree,
                        [a.strip_weak_type() for a in sub.out_avals], (names[0], names[i]))
        leaves = tree_flatten(operands)[0]
        leaf_avals = [aval_of(x) for x in leaves]
        captures = _union([sub.captures for sub, _ in traced])
        symbols = tuple(_wrapper(sub, leaf_avals, captures, f"{sub.name}_branch") for sub, _ in traced)
        results = current_trace().emit(control_flow_ops.cond_p, [index] + leaves + captures, {"branches": symbols},
                                       out_avals)
        return out_tree.unflatten(results)

    return _staged_call(run, index, *operands)


def cond(pred, true_fun, false_fun, *operands):
    """`true_fun(*operands) if pred else false_fun(*operands)`; pred is a boolean or a number
    (true when nonzero)."""
    return _switch(pred, [false_fun, true_fun], operands, ["false_fun", "true_fun"], predicate=True)


def _carry_avals(leaves):
    return [aval_of(x).strip_weak_type() for x in leaves]


def _as_carry(values, avals):
    """Loop-carried values converted to the carry's dtypes (weak Python scalars adapt)."""
    return [ops.convert_element_type(v, a.dtype) for v, a in zip(values, avals)]


def while_loop(cond_fun, body_fun, init_val, max_steps=None):
    """Repeat init_val = body_fun(init_val) while cond_fun(init_val); return the final value.

    With max_steps (a static int), the loop runs at most that many steps and can be
    differentiated in reverse mode (a data-dependent trip count under a fixed bound)."""
    if max_steps is not None:
        return _bounded_while(cond_fun, body_fun, init_val, int(max_steps))

    def run(init_val):
        leaves, tree = tree_flatten(init_val)
        avals = _carry_avals(leaves)
        carry = _as_carry(leaves, avals)

        def checked_cond(*values):
            out = cond_fun(tree_unflatten(tree, values))
            out_aval = aval_of(out)
            if out_aval.shape != () or out_aval.dtype != dtypes.bool_:
                raise TypeError(f"while_loop cond_fun must return a boolean scalar, got {out_aval.str_short()}")
            return out

        def checked_body(*values):
            new_leaves, new_tree = tree_flatten(body_fun(tree_unflatten(tree, values)))
            _check_same("while_loop body_fun must return a value of the type of its input", tree, avals, new_tree,
                        _carry_avals(new_leaves), ("the input", "body_fun's result"))
            return _as_carry(new_leaves, avals)

        cond_sub, _ = trace_function(checked_cond, carry, name="cond_fun", avals=avals)
        body_sub, _ = trace_function(checked_body, carry, name="body_fun", avals=avals)
        results = current_trace().emit(
            control_flow_ops.while_p, carry + cond_sub.captures + body_sub.captures,
            {"cond": Symbol(cond_sub.name), "body": Symbol(body_sub.name), "num_carry": len(carry),
             "num_cond_consts": len(cond_sub.captures)}, avals)
        return tree_unflatten(tree, results)

    return _staged_call(run, init_val)


def _bounded_while(cond_fun, body_fun, init_val, max_steps):
    """while_loop as a scan of max_steps steps that stop changing the value once cond_fun fails."""
    def step(carry, _):
        going, value = carry
        going = ops.bitwise_and(going, cond_fun(value))
        stepped = body_fun(value)
        leaves, tree = tree_flatten(value)
        new_leaves = tree_flatten(stepped)[0]
        kept = [ops.select(ops.broadcast_in_dim(going, aval_of(old).shape, ()), ops.convert_element_type(
            new, aval_of(old).dtype), old) for new, old in zip(new_leaves, leaves)]
        return (going, tree_unflatten(tree, kept)), None

    (_, value), _ = scan(step, (ops.full((), True, dtypes.bool_), init_val), None, length=max_steps)
    return value


def fori_loop(lower, upper, body_fun, init_val):
    """val = body_fun(i, val) for i in range(lower, upper). With static bounds the loop is a
    scan (so reverse-mode differentiable); with traced bounds, a while loop."""
    if all(isinstance(b, (int, np.integer)) for b in (lower, upper)):
        lower, upper = int(lower), int(upper)

        def step(carry, _):
            i, value = carry
            return (ops.add(i, 1), body_fun(i, value)), None

        start = ops.full((), lower, dtypes.int32)
        (_, value), _ = scan(step, (start, init_val), None, length=max(upper - lower, 0))
        return value

    def keep_going(carry):
        return ops.lt(carry[0], carry[1])

    def step(carry):
        i, stop, value = carry
        return ops.add(i, 1), stop, body_fun(i, value)

    start = ops.convert_element_type(lower, dtypes.int32)
    stop = ops.convert_element_type(upper, dtypes.int32)
    return while_loop(keep_going, step, (start, stop, init_val))[2]


# A scan over no xs and stacking no ys (fori_loop's) whose step is a few cheap ops (arithmetic
# that lowers to a StableHLO op or a few, broadcasts, reshapes; not sin, whose float32 lowering
# is 300 ops) runs several steps in each iteration of its loop, as scan's unroll= asks:
# IREE runs an iteration as dispatches the host waits for (a few µs each), more than such a step
# computes, and the unrolled steps fuse into one dispatch. Up to this many ops per iteration.
# (With xs or ys each step slices and updates them too, ops IREE does not fuse: a 1000-step
# scan with a one-op step took 7 s to compile unrolled, 0.6 s not.)
UNROLLED_OPS = 256
_CHEAP_OPS = frozenset("mlax." + name for name in (
    "add", "sub", "mul", "div", "neg", "max", "min", "abs", "select", "exp", "log", "tanh", "logistic", "sqrt",
    "rsqrt", "convert_element_type", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "constant",
    "broadcast_in_dim", "reshape"))


def _steps_per_iteration(sub, unroll, steps, carry_only):
    """Steps of a scan per iteration of its loop: `unroll` as scan takes it (True: all of them),
    more when the scan is `carry_only` (no xs, no ys) and its step `sub` (a Trace) a few cheap ops."""
    if unroll is True:
        return max(steps, 1)
    chosen = max(int(unroll), 1)
    if not carry_only:
        return chosen
    body = [op for op in sub.function.block.operations if op.name != "func.return"]
    if not all(op.name in _CHEAP_OPS for op in body):
        return chosen
    return max(chosen, UNROLLED_OPS // max(len(body), 1))


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """carry, y = f(carry, x) over the slices x of xs along axis 0; returns (final carry, stacked ys).
    `unroll` steps (True: all) run in each iteration of the loop, as in JAX; a few are anyway when a
    step is a few cheap ops."""
    if not isinstance(unroll, (bool, int, np.integer)) or unroll < 0:
        raise ValueError(f"scan: `unroll` must be a `bool` or a non-negative `int`, got {unroll!r}")

    def run(init, xs):
        carry_leaves, carry_tree = tree_flatten(init)
        x_leaves, x_tree = tree_flatten(xs)
        lengths = {aval_of(x).shape[0] if aval_of(x).shape else None for x in x_leaves}
        if None in lengths:
            raise ValueError("scan: every array in xs needs a leading axis to scan over")
        if length is not None:
            lengths.add(int(length))
        if len(lengths) != 1:
            raise ValueError(f"scan: xs and length disagree on the number of steps: {sorted(lengths)}")
        steps = lengths.pop()
        carry_avals = _carry_avals(carry_leaves)
        slice_avals = [ShapedArray(aval_of(x).shape[1:], aval_of(x).dtype) for x in x_leaves]
        y_tree = []

        def body(*values):
            carry = tree_unflatten(carry_tree, values[:len(carry_leaves)])
            x = tree_unflatten(x_tree, values[len(carry_leaves):])
            out = f(carry, x)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise TypeError(f"scan: f must return a pair (carry, y), got {type(out).__name__}")
            new_leaves, new_tree = tree_flatten(out[0])
            _check_same("scan: f must return a carry of the type of its input carry", carry_tree, carry_avals,
                        new_tree, _carry_avals(new_leaves), ("the input carry", "f's carry"))
            y_leaves, tree = tree_flatten(out[1])
            y_tree.append(tree)
            return _as_carry(new_leaves, carry_avals) + y_leaves

        operands = _as_carry(carry_leaves, carry_avals) + x_leaves
        sub, _ = trace_function(body, operands, name=getattr(f, "__name__", "scan_body"),
                                avals=carry_avals + slice_avals)
        y_avals = [a.strip_weak_type() for a in sub.out_avals[len(carry_leaves):]]
        out_avals = carry_avals + [ShapedArray((steps,) + a.shape, a.dtype) for a in y_avals]
        results = current_trace().emit(
            control_flow_ops.scan_p, operands + sub.captures,
            {"body": Symbol(sub.name), "length": steps, "reverse": bool(reverse),
             "num_carry": len(carry_leaves), "num_xs": len(x_leaves),
             "unroll": _steps_per_iteration(sub, unroll, steps, not x_leaves and not y_avals)}, out_avals)
        return (tree_unflatten(carry_tree, results[:len(carry_leaves)]),
                tree_unflatten(y_tree[0], results[len(carry_leaves):]))

    return _staged_call(run, init, xs)


def map(f, xs):  # noqa: A001 - JAX's name
    """[f(x) for x in xs] along axis 0, stacked, as one loop."""
    return scan(lambda carry, x: (carry, f(x)), (), xs)[1]
