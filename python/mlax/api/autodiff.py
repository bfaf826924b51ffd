"""Automatic differentiation: grad, value_and_grad, jvp, vjp, linearize,
jacfwd, jacrev, hessian.

Tracing only records: the function is traced into a function of the module
and a "mlax.jvp" or "mlax.vjp" op names it; the mlax-autodiff pass writes the
derivative. Outside any trace each transformation runs as a compiled program.
"""

import functools


from mlax import errors, ops
from mlax.core import dtypes
from mlax.core.trace import aval_of
from mlax.ops import higher_order
from mlax.api.vmap import vmap
from mlax.api._staging import (as_value, bind_concrete, call_function, concrete_names, concrete_positions,
                               emit_transform, hold_concrete, is_differentiable, leaves_of, memoized_transform,
                               ones_like_aval, staged, trace_function, zeros_like_aval)
from mlax.tree_util import tree_flatten, tree_structure, tree_unflatten


def _argnums_tuple(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _wrt_leaves(args, argnums):
    """Flat leaf indices of args[i] for i in argnums, and each argument's leaf range."""
    ranges, start = [], 0
    for a in args:
        count = len(tree_flatten(a)[0])
        ranges.append(range(start, start + count))
        start += count
    return [k for i in argnums for k in ranges[i % len(args)]], ranges


def _check_differentiable_inputs(name, args, argnums):
    """ShapeError (a ValueError and a TypeError) for argnums naming no positional argument,
    TypeError for a non-float input."""
    for i in argnums:
        if not -len(args) <= i < len(args):
            raise errors.ShapeError(f"{name}: argnums {argnums} refers to argument {i}, but the function was called "
                                    f"with {len(args)} positional argument{'s' if len(args) != 1 else ''}")
    for i in argnums:
        for leaf in tree_flatten(args[i])[0]:
            aval = aval_of(leaf)
            if not is_differentiable(aval):
                raise TypeError(f"{name} requires real- or complex-valued inputs (a floating-point dtype), but "
                                f"argument {i} has dtype {aval.dtype.name} (shape {aval.shape}); integer and "
                                "boolean inputs have no derivative")


def _split_aux(name, has_aux):
    def post(out):
        if not has_aux:
            return out, ()
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"{name} with has_aux=True requires the function to return a pair "
                            f"(output, auxiliary data), got {type(out).__name__}"
                            + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        return tuple(out)
    return post


def _scalar_output(name):
    def check(out):
        out = as_value(out)
        if out.shape != ():
            raise TypeError(f"{name} is only defined for functions with a scalar output, but the output has "
                            f"shape {out.shape}; use jacrev/vjp for non-scalar outputs")
        if not is_differentiable(out.aval):
            raise TypeError(f"{name} requires a real- or complex-valued output, got dtype {out.dtype.name}")
        return out
    return check


@memoized_transform
def _value_and_grads(fun, argnums, has_aux, concrete=(), names=()):
    """Staged: ((value, aux), gradients as a tuple, one per argnum). The arguments at
    `concrete` and `names` come Concrete-wrapped and reach fun as they were given."""
    def value_and_grads(*args, **kwargs):
        _check_differentiable_inputs("grad", args, argnums)
        fun_of, dynamic_args, position, kwargs = bind_concrete(fun, args, kwargs, concrete)
        dynamic_argnums = tuple(position[i % len(args)] for i in argnums)
        wrt, ranges = _wrt_leaves(dynamic_args, dynamic_argnums)
        split = _split_aux("grad", has_aux)

        def post(out):
            value, aux = split(out)
            return _scalar_output("grad")(value), aux

        sub, out_tree = trace_function(fun_of, dynamic_args, kwargs, post=post)
        leaves = leaves_of(dynamic_args, kwargs)
        out_avals = [a.strip_weak_type() for a in sub.out_avals]
        cotangents = [ones_like_aval(out_avals[0])] + [zeros_like_aval(a) for a in out_avals[1:]]
        results = emit_transform(higher_order.vjp_p, sub, leaves + sub.captures + cotangents,
                                 out_avals + [aval_of(leaves[k]) for k in wrt], wrt=tuple(wrt))
        value_and_aux = out_tree.unflatten(results[:len(out_avals)])
        grads_flat = iter(results[len(out_avals):])
        grads = tuple(tree_unflatten(tree_structure(dynamic_args[i]), [next(grads_flat) for _ in ranges[i]])
                      for i in dynamic_argnums)
        return value_and_aux, grads
    return staged(value_and_grads, static_argnums=concrete, static_argnames=names)


def value_and_grad(fun, argnums=0, has_aux=False):
    """A function returning (fun(*args), the gradient of fun with respect to args[argnums]).

    With has_aux, fun returns (value, aux) and the result is ((value, aux), gradient).
    A tuple `argnums` gives a tuple of gradients. Arguments not differentiated that hold
    no array (numbers, strings, settings) reach fun as they were given, as in JAX."""
    nums = _argnums_tuple(argnums)

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        concrete, names = concrete_positions(args, nums), concrete_names(kwargs)
        args, kwargs = hold_concrete(args, kwargs, concrete, names)
        (value, aux), grads = _value_and_grads(fun, nums, has_aux, concrete, names)(*args, **kwargs)
        grads = grads[0] if isinstance(argnums, int) else grads
        return ((value, aux), grads) if has_aux else (value, grads)
    return value_and_grad_f


def grad(fun, argnums=0, has_aux=False):
    """The gradient of a scalar-valued `fun` with respect to args[argnums]; nests to any order."""
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        out, grads = vg(*args, **kwargs)
        return (grads, out[1]) if has_aux else grads
    return grad_f


def _check_tangents(name, primals, tangents):
    primal_leaves, primal_tree = tree_flatten(primals)
    tangent_leaves, tangent_tree = tree_flatten(tangents)
    if primal_tree != tangent_tree:
        raise TypeError(f"{name}: primal and tangent arguments must have the same tree structure, got "
                        f"{primal_tree} and {tangent_tree}")
    for p, t in zip(primal_leaves, tangent_leaves):
        p_aval, t_aval = aval_of(p), aval_of(t)
        if p_aval.shape != t_aval.shape or (is_differentiable(p_aval) and p_aval.dtype != t_aval.dtype):
            raise errors.ShapeError(f"{name}: primal and tangent arguments must have equal shapes and dtypes, got "
                                    f"primal {p_aval.str_short()} and tangent {t_aval.str_short()}")


@memoized_transform
def _jvp_staged(fun, has_aux):
    @staged
    def jvp_f(primals, tangents):
        split = _split_aux("jvp", has_aux)
        sub, out_tree = trace_function(fun, primals, post=split)
        leaves = leaves_of(primals)
        wrt = [k for k, x in enumerate(leaves) if is_differentiable(aval_of(x))]
        tangent_leaves = tree_flatten(tuple(tangents))[0]
        out_avals = [a.strip_weak_type() for a in sub.out_avals]
        results = emit_transform(higher_order.jvp_p, sub, leaves + sub.captures + [tangent_leaves[k] for k in wrt],
                                 out_avals + out_avals, wrt=tuple(wrt))
        primal_out, aux = out_tree.unflatten(results[:len(out_avals)])
        tangent_out, _ = out_tree.unflatten(results[len(out_avals):])
        return (primal_out, tangent_out, aux) if has_aux else (primal_out, tangent_out)
    return jvp_f


def jvp(fun, primals, tangents, has_aux=False):
    """(fun(*primals), the directional derivative of fun at primals along tangents)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists, got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    _check_tangents("jvp", tuple(primals), tuple(tangents))
    return _jvp_staged(fun, has_aux)(tuple(primals), tuple(tangents))


@memoized_transform
def _primal_staged(fun, has_aux):
    @staged
    def primal_f(primals):
        sub, out_tree = trace_function(fun, primals, post=_split_aux("vjp", has_aux))
        return out_tree.unflatten(call_function(sub, leaves_of(primals)))
    return primal_f


@memoized_transform
def _pullback_staged(fun, has_aux):
    @staged
    def pullback_f(primals, cotangents):
        sub, out_tree = trace_function(fun, primals, post=_split_aux("vjp", has_aux))
        leaves = leaves_of(primals)
        out_avals = [a.strip_weak_type() for a in sub.out_avals]
        value_tree = tree_structure(out_tree.unflatten(out_avals)[0])
        ct_leaves, ct_tree = tree_flatten(cotangents)
        if ct_tree != value_tree:
            raise TypeError(f"vjp: the cotangent must have the structure of the output {value_tree}, "
                            f"got {ct_tree}")
        for ct, aval in zip(ct_leaves, out_avals):
            ct_aval = aval_of(ct)
            if ct_aval.shape != aval.shape:
                raise ValueError(f"vjp: the cotangent has shape {ct_aval.shape}, the output has shape {aval.shape}")
        ct_leaves = [ops.convert_element_type(as_value(ct), aval.dtype) for ct, aval in zip(ct_leaves, out_avals)]
        aux_zeros = [zeros_like_aval(a) for a in out_avals[len(ct_leaves):]]
        wrt = [k for k, x in enumerate(leaves) if is_differentiable(aval_of(x))]
        results = emit_transform(higher_order.vjp_p, sub, leaves + sub.captures + ct_leaves + aux_zeros,
                                 out_avals + [aval_of(leaves[k]).strip_weak_type() for k in wrt], wrt=tuple(wrt))
        grads = dict(zip(wrt, results[len(out_avals):]))
        flat = [grads[k] if k in grads else zeros_like_aval(aval_of(x)) for k, x in enumerate(leaves)]
        return tree_structure(primals).unflatten(flat)
    return pullback_f


def vjp(fun, *primals, has_aux=False):
    """(fun(*primals), pullback[, aux]): pullback(cotangent) gives the cotangents of primals.

    Under jit the forward computation is shared with the pullback's (the
    pullback's recomputation is merged by simplification); outside a trace
    the pullback recomputes the forward pass."""
    out, aux = _primal_staged(fun, has_aux)(primals)

    def pullback(cotangent):  # (names fun: the staged pullback holds it weakly, the caller may not at all)
        return _pullback_staged(fun, has_aux)(primals, cotangent)
    return (out, pullback, aux) if has_aux else (out, pullback)


def linearize(fun, *primals):
    """`(fun(*primals), f_jvp)` where `f_jvp(*tangents)` is the JVP at primals."""
    out, _ = _primal_staged(fun, False)(primals)

    def f_jvp(*tangents):  # (names fun: the staged jvp holds it weakly, the caller may not at all)
        _check_tangents("linearize", tuple(primals), tuple(tangents))
        return _jvp_staged(fun, False)(tuple(primals), tuple(tangents))[1]
    return out, f_jvp



def _restrict(fun, args, nums):
    """fun as a function of args[nums] only, and those arguments."""
    def restricted(*diff_args):
        full = list(args)
        for i, a in zip(nums, diff_args):
            full[i] = a
        return fun(*full)
    return restricted, tuple(args[i] for i in nums)


def _basis(leaves):
    """The standard basis over all entries of `leaves`: per leaf, shape (total,) + leaf shape."""
    sizes = [aval_of(x).size for x in leaves]
    total = sum(sizes)
    eye = ops.eq(ops.broadcasted_iota(dtypes.int32, (total, total), 0),
                      ops.broadcasted_iota(dtypes.int32, (total, total), 1))
    blocks, start = [], 0
    for x, size in zip(leaves, sizes):
        aval = aval_of(x)
        block = ops.slice_in_dim(eye, start, start + size, axis=1)
        blocks.append(ops.convert_element_type(ops.reshape(block, (total,) + aval.shape), aval.dtype))
        start += size
    return blocks


def _axis_to_end(x):
    """x with its first axis moved last."""
    ndim = aval_of(x).ndim
    return ops.transpose(x, tuple(range(1, ndim)) + (0,))


def _segments(avals):
    bounds, start = [], 0
    for aval in avals:
        bounds.append((start, start + aval.size))
        start += aval.size
    return bounds


def _pick(argnums, per_arg):
    return per_arg[0] if isinstance(argnums, int) else tuple(per_arg)


def jacfwd(fun, argnums=0, has_aux=False):
    """The Jacobian of fun with respect to args[argnums] by forward mode: one JVP
    vmapped over the standard basis of the inputs. Shapes: output shape + input shape."""
    nums = _argnums_tuple(argnums)

    def jacobian(*args):
        _check_differentiable_inputs("jacfwd", args, nums)
        restricted, diff_args = _restrict(fun, args, nums)
        in_leaves, in_tree = tree_flatten(diff_args)
        tangent_basis = in_tree.unflatten(_basis(in_leaves))
        pushforward = lambda tangents: jvp(restricted, diff_args, tangents, has_aux=has_aux)  # noqa: E731
        results = vmap(pushforward, out_axes=(None, 0, None) if has_aux else (None, 0))(tangent_basis)
        out_leaves, out_tree = tree_flatten(results[0])
        columns = tree_flatten(results[1])[0]
        in_avals = [aval_of(x) for x in in_leaves]
        blocks = []
        for column, out in zip(columns, out_leaves):
            per_input = [ops.reshape(_axis_to_end(ops.slice_in_dim(column, start, stop, axis=0)),
                                          out.shape + in_aval.shape)
                         for (start, stop), in_aval in zip(_segments(in_avals), in_avals)]
            blocks.append(_pick(argnums, in_tree.unflatten(per_input)))
        jac = out_tree.unflatten(blocks)
        return (jac, results[2]) if has_aux else jac
    return staged(jacobian)


def jacrev(fun, argnums=0, has_aux=False):
    """The Jacobian of fun with respect to args[argnums] by reverse mode: one
    pullback vmapped over the standard basis of the outputs."""
    nums = _argnums_tuple(argnums)

    def jacobian(*args):
        _check_differentiable_inputs("jacrev", args, nums)
        restricted, diff_args = _restrict(fun, args, nums)
        result = vjp(restricted, *diff_args, has_aux=has_aux)
        out, pullback = result[0], result[1]
        out_leaves, out_tree = tree_flatten(out)
        rows = vmap(pullback)(out_tree.unflatten(_basis(out_leaves)))
        in_leaves_rows, in_tree = tree_flatten(tuple(rows))
        in_avals = [aval_of(x).update(shape=aval_of(x).shape[1:]) for x in in_leaves_rows]
        blocks = []
        for (start, stop), out_leaf in zip(_segments([aval_of(o) for o in out_leaves]), out_leaves):
            per_input = [ops.reshape(ops.slice_in_dim(row, start, stop, axis=0),
                                          aval_of(out_leaf).shape + in_aval.shape)
                         for row, in_aval in zip(in_leaves_rows, in_avals)]
            blocks.append(_pick(argnums, in_tree.unflatten(per_input)))
        jac = out_tree.unflatten(blocks)
        return (jac, result[2]) if has_aux else jac
    return staged(jacobian)


def hessian(fun, argnums=0, has_aux=False):
    """The Hessian of a scalar fun: jacfwd of jacrev."""
    return jacfwd(jacrev(fun, argnums, has_aux), argnums, has_aux)
