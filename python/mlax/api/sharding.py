"""Meshes, shardings and shard_map on the devices of one process.

An mlax.Array lives in one device buffer, so an array can take a sharding
only when all of it sits on one device: a NamedSharding over a mesh of one
device, or a SingleDeviceSharding. shard_map runs its function once per
block of the mesh as a nested vmap (one level per manual mesh axis, named
after it), so collectives over the mesh axes (psum, all_gather, axis_index
...) mean what they mean in JAX; the blocks run on the default device, not
one per device.
"""

import collections
import contextlib
import enum
import functools
import math

import numpy as np

from mlax import ops
from mlax.core import dtypes
from mlax.core.trace import Tracer, aval_of
from mlax.runtime import device as device_lib
from mlax.runtime.array import Array, device_put as _device_put
from mlax.api.vmap import broadcast_prefix, vmap
from mlax.tree_util import tree_flatten, tree_map, tree_unflatten


class AxisType(enum.Enum):
    """How a mesh axis is sharded: by the compiler (Auto), in the types (Explicit), or by hand
    inside shard_map (Manual)."""
    Auto = enum.auto()
    Explicit = enum.auto()
    Manual = enum.auto()

    def __repr__(self):
        return self.name


class PartitionSpec:
    """Which mesh axes split each dimension of an array: an axis name, a tuple of names (the
    first the major one), or None (not split). Missing trailing entries are None."""

    def __init__(self, *partitions, unreduced=frozenset(), reduced=frozenset()):
        if unreduced:
            raise NotImplementedError("PartitionSpec: unreduced= is not supported (mlax has no unreduced arrays)")
        if reduced:
            raise NotImplementedError("PartitionSpec: reduced= is not supported (mlax has no reduced arrays)")
        self._partitions = tuple(tuple(p) if isinstance(p, list) else p for p in partitions)

    def __len__(self):
        return len(self._partitions)

    def __getitem__(self, i):
        return self._partitions[i]

    def __iter__(self):
        return iter(self._partitions)

    def __eq__(self, other):
        return isinstance(other, PartitionSpec) and self._partitions == other._partitions

    def __hash__(self):
        return hash((PartitionSpec, self._partitions))

    def __repr__(self):
        return f"P({', '.join(map(repr, self._partitions))}{',' if len(self._partitions) == 1 else ''})"

    def axes_of(self, dim):
        """The mesh axis names splitting dimension `dim`, major first."""
        entry = self._partitions[dim] if dim < len(self._partitions) else None
        return () if entry is None else (entry,) if isinstance(entry, str) else tuple(entry)


P = PartitionSpec

_current_mesh = [None]


class Mesh(contextlib.ContextDecorator):
    """Devices arranged in an n-d grid whose axes have names; `with mesh:` makes it the current
    mesh (as set_mesh does)."""

    def __init__(self, devices, axis_names, axis_types=None):
        self.devices = np.asarray(devices, dtype=object)
        self.axis_names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        if self.devices.ndim != len(self.axis_names):
            raise ValueError(f"Mesh: devices has {self.devices.ndim} dimensions but {len(self.axis_names)} axis "
                             f"names were given: {self.axis_names}")
        if len(set(self.axis_names)) != len(self.axis_names):
            raise ValueError(f"Mesh: axis names must be distinct, got {self.axis_names}")
        ids = [d.id for d in self.devices.flat]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Mesh: a device appears more than once: ids {ids}")
        axis_types = (AxisType.Explicit,) * len(self.axis_names) if axis_types is None else (
            (axis_types,) * len(self.axis_names) if isinstance(axis_types, AxisType) else tuple(axis_types))
        if len(axis_types) != len(self.axis_names):
            raise ValueError(f"Mesh: {len(axis_types)} axis_types for {len(self.axis_names)} axes")
        self.axis_types = axis_types
        self._previous = []

    @property
    def shape(self):
        return collections.OrderedDict(zip(self.axis_names, self.devices.shape))

    @property
    def axis_sizes(self):
        return tuple(self.devices.shape)

    @property
    def size(self):
        return int(self.devices.size)

    @property
    def empty(self):
        return self.size == 0

    @property
    def device_ids(self):
        return np.vectorize(lambda d: d.id, otypes=[int])(self.devices)

    @property
    def local_devices(self):
        return list(self.devices.flat)

    def __eq__(self, other):
        return (isinstance(other, Mesh) and self.axis_names == other.axis_names
                and self.axis_types == other.axis_types and self.devices.shape == other.devices.shape
                and all(a is b for a, b in zip(self.devices.flat, other.devices.flat)))

    def __hash__(self):
        return hash((self.axis_names, self.axis_types, tuple(d.id for d in self.devices.flat)))

    def __repr__(self):
        return (f"Mesh(axis_sizes={self.axis_sizes!r}, axis_names={self.axis_names!r}, "
                f"axis_types={self.axis_types!r})")

    def __str__(self):
        axes = ", ".join(f"{n!r}: {s}" for n, s in self.shape.items())
        return f"Mesh({axes}, axis_types={self.axis_types!r})" if axes else "Mesh()"

    def __enter__(self):
        self._previous.append(_current_mesh[0])
        _current_mesh[0] = self
        return self

    def __exit__(self, *exc):
        _current_mesh[0] = self._previous.pop()
        return False


def make_mesh(axis_shapes, axis_names, axis_types=None, *, devices=None):
    """A Mesh of shape `axis_shapes` over the first devices (or `devices`), axes Explicit unless
    `axis_types` says otherwise."""
    devices = list(device_lib.devices(None) if devices is None else devices)
    size = math.prod(axis_shapes)
    if len(devices) < size:
        raise ValueError(f"Number of devices {len(devices)} must be >= the product of mesh_shape "
                         f"{tuple(axis_shapes)}")
    grid = np.empty(size, dtype=object)
    grid[:] = devices[:size]
    return Mesh(grid.reshape(tuple(axis_shapes)), axis_names, axis_types)


class set_mesh:  # noqa: N801 - JAX's name
    """Make `mesh` the current mesh: at once, and, used as a context manager, until its end."""

    def __init__(self, mesh):
        if mesh is not None and not isinstance(mesh, Mesh):
            raise TypeError(f"set_mesh expects a Mesh or None, got {type(mesh).__name__}")
        self._previous = _current_mesh[0]
        _current_mesh[0] = mesh

    def __enter__(self):
        return _current_mesh[0]

    def __exit__(self, *exc):
        _current_mesh[0] = self._previous
        return False


class Sharding:
    """How an array's elements are laid out over devices."""

    memory_kind = "device"

    def devices_indices_map(self, global_shape):
        """The slice of the global array each device holds."""
        shape = self.shard_shape(global_shape)
        index = tuple(slice(None) for _ in shape)
        return {device: index for device in self._device_list()}

    def addressable_devices_indices_map(self, global_shape):
        return self.devices_indices_map(global_shape)

    @property
    def device_set(self):
        return set(self._device_list())

    @property
    def addressable_devices(self):
        return self.device_set

    @property
    def num_devices(self):
        return len(self._device_list())

    @property
    def is_fully_addressable(self):
        return True

    def _single_device(self, what):
        """The one device of this sharding; NotImplementedError when it spans several."""
        devices = self._device_list()
        if len(devices) != 1:
            raise NotImplementedError(f"{what}: {self!r} spans {len(devices)} devices, and an mlax.Array lives on "
                                      "one device; use a mesh of one device")
        return devices[0]


class SingleDeviceSharding(Sharding):
    """All of an array on one device."""

    def __init__(self, device, *, memory_kind=None):
        if memory_kind not in (None, "device"):
            raise NotImplementedError(f"SingleDeviceSharding: memory_kind={memory_kind!r} is not supported")
        self._device = device

    def _device_list(self):
        return [self._device]

    def shard_shape(self, global_shape):
        return tuple(global_shape)

    @property
    def is_fully_replicated(self):
        return True

    def __eq__(self, other):
        return isinstance(other, SingleDeviceSharding) and other._device is self._device

    def __hash__(self):
        return hash(self._device.id)

    def __repr__(self):
        return f"SingleDeviceSharding(device={self._device!r}, memory_kind=device)"


class NamedSharding(Sharding):
    """An array split over the axes of `mesh` as `spec` says."""

    def __init__(self, mesh, spec, *, memory_kind=None):
        if memory_kind not in (None, "device"):
            raise NotImplementedError(f"NamedSharding: memory_kind={memory_kind!r} is not supported")
        if not isinstance(spec, PartitionSpec):
            raise TypeError(f"NamedSharding expects a PartitionSpec, got {type(spec).__name__}")
        used = [name for dim in range(len(spec)) for name in spec.axes_of(dim)]
        for name in used:
            if name not in mesh.axis_names:
                raise ValueError(f"Resource axis: {name} of {spec!r} is not found in mesh: {mesh.axis_names}.")
        if len(set(used)) != len(used):
            raise ValueError(f"{spec!r} uses a mesh axis more than once")
        self.mesh, self.spec = mesh, spec

    def _device_list(self):
        return list(self.mesh.devices.flat)

    def shard_shape(self, global_shape):
        shape = list(global_shape)
        if len(self.spec) > len(shape):
            raise ValueError(f"{self.spec!r} has {len(self.spec)} entries, more than the rank {len(shape)} "
                             "of the array")
        for dim in range(len(shape)):
            parts = math.prod(self.mesh.shape[name] for name in self.spec.axes_of(dim))
            if shape[dim] % parts:
                raise ValueError(f"dimension {dim} of the shape {tuple(global_shape)} is not divisible by the "
                                 f"{parts} parts {self.spec!r} splits it into")
            shape[dim] //= parts
        return tuple(shape)

    @property
    def is_fully_replicated(self):
        return all(self.mesh.shape[name] == 1 for dim in range(len(self.spec)) for name in self.spec.axes_of(dim))

    def __eq__(self, other):
        return isinstance(other, NamedSharding) and self.mesh == other.mesh and self.spec == other.spec

    def __hash__(self):
        return hash((self.mesh, self.spec))

    def __repr__(self):
        return f"NamedSharding(mesh={self.mesh}, spec={self.spec!r}, memory_kind=device)"


class Shard:
    """One device's part of an array: its device, its index into the global array, which
    replica it is, and the data."""

    def __init__(self, device, sharding, global_shape, data=None):
        self.device = device
        self.sharding = sharding
        self.global_shape = tuple(global_shape)
        self.data = data
        self.index = sharding.devices_indices_map(global_shape)[device]
        self.replica_id = 0

    def __repr__(self):
        return (f"Shard(device={self.device!r}, index={self.index}, replica_id={self.replica_id}, "
                f"data={self.data})")


class _PlacedArray(Array):
    """An Array put in place with a sharding other than its device's own (a NamedSharding)."""

    __slots__ = ("_sharding",)

    def __init__(self, array, sharding):
        super().__init__(array._buffer, array.aval, array.device)
        self._sharding = sharding


def _sharding_of(array):
    return getattr(array, "_sharding", None) or SingleDeviceSharding(array.device)


def _addressable_shards(array):
    sharding = _sharding_of(array)
    return [Shard(array.device, sharding, array.shape, array)]


# mlax.Array's sharding faces, defined here beside the shardings they return.
Array.sharding = property(_sharding_of, doc="How the array is laid out over devices.")
Array.addressable_shards = property(_addressable_shards, doc="The array's shards on this process's devices.")
Array.global_shards = property(_addressable_shards, doc="The array's shards on all devices (this process's).")


def _place(value, sharding, what):
    """`value` (host data or an Array) as an Array laid out by `sharding`."""
    device = sharding._single_device(what)
    if isinstance(sharding, NamedSharding):
        sharding.shard_shape(np.shape(value))  # checks divisibility as JAX does
    array = _device_put(value, device)
    return array if isinstance(sharding, SingleDeviceSharding) else _PlacedArray(array, sharding)


def device_put(x, device=None, *, src=None, donate=False, may_alias=None):
    """Copy the arrays of pytree `x` to `device`, which may be a Device or a Sharding (or a
    pytree of them matching x)."""
    if src is not None:
        raise NotImplementedError("device_put: src= is not supported")
    if donate:
        raise NotImplementedError("device_put: donate=True is not supported")
    if may_alias is not None:
        raise NotImplementedError("device_put: may_alias= is not supported")

    def put(leaf, target):
        if isinstance(target, PartitionSpec):
            target = _named(target, "device_put")
        if isinstance(target, Sharding):
            return leaf if isinstance(leaf, Tracer) else _place(leaf, target, "device_put")
        return _device_put(leaf, target)
    if isinstance(device, (Sharding, PartitionSpec)) or device is None or hasattr(device, "platform"):
        return tree_map(lambda leaf: put(leaf, device), x)
    return tree_map(put, x, device, is_leaf=lambda t: isinstance(t, (Sharding, PartitionSpec)))


def _named(spec, what):
    mesh = _current_mesh[0]
    if mesh is None:
        raise ValueError(f"{what}: using a PartitionSpec outside a mesh context is not allowed; pass a NamedSharding "
                         "or enter a mesh with mlax.set_mesh")
    return NamedSharding(mesh, spec)


def reshard(xs, out_shardings):
    """The arrays of xs laid out as out_shardings says (a Sharding, or a PartitionSpec over the
    current mesh, or a pytree of them). A PartitionSpec may name only Explicit mesh axes, as in JAX."""
    for spec in tree_flatten(out_shardings, is_leaf=lambda s: isinstance(s, (Sharding, PartitionSpec)))[0]:
        if isinstance(spec, PartitionSpec):
            mesh = _named(spec, "reshard").mesh
            for name in _spec_axes(spec):
                kind = mesh.axis_types[mesh.axis_names.index(name)]
                if kind is not AxisType.Explicit:
                    raise ValueError(f"reshard: {spec!r} names mesh axis {name!r} of type {kind!r}; a PartitionSpec "
                                     "passed to reshard may name only Explicit axes (pass a NamedSharding instead)")
    return device_put(xs, out_shardings)


def make_array_from_callback(shape, sharding, data_callback, dtype=None):
    """The array of `shape` whose shard on each device is data_callback(index of that shard)."""
    device = sharding._single_device("make_array_from_callback")
    index = sharding.devices_indices_map(tuple(shape))[device]
    data = data_callback(index)
    if tuple(np.shape(data)) != sharding.shard_shape(tuple(shape)):
        raise ValueError(f"Expected shard shape {sharding.shard_shape(tuple(shape))} doesn't match the single device "
                         f"array shape {tuple(np.shape(data))}")
    shard_dtype = data.dtype if isinstance(data, Array) else dtypes.canonicalize(np.asarray(data).dtype)
    if dtype is not None and dtypes.canonicalize(dtype) != shard_dtype:
        raise ValueError(f"make_array_from_callback: dtype={np.dtype(dtype).name} differs from the dtype "
                         f"{shard_dtype.name} of the shard data_callback returned")
    return _place(data, sharding, "make_array_from_callback")


def make_array_from_single_device_arrays(shape, sharding, arrays, *, dtype=None):
    """The array of `shape` made of `arrays`, one per device of `sharding`."""
    sharding._single_device("make_array_from_single_device_arrays")
    if len(arrays) != 1:
        raise ValueError(f"make_array_from_single_device_arrays: {len(arrays)} arrays for a sharding of 1 device")
    (array,) = arrays
    if tuple(array.shape) != sharding.shard_shape(tuple(shape)):
        raise ValueError(f"Expected shard shape {sharding.shard_shape(tuple(shape))} doesn't match the single device "
                         f"array shape {tuple(array.shape)}")
    if dtype is not None and np.dtype(dtype) != array.dtype:
        raise ValueError(f"make_array_from_single_device_arrays: dtype {np.dtype(dtype)} differs from the arrays' "
                         f"dtype {array.dtype}")
    return _place(array, sharding, "make_array_from_single_device_arrays")


def make_array_from_process_local_data(sharding, local_data, global_shape=None):
    """The global array whose part on this process's devices is local_data (here, all of it)."""
    if global_shape is not None and tuple(global_shape) != tuple(np.shape(local_data)):
        raise ValueError(f"make_array_from_process_local_data: global_shape {tuple(global_shape)} differs from the "
                         f"local data's shape {tuple(np.shape(local_data))}, but this one process holds all of it")
    return _place(local_data, sharding, "make_array_from_process_local_data")


class _Infer:
    """in_specs taken from the arguments' shardings."""

    def __repr__(self):
        return "Infer"


Infer = _Infer()


def _specs_per_leaf(specs, tree, what):
    """Per-leaf PartitionSpecs of `specs`, a pytree prefix of `tree` whose leaves are specs."""
    if isinstance(specs, PartitionSpec) or specs is None:
        return [specs] * len(tree_flatten(tree)[0])
    if isinstance(specs, (list, tuple)) and isinstance(tree, (list, tuple)) and len(specs) == len(tree):
        return [s for spec, sub in zip(specs, tree) for s in _specs_per_leaf(spec, sub, what)]
    if isinstance(specs, dict) and isinstance(tree, dict) and set(specs) == set(tree):
        return [s for k in sorted(tree) for s in _specs_per_leaf(specs[k], tree[k], what)]
    raise ValueError(f"shard_map {what} {specs!r} is not a pytree prefix of the structure {tree_flatten(tree)[1]}")


def _split_blocks(x, spec, mesh, manual):
    """x with one leading dimension per manual mesh axis spec splits it over (mesh order),
    then the block; and the flags of which manual axes it is split over."""
    shape, split_dims, names = list(aval_of(x).shape), [], []
    _check_rank(spec, len(shape))
    for dim, size in enumerate(shape):
        axes = [n for n in spec.axes_of(dim) if n in manual]
        sizes = [mesh.shape[n] for n in axes]
        if size % math.prod(sizes):
            raise ValueError(f"shard_map: dimension {dim} of an argument of shape {tuple(shape)} is not divisible by "
                             f"the {math.prod(sizes)} blocks of mesh axes {tuple(axes)}")
        split_dims.extend(sizes + [size // math.prod(sizes)])
        names.extend(axes + [None])
    x = ops.reshape(x, tuple(split_dims))
    order = sorted((i for i, n in enumerate(names) if n is not None), key=lambda i: manual.index(names[i]))
    x = ops.transpose(x, tuple(order) + tuple(i for i, n in enumerate(names) if n is None))
    return x, [name in [names[i] for i in order] for name in manual]


def _join_blocks(y, spec, mesh, manual, mapped):
    """The global output from y, whose leading dimensions are the mapped manual axes (mesh order)."""
    leading = [name for name, m in zip(manual, mapped) if m]
    block = aval_of(y).shape[len(leading):]
    _check_rank(spec, len(block))
    order, sizes = [], []
    for dim, size in enumerate(block):
        axes = [n for n in spec.axes_of(dim) if n in manual]
        order.extend(leading.index(n) for n in axes)
        order.append(len(leading) + dim)
        sizes.append(size * math.prod(mesh.shape[n] for n in axes))
    y = ops.transpose(y, tuple(order))
    return ops.reshape(y, tuple(sizes))


def shard_map(f=None, /, *, out_specs, in_specs=Infer, mesh=None, axis_names=frozenset(), check_vma=True):
    """f applied to each block of its arguments, split over the mesh axes by in_specs; the
    blocks of its results are put together by out_specs. A mesh axis an output's spec leaves out
    means the output is the same on every block of it: with check_vma=True it is an error for
    the output to vary along it; with check_vma=False the first block's value is taken."""
    if f is None:
        return functools.partial(shard_map, out_specs=out_specs, in_specs=in_specs, mesh=mesh,
                                 axis_names=axis_names, check_vma=check_vma)
    if not callable(f):
        raise TypeError(f"shard_map requires a callable, got {f!r}")

    @functools.wraps(f)
    def mapped(*args):
        the_mesh = mesh if mesh is not None else _current_mesh[0]
        if the_mesh is None:
            raise ValueError("shard_map needs a mesh: pass mesh= or enter one with mlax.set_mesh")
        unknown = set(axis_names) - set(the_mesh.axis_names)
        if unknown:
            raise ValueError(f"shard_map axis_names {sorted(unknown)} are not axes of the mesh {the_mesh.axis_names}")
        manual = [n for n in the_mesh.axis_names if not axis_names or n in axis_names]
        leaves, tree = tree_flatten(args)
        if in_specs is Infer:
            leaf_specs = [s.spec if isinstance(s := _sharding_of(x) if isinstance(x, Array) else None, NamedSharding)
                          else PartitionSpec() for x in leaves]
        else:
            leaf_specs = _specs_per_leaf(tuple(in_specs) if isinstance(in_specs, list) else in_specs, args, "in_specs")
        leaf_specs = [PartitionSpec() if s is None else s for s in leaf_specs]
        for spec in leaf_specs:
            NamedSharding(the_mesh, spec)  # checks the spec's axes against the mesh
            _check_manual("in_specs", spec, manual)
        blocks = [_split_blocks(x, s, the_mesh, manual) for x, s in zip(leaves, leaf_specs)]

        def per_block(*block_leaves):
            return f(*tree_unflatten(tree, list(block_leaves)))

        fun = per_block
        for level in reversed(range(len(manual))):
            name = manual[level]
            out_axes = tree_map(lambda s, name=name: 0 if not check_vma or name in _spec_axes(s) else None,
                                out_specs, is_leaf=lambda s: isinstance(s, PartitionSpec) or s is None)
            fun = vmap(fun, in_axes=[0 if flags[level] else None for _, flags in blocks], out_axes=out_axes,
                       axis_name=name, axis_size=the_mesh.shape[name])
        try:
            outs = fun(*[x for x, _ in blocks])
        except ValueError as error:
            if "depends on the mapped axis" not in str(error):
                raise
            raise ValueError(f"shard_map: an output of {getattr(f, '__name__', f)} varies along a mesh axis its "
                             f"out_specs {out_specs!r} leave out, so it cannot be taken as replicated; add the axis "
                             "to out_specs, or pass check_vma=False to take the first block's value") from None
        out_leaves, out_tree = tree_flatten(outs)
        results = []
        for y, spec in zip(out_leaves, _specs_per_leaf(out_specs, outs, "out_specs")):
            _check_manual("out_specs", spec, manual)
            spec = PartitionSpec() if spec is None else spec
            NamedSharding(the_mesh, spec)  # checks the spec's axes against the mesh
            leading = [name for name in manual if not check_vma or name in _spec_axes(spec)]
            for position in reversed(range(len(leading))):
                if leading[position] not in _spec_axes(spec):  # check_vma=False: the first block's value
                    y = ops.squeeze(ops.slice_in_dim(y, 0, 1, axis=position), (position,))
            results.append(_join_blocks(y, spec, the_mesh, manual,
                                        [name in _spec_axes(spec) for name in manual]))
        return tree_unflatten(out_tree, results)
    return mapped


def _check_rank(spec, ndim):
    if len(spec) > ndim:
        raise ValueError(f"shard_map: {spec!r} has {len(spec)} entries, more than the rank {ndim} of the value "
                         "it describes")


def _check_manual(what, spec, manual):
    """As JAX: a spec may split only along the axes shard_map maps (axis_names)."""
    outside = sorted(_spec_axes(spec or PartitionSpec()) - set(manual))
    if outside:
        raise ValueError(f"shard_map {what} must refer only to axes marked as manual ({sorted(manual)}), but "
                         f"{spec!r} refers to {outside}")


def _spec_axes(spec):
    return {name for dim in range(len(spec)) for name in spec.axes_of(dim)}


def smap(f=None, /, *, in_axes=Infer, out_axes, axis_name):
    """shard_map over the one mesh axis `axis_name` of the current mesh, with vmap-style
    in_axes/out_axes (an int or None per argument or output) saying which dimension it splits."""
    if f is None:
        return functools.partial(smap, in_axes=in_axes, out_axes=out_axes, axis_name=axis_name)
    if in_axes is Infer:
        raise NotImplementedError("smap: in_axes must be given (mlax does not infer them from sharding types)")

    def spec_of(axis, ndim=None):
        if axis is None:
            return PartitionSpec()
        if axis < 0:
            if ndim is None:
                raise NotImplementedError(f"smap: a negative out_axes entry ({axis}) is not supported")
            axis %= ndim
        return PartitionSpec(*([None] * axis), axis_name)

    @functools.wraps(f)
    def mapped(*args):
        leaves, tree = tree_flatten(args)
        axes = broadcast_prefix(in_axes if not isinstance(in_axes, list) else tuple(in_axes), args, "in_axes", "smap")
        specs = [spec_of(a, aval_of(x).ndim) for a, x in zip(axes, leaves)]
        out_specs = tree_map(spec_of, out_axes, is_leaf=lambda a: a is None)
        return shard_map(f, out_specs=out_specs, in_specs=tuple(tree_unflatten(tree, specs)),
                         axis_names={axis_name})(*args)
    return mapped
