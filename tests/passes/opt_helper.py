"""`mlax opt` run in process on IR text, and a look at what it printed; for the pass tests."""

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


def op_names(text):
    """The names of all operations in the module `text`, inner ones first."""
    names = []

    def record(operation):
        names.append(operation.name)
        return ir.WalkResult.ADVANCE

    with mlir.context(), ir.Location.unknown():
        ir.Module.parse(text).operation.walk(record)
    return names


def run_lowered(text, *args):
    """Compile a lowered (StableHLO) module text with IREE and run its @main on numpy arrays
    (on as many CPU devices as it names)."""
    import numpy as np

    from mlax.runtime import backends, compiler
    from mlax.runtime.device import Executable, devices

    with mlir.context(), ir.Location.unknown():
        module = ir.Module.parse(text)
    device, count = devices("cpu")[0], backends.device_count(text)
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
