"""mlax.export: a function traced and compiled ahead of time into an Exported
(runtime/export.py holds the Exported and its .mlaxpkg format)."""

from mlax.api.jit import Jitted
from mlax.runtime import backends
from mlax.runtime.export import Exported, tree_to_json


def export(fun, platforms=None):
    """`export(f, platforms)(*args, **kwargs)`: f traced for the shapes and dtypes of
    the arguments (arrays or ShapeDtypeStructs) and compiled for each platform
    (default: the current one), as an Exported. For static arguments, pass
    `mlax.jit(f, static_argnums=...)` and their values."""
    jitted = fun if isinstance(fun, Jitted) else Jitted(fun)
    names = [platforms] if isinstance(platforms, str) else platforms or [backends.default_name()]
    targets = list(dict.fromkeys(backends.get(name.strip().lower()).name for name in names))

    def exported(*args, **kwargs):
        program = jitted.trace(args, kwargs, embed_constants=True)
        for tree in (program.in_tree, program.out_tree):
            tree_to_json(tree)  # raises, before compiling, for a structure a load could not rebuild
        vmfbs = {target: program.vmfb(target, portable=True) for target in targets}
        return Exported(getattr(fun, "__name__", type(fun).__name__),
                        [a.strip_weak_type() for a in program.in_avals],
                        [a.strip_weak_type() for a in program.out_avals], program.in_tree, program.out_tree,
                        vmfbs, program.name, program.written_args, program.builder.work,
                        device_count=program.num_devices)
    return exported
