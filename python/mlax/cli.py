"""The `mlax` command line.

    mlax opt in.mlir --passes mlax-verify,mlax-simplify,mlax-lower [-o out.mlir]
    mlax compile model.py:loss --arg 'f32[8,128]' --arg 'i32[]' [--target cpu ...] [--grad 0] [--vmap 0] -o out.mlaxpkg
    mlax run out.mlaxpkg --input x.npy n.npy [--output-dir DIR]
    mlax inspect out.mlaxpkg [--extract DIR]

`opt` runs mlax's MLIR passes on a textual module, so each pass can be tried
on hand-written IR; `compile` exports a Python function (mlax.export),
`run` calls an export on .npy inputs and `inspect` prints its signature and
targets. Bad input (unreadable file, invalid IR, unknown pass, function or
target, a bad array type, a pass rejecting the module) ends with one line on
stderr and exit status 2.
"""

import argparse
import importlib.util
import inspect
import os
import sys

import numpy as np
from iree.compiler import ir

import mlax
from mlax import errors, passes, warm
from mlax.core import dtypes, mlir
from mlax.runtime import backends
from mlax.runtime.export import argument_paths, leaf_paths, parse_aval
from mlax.tree_util import tree_leaves

# What a user can get wrong; anything else is a bug in mlax and keeps its traceback.
_INPUT_ERRORS = (OSError, ValueError, TypeError, NotImplementedError, errors.MlaxError, ir.MLIRError)


def _pass_summaries():
    """One line per registered pass: its name and the first line of its module's docstring."""

    lines = []
    for name, fn in sorted(passes.available().items()):
        doc = (inspect.getmodule(fn).__doc__ or "").strip().splitlines()
        summary = doc[0].removeprefix(f"{name}:").strip() if doc else ""
        lines.append(f"  {name:<24}{summary}")
    return "\n".join(lines)


def _opt(args):

    names = [name.strip() for name in args.passes.split(",") if name.strip()]
    with mlir.context(), ir.Location.unknown():
        module = ir.Module.parse(sys.stdin.read()) if args.input == "-" else ir.Module.parseFile(args.input)
    passes.run(module, names)
    if args.output:
        with open(args.output, "w") as f:
            f.write(str(module))
    else:
        sys.stdout.write(str(module))
    return 0


def _load_function(spec):
    """The function that FILE.py:NAME names. The file runs as a module of its own
    name, prefixed so that it cannot replace a module already imported."""
    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise ValueError(f"expected FILE.py:FUNCTION, got {spec!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    module_name = "_mlax_compile_" + os.path.splitext(os.path.basename(path))[0]
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(module_name, path))
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # its sibling modules import as in a script
    sys.modules[module_name] = module
    module.__spec__.loader.exec_module(module)
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{path} defines no function {name!r}")
    return function


def _arg_spec(text):
    """The ShapeDtypeStruct a --arg spells."""

    aval = parse_aval(text)
    if dtypes.canonicalize(aval.dtype) != aval.dtype:
        raise ValueError(f"--arg {text!r}: {aval.dtype} needs 64-bit mode; set MLAX_ENABLE_X64=1")
    return mlax.ShapeDtypeStruct(aval.shape, aval.dtype)


def _argnum(option, value, count):
    if value is not None and not 0 <= value < count:
        raise ValueError(f"{option} {value}: the function gets {count} argument(s) from --arg")
    return value


def _compile(args):

    function = _load_function(args.function)
    specs = [_arg_spec(text) for text in args.arg]
    if _argnum("--grad", args.grad, len(specs)) is not None:
        function = mlax.grad(function, argnums=args.grad)
    if _argnum("--vmap", args.vmap, len(specs)) is not None:
        function = mlax.vmap(function, in_axes=tuple(0 if i == args.vmap else None for i in range(len(specs))))
    exported = mlax.export(function, platforms=args.target)(*specs)
    exported.save(args.output)
    print(f"{args.output}: {exported.signature()} for {', '.join(exported.platforms)} "
          f"({os.path.getsize(args.output)} bytes)")
    return 0


def _run(args):

    exported = mlax.load(args.package)
    if len(args.input) != len(exported.in_avals):
        raise ValueError(f"{exported.signature()} takes {len(exported.in_avals)} input(s), "
                         f"got {len(args.input)} --input file(s)")
    inputs = [np.load(path, allow_pickle=False) for path in args.input]
    positional, keywords = exported.in_tree.unflatten(inputs)
    outputs = [np.asarray(x) for x in tree_leaves(exported.call(*positional, **keywords))]
    paths = leaf_paths(exported.out_tree, "out")
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    for i, (path, aval, value) in enumerate(zip(paths, exported.out_avals, outputs)):
        if args.output_dir:
            file = os.path.join(args.output_dir, f"out_{i}.npy")
            np.save(file, value)
            print(f"{path}: {aval.str_short()} -> {file}")
        else:
            label = f"{path}: {aval.str_short()} = "
            print(label + np.array2string(value, separator=", ", prefix=label))
    return 0


def _inspect(args):

    exported = mlax.load(args.package)
    print(exported.signature())
    for title, paths, avals in (("inputs", argument_paths(exported.in_tree), exported.in_avals),
                                ("outputs", leaf_paths(exported.out_tree, "out"), exported.out_avals)):
        print(f"{title}:")
        for path, aval in zip(paths, avals):
            print(f"  {path:<24}{aval.str_short()}")
    if exported.device_count > 1:
        print(f"devices: {exported.device_count} (pmap; on a CPU host set MLAX_NUM_CPU_DEVICES)")
    print(f"targets (compiled by IREE {exported.iree_version}):")
    for platform in exported.platforms:
        vmfb = exported.vmfb(platform)
        line = f"  {platform:<8}{len(vmfb)} bytes, IREE driver {backends.get(platform).driver}"
        if args.extract:
            os.makedirs(args.extract, exist_ok=True)
            file = os.path.join(args.extract, f"{platform}.vmfb")
            with open(file, "wb") as f:
                f.write(vmfb)
            line += f" -> {file}"
        print(line)
    return 0


def _add_export_commands(commands):

    compile_ = commands.add_parser(
        "compile", help="export a Python function, compiled ahead of time, to a .mlaxpkg file",
        description="Import FILE.py, trace its function for the argument types given by --arg, compile it "
                    "with IREE for each --target, and save the result (mlax.export) for `mlax run`, "
                    "`mlax.load` or IREE's own iree-run-module.",
        epilog="With --grad N the export is the gradient of the function with respect to argument N (the "
               "function must return a scalar). With --vmap N it is the function mapped over the leading "
               "axis of argument N: that --arg gives the batched shape (e.g. f32[32,128] for 32 rows of "
               "f32[128]); the other arguments are shared. With both, the export is vmap(grad(f)): "
               "per-example gradients.")
    compile_.add_argument("function", metavar="FILE.py:FUNCTION", help="the Python file and the function in it")
    compile_.add_argument("--arg", action="append", default=[], metavar="TYPE",
                          help="the type of the next positional argument, as DTYPE[DIMS]: f32[8,128], i32[], "
                               "bf16[4], bool[3] ... (repeat for each argument)")
    compile_.add_argument("--target", action="append", metavar="PLATFORM",
                          help=f"a platform to compile for, one of {', '.join(backends.BACKENDS)}; repeat for several "
                               "(default: the current platform, cpu unless MLAX_PLATFORM says otherwise)")
    compile_.add_argument("--grad", type=int, metavar="N", help="export the gradient with respect to argument N")
    compile_.add_argument("--vmap", type=int, metavar="N", help="map over the leading axis of argument N")
    compile_.add_argument("-o", "--output", required=True, metavar="FILE", help="the .mlaxpkg file to write")
    compile_.set_defaults(run=_compile)

    run = commands.add_parser(
        "run", help="run an exported function on .npy inputs",
        description="Load a .mlaxpkg file, call its function on the current platform (MLAX_PLATFORM, default "
                    "cpu) with one .npy file per input, and print each output, or save it as .npy.")
    run.add_argument("package", metavar="PACKAGE", help="the .mlaxpkg file")
    run.add_argument("--input", action="extend", nargs="+", default=[], metavar="FILE.npy",
                     help="the inputs in order, one .npy file each (`mlax inspect` lists them)")
    run.add_argument("--output-dir", metavar="DIR", help="save output i as DIR/out_i.npy instead of printing it")
    run.set_defaults(run=_run)

    inspect_ = commands.add_parser(
        "inspect", help="print an exported function's signature and targets",
        description="Print the signature of a .mlaxpkg file (each input and output with its type) and the "
                    "targets it holds. Each target is an IREE module that iree-run-module also runs, e.g. "
                    "iree-run-module --module=DIR/cpu.vmfb --device=local-task --function=main "
                    "--input=@x.npy")
    inspect_.add_argument("package", metavar="PACKAGE", help="the .mlaxpkg file")
    inspect_.add_argument("--extract", metavar="DIR", help="also write each target's module to DIR/PLATFORM.vmfb")
    inspect_.set_defaults(run=_inspect)


def _parser():
    parser = argparse.ArgumentParser(
        prog="mlax", description="mlax: NumPy-style programs compiled through MLIR and IREE.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    opt = commands.add_parser(
        "opt", help="run mlax passes on a textual MLIR module",
        description="Parse a textual MLIR module (mlax dialect, in MLIR's generic op form), run the "
                    "named passes in order, and print the resulting module.",
        epilog="available passes:\n" + _pass_summaries(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    opt.add_argument("input", help="the .mlir file to read ('-' for stdin)")
    opt.add_argument("--passes", default="", metavar="NAMES",
                     help="comma-separated pass names, run in order (default: none, just print the module)")
    opt.add_argument("-o", "--output", metavar="FILE", help="write the result here instead of stdout")
    opt.set_defaults(run=_opt)
    warm_ = commands.add_parser(
        "warm", help="compile the interpreter tier's kernels into the disk cache",
        description="Compile the kernel library that runs a new jitted function's first calls while IREE "
                    "compiles it (MLAX_JIT_TIERING), for the current platform, into the disk cache "
                    "(MLAX_CACHE_DIR). Kernels already cached are only read.")
    warm_.add_argument("--quiet", action="store_true", help="print no progress, only the summary")
    warm_.set_defaults(run=lambda args: warm.warm(args.quiet))
    _add_export_commands(commands)
    return parser


def _one_line(error):
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def main(argv=None):
    """Run the command line `argv` (default: sys.argv[1:]); return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except _INPUT_ERRORS as error:
        print(f"mlax {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
