"""The port test: programs written for JAX (examples/from_jax/) run by mlax with `import jax`
changed to `import mlax as jax`, the only change, print JAX's figures."""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("jax")

FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "from_jax")
PROGRAMS = sorted(name for name in os.listdir(FOLDER) if name.endswith(".py"))
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _run(source, cwd):
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env=dict(os.environ, JAX_PLATFORMS="cpu"))
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_there_are_four_programs():
    assert len(PROGRAMS) == 4


@pytest.mark.parametrize("program", PROGRAMS)
def test_runs_under_mlax_with_only_the_import_changed(program, tmp_path):
    with open(os.path.join(FOLDER, program)) as f:
        source = f.read()
    ported = re.sub(r"^import jax$", "import mlax as jax", source, flags=re.M)
    assert len(re.findall(r"^import mlax as jax$", ported, re.M)) == 1
    assert not re.search(r"^(import|from) jax", ported, re.M)
    expected, got = _run(source, tmp_path), _run(ported, tmp_path)
    assert len(got) == len(expected), (got, expected)
    for line, reference in zip(got, expected):
        assert NUMBER.sub("#", line) == NUMBER.sub("#", reference), (line, reference)
        for value, want in zip(NUMBER.findall(line), NUMBER.findall(reference)):
            # float32 arithmetic in another order: the printed figures agree to a few units
            # of their last digit.
            assert abs(float(value) - float(want)) <= 1e-3 + 1e-3 * abs(float(want)), (line, reference)
