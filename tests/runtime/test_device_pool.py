"""The CPU devices' memory pool: buffers that die serve later requests of their size, so a
steady loop takes no fresh pages from the system; MLAX_DEVICE_POOL_BYTES bounds it (0: off)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mlax
from mlax import errors
from mlax.runtime import device as device_lib

# A loop of uploads and calls on a 64 MiB array (past glibc's largest mmap threshold, 32 MiB,
# so without a pool every buffer is fresh pages), printing its minor page faults per call.
_STEADY_LOOP = """
import json, resource, numpy as np, mlax
a = np.arange(1 << 24, dtype=np.float32)
double = mlax.jit(lambda x: x * 2.0)
def step():
    return double(mlax.device_put(a)).block_until_ready()
kept = step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
np.testing.assert_array_equal(np.asarray(kept)[-3:], a[-3:] * 2)
print(json.dumps(faults))
"""

PAGES_OF_64_MIB = (64 << 20) // os.sysconf("SC_PAGE_SIZE")


def _faults_per_call(pool_bytes):
    env = dict(os.environ, MLAX_PLATFORM="cpu")
    env.pop("MLAX_DEVICE_POOL_BYTES", None)
    if pool_bytes is not None:
        env["MLAX_DEVICE_POOL_BYTES"] = str(pool_bytes)
    done = subprocess.run([sys.executable, "-c", _STEADY_LOOP], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_steady_loop_takes_no_fresh_pages():
    # Two 64 MiB buffers a call (the upload and the result): unpooled, each is 16,384 fresh pages.
    assert _faults_per_call(None) < PAGES_OF_64_MIB / 8


def test_pooling_off_gives_fresh_pages_each_call():
    # The comparison that shows the pool is what saves them.
    assert _faults_per_call(0) > PAGES_OF_64_MIB


def test_reused_buffers_leave_live_arrays_alone():
    f = mlax.jit(lambda x, k: x * k)
    x = mlax.device_put(np.arange(1000, dtype=np.float32))
    kept = [f(x, np.float32(k)) for k in range(5)]
    for k in range(200):  # results that die at once, of the kept ones' size
        f(x, np.float32(-k)).block_until_ready()
    for k, result in enumerate(kept):
        np.testing.assert_array_equal(np.asarray(result), np.arange(1000, dtype=np.float32) * k)


def test_pool_size_defaults_to_a_quarter_of_memory(monkeypatch):
    monkeypatch.delenv("MLAX_DEVICE_POOL_BYTES", raising=False)
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert device_lib.device_pool_bytes() == memory // 4


@pytest.mark.parametrize("value", ["lots", "-1", "1.5"])
def test_bad_pool_size_is_named(monkeypatch, value):
    monkeypatch.setenv("MLAX_DEVICE_POOL_BYTES", value)
    with pytest.raises(errors.BackendError, match=f"MLAX_DEVICE_POOL_BYTES must be a number of bytes.*{value!r}"):
        device_lib.device_pool_bytes()
