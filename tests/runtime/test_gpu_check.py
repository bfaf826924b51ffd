"""tools/gpu_check.py: its pytest summary parsing and architecture rule, and a Vulkan round trip of
one function through `export` and `run-exports` (which must not import mlax), numbers included."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mlax
from mlax import errors

TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "tools", "gpu_check.py")
_spec = importlib.util.spec_from_file_location("gpu_check", TOOL)
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)

# run-exports in a fresh interpreter, reporting whether anything imported mlax.
RUN_EXPORTS = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("gpu_check", {TOOL!r})
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
status = tool.main(["run-exports", sys.argv[1], "--driver", "vulkan"])
print("mlax imported:", any(name == "mlax" or name.startswith("mlax.") for name in sys.modules))
sys.exit(status)
"""


def test_pytest_counts():
    assert gpu_check.pytest_counts("....\n3 passed, 1 failed, 2 skipped, 1 xfailed, 2 errors in 4.12s\n") == {
        "passed": 3, "failed": 1, "skipped": 2, "xfailed": 1, "error": 2}
    assert gpu_check.pytest_counts("5273 deselected in 21.12s") == {"deselected": 5273}
    assert gpu_check.pytest_counts("collecting ...") == {}


def test_cannot_run_here():
    assert gpu_check.cannot_run_here("sm_90", "cuda", "sm_80")
    assert not gpu_check.cannot_run_here("sm_80", "cuda", "sm_90")
    assert gpu_check.cannot_run_here("gfx942", "hip", "gfx90a")
    assert not gpu_check.cannot_run_here("sm_90", "cuda", None)
    assert not gpu_check.cannot_run_here("vp_android_baseline_2022", "vulkan", None)


def test_parse_targets():
    assert gpu_check.parse_targets("cuda:sm_80, rocm:gfx942,vulkan") == [
        ("cuda", "sm_80"), ("rocm", "gfx942"), ("vulkan", None)]
    with pytest.raises(ValueError, match="unknown platform 'metal'"):
        gpu_check.parse_targets("metal:m1")


@pytest.fixture(scope="module")
def vulkan_export(tmp_path_factory):
    try:
        mlax.devices("vulkan")
    except errors.BackendError as error:
        pytest.skip(f"no Vulkan device: {error}")
    outdir = str(tmp_path_factory.mktemp("gpu_check"))
    assert gpu_check.export(outdir, [("vulkan", None)], ["sum0"]) == 0
    return outdir


def test_vulkan_round_trip(vulkan_export):
    with open(os.path.join(vulkan_export, "manifest.json")) as f:
        (entry,) = json.load(f)["modules"]
    assert (entry["function"], entry["driver"], entry["entry"]) == ("sum0", "vulkan", "main")
    assert os.path.exists(os.path.join(vulkan_export, entry["module"]))
    (x,) = [np.load(os.path.join(vulkan_export, file)) for file in entry["inputs"]]
    (expected,) = [np.load(os.path.join(vulkan_export, file)) for file in entry["expected"]]
    assert x.shape == (64, 32) and x.dtype == np.float32
    np.testing.assert_allclose(expected, x.sum(0), rtol=1e-5, atol=1e-5)

    run = subprocess.run([sys.executable, "-c", RUN_EXPORTS, vulkan_export], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sum0" in run.stdout and "1 pass, 0 fail, 0 skipped" in run.stdout
    assert "mlax imported: False" in run.stdout


def test_vulkan_run_exports_reports_a_wrong_result(vulkan_export, tmp_path, capsys):
    for file in os.listdir(vulkan_export):
        with open(os.path.join(vulkan_export, file), "rb") as source, open(tmp_path / file, "wb") as copy:
            copy.write(source.read())
    expected = np.load(tmp_path / "sum0.out0.npy")
    expected[3] += 0.5
    np.save(tmp_path / "sum0.out0.npy", expected)
    assert gpu_check.run_exports(str(tmp_path), "vulkan") == 1
    assert "result 0 differs: max |error| 0.5" in capsys.readouterr().out
