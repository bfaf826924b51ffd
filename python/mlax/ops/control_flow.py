"""Control flow: cond (one of several functions, chosen by an index), while (a loop
that runs while a function says so) and scan (a loop over the leading axis of
arrays that stacks what each step returns).

Each op names the functions it runs; its operands are laid out as:
- cond:  the index (i32 scalar), then the operands every branch takes.
         %r = "mlax.cond"(%i, %x) {branches = [@f0, @f1]} : (tensor<i32>, tensor<3xf32>) -> tensor<3xf32>
- while: the carry, then @cond's constants, then @body's constants.
         @cond: (carry..., its constants...) -> i1 scalar; @body: (carry..., its constants...) -> carry
- scan:  the carry, then the arrays xs scanned along axis 0, then @body's constants.
         @body: (carry..., one slice of each x..., constants...) -> (carry..., one slice of each y...)
         results: the final carry, then the ys stacked along a new axis 0.
Their result types come from those functions. Their batching rules (and
differentiation rules, and spmd rules for pmap) build batched (differentiated,
one-instance-per-device) versions of the functions through the `ctx` the pass
running them passes in.
"""

import math

from iree.compiler import ir
from iree.compiler.dialects import func as func_dialect

from mlax import ops
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import current_trace
from mlax.ops import _hlo
from mlax.ops._batching import batch_size, move_axis, to_front
from mlax.ops._rules import instantiate, is_linear, zeros

__all__: list[str] = []  # the builders this family exports (mlax.lax re-exports them)


def _typed_by_functions(*avals, **attrs):
    raise TypeError("the result types of a control-flow op come from the functions it names")


def _call(name, operands, result_types):
    call = func_dialect.CallOp(list(result_types), ir.FlatSymbolRefAttr.get(name), list(operands))
    return list(call.results)


# -- lowering -----------------------------------------------------------------------------

def _lower_cond(ctx, index, *operands, branches):
    case = _hlo.op("stablehlo.case", [index], ctx.out_types, regions=len(branches))
    for region, name in zip(case.regions, branches):
        with ir.InsertionPoint(region.blocks.append()):
            _hlo.op("stablehlo.return", _call(name, operands, ctx.out_types), [])
    return list(case.results)


def _lower_while(ctx, *operands, cond, body, num_carry, num_cond_consts):
    types = [v.type for v in operands]
    loop = _hlo.op("stablehlo.while", operands, types, regions=2)
    cond_block, body_block = loop.regions[0].blocks.append(*types), loop.regions[1].blocks.append(*types)
    split = num_carry + num_cond_consts
    with ir.InsertionPoint(cond_block):
        args = list(cond_block.arguments)
        pred = _call(cond, args[:split], [mlir.tensor_type((), dtypes.bool_)])
        _hlo.op("stablehlo.return", pred, [])
    with ir.InsertionPoint(body_block):
        args = list(body_block.arguments)
        carry = _call(body, args[:num_carry] + args[split:], types[:num_carry])
        _hlo.op("stablehlo.return", carry + args[num_carry:], [])
    return list(loop.results)[:num_carry]


def _index_constant(value):
    return _hlo.constant(value, dtypes.int32)


# IREE 3.13 copies a loop-carried buffer whole in every iteration that updates it, so a scan
# stacking ys of S bytes over T steps copies T*S bytes: 320 MB per call for a 100-step RNN's saved
# states, a third of its time. When the stacked ys pass CHUNKED_BYTES the steps run in chunks of
# about sqrt(T): an inner loop stacks one chunk's ys, the outer loop writes each chunk into the
# whole, and about 2*sqrt(T)*S bytes move.
CHUNKED_BYTES = 1 << 20


def _counted_loop(start, stop, stride, state, body):
    """A stablehlo.while over i = start, start+stride, ... below `stop` (ints: IREE runs a loop with
    constant bounds as an scf.for on the host); body(i, state) -> the next state. Returns the final state."""
    state = [_index_constant(start)] + list(state)
    types = [v.type for v in state]
    loop = _hlo.op("stablehlo.while", state, types, regions=2)
    cond_block, body_block = loop.regions[0].blocks.append(*types), loop.regions[1].blocks.append(*types)
    with ir.InsertionPoint(cond_block):
        _hlo.op("stablehlo.return", [_hlo.compare(cond_block.arguments[0], _index_constant(stop), "LT")], [])
    with ir.InsertionPoint(body_block):
        i, *inner = body_block.arguments
        _hlo.op("stablehlo.return", [_plus(i, stride)] + list(body(i, inner)), [])
    return list(loop.results)[1:]


def _plus(i, k):
    return _hlo.value("stablehlo.add", [i, _index_constant(k)], i.type) if k else i


def _chunk_size(length):
    """The divisor of `length` nearest sqrt(length) within a factor of 2 of it, else ceil(sqrt)."""
    root = math.isqrt(length)
    divisors = [d for d in range(max(2, root // 2), 2 * root + 1) if length % d == 0]
    return min(divisors, key=lambda d: abs(d - root)) if divisors else root


def _lower_scan(ctx, *operands, body, length, num_carry, num_xs, reverse=False, unroll=1):
    carry, xs, consts = (list(operands[:num_carry]), list(operands[num_carry:num_carry + num_xs]),
                         list(operands[num_carry + num_xs:]))
    carry_types = ctx.out_types[:num_carry]
    ys_types = ctx.out_types[num_carry:]
    y_shapes = [mlir.shape_dtype(t)[0][1:] for t in ys_types]
    y_dtypes = [mlir.shape_dtype(t)[1] for t in ys_types]
    y_types = [mlir.tensor_type(shape, dtype) for shape, dtype in zip(y_shapes, y_dtypes)]
    n_carry, n_ys = num_carry, len(ys_types)

    def split(state):
        """A loop's state as (carry, stacked ys, the rest: xs, constants, ...)."""
        return state[:n_carry], state[n_carry:n_carry + n_ys], state[n_carry + n_ys:]

    def stacks(rows, first_fill):
        # Each stack starts from its own fill value (every slot is written): IREE 3.13 let two
        # loop-carried buffers made from one constant share storage when a loop result is moved
        # between devices (iree-stream-elide-async-copies drops their copy-on-write clones).
        return [_hlo.constant(first_fill + n, dtype, (rows,) + shape)
                for n, (shape, dtype) in enumerate(zip(y_shapes, y_dtypes))]

    def step(i, carry, ys, xs, consts, row=None):
        """Step i (an i32 scalar): the body on the slices at i (from the end when reverse); its ys
        go to the row of the slices, or to `row`. Returns (carry, ys)."""
        at = _hlo.value("stablehlo.subtract", [_index_constant(length - 1), i], i.type) if reverse else i
        slices = []
        for x in xs:
            shape, dtype = _hlo.shape_of(x), _hlo.dtype_of(x)
            zeros = [_index_constant(0)] * (len(shape) - 1)
            piece = _hlo.value("stablehlo.dynamic_slice", [x, at] + zeros, mlir.tensor_type((1,) + shape[1:], dtype),
                               slice_sizes=(1,) + tuple(shape[1:]))
            slices.append(_hlo.reshape(piece, shape[1:]))
        results = _call(body, carry + slices + consts, list(carry_types) + y_types)
        new_ys = []
        for stacked, y in zip(ys, results[num_carry:]):
            shape = _hlo.shape_of(stacked)
            zeros = [_index_constant(0)] * (len(shape) - 1)
            update = _hlo.reshape(y, (1,) + shape[1:])
            new_ys.append(_hlo.value("stablehlo.dynamic_update_slice", [stacked, update, at if row is None else row]
                                     + zeros, stacked.type))
        return results[:num_carry], new_ys

    def chunk(first, steps, carry, whole, xs, consts):
        """Steps first .. first+steps-1 (`first` an i32 scalar) in a loop that stacks their ys in a
        chunk of `steps` rows, then the chunk written into `whole` at row `first`; (carry, whole)."""
        def one(j, state):
            carry, rows, (first, *rest) = split(state)
            i = _hlo.value("stablehlo.add", [first, j], j.type)
            carry, rows = step(i, carry, rows, rest[:num_xs], rest[num_xs:], row=j)
            return carry + rows + [first] + rest
        out = _counted_loop(0, steps, 1, carry + stacks(steps, n_ys) + [first] + xs + consts, one)
        whole = [_hlo.value("stablehlo.dynamic_update_slice", [w, rows, first] + [_index_constant(0)] * len(shape),
                            w.type) for w, rows, shape in zip(whole, out[n_carry:n_carry + n_ys], y_shapes)]
        return out[:n_carry], whole

    stacked_bytes = sum(length * math.prod(shape) * dtype.itemsize for shape, dtype in zip(y_shapes, y_dtypes))
    if unroll == 1 and length > 3 and stacked_bytes > CHUNKED_BYTES:
        size = _chunk_size(length)
        chunked = length - length % size

        def iteration(first, state):
            carry, whole, rest = split(state)
            carry, whole = chunk(first, size, carry, whole, rest[:num_xs], rest[num_xs:])
            return carry + whole + rest
        def last_steps(i, state):  # past the last whole chunk, straight into the whole (a chunk of
            # one row would be the size of the update written into it, which may then share its storage)
            carry, whole, rest = split(state)
            carry, whole = step(i, carry, whole, rest[:num_xs], rest[num_xs:], row=i)
            return carry + whole + rest
        final = _counted_loop(0, chunked, size, carry + stacks(length, 0) + xs + consts, iteration)
        if chunked < length:
            final = _counted_loop(chunked, length, 1, final, last_steps)
        carry, ys, _ = split(final)
        if reverse:  # the chunks hold the ys in step order
            ys = [_hlo.value("stablehlo.reverse", [y], y.type, dimensions=(0,)) for y in ys]
        return carry + ys

    # `unroll` steps per iteration, the index advancing by `unroll`; the steps past the last whole
    # iteration follow the loop.
    unroll = max(1, min(unroll, length))
    whole_steps = length - length % unroll

    def iteration(i, state):
        carry, ys, rest = split(state)
        for k in range(unroll):
            carry, ys = step(_plus(i, k), carry, ys, rest[:num_xs], rest[num_xs:])
        return carry + ys + rest
    final = _counted_loop(0, whole_steps, unroll, carry + stacks(length, 0) + xs + consts, iteration)
    carry, ys, rest = split(final)
    for k in range(length % unroll):
        carry, ys = step(_index_constant(whole_steps + k), carry, ys, rest[:num_xs], rest[num_xs:])
    return carry + ys


cond_p = Op("cond", ["index", "*operands"], _typed_by_functions, _lower_cond,
            attrs={"branches": "symbols"}, results=("*results",), multiple_results=True,
            doc="branches[index](*operands) (index clamped by the caller into range).")
while_p = Op("while", ["*operands"], _typed_by_functions, _lower_while,
             attrs={"cond": "symbol", "body": "symbol", "num_carry": "int", "num_cond_consts": "int"},
             results=("*results",), multiple_results=True,
             doc="carry = body(carry) while cond(carry); the final carry.")
scan_p = Op("scan", ["*operands"], _typed_by_functions, _lower_scan,
            attrs={"body": "symbol", "length": "int", "reverse": "bool", "num_carry": "int", "num_xs": "int",
                   "unroll": "int"},
            results=("*results",), multiple_results=True,
            doc="Run body over the slices of xs along axis 0 (last first when reverse), threading the carry; "
                "unroll steps per iteration of the loop it lowers to.")
for _op in (cond_p, while_p, scan_p):
    _op.traits.update({"typed_by_callee", "control_flow"})


# -- batching rules ----------------------------------------------------------------------
# A result stays unbatched when nothing batched reaches it, so that vmap(..., out_axes=None)
# and jacfwd's primal outputs work through control flow. For loops that takes a fixed
# point: a carry is batched if it enters batched or if a step batches it.

def _carries_batched(ctx, body, carry_dims, other_dims, size):
    """(Which carries a loop over @body must batch, the batch axes of @body's other results)."""
    batched = [d is not None for d in carry_dims]
    while True:
        _, out_dims = ctx.batch(body, [0 if b else None for b in batched] + list(other_dims), size)
        grown = [b or d is not None for b, d in zip(batched, out_dims)]
        if grown == batched:
            return batched, out_dims[len(batched):]
        batched = grown


def _fronted(values, dims, flags, size):
    return [to_front(x, d, size) if flag else x for x, d, flag in zip(values, dims, flags)]


def _batch_cond(ctx, args, dims, branches):
    size = batch_size(args, dims)
    index, operands, operand_dims = args[0], list(args[1:]), list(dims[1:])
    if dims[0] is None:
        probes = [ctx.batch(name, operand_dims, size)[1] for name in branches]
        flags = [any(p[i] is not None for p in probes) for i in range(len(probes[0]))]
        batched = tuple(ctx.batched(name, operand_dims, size, flags) for name in branches)
        outs = current_trace().emit(cond_p, [index] + operands, {"branches": batched},
                                    ctx.signature(batched[0])[1])
        return outs, [0 if flag else None for flag in flags]
    # Each example picks its own branch: run them all, then select per example.
    index = to_front(index, dims[0], size)
    results = [ctx.call(ctx.batched(name, operand_dims, size), operands) for name in branches]
    outs = results[-1]
    for i in range(len(branches) - 2, -1, -1):
        chosen = ops.eq(index, ops.full((size,), i, index.dtype))
        outs = [ops.select(ops.broadcast_in_dim(chosen, out.shape, (0,)), candidate, out)
                for candidate, out in zip(results[i], outs)]
    return outs, [0] * len(outs)


def _batch_while(ctx, args, dims, cond, body, num_carry, num_cond_consts):
    size = batch_size(args, dims)
    consts, const_dims = list(args[num_carry:]), list(dims[num_carry:])
    cond_consts, cond_dims = consts[:num_cond_consts], const_dims[:num_cond_consts]
    body_consts, body_dims = consts[num_cond_consts:], const_dims[num_cond_consts:]
    flags, _ = _carries_batched(ctx, body, dims[:num_carry], body_dims, size)
    carry_dims = [0 if flag else None for flag in flags]
    pred_dim = ctx.batch(cond, carry_dims + cond_dims, size)[1][0]
    if pred_dim is not None:
        # Some examples may stop before others: everything is batched; loop while any goes
        # on, and only update those.
        carry_dims = [0] * num_carry
        per_example_cond = ctx.batched(cond, carry_dims + cond_dims, size)
        per_example_body = ctx.batched(body, carry_dims + body_dims, size)

        def any_goes_on(*values):
            return [ops.reduce_or(ctx.call(per_example_cond, list(values))[0], (0,))]

        def step_going_on(*values):
            state, rest = list(values[:num_carry]), list(values[num_carry:])
            going = ctx.call(per_example_cond, state + rest[:num_cond_consts])[0]
            stepped = ctx.call(per_example_body, state + rest[num_cond_consts:])
            return [ops.select(ops.broadcast_in_dim(going, s.shape, (0,)), new, s) for new, s in zip(stepped, state)]

        carry = [to_front(x, d, size) for x, d in zip(args[:num_carry], dims[:num_carry])]
        in_avals = [x.aval.strip_weak_type() for x in carry + cond_consts + body_consts]
        batched_cond = ctx.trace(any_goes_on, in_avals[:num_carry + num_cond_consts], f"{cond}_any")
        batched_body = ctx.trace(step_going_on, in_avals, f"{body}_masked")
        body_consts = cond_consts + body_consts
    else:
        carry = _fronted(args[:num_carry], dims[:num_carry], flags, size)
        batched_cond = ctx.batched(cond, carry_dims + cond_dims, size, False)
        batched_body = ctx.batched(body, carry_dims + body_dims, size, flags)
    outs = current_trace().emit(while_p, carry + cond_consts + body_consts,
                                {"cond": batched_cond, "body": batched_body, "num_carry": num_carry,
                                 "num_cond_consts": num_cond_consts}, ctx.signature(batched_body)[1])
    return outs, carry_dims


def _batch_scan(ctx, args, dims, body, length, num_carry, num_xs, reverse=False, unroll=1):
    size = batch_size(args, dims)
    xs, xs_dims = args[num_carry:num_carry + num_xs], dims[num_carry:num_carry + num_xs]
    consts, const_dims = list(args[num_carry + num_xs:]), list(dims[num_carry + num_xs:])
    # Batched xs keep axis 0 for the scan: their batch axis goes to 1, so each slice is batched first.
    xs = [x if d is None else move_axis(to_front(x, d, size), 0, 1) for x, d in zip(xs, xs_dims)]
    slice_dims = [None if d is None else 0 for d in xs_dims]
    flags, ys_dims = _carries_batched(ctx, body, dims[:num_carry], slice_dims + const_dims, size)
    ys_flags = [d is not None for d in ys_dims]
    batched_body = ctx.batched(body, [0 if f else None for f in flags] + slice_dims + const_dims, size,
                               flags + ys_flags)
    body_outs = ctx.signature(batched_body)[1]
    out_avals = body_outs[:num_carry] + [ShapedArray((length,) + a.shape, a.dtype) for a in body_outs[num_carry:]]
    carry = _fronted(args[:num_carry], dims[:num_carry], flags, size)
    outs = current_trace().emit(scan_p, carry + xs + consts,
                                {"body": batched_body, "length": length, "reverse": reverse,
                                 "num_carry": num_carry, "num_xs": num_xs, "unroll": unroll}, out_avals)
    return outs, [0 if f else None for f in flags] + [1 if f else None for f in ys_flags]


cond_p.batch = _batch_cond
while_p.batch = _batch_while
scan_p.batch = _batch_scan
# The interpreter tier runs them as host loops over the plans of their functions.
cond_p.kernel_form, while_p.kernel_form, scan_p.kernel_form = "cond", "while_", "scan"


# -- forward-mode differentiation ---------------------------------------------------------
# Tangents travel through the loop or branch as extra operands and results of the same
# op, over JVP versions of its functions (ctx.jvp: (args, tangents of `wrt`) -> (results,
# their tangents)). Every float carry gets a tangent: a step may give it one.

def _has_tangent(value):
    return dtypes.is_inexact(value.aval.dtype)


def _zeros_for(values, tangents):
    return [instantiate(t, x) for t, x in zip(tangents, values)]


def _cond_jvp(ctx, primals, tangents, branches):
    index, operands, operand_tangents = primals[0], list(primals[1:]), list(tangents[1:])
    wrt = [i for i, t in enumerate(operand_tangents) if t is not None]
    jvp_branches = tuple(ctx.jvp(name, wrt) for name in branches)
    out_avals = ctx.signature(branches[0])[1]
    outs = current_trace().emit(cond_p, [index] + operands + [operand_tangents[i] for i in wrt],
                                {"branches": jvp_branches}, out_avals + out_avals)
    return outs[:len(out_avals)], outs[len(out_avals):]


def _while_jvp(ctx, primals, tangents, cond, body, num_carry, num_cond_consts):
    carry, consts = list(primals[:num_carry]), list(primals[num_carry:])
    body_consts, body_const_tangents = consts[num_cond_consts:], list(tangents[num_carry + num_cond_consts:])
    carry_tangents = _zeros_for(carry, tangents[:num_carry])
    const_wrt = [i for i, t in enumerate(body_const_tangents) if t is not None]
    body_jvp = ctx.jvp(body, list(range(num_carry)) + [num_carry + i for i in const_wrt])
    carry_avals = [x.aval.strip_weak_type() for x in carry]
    cond_avals = [x.aval.strip_weak_type() for x in consts[:num_cond_consts]]
    body_avals = [x.aval.strip_weak_type() for x in body_consts]
    tangent_const_avals = [body_avals[i] for i in const_wrt]

    def cond_on_primals(*values):
        return ctx.call(cond, list(values[:num_carry]) + list(values[2 * num_carry:]))

    def step(*values):
        state, state_tangents = list(values[:num_carry]), list(values[num_carry:2 * num_carry])
        rest = list(values[2 * num_carry:])
        out = ctx.call(body_jvp, state + rest[:len(body_avals)] + state_tangents + rest[len(body_avals):])
        return out

    new_cond = ctx.trace(cond_on_primals, carry_avals * 2 + cond_avals, f"{cond}_with_tangents")
    new_body = ctx.trace(step, carry_avals * 2 + body_avals + tangent_const_avals, f"{body}_jvp_step")
    outs = current_trace().emit(
        while_p, carry + carry_tangents + consts[:num_cond_consts] + body_consts
        + [body_const_tangents[i] for i in const_wrt],
        {"cond": new_cond, "body": new_body, "num_carry": 2 * num_carry, "num_cond_consts": num_cond_consts},
        carry_avals * 2)
    return outs[:num_carry], outs[num_carry:]


def _scan_jvp(ctx, primals, tangents, body, length, num_carry, num_xs, reverse=False, unroll=1):
    carry = list(primals[:num_carry])
    xs, consts = list(primals[num_carry:num_carry + num_xs]), list(primals[num_carry + num_xs:])
    carry_tangents = _zeros_for(carry, tangents[:num_carry])
    x_tangents, const_tangents = list(tangents[num_carry:num_carry + num_xs]), list(tangents[num_carry + num_xs:])
    x_wrt = [i for i, t in enumerate(x_tangents) if t is not None]
    const_wrt = [i for i, t in enumerate(const_tangents) if t is not None]
    wrt = (list(range(num_carry)) + [num_carry + i for i in x_wrt]
           + [num_carry + num_xs + i for i in const_wrt])
    body_jvp = ctx.jvp(body, wrt)
    in_avals, out_avals = ctx.signature(body)
    carry_avals, slice_avals = in_avals[:num_carry], in_avals[num_carry:num_carry + num_xs]
    const_avals = in_avals[num_carry + num_xs:]
    num_ys = len(out_avals) - num_carry

    def step(*values):
        # (carry, carry tangents, x slices, their tangents, consts, their tangents) in; the JVP
        # function's order is (args, tangents of wrt); results go (carry, tangents, ys, tangents).
        state, state_tangents = list(values[:num_carry]), list(values[num_carry:2 * num_carry])
        rest = list(values[2 * num_carry:])
        x_slices, rest = rest[:num_xs], rest[num_xs:]
        x_slice_tangents, rest = rest[:len(x_wrt)], rest[len(x_wrt):]
        const_values, const_tangent_values = rest[:len(const_avals)], rest[len(const_avals):]
        out = ctx.call(body_jvp, state + x_slices + const_values + state_tangents + x_slice_tangents
                       + const_tangent_values)
        results, result_tangents = out[:len(out_avals)], out[len(out_avals):]
        return (results[:num_carry] + result_tangents[:num_carry] + results[num_carry:]
                + result_tangents[num_carry:])

    new_body = ctx.trace(step, carry_avals * 2 + slice_avals + [slice_avals[i] for i in x_wrt] + const_avals
                         + [const_avals[i] for i in const_wrt], f"{body}_jvp_step")
    y_avals = out_avals[num_carry:]
    stacked = [ShapedArray((length,) + a.shape, a.dtype) for a in y_avals]
    outs = current_trace().emit(
        scan_p, carry + carry_tangents + xs + [x_tangents[i] for i in x_wrt] + consts
        + [const_tangents[i] for i in const_wrt],
        {"body": new_body, "length": length, "reverse": reverse, "num_carry": 2 * num_carry,
         "num_xs": num_xs + len(x_wrt), "unroll": unroll}, [a.strip_weak_type() for a in carry_avals] * 2 + stacked * 2)
    return (outs[:num_carry] + outs[2 * num_carry:2 * num_carry + num_ys],
            outs[num_carry:2 * num_carry] + outs[2 * num_carry + num_ys:])


cond_p.jvp = _cond_jvp
while_p.jvp = _while_jvp
scan_p.jvp = _scan_jvp


# -- reverse-mode differentiation ---------------------------------------------------------
# The primal op runs as it is (a scan also stacks the carry each step starts from); the
# backward op runs VJP versions of its functions (ctx.vjp: (args, cotangents of the
# results) -> (results, cotangents of `wrt`)), which recompute each branch or step from
# its inputs, so a scan keeps only its carries per step rather than every intermediate.

def _stacked(avals, length):
    return [ShapedArray((length,) + a.shape, a.dtype) for a in avals]


def _full_cotangents(cts, outs):
    return [instantiate(ct, o) for ct, o in zip(cts, outs)]


def _linear_positions(tangents):
    return [i for i, t in enumerate(tangents) if is_linear(t)]


def _cond_linearize(ctx, primals, tangents, branches):
    index, operands = primals[0], list(primals[1:])
    outs = current_trace().emit(cond_p, list(primals), {"branches": branches}, ctx.signature(branches[0])[1])
    wrt = _linear_positions(tangents[1:])

    def backward(cts):
        vjp_branches = tuple(ctx.vjp(name, wrt) for name in branches)
        results = current_trace().emit(cond_p, [index] + operands + _full_cotangents(cts, outs),
                                       {"branches": vjp_branches}, ctx.signature(vjp_branches[0])[1])
        operand_cts = [None] * len(primals)
        for i, ct in zip(wrt, results[len(outs):]):
            operand_cts[1 + i] = ct
        return operand_cts

    return outs, backward


def _while_linearize(ctx, primals, tangents, cond, body, num_carry, num_cond_consts):
    if _linear_positions(tangents[:num_carry] + tangents[num_carry + num_cond_consts:]):
        raise ValueError(
            "reverse-mode differentiation (grad, vjp) of a while_loop needs a bound on its number of "
            "steps: pass max_steps=... to while_loop, or use fori_loop with Python int bounds or scan")
    attrs = {"cond": cond, "body": body, "num_carry": num_carry, "num_cond_consts": num_cond_consts}
    return current_trace().emit(while_p, list(primals), attrs, ctx.signature(body)[1]), None


def _scan_linearize(ctx, primals, tangents, body, length, num_carry, num_xs, reverse=False, unroll=1):
    xs, consts = list(primals[num_carry:num_carry + num_xs]), list(primals[num_carry + num_xs:])
    in_avals, out_avals = ctx.signature(body)
    carry_avals, slice_avals, const_avals = (in_avals[:num_carry], in_avals[num_carry:num_carry + num_xs],
                                             in_avals[num_carry + num_xs:])
    y_avals = out_avals[num_carry:]

    def step_saving_carry(*values):
        return ctx.call(body, list(values)) + list(values[:num_carry])

    saving = ctx.trace(step_saving_carry, in_avals, f"{body}_saving_carry")
    results = current_trace().emit(
        scan_p, list(primals), {"body": saving, "length": length, "reverse": reverse, "num_carry": num_carry,
                              "num_xs": num_xs, "unroll": unroll},
        list(carry_avals) + _stacked(y_avals, length) + _stacked(carry_avals, length))
    outs, saved_carries = results[:len(out_avals)], results[len(out_avals):]
    # Every float carry takes a cotangent (a step may make it depend on the differentiated values).
    carry_wrt = [i for i, a in enumerate(carry_avals) if dtypes.is_inexact(a.dtype)]
    x_wrt = _linear_positions(tangents[num_carry:num_carry + num_xs])
    const_wrt = _linear_positions(tangents[num_carry + num_xs:])
    wrt = carry_wrt + [num_carry + i for i in x_wrt] + [num_carry + num_xs + i for i in const_wrt]

    def backward(cts):
        cts = _full_cotangents(cts, outs)
        body_vjp = ctx.vjp(body, wrt)
        num_sums = len(carry_wrt) + len(const_wrt)

        def backward_step(*values):
            # carry: (carry cotangents, const cotangent sums); slices: (xs, saved carries, ys
            # cotangents); then the consts.
            carry_cts, sums, rest = values[:len(carry_wrt)], values[len(carry_wrt):num_sums], values[num_sums:]
            x_slices, rest = list(rest[:num_xs]), rest[num_xs:]
            carry_in, rest = list(rest[:num_carry]), rest[num_carry:]
            y_cts, const_values = list(rest[:len(y_avals)]), list(rest[len(y_avals):])
            full_carry_cts = [zeros(a) for a in carry_avals]
            for i, ct in zip(carry_wrt, carry_cts):
                full_carry_cts[i] = ct
            grads = ctx.call(body_vjp, carry_in + x_slices + const_values + full_carry_cts + y_cts)[len(out_avals):]
            new_carry_cts, x_cts = grads[:len(carry_wrt)], grads[len(carry_wrt):len(carry_wrt) + len(x_wrt)]
            const_cts = grads[len(carry_wrt) + len(x_wrt):]
            return new_carry_cts + [ops.add(s, c) for s, c in zip(sums, const_cts)] + x_cts

        sum_avals = [carry_avals[i] for i in carry_wrt] + [const_avals[i] for i in const_wrt]
        backward_body = ctx.trace(backward_step, sum_avals + list(slice_avals) + list(carry_avals) + list(y_avals)
                                  + list(const_avals), f"{body}_backward_step")
        init = [cts[i] for i in carry_wrt] + [zeros(const_avals[i]) for i in const_wrt]
        results = current_trace().emit(
            scan_p, init + xs + saved_carries + cts[num_carry:] + consts,
            {"body": backward_body, "length": length, "reverse": not reverse, "num_carry": num_sums,
             "num_xs": num_xs + num_carry + len(y_avals), "unroll": unroll},
            sum_avals + _stacked([slice_avals[i] for i in x_wrt], length))
        operand_cts = [None] * len(primals)
        positions = carry_wrt + [num_carry + num_xs + i for i in const_wrt] + [num_carry + i for i in x_wrt]
        for position, ct in zip(positions, results):
            operand_cts[position] = ct
        return operand_cts

    return outs, backward


cond_p.linearize = _cond_linearize
while_p.linearize = _while_linearize
scan_p.linearize = _scan_linearize


# -- under pmap, when the functions hold collectives over the pmap axis ------------------
# One op runs every device's instance: it takes each operand once per device (operand
# after operand, device after device within each), over functions folded the same way
# (ctx.folded); its results come back in that order. A loop stops when the first device's
# condition says so, and cond takes the first device's branch: the devices must agree.

def _flat(args):
    return [value for per_device in args for value in per_device]


def _per_device(values, devices):
    return [values[i:i + len(devices)] for i in range(0, len(values), len(devices))]


def _spmd_cond(ctx, args, devices, branches):
    folded = tuple(ctx.folded(name) for name in branches)
    outs = current_trace().emit(cond_p, [args[0][0]] + _flat(args[1:]), {"branches": folded},
                                ctx.signature(folded[0])[1])
    return _per_device(outs, devices)


def _spmd_while(ctx, args, devices, cond, body, num_carry, num_cond_consts):
    n = len(devices)
    attrs = {"cond": ctx.folded(cond, first_device_only=True), "body": ctx.folded(body), "num_carry": n * num_carry,
             "num_cond_consts": n * num_cond_consts}
    outs = current_trace().emit(while_p, _flat(args), attrs, ctx.signature(attrs["body"])[1])
    return _per_device(outs, devices)


def _spmd_scan(ctx, args, devices, body, length, num_carry, num_xs, reverse=False, unroll=1):
    n = len(devices)
    folded = ctx.folded(body)
    out_avals = ctx.signature(folded)[1]
    out_avals = out_avals[:n * num_carry] + _stacked(out_avals[n * num_carry:], length)
    outs = current_trace().emit(scan_p, _flat(args), {"body": folded, "length": length, "reverse": reverse,
                                                    "num_carry": n * num_carry, "num_xs": n * num_xs,
                                                    "unroll": unroll}, out_avals)
    return _per_device(outs, devices)


cond_p.spmd = _spmd_cond
while_p.spmd = _spmd_while
scan_p.spmd = _spmd_scan
