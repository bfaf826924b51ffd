"""The `mlax` command line.

    mlax opt in.mlir --passes mlax-verify,mlax-simplify,mlax-lower [-o out.mlir]

`opt` runs mlax's MLIR passes on a textual module, so each pass can be tried
on hand-written IR. Bad input (unreadable file, invalid IR, unknown pass, a
pass rejecting the module) ends with one line on stderr and exit status 2.
"""

import argparse
import inspect
import sys

from iree.compiler import ir

from mlax import errors

# What a user can get wrong; anything else is a bug in mlax and keeps its traceback.
_INPUT_ERRORS = (OSError, ValueError, TypeError, NotImplementedError, errors.MlaxError, ir.MLIRError)


def _pass_summaries():
    """One line per registered pass: its name and the first line of its module's docstring."""
    from mlax import passes

    lines = []
    for name, fn in sorted(passes.available().items()):
        doc = (inspect.getmodule(fn).__doc__ or "").strip().splitlines()
        summary = doc[0].removeprefix(f"{name}:").strip() if doc else ""
        lines.append(f"  {name:<24}{summary}")
    return "\n".join(lines)


def _opt(args):
    from mlax import passes
    from mlax.core import mlir

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
