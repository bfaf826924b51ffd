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
