"""Transformations built from the others: closure_convert, custom_gradient,
linear_transpose and fwd_and_bwd.

closure_convert traces a function into a function of the module being traced;
the values it closed over become arguments of that function, and the
converted function calls it with the values it is given in their place.
custom_gradient is a custom_vjp whose backward rule is the closure-converted
gradient function the forward pass returned. linear_transpose is the pullback
of a linear function, taken at zero.
"""

import functools

from mlax import errors, ops
from mlax.api._staging import is_differentiable, leaves_of, staged, trace_function
from mlax.api.autodiff import vjp
from mlax.api.custom_rules import custom_vjp
from mlax.api.jit import jit
from mlax.core import dtypes
from mlax.core.trace import Tracer, arg_aval, aval_of, current_trace
from mlax.tree_util import tree_flatten, tree_structure


def _convert(fun, example_args, hoist):
    """(converted fun, hoisted values): fun traced for `example_args` into a function of the
    module being traced; the values it closed over for which `hoist(value)` holds become
    trailing arguments of the converted function (the others stay closed over)."""
    in_tree = tree_structure(tuple(example_args))
    sub, out_tree = trace_function(fun, example_args)
    hoisted = [k for k, value in enumerate(sub.captures) if hoist(value)]
    builder = current_trace().builder

    def converted(*args_and_hoisted):
        split = len(args_and_hoisted) - len(hoisted)
        args, given = args_and_hoisted[:split], args_and_hoisted[split:]
        if tree_structure(tuple(args)) != in_tree:
            raise TypeError("the function closure_convert returned takes arguments of the structure of the example "
                            f"arguments, {in_tree}, then the hoisted values; got {tree_structure(tuple(args))}")
        trace = current_trace()
        if trace is None or trace.builder is not builder:
            raise errors.UnexpectedTracerError(
                "the function closure_convert returned was called outside the transformation it was made in "
                "(its closure holds that transformation's values); call closure_convert where it is used")
        captures = list(sub.captures)
        for k, value in zip(hoisted, given):
            captures[k] = value
        return out_tree.unflatten(trace.call(sub.name, leaves_of(args) + captures, sub.out_avals))
    return converted, [sub.captures[k] for k in hoisted]


def _checked_structure(fun, example_args):
    """fun, checking that its arguments have the structure of `example_args`."""
    in_tree = tree_structure(tuple(example_args))

    @functools.wraps(fun)
    def checked(*args):
        if tree_structure(tuple(args)) != in_tree:
            raise TypeError("the function closure_convert returned takes arguments of the structure of the example "
                            f"arguments, {in_tree}; got {tree_structure(tuple(args))}")
        return fun(*args)
    return checked


def closure_convert(fun, *example_args):
    """(converted, hoisted): `converted(*args, *hoisted)` computes fun(*args), the traced
    floating-point values fun closes over (for arguments like `example_args`) passed
    explicitly as `hoisted`, so that custom_vjp/custom_jvp rules can differentiate them.
    Concrete arrays and integer values stay closed over; outside any transformation
    nothing is traced, so `hoisted` is empty."""
    if current_trace() is None:
        return _checked_structure(fun, example_args), []
    return _convert(fun, example_args, lambda v: isinstance(v, Tracer) and is_differentiable(aval_of(v)))


def custom_gradient(fun):
    """A function with its own reverse-mode rule, given TensorFlow's way: fun(*args)
    returns (output, gradient function), and the gradient function maps the output's
    cotangent to one cotangent per argument (a tuple; a single one may be bare). The
    gradient function may close over the forward pass's values."""
    @functools.wraps(fun)
    def with_gradient(*args):
        if current_trace() is None:
            return fun(*args)[0]
        converted = []  # the gradient function the forward rule traced, for the backward rule

        def forward(*xs):
            out, gradient = fun(*xs)
            rule, residuals = _convert(gradient, (out,), lambda v: isinstance(v, Tracer))
            converted.append(rule)
            return out, residuals

        def backward(residuals, cotangent):
            cotangents = converted[-1](cotangent, *residuals)
            return cotangents if isinstance(cotangents, (tuple, list)) else (cotangents,)

        rule = custom_vjp(lambda *xs: fun(*xs)[0])
        rule.__name__ = getattr(fun, "__name__", "custom_gradient")
        rule.defvjp(forward, backward)
        return rule(*args)
    return with_gradient


def linear_transpose(fun, *primals, reduce_axes=()):
    """The transpose of the linear function fun: a function mapping a cotangent of fun's
    output to the tuple of cotangents of its inputs (whose shapes and dtypes `primals`
    give; their values are not used). fun must be linear in its inputs (mlax takes its
    pullback at zero; a constant term, as in x + 1, is dropped, as in JAX)."""
    if reduce_axes:
        raise NotImplementedError(f"linear_transpose: reduce_axes={reduce_axes!r} is not supported (JAX deprecated "
                                  "it); only reduce_axes=() is")
    in_leaves, in_tree = tree_flatten(primals)
    in_avals = [arg_aval(x, f"primal {i}") for i, x in enumerate(in_leaves)]
    _check_inexact(in_avals)

    @staged
    def transpose_at_zero(cotangent):
        out, pullback = vjp(fun, *in_tree.unflatten([ops.full(a.shape, 0, a.dtype) for a in in_avals]))
        out_leaves, out_tree = tree_flatten(out)
        expected = [aval_of(x) for x in out_leaves]
        _check_inexact(expected)
        ct_leaves, ct_tree = tree_flatten(cotangent)
        got = [aval_of(x) for x in ct_leaves]
        if ct_tree != out_tree or any(g.shape != e.shape or g.dtype != e.dtype for g, e in zip(got, expected)):
            raise TypeError("cotangent type does not match function output, expected "
                            f"{[e.str_short() for e in expected]} ({out_tree}) but got {[g.str_short() for g in got]} "
                            f"({ct_tree})")
        cotangents = tree_flatten(pullback(cotangent))[0]
        return in_tree.unflatten([ops.convert_element_type(ct, a.dtype, weak_type=a.weak_type)
                                  for ct, a in zip(cotangents, in_avals)])

    def transposed(out_cotangent):
        return tuple(transpose_at_zero(out_cotangent))
    return transposed


def _check_inexact(avals):
    for aval in avals:
        if not dtypes.is_inexact(aval.dtype):
            raise NotImplementedError(f"linear_transpose supports floating-point and complex inputs and outputs; got "
                                      f"dtype {aval.dtype.name} (integer -> integer functions are not supported)")


def fwd_and_bwd(fun, argnums, has_aux=False, jitted=True):
    """(fwd, bwd): fwd(*primals) gives (fun(*primals), residuals) (with has_aux, then fun's
    auxiliary data); bwd(residuals, cotangent) gives the cotangents of the arguments at
    `argnums` (bare for an int argnums). Both are jitted unless jitted=False, so bwd
    compiles once for all iterations. mlax's residuals are the primals themselves: bwd
    recomputes the forward pass."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def fwd(*primals):
        out = fun(*primals)
        if has_aux:
            value, aux = out
            return value, primals, aux
        return out, primals

    def bwd(residuals, cotangent):
        def of_differentiated(*differentiated):
            full = list(residuals)
            for i, x in zip(nums, differentiated):
                full[i] = x
            out = fun(*full)
            return out[0] if has_aux else out
        _, pullback = vjp(of_differentiated, *[residuals[i] for i in nums])
        cotangents = pullback(cotangent)
        return cotangents[0] if isinstance(argnums, int) else cotangents
    return (jit(fwd), jit(bwd)) if jitted else (fwd, bwd)
