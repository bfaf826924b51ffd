"""The `mlax` command line: help texts, the installed console script, and its error paths."""

import os
import subprocess
import sys

import pytest

from mlax import cli, passes

# The console script pip installed next to this interpreter.
MLAX_SCRIPT = os.path.join(os.path.dirname(sys.executable), "mlax")

SIN = """
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mlax.sin"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
"""


def run_main(argv, capsys):
    """(exit status, stdout, stderr) of cli.main(argv), argparse's own exits included."""
    try:
        status = cli.main(argv)
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def test_help_names_the_opt_command(capsys):
    status, out, _ = run_main(["--help"], capsys)
    assert status == 0
    assert "opt" in out and "run mlax passes on a textual MLIR module" in out


def test_opt_help_lists_every_pass(capsys):
    status, out, _ = run_main(["opt", "--help"], capsys)
    assert status == 0
    assert "--passes" in out and "-o FILE" in out
    listed = out.split("available passes:")[1]
    for name in passes.available():
        assert name in listed
    assert "check every mlax op against the op table" in listed


def test_console_script_reads_stdin_and_writes_output_file(tmp_path):
    output = tmp_path / "out.mlir"
    run = subprocess.run([MLAX_SCRIPT, "opt", "-", "--passes", "mlax-verify,mlax-simplify,mlax-lower",
                          "-o", str(output)], input=SIN, capture_output=True, text=True)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert "stablehlo.sine %arg0 : tensor<3xf32>" in output.read_text()


def test_console_script_reports_bad_ir_in_one_line(tmp_path):
    source = tmp_path / "bad.mlir"
    source.write_text("func.func @main( {\n")
    run = subprocess.run([MLAX_SCRIPT, "opt", str(source)], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == f'mlax opt: error: Unable to parse module assembly: error: "{source}":1:17: ' \
                         "expected non-function type\n"


def test_no_command_prints_usage(capsys):
    status, _, err = run_main([], capsys)
    assert status == 2
    assert err.startswith("usage: mlax") and "the following arguments are required: command" in err


@pytest.mark.parametrize("argv, message", [
    (["opt", "INPUT", "--passes", "mlax-verify,mlax-bogus"], "unknown pass(es) ['mlax-bogus']; known passes: "),
    (["opt", "MISSING"], "could not open input file"),
], ids=["unknown-pass", "missing-file"])
def test_opt_errors_exit_2_with_one_line(argv, message, tmp_path, capsys):
    source = tmp_path / "in.mlir"
    source.write_text(SIN)
    argv = [{"INPUT": str(source), "MISSING": str(tmp_path / "missing.mlir")}.get(a, a) for a in argv]
    status, out, err = run_main(argv, capsys)
    assert (status, out) == (2, "")
    assert err.startswith("mlax opt: error: ") and err.count("\n") == 1 and message in err
