"""Which arguments of a compiled program IREE may overwrite.

IREE 3.13 can run an in-place op (dynamic_update_slice, scatter, sort, loop
state updates) directly in the storage of a function argument that reaches
it through view-like ops such as reshape (iree-org/iree#16168). mlax arrays
are immutable, so the runtime passes such arguments a private copy; this
module finds them by following each argument's uses through view-like ops.
"""

from mlax.passes import _walk

# Ops whose result may share the operand's storage.
_VIEW_LIKE = {"stablehlo.reshape", "stablehlo.bitcast_convert", "stablehlo.slice", "stablehlo.convert",
              "stablehlo.optimization_barrier", "stablehlo.dynamic_slice", "stablehlo.broadcast_in_dim",
              "flow.tensor.transfer"}
# Ops that may write into the storage of an operand.
_IN_PLACE = {"stablehlo.dynamic_update_slice", "stablehlo.scatter", "stablehlo.sort", "stablehlo.while",
             "stablehlo.case", "stablehlo.if", "func.call"}


def _reaches_in_place_op(value, seen):
    for use in value.uses:
        owner = use.owner
        name = owner.name
        if name in _IN_PLACE:
            return True
        if name in _VIEW_LIKE and owner not in seen:
            seen.add(owner)
            if any(_reaches_in_place_op(result, seen) for result in owner.results):
                return True
    return False


def written_arguments(module_op, entry="main"):
    """Indices of @entry's arguments whose storage the compiled program may write."""
    func_op = next(f for f in _walk.functions(module_op) if _walk.function_name(f) == entry)
    arguments = func_op.regions[0].blocks[0].arguments
    return [i for i, arg in enumerate(arguments) if _reaches_in_place_op(arg, set())]
