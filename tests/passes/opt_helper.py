"""`mlax opt` run in process on IR text, and a look at what it printed; for the pass tests.

The expected IR is written as FileCheck directives (`// CHECK: ...`, as in MLIR's lit tests)
and checked by the `filecheck` package (a Python FileCheck) with `check_output`.
"""

import os
import subprocess
import sys
import tempfile

from iree.compiler import ir

from mlax import cli
from mlax.core import mlir


def mlax_opt(text, passes, tmp_path, capsys):
    """Run `mlax opt` on `text` with `passes`; return (exit status, stdout, stderr)."""
    source = tmp_path / "input.mlir"
    source.write_text(text)
    status = cli.main(["opt", str(source), "--passes", ",".join(passes)])
    out, err = capsys.readouterr()
    return status, out, err


def check_output(output, checks, prefixes=("CHECK",), match_full_lines=False):
    """Check `output` (what `mlax opt` printed) against the FileCheck directives in `checks`;
    fail the test with FileCheck's diagnostics on a mismatch.

    `filecheck` runs once per prefix in `prefixes`, as a lit test does with one RUN line per
    `--check-prefix`: a second prefix holds checks over the whole output (a CHECK-NOT before
    the first and after the last positive match covers everything), apart from the ordered ones.
    `match_full_lines`: each check must match a whole line (FileCheck's --match-full-lines)."""
    with tempfile.TemporaryDirectory() as folder:
        check_file = os.path.join(folder, "checks.mlir")
        with open(check_file, "w") as f:
            f.write(checks)
        for prefix in prefixes:
            flags = ["--enable-var-scope", "--check-prefix", prefix] + (["--match-full-lines"] if match_full_lines else [])
            run = subprocess.run([sys.executable, "-m", "filecheck", *flags, check_file],
                                 input=output, capture_output=True, text=True)
            if run.returncode != 0:
                raise AssertionError(f"FileCheck --check-prefix {prefix} failed:\n{run.stderr}{run.stdout}"
                                     f"\n--- the output checked ---\n{output}")


def run_lowered(text, *args):
    """Compile a lowered (StableHLO) module text with IREE and run its @main on numpy arrays
    (on as many CPU devices as its `mlax.num_devices` attribute says)."""
    import numpy as np

    from mlax.ops.collectives import num_devices
    from mlax.runtime import compiler
    from mlax.runtime.device import Executable, devices

    with mlir.context(), ir.Location.unknown():
        module = ir.Module.parse(text)
    device, count = devices("cpu")[0], num_devices(module.operation)
    executable = Executable(compiler.compile_module(module, "cpu"), device,
                            devices=devices("cpu")[:count] if count > 1 else None)
    num_results = text.split("func.func @main")[1].split("{")[0].count("tensor<") - len(args)
    outs = executable.run([device.put(np.asarray(a)) for a in args], num_results)
    with mlir.context():
        result_types = ir.FunctionType(ir.TypeAttr(next(
            op for op in module.body.operations if op.operation.name == "func.func"
            and ir.StringAttr(op.operation.attributes["sym_name"]).value == "main"
        ).operation.attributes["function_type"]).value).results
    return [device.fetch(b, *mlir.shape_dtype(t)) for b, t in zip(outs, result_types)]
