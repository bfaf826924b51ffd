"""jax.lax's solvers differentiated implicitly, custom_root and custom_linear_solve, and
composite.

A solver's result is computed by the caller's solve function, without its derivative
(stop_gradient); the derivative is then attached to the solution by a custom rule from the
equation it satisfies (the implicit function theorem): for a root x of f(x, c) = 0,
dx = -tangent_solve(df/dx, df/dc dc); for matvec(x, c) = b, dx = solve(matvec, db - dmatvec/dc
dc x). The functions the caller passes close over values (the c); they are traced once each,
and the values they close over become explicit inputs of the rule, so that derivatives with
respect to them are defined, as in JAX.
"""

import functools

from mlax import errors, ops
from mlax.api.autodiff import jvp, vjp
from mlax.api.custom_rules import custom_jvp, custom_vjp, stop_gradient
from mlax.api._staging import staged, trace_function
from mlax.core.trace import Tracer, current_trace
from mlax.tree_util import tree_flatten, tree_map, tree_structure, tree_unflatten


class _Closed:
    """A traced function of the current module with the values it closes over (its captures)
    made explicit: call(args, values) calls it with `values` standing for them, in the order of
    the union `captures` of several such functions."""

    def __init__(self, sub, out_tree, captures):
        self.sub, self.out_tree = sub, out_tree
        self.positions = [next(i for i, c in enumerate(captures) if c is own) for own in sub.captures]

    def __call__(self, args, values):
        leaves = tree_flatten(args)[0] + [values[i] for i in self.positions]
        return self.out_tree.unflatten(current_trace().call(self.sub.name, leaves, self.sub.out_avals))


def _close(traced):
    """_Closed functions for (sub, out_tree) pairs, and the union of what they close over."""
    captures = []
    for sub, _ in traced:
        captures += [c for c in sub.captures if not any(c is seen for seen in captures)]
    return [_Closed(sub, tree, captures) for sub, tree in traced], captures


def _jvp_in(fn, values, values_dot, like):
    """The derivative of fn(values) along values_dot (zeros like `like` when there are no values)."""
    if not values:
        return tree_map(lambda leaf: ops.full(leaf.shape, 0, leaf.dtype), like)
    return jvp(fn, (values,), (values_dot,))[1]


def _run_staged(fn, *args):
    """fn(*args) in the current trace, or as one compiled program outside any."""
    return fn(*args) if current_trace() is not None else staged(fn)(*args)


def _check_tree(what, tree, expected):
    if tree != expected:
        raise TypeError(f"{what} must return a value of the structure {expected}, got {tree}")


def _split_aux(what, out, has_aux):
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{what} with has_aux=True must return a pair (solution, aux), got {type(out).__name__}")
    return out[0], out[1]


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """solve(f, initial_guess), a root x of f (f(x) = 0, a pytree like initial_guess), whose
    derivative with respect to the values f closes over is -tangent_solve(g, df/dc dc), g being
    f linearized at x (the implicit function theorem); the solver is not differentiated. With
    has_aux, solve returns (solution, aux) and so does custom_root (aux without derivative)."""
    def run(guess):
        guess_tree = tree_structure(guess)
        f_sub, f_tree = trace_function(f, (guess,), name="custom_root_f")
        _check_tree("custom_root: f", f_tree, guess_tree)
        solved, solve_tree = trace_function(lambda g: solve(f, g), (guess,), name="custom_root_solve")

        def linearized_solve(x, rhs):
            return tangent_solve(lambda t: jvp(f, (x,), (t,))[1], rhs)
        tangent_sub, tangent_tree = trace_function(linearized_solve, (guess, guess), name="custom_root_tangent_solve")
        _check_tree("custom_root: tangent_solve", tangent_tree, guess_tree)
        (f_closed, solve_closed, tangent_closed), captures = _close(
            [(f_sub, f_tree), (solved, solve_tree), (tangent_sub, tangent_tree)])
        solution, aux = _split_aux("custom_root: solve", solve_closed((guess,), captures), has_aux)
        _check_tree("custom_root: solve", tree_structure(solution), guess_tree)

        @custom_jvp
        def root(values, x):
            return x

        @root.defjvp
        def root_jvp(primals, tangents):
            (values, x), (values_dot, _) = primals, tangents
            x = root(values, x)  # the root as a function of the values again: the rule's own derivative sees it
            rhs = _jvp_in(lambda v: f_closed((x,), v), values, values_dot, x)
            return x, tree_map(ops.neg, tangent_closed((x, rhs), values))

        out = root(list(captures), stop_gradient(solution))
        return (out, stop_gradient(aux)) if has_aux else out
    return _run_staged(run, initial_guess)


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False, has_aux=False):
    """solve(matvec, b), the solution x of the linear system matvec(x) = b (pytrees like b),
    differentiated from that equation rather than through solve: dx = solve(matvec, db -
    dmatvec dx), for the values matvec closes over too. Without transpose_solve (and not
    symmetric) the rule is a JVP: forward mode, and reverse mode where solve is linear in b by
    ops mlax can transpose; with transpose_solve (or symmetric=True, which takes solve for
    it) reverse mode solves the transposed system with it, and forward mode is not available
    (JAX has both). With has_aux, the solvers return (solution, aux) and so does this."""
    if transpose_solve is None and symmetric:
        transpose_solve = solve

    def run(b):
        b_tree = tree_structure(b)
        matvec_sub, matvec_tree = trace_function(matvec, (b,), name="linear_solve_matvec")
        _check_tree("custom_linear_solve: matvec", matvec_tree, b_tree)
        solve_sub, solve_tree = trace_function(lambda v: solve(matvec, v), (b,), name="linear_solve_solve")
        traced = [(matvec_sub, matvec_tree), (solve_sub, solve_tree)]
        if transpose_solve is not None:
            def transposed_solve(v):
                def vecmat(y):  # matvec's transpose (matvec itself when symmetric)
                    return matvec(y) if symmetric else vjp(matvec, b)[1](y)[0]
                return transpose_solve(vecmat, v)
            traced.append(trace_function(transposed_solve, (b,), name="linear_solve_transpose_solve"))
        closed, captures = _close(traced)
        matvec_closed, solve_closed = closed[:2]

        def solve_only(v, values):
            x, _ = _split_aux("custom_linear_solve: solve", solve_closed((v,), values), has_aux)
            return x

        x, aux = _split_aux("custom_linear_solve: solve", solve_closed((b,), captures), has_aux)
        _check_tree("custom_linear_solve: solve", tree_structure(x), b_tree)
        if transpose_solve is None:
            solution = _implicit_jvp(matvec_closed, solve_only)(list(captures), b, stop_gradient(x))
        else:
            transpose_closed = closed[2]

            def transposed_only(v, values):
                y, _ = _split_aux("custom_linear_solve: transpose_solve", transpose_closed((v,), values), has_aux)
                return y
            solution = _implicit_vjp(matvec_closed, solve_only, transposed_only)(list(captures), b,
                                                                              stop_gradient(x))
        return (solution, stop_gradient(aux)) if has_aux else solution
    return _run_staged(run, b)


def _sub(a, b):
    return tree_map(ops.sub, a, b)


def _implicit_jvp(matvec_closed, solve_only):
    """x itself, differentiated as the solution of matvec(x; values) = b."""
    @custom_jvp
    def solution(values, b, x):
        return x

    @solution.defjvp
    def solution_jvp(primals, tangents):
        (values, b, x), (values_dot, b_dot, _) = primals, tangents
        matvec_dot = _jvp_in(lambda v: matvec_closed((x,), v), values, values_dot, b)
        return x, solve_only(_sub(b_dot, matvec_dot), values)
    return solution


def _implicit_vjp(matvec_closed, solve_only, transposed_only):
    """x itself, differentiated in reverse as the solution of matvec(x; values) = b: the
    cotangent of b is the transposed system's solution y, that of the values -y dmatvec/dvalues."""
    @custom_vjp
    def solution(values, b, x):
        return x

    def forward(values, b, x):
        return x, (values, x)

    def backward(residuals, ct):
        values, x = residuals
        y = transposed_only(ct, values)
        if not values:
            return [], y, None
        _, pullback = vjp(lambda v: matvec_closed((x,), v), values)
        (values_ct,) = pullback(y)
        return tree_map(ops.neg, values_ct), y, None
    solution.defvjp(forward, backward)
    return solution


def composite(decomposition, name, version=0):
    """decomposition as a function whose keyword arguments are static attributes: a composite op
    named `name` (at `version`) whose meaning is decomposition. mlax computes the
    decomposition, which a composite's value is by definition; the name and version only let
    a compiler that knows the op substitute a kernel of its own."""
    if not isinstance(name, str):
        raise TypeError(f"composite: name must be a string, got {name!r}")

    @functools.wraps(decomposition)
    def call(*args, **attributes):
        for key, value in attributes.items():
            if any(isinstance(leaf, Tracer) for leaf in tree_flatten(value)[0]):
                raise errors.UnexpectedTracerError(
                    f"composite {name!r}: attribute {key!r} is a traced value; attributes must be known when the "
                    "program is compiled: pass traced values as positional arguments")
        return decomposition(*args, **attributes)
    return call
