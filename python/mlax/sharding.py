"""jax.sharding: meshes, shardings and partition specs on the devices of this process.

An mlax.Array lives on one device, so an array takes a sharding only when all
of it sits on one device (a mesh of one device); shard_map works on any mesh
of mlax's devices (see mlax.api.sharding).
"""

from mlax.api.sharding import (AxisType, Mesh, NamedSharding, PartitionSpec, Sharding,  # noqa: F401
                               SingleDeviceSharding, reshard, set_mesh)

__all__ = ["AxisType", "Mesh", "NamedSharding", "PartitionSpec", "Sharding", "SingleDeviceSharding", "reshard",
           "set_mesh"]
