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
differentiation rules) build batched (differentiated) versions of the functions
through the `ctx` the pass running them passes in.
"""

from iree.compiler import ir
from iree.compiler.dialects import func as func_dialect

from mlax import lax
from mlax.core import dtypes, mlir
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.core.trace import current_trace
from mlax.ops import _hlo
from mlax.ops._batching import batch_size, move_axis, to_front


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


def _lower_scan(ctx, *operands, body, length, num_carry, num_xs, reverse=False):
    carry, xs, consts = (list(operands[:num_carry]), list(operands[num_carry:num_carry + num_xs]),
                         list(operands[num_carry + num_xs:]))
    carry_types = ctx.out_types[:num_carry]
    ys_types = ctx.out_types[num_carry:]
    ys = [_hlo.constant(0, mlir.shape_dtype(t)[1], mlir.shape_dtype(t)[0]) for t in ys_types]
    state = [_index_constant(0)] + carry + ys + xs + consts
    types = [v.type for v in state]
    loop = _hlo.op("stablehlo.while", state, types, regions=2)
    cond_block, body_block = loop.regions[0].blocks.append(*types), loop.regions[1].blocks.append(*types)
    with ir.InsertionPoint(cond_block):
        _hlo.op("stablehlo.return", [_hlo.compare(cond_block.arguments[0], _index_constant(length), "LT")], [])
    with ir.InsertionPoint(body_block):
        args = list(body_block.arguments)
        i, carry = args[0], args[1:1 + num_carry]
        ys = args[1 + num_carry:1 + num_carry + len(ys_types)]
        xs = args[1 + num_carry + len(ys_types):1 + num_carry + len(ys_types) + num_xs]
        consts = args[1 + num_carry + len(ys_types) + num_xs:]
        step = _hlo.value("stablehlo.subtract", [_index_constant(length - 1), i], i.type) if reverse else i
        slices = []
        for x in xs:
            shape, dtype = _hlo.shape_of(x), _hlo.dtype_of(x)
            zeros = [_index_constant(0)] * (len(shape) - 1)
            piece = _hlo.value("stablehlo.dynamic_slice", [x, step] + zeros, mlir.tensor_type((1,) + shape[1:], dtype),
                               slice_sizes=(1,) + tuple(shape[1:]))
            slices.append(_hlo.reshape(piece, shape[1:]))
        y_types = [mlir.tensor_type(mlir.shape_dtype(t)[0][1:], mlir.shape_dtype(t)[1]) for t in ys_types]
        results = _call(body, carry + slices + consts, list(carry_types) + y_types)
        new_ys = []
        for stacked, y in zip(ys, results[num_carry:]):
            shape = _hlo.shape_of(stacked)
            zeros = [_index_constant(0)] * (len(shape) - 1)
            update = _hlo.reshape(y, (1,) + shape[1:])
            new_ys.append(_hlo.value("stablehlo.dynamic_update_slice", [stacked, update, step] + zeros, stacked.type))
        next_i = _hlo.value("stablehlo.add", [i, _index_constant(1)], i.type)
        _hlo.op("stablehlo.return", [next_i] + results[:num_carry] + new_ys + xs + consts, [])
    results = list(loop.results)
    return results[1:1 + num_carry] + results[1 + num_carry:1 + num_carry + len(ys_types)]


cond = Op("cond", ["index", "*operands"], _typed_by_functions, _lower_cond,
          attrs={"branches": "symbols"}, results=("*results",), multiple_results=True,
          doc="branches[index](*operands) (index clamped by the caller into range).")
while_ = Op("while", ["*operands"], _typed_by_functions, _lower_while,
            attrs={"cond": "symbol", "body": "symbol", "num_carry": "int", "num_cond_consts": "int"},
            results=("*results",), multiple_results=True,
            doc="carry = body(carry) while cond(carry); the final carry.")
scan = Op("scan", ["*operands"], _typed_by_functions, _lower_scan,
          attrs={"body": "symbol", "length": "int", "reverse": "bool", "num_carry": "int", "num_xs": "int"},
          results=("*results",), multiple_results=True,
          doc="Run body over the slices of xs along axis 0 (last first when reverse), threading the carry.")
for _op in (cond, while_, scan):
    _op.traits.update({"typed_by_callee", "control_flow"})


def _batched_avals(avals, size, axis=0):
    return [ShapedArray(a.shape[:axis] + (size,) + a.shape[axis:], a.dtype) for a in avals]


# -- batching rules ----------------------------------------------------------------------

def _batch_cond(args, dims, ctx, branches):
    size = batch_size(args, dims)
    index, operands, operand_dims = args[0], list(args[1:]), list(dims[1:])
    batched = [ctx.batched(name, operand_dims, size) for name in branches]
    out_avals = _batched_avals(ctx.signature(branches[0])[1], size)
    if dims[0] is None:
        outs = current_trace().emit(cond, [index] + operands, {"branches": tuple(batched)}, out_avals)
        return outs, [0] * len(outs)
    # Each example picks its own branch: run them all, then select per example.
    index = to_front(index, dims[0], size)
    results = [ctx.call(name, operands) for name in batched]
    outs = results[-1]
    for i in range(len(branches) - 2, -1, -1):
        chosen = lax.eq(index, lax.full((size,), i, index.dtype))
        outs = [lax.select(lax.broadcast_in_dim(chosen, out.shape, (0,)), candidate, out)
                for candidate, out in zip(results[i], outs)]
    return outs, [0] * len(outs)


def _batch_while(args, dims, ctx, cond, body, num_carry, num_cond_consts):
    size = batch_size(args, dims)
    # The carry is batched in front (a body may batch any part of it); constants stay as they are.
    carry = [to_front(x, d, size) for x, d in zip(args[:num_carry], dims[:num_carry])]
    consts, const_dims = list(args[num_carry:]), list(dims[num_carry:])
    cond_consts, cond_dims = consts[:num_cond_consts], const_dims[:num_cond_consts]
    body_consts, body_dims = consts[num_cond_consts:], const_dims[num_cond_consts:]
    batched_cond, (pred_dim,) = ctx.batch(cond, [0] * num_carry + cond_dims, size)
    batched_body = ctx.batched(body, [0] * num_carry + body_dims, size)
    carry_avals = [x.aval.strip_weak_type() for x in carry]
    cond_avals = [x.aval.strip_weak_type() for x in cond_consts]
    body_avals = [x.aval.strip_weak_type() for x in body_consts]
    if pred_dim is not None:
        # Some examples may stop before others: loop while any goes on, and only update those.
        per_example_cond, per_example_body = batched_cond, batched_body

        def any_goes_on(*values):
            return [lax.reduce_or(ctx.call(per_example_cond, list(values))[0], (0,))]

        def step_going_on(*values):
            state, rest = list(values[:num_carry]), list(values[num_carry:])
            going = ctx.call(per_example_cond, state + rest[:num_cond_consts])[0]
            stepped = ctx.call(per_example_body, state + rest[num_cond_consts:])
            return [lax.select(lax.broadcast_in_dim(going, s.shape, (0,)), new, s) for new, s in zip(stepped, state)]

        batched_cond = ctx.trace(any_goes_on, carry_avals + cond_avals, f"{cond}_any")
        batched_body = ctx.trace(step_going_on, carry_avals + cond_avals + body_avals, f"{body}_masked")
        body_consts = cond_consts + body_consts
    outs = current_trace().emit(while_, carry + cond_consts + body_consts,
                                {"cond": batched_cond, "body": batched_body, "num_carry": num_carry,
                                 "num_cond_consts": num_cond_consts}, carry_avals)
    return outs, [0] * num_carry


def _batch_scan(args, dims, ctx, body, length, num_carry, num_xs, reverse=False):
    size = batch_size(args, dims)
    carry = [to_front(x, d, size) for x, d in zip(args[:num_carry], dims[:num_carry])]
    # xs keep axis 0 for the scan: their batch axis goes to 1, so each slice is batched first.
    xs = [move_axis(to_front(x, d, size), 0, 1) for x, d in
          zip(args[num_carry:num_carry + num_xs], dims[num_carry:num_carry + num_xs])]
    consts, const_dims = list(args[num_carry + num_xs:]), list(dims[num_carry + num_xs:])
    batched_body = ctx.batched(body, [0] * (num_carry + num_xs) + const_dims, size)
    body_outs = ctx.signature(body)[1]
    out_avals = (_batched_avals(body_outs[:num_carry], size)
                 + [ShapedArray((length, size) + a.shape, a.dtype) for a in body_outs[num_carry:]])
    outs = current_trace().emit(scan, carry + xs + consts,
                                {"body": batched_body, "length": length, "reverse": reverse,
                                 "num_carry": num_carry, "num_xs": num_xs}, out_avals)
    return outs, [0] * num_carry + [1] * (len(outs) - num_carry)


cond.batch = _batch_cond
while_.batch = _batch_while
scan.batch = _batch_scan
