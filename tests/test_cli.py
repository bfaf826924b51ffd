"""The `mlax` command line: help texts, the installed console script, and its error paths."""

import os
import subprocess
import sys

import numpy as np
import pytest

from mlax import cli, passes

# The console script pip installed next to this interpreter.
MLAX_SCRIPT = os.path.join(os.path.dirname(sys.executable), "mlax")

TANH = """
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = "mlax.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
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
                          "-o", str(output)], input=TANH, capture_output=True, text=True)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert "stablehlo.tanh %arg0 : tensor<3xf32>" in output.read_text()


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
    source.write_text(TANH)
    argv = [{"INPUT": str(source), "MISSING": str(tmp_path / "missing.mlir")}.get(a, a) for a in argv]
    status, out, err = run_main(argv, capsys)
    assert (status, out) == (2, "")
    assert err.startswith("mlax opt: error: ") and err.count("\n") == 1 and message in err


# -- compile / run / inspect ----------------------------------------------------
MODEL = """
import mlax.numpy as mnp


def loss(w, x):
    return mnp.tanh(x @ w).sum()


def predict(w, x, k):
    return {"y": mnp.tanh(x @ w), "k": k + 1}
"""
W = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
XS = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
BATCH = XS * np.arange(1, 5, dtype=np.float32)[:, None, None]  # four examples of XS's shape


def loss_grad_w(w, x):
    """d/dw of sum(tanh(x @ w)), by hand."""
    return x.T @ (1 - np.tanh(x @ w) ** 2)


@pytest.fixture
def model(tmp_path):
    """The MODEL file under a name no other test imports, and .npy inputs beside it."""
    path = tmp_path / f"model_{tmp_path.name}.py"
    path.write_text(MODEL)
    np.save(tmp_path / "w.npy", W)
    np.save(tmp_path / "x.npy", XS)
    np.save(tmp_path / "k.npy", np.int32(41))
    return path


def test_help_names_the_export_commands(capsys):
    _, out, _ = run_main(["--help"], capsys)
    for line in ("export a Python function, compiled ahead of time", "run an exported function on .npy inputs",
                 "print an exported function's signature and targets"):
        assert line in out


@pytest.mark.parametrize("command, phrases", [
    ("compile", ["FILE.py:FUNCTION", "--arg TYPE", "f32[8,128], i32[]", "--target PLATFORM", "cpu, cuda, vulkan, rocm",
                 "--grad N", "--vmap N", "gives the batched shape", "vmap(grad(f))", "-o FILE"]),
    ("run", ["--input FILE.npy", "--output-dir DIR", "MLAX_PLATFORM"]),
    ("inspect", ["--extract DIR", "iree-run-module --module=DIR/cpu.vmfb --device=local-task --function=main"]),
])
def test_export_command_help(command, phrases, capsys):
    status, out, _ = run_main([command, "--help"], capsys)
    assert status == 0
    flat = " ".join(out.split())
    for phrase in phrases:
        assert phrase in flat


def test_compile_inspect_run_end_to_end(model, tmp_path):
    package = tmp_path / "loss.mlaxpkg"

    def mlax_command(*argv):
        done = subprocess.run([MLAX_SCRIPT, *argv], capture_output=True, text=True, cwd=tmp_path)
        assert (done.returncode, done.stderr) == (0, "")
        return done.stdout

    out = mlax_command("compile", f"{model}:loss", "--arg", "f32[3,4]", "--arg", "f32[2,3]",
                       "--target", "cpu", "--target", "cuda", "-o", str(package))
    assert out == f"{package}: loss(f32[3,4], f32[2,3]) -> f32[] for cpu, cuda ({package.stat().st_size} bytes)\n"
    out = mlax_command("inspect", str(package), "--extract", "modules")
    lines = out.splitlines()
    assert lines[:6] == ["loss(f32[3,4], f32[2,3]) -> f32[]", "inputs:", "  args[0]                 f32[3,4]",
                         "  args[1]                 f32[2,3]", "outputs:", "  out                     f32[]"]
    assert lines[6].startswith("targets (compiled by IREE ")
    assert lines[7].startswith("  cpu     ") and lines[7].endswith("bytes, IREE driver local-task -> modules/cpu.vmfb")
    assert lines[8].startswith("  cuda    ") and lines[8].endswith("bytes, IREE driver cuda -> modules/cuda.vmfb")
    assert b"embedded-elf-" in (tmp_path / "modules" / "cpu.vmfb").read_bytes()
    out = mlax_command("run", str(package), "--input", "w.npy", "x.npy")
    assert out.startswith("out: f32[] = ")
    np.testing.assert_allclose(float(out.split("=")[1]), np.tanh(XS @ W).sum(), rtol=1e-6)


def test_run_saves_pytree_outputs(model, tmp_path, capsys):
    package = str(tmp_path / "predict.mlaxpkg")
    argv = ["compile", f"{model}:predict", "--arg", "f32[3,4]", "--arg", "f32[2,3]", "--arg", "i32[]", "-o", package]
    assert run_main(argv, capsys)[0] == 0
    status, out, _ = run_main(["run", package, "--input", str(tmp_path / "w.npy"), str(tmp_path / "x.npy"),
                               "--input", str(tmp_path / "k.npy"), "--output-dir", str(tmp_path / "outs")], capsys)
    assert status == 0
    assert out == (f"out['k']: i32[] -> {tmp_path / 'outs' / 'out_0.npy'}\n"
                   f"out['y']: f32[2,4] -> {tmp_path / 'outs' / 'out_1.npy'}\n")
    assert np.load(tmp_path / "outs" / "out_0.npy") == 42
    np.testing.assert_allclose(np.load(tmp_path / "outs" / "out_1.npy"), np.tanh(XS @ W), rtol=1e-6)


@pytest.mark.parametrize("options, x, want", [
    (["--grad", "0"], XS, loss_grad_w(W, XS)),
    (["--vmap", "1"], BATCH, np.stack([np.tanh(x @ W).sum() for x in BATCH])),
    (["--grad", "0", "--vmap", "1"], BATCH, np.stack([loss_grad_w(W, x) for x in BATCH])),
], ids=["grad", "vmap", "per-example-grad"])
def test_compile_grad_and_vmap(options, x, want, model, tmp_path, capsys):
    package = str(tmp_path / "loss.mlaxpkg")
    x_type = f"f32[{','.join(map(str, x.shape))}]"  # under --vmap, the batched shape
    argv = ["compile", f"{model}:loss", "--arg", "f32[3,4]", "--arg", x_type, *options, "-o", package]
    assert run_main(argv, capsys)[0] == 0
    np.save(tmp_path / "x_in.npy", x)
    status, _, _ = run_main(["run", package, "--input", str(tmp_path / "w.npy"), str(tmp_path / "x_in.npy"),
                             "--output-dir", str(tmp_path)], capsys)
    assert status == 0
    np.testing.assert_allclose(np.load(tmp_path / "out_0.npy"), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["compile", "MODEL:loss", "--arg", "f32[3,x]", "-o", "OUT"],
     "bad array type 'f32[3,x]': expected DTYPE[DIMS] such as f32[8,128] or i32[], with DTYPE one of bool, i8, "),
    (["compile", "MODEL:loss", "--arg", "float[3]", "-o", "OUT"], "bad array type 'float[3]': "),
    (["compile", "MODEL:loss", "--arg", "f64[3,4]", "--arg", "f32[2,3]", "-o", "OUT"],
     "--arg 'f64[3,4]': float64 needs 64-bit mode; set MLAX_ENABLE_X64=1"),
    (["compile", "MISSING:loss", "--arg", "f32[3]", "-o", "OUT"], "no such file: "),
    (["compile", "MODEL:nope", "--arg", "f32[3]", "-o", "OUT"], "defines no function 'nope'"),
    (["compile", "MODEL", "--arg", "f32[3]", "-o", "OUT"], "expected FILE.py:FUNCTION, got "),
    (["compile", "MODEL:loss", "--arg", "f32[3,4]", "--arg", "f32[2,3]", "--target", "tpu", "-o", "OUT"],
     "unknown backend 'tpu'; mlax knows ['cpu', 'cuda', 'rocm', 'vulkan']"),
    (["compile", "MODEL:loss", "--arg", "f32[3,4]", "--arg", "f32[2,3]", "--grad", "2", "-o", "OUT"],
     "--grad 2: the function gets 2 argument(s) from --arg"),
    (["compile", "MODEL:loss", "--arg", "f32[3,4]", "--arg", "f32[2,3]", "--vmap", "-1", "-o", "OUT"],
     "--vmap -1: the function gets 2 argument(s) from --arg"),
    (["compile", "MODEL:loss", "--arg", "i32[3,4]", "--arg", "i32[2,3]", "--grad", "0", "-o", "OUT"],
     "grad requires real- or complex-valued inputs"),
    (["run", "PACKAGE", "--input", "W"], "loss(f32[3,4], f32[2,3]) -> f32[] takes 2 input(s), got 1 --input file(s)"),
    (["run", "PACKAGE", "--input", "X", "W"], "Exported.call of loss: args[0] should be f32[3,4], got f32[2,3]"),
    (["run", "MODEL"], "not an mlax export: it starts with b'\\nimport '"),
    (["inspect", "MISSING"], "No such file or directory"),
], ids=["bad-arg", "bad-dtype", "f64", "missing-file", "unknown-function", "no-function", "unknown-target",
        "grad-range", "vmap-range", "grad-int", "input-count", "input-shape", "not-a-package", "missing-package"])
def test_export_commands_report_bad_input_in_one_line(argv, message, model, tmp_path, capsys):
    package = tmp_path / "loss.mlaxpkg"
    if "PACKAGE" in argv:
        assert run_main(["compile", f"{model}:loss", "--arg", "f32[3,4]", "--arg", "f32[2,3]", "-o", str(package)],
                        capsys)[0] == 0
    paths = {"MODEL": str(model), "MISSING": str(tmp_path / "missing.py"), "OUT": str(package),
             "PACKAGE": str(package), "W": str(tmp_path / "w.npy"), "X": str(tmp_path / "x.npy")}
    argv = [":".join(paths.get(part, part) for part in a.split(":")) for a in argv]
    status, out, err = run_main(argv, capsys)
    assert (status, out) == (2, "")
    assert err.startswith(f"mlax {argv[0]}: error: ") and err.count("\n") == 1 and message in err
