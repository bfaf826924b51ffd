"""Collectives over a named mapped axis, and the device transfers pmap builds them from.

    %s = "mlax.psum"(%x) {axis_name = "i"} : (tensor<3xf32>) -> tensor<3xf32>
    %g = "mlax.all_gather"(%x) {axis = 0 : i64, axis_name = "i", axis_size = 4 : i64, tiled = false}
           : (tensor<3xf32>) -> tensor<4x3xf32>
    %y = "mlax.transfer"(%x) {source = 0 : i64, target = 1 : i64} : (tensor<3xf32>) -> tensor<3xf32>

- psum, pmax, pmin: the sum (max, min) of x over the instances along the axis, in each.
- all_gather: the instances' x stacked along a new `axis` (joined along `axis` when `tiled`).
- ppermute: `perm` holds (source, destination) pairs, flattened; an instance gets the x of
  the instance whose pair names it as destination, zeros when none does.
- axis_index: the instance's position along the axis (int32).
- transfer: x moved from device `source` to device `target` (lowered to
  flow.tensor.transfer to #hal.device.affinity<@__device_<target>>).

A collective means something only inside a transformation binding its axis name: mlax-vmap
applies its batching rule (the axis is a batch axis), mlax-pmap its `spmd` rule (the axis is
a set of devices, each holding one instance; values meet through transfers). A collective
left after them names an axis nothing binds, and cannot be lowered.
"""

from iree.compiler import ir

from mlax import ops
from mlax.core import dtypes
from mlax.core.aval import ShapedArray
from mlax.core.op import Op
from mlax.ops import _hlo
from mlax.ops._batching import defbatch_elementwise, move_axis, to_front
from mlax.ops._rules import deflinear, defzero

__all__: list[str] = []  # the builders this family exports (mlax.lax re-exports them)


def _unbound(ctx, *operands, axis_name, **attrs):
    raise ValueError(f"{ctx.op.name} over axis {axis_name!r} cannot be lowered: no vmap or pmap binds the axis "
                     f"name {axis_name!r} (run mlax-vmap/mlax-pmap, or bind it with vmap(..., axis_name=...) "
                     "or pmap(..., axis_name=...))")


def _collective(name, operands, shape_rule, attrs, doc):
    op = Op(name, operands, shape_rule, _unbound, attrs={"axis_name": "str", **attrs}, doc=doc)
    op.traits.add("collective")
    return op


# -- transfers ------------------------------------------------------------------------------
# Once lowered, device k is `#hal.device.affinity<@__device_k>`, and the module op's
# `mlax.num_devices` attribute (written by mlax-pmap) says how many devices the program
# runs on: the runtime compiles it for that many (`--iree-hal-target-device=__device_k=...`).

NUM_DEVICES = "mlax.num_devices"


def device_symbol(index):
    """The name of device `index` in a lowered module's IR."""
    return f"__device_{index}"


def num_devices(module_op):
    """How many devices the program of a module runs on (1 unless its attribute says more)."""
    attributes = module_op.attributes
    return ir.IntegerAttr(attributes[NUM_DEVICES]).value if NUM_DEVICES in attributes else 1


def note_devices(module_op, devices):
    """Record on a module that its program moves values to the devices `devices` (ids) too."""
    count = max([num_devices(module_op)] + [d + 1 for d in devices])
    with module_op.context:
        module_op.attributes[NUM_DEVICES] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), count)


def _lower_transfer(ctx, x, source, target):
    affinity = ir.Attribute.parse(f"#hal.device.affinity<@{device_symbol(target)}>")
    return _hlo.value("flow.tensor.transfer", [x], x.type, target=affinity)


transfer_p = Op("transfer", ["x"], lambda x, source, target: x.strip_weak_type(), _lower_transfer,
                attrs={"source": "int", "target": "int"}, doc="x, moved from device `source` to device `target`.")
transfer_p.numpy_ref = lambda x, source, target: x
deflinear(transfer_p, lambda ct, x, source, target: [transfer_p(ct, source=target, target=source)])
defbatch_elementwise(transfer_p)


def move(x, source, target):
    """x (on device `source`) on device `target`."""
    return x if source == target else transfer_p(x, source=source, target=target)


def _to_first(xs, devices):
    return [move(x, d, devices[0]) for x, d in zip(xs, devices)]


def _from_first(value, devices):
    return [move(value, devices[0], d) for d in devices]


# -- psum, pmax, pmin -----------------------------------------------------------------------

def _spmd_reduction(combine):
    """Combine the instances on the first device, then send the result to every device."""
    def spmd(ctx, args, devices, axis_name):
        parts = _to_first(args[0], devices)
        total = parts[0]
        for part in parts[1:]:
            total = combine(total, part)
        return [_from_first(total, devices)]
    return spmd


def _batch_reduction(op, reduce, unbatched):
    """Over the vmapped axis: reduce the batch axis (the result is the same for every
    example, so unbatched); over another axis: the collective of the whole batch."""
    def batch(ctx, args, dims, axis_name):
        [x], [dim] = args, dims
        if axis_name != ctx.axis_name:
            return [op(x, axis_name=axis_name)], [dim]
        if dim is None:
            return [unbatched(x, ctx.axis_size)], [None]
        return [reduce(x, (dim,))], [None]
    return batch


psum_p = _collective("psum", ["x"], lambda x, axis_name: x, {}, "The sum of x over the axis `axis_name`.")
pmax_p = _collective("pmax", ["x"], lambda x, axis_name: x, {}, "The maximum of x over the axis `axis_name`.")
pmin_p = _collective("pmin", ["x"], lambda x, axis_name: x, {}, "The minimum of x over the axis `axis_name`.")

deflinear(psum_p, lambda ct, x, axis_name: [psum_p(ct, axis_name=axis_name)])
psum_p.spmd = _spmd_reduction(lambda x, y: ops.add(x, y))
pmax_p.spmd = _spmd_reduction(lambda x, y: ops.max(x, y))
pmin_p.spmd = _spmd_reduction(lambda x, y: ops.min(x, y))
psum_p.batch = _batch_reduction(psum_p, lambda x, axes: ops.reduce_sum(x, axes), lambda x, size: ops.mul(x, size))
pmax_p.batch = _batch_reduction(pmax_p, lambda x, axes: ops.reduce_max(x, axes), lambda x, size: x)
pmin_p.batch = _batch_reduction(pmin_p, lambda x, axes: ops.reduce_min(x, axes), lambda x, size: x)


def _extremum_jvp(op):
    """The tangent of the instances that attain the extremum (their mean, for ties)."""
    def jvp(ctx, primals, tangents, axis_name):
        [x], [t] = primals, tangents
        out = op(x, axis_name=axis_name)
        if t is None:
            return [out], [None]
        hits = ops.convert_element_type(ops.eq(x, out), t.dtype)
        count = psum_p(hits, axis_name=axis_name)
        return [out], [ops.div(psum_p(ops.mul(t, hits), axis_name=axis_name), count)]
    return jvp


pmax_p.jvp = _extremum_jvp(pmax_p)
pmin_p.jvp = _extremum_jvp(pmin_p)


# -- all_gather -----------------------------------------------------------------------------

def _all_gather_rule(x, axis_name, axis, axis_size, tiled):
    shape = list(x.shape)
    if not 0 <= axis < len(shape) + (not tiled):
        raise TypeError(f"mlax.all_gather: axis {axis} is out of range for shape {x.shape}")
    if tiled:
        shape[axis] *= axis_size
    else:
        shape.insert(axis, axis_size)
    return ShapedArray(shape, x.dtype)


all_gather_p = _collective("all_gather", ["x"], _all_gather_rule,
                           {"axis": "int", "axis_size": "int", "tiled": "bool"},
                           "The instances' x along a new axis `axis` (joined along `axis` when `tiled`).")


def _join(parts, axis, tiled):
    if not tiled:
        parts = [ops.expand_dims(p, (axis,)) for p in parts]
    return ops.concatenate(parts, axis)


def _all_gather_spmd(ctx, args, devices, axis_name, axis, axis_size, tiled):
    return [_from_first(_join(_to_first(args[0], devices), axis, tiled), devices)]


def _all_gather_transpose(ct, x, axis_name, axis, axis_size, tiled):
    """Each instance's share of the summed cotangents: its own slice of psum(ct)."""
    total = psum_p(ct, axis_name=axis_name)
    width = x.aval.shape[axis] if tiled else 1
    starts = [0] * ct.aval.ndim
    starts[axis] = ops.mul(axis_index_p(axis_name=axis_name), width)
    sizes = list(ct.aval.shape)
    sizes[axis] = width
    piece = ops.dynamic_slice(total, starts, sizes)
    return [piece if tiled else ops.squeeze(piece, (axis,))]


def _all_gather_batch(ctx, args, dims, axis_name, axis, axis_size, tiled):
    [x], [dim] = args, dims
    if axis_name != ctx.axis_name:
        out = all_gather_p(to_front(x, dim, ctx.axis_size), axis_name=axis_name, axis=axis + 1,
                         axis_size=axis_size, tiled=tiled)
        return [out], [0]
    # The whole batch is what every example gathers: its batch axis becomes `axis`.
    stacked = move_axis(to_front(x, dim, ctx.axis_size), 0, axis)
    if tiled:
        shape = list(x.aval.shape)
        if dim is not None:
            del shape[dim]
        shape[axis] *= ctx.axis_size
        stacked = ops.reshape(stacked, shape)
    return [stacked], [None]


deflinear(all_gather_p, _all_gather_transpose)
all_gather_p.spmd = _all_gather_spmd
all_gather_p.batch = _all_gather_batch


# -- ppermute -------------------------------------------------------------------------------

def _pairs(perm):
    return list(zip(perm[0::2], perm[1::2]))


def _ppermute_rule(x, axis_name, perm):
    pairs = _pairs(perm)
    if len(perm) % 2 or len({s for s, _ in pairs}) < len(pairs) or len({d for _, d in pairs}) < len(pairs):
        raise TypeError(f"mlax.ppermute: perm {perm} is not a list of (source, destination) pairs with "
                        "distinct sources and distinct destinations")
    return x


ppermute_p = _collective("ppermute", ["x"], _ppermute_rule, {"perm": "ints"},
                         "x sent along the (source, destination) pairs of `perm`; zeros where none arrives.")


def _ppermute_spmd(ctx, args, devices, axis_name, perm):
    xs = args[0]
    outs = [ops.full(x.aval.shape, 0, x.aval.dtype) for x in xs]
    for source, destination in _pairs(perm):
        outs[destination] = move(xs[source], devices[source], devices[destination])
    return [outs]


def _ppermute_batch(ctx, args, dims, axis_name, perm):
    [x], [dim] = args, dims
    if axis_name != ctx.axis_name:
        return [ppermute_p(x, axis_name=axis_name, perm=perm)], [dim]
    x = to_front(x, dim, ctx.axis_size)
    zeros = ops.full((1,) + x.aval.shape[1:], 0, x.aval.dtype)
    sources = {d: s for s, d in _pairs(perm)}
    rows = [ops.slice_in_dim(x, sources[i], sources[i] + 1) if i in sources else zeros
            for i in range(ctx.axis_size)]
    return [ops.concatenate(rows, 0)], [0]


def _inverse(perm):
    return tuple(v for source, destination in _pairs(perm) for v in (destination, source))


deflinear(ppermute_p, lambda ct, x, axis_name, perm: [ppermute_p(ct, axis_name=axis_name, perm=_inverse(perm))])
ppermute_p.spmd = _ppermute_spmd
ppermute_p.batch = _ppermute_batch


# -- axis_index -----------------------------------------------------------------------------

axis_index_p = _collective("axis_index", [], lambda axis_name: ShapedArray((), dtypes.int32), {},
                           "This instance's position along the axis `axis_name`.")
defzero(axis_index_p)
axis_index_p.spmd = lambda ctx, args, devices, axis_name: [[ops.full((), k, dtypes.int32) for k in range(len(devices))]]


def _axis_index_batch(ctx, args, dims, axis_name):
    if axis_name != ctx.axis_name:
        return [axis_index_p(axis_name=axis_name)], [None]
    return [ops.iota(dtypes.int32, ctx.axis_size)], [0]


axis_index_p.batch = _axis_index_batch
