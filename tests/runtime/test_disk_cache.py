"""The disk cache of compiled modules is checked before IREE reads an entry: damaged
entries are deleted and recompiled with a warning, entries for another CPU are never
served, and a cache another user could write is not used."""

import glob
import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

from mlax.runtime import disk_cache

# A fresh process: compile (or load from the cache) and print the result and any warnings.
SCRIPT = """
import warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import mlax, mlax.numpy as mnp
    print(float(mlax.jit(lambda x: (mnp.sin(x) * 3.0).sum())(mnp.arange(4.0))))
for w in caught:
    print("WARNING", w.message)
"""
EXPECTED = float((np.sin(np.arange(4.0, dtype=np.float32)) * 3).sum())


def run(cache):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                         env=dict(os.environ, MLAX_CACHE_DIR=str(cache))).stdout.splitlines()
    return float(out[0]), [line for line in out[1:] if line.startswith("WARNING")]


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A cache holding the script's entries, and their bytes."""
    cache = tmp_path_factory.mktemp("cache")
    value, warned = run(cache)
    assert value == pytest.approx(EXPECTED, rel=1e-6) and not warned
    entries = sorted(glob.glob(str(cache / "*" / "*.vmfb")))
    assert entries
    return cache, {path: open(path, "rb").read() for path in entries}


def damage(data, how):
    if how == "truncated":
        return data[: len(data) // 2]
    if how == "emptied":
        return b""
    if how == "garbage":
        return bytes(np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8))
    position = int(how.split(":")[1]) % len(data)  # a flipped bit
    return data[:position] + bytes([data[position] ^ 0x10]) + data[position + 1:]


@pytest.mark.parametrize("how", ["truncated", "emptied", "garbage", "bit:0", "bit:9", "bit:45", "bit:1000",
                                 "bit:-1", "bit:-5000"])
def test_a_damaged_entry_is_recompiled_with_a_warning_naming_it(filled, how):
    cache, entries = filled
    for path, data in entries.items():
        with open(path, "wb") as f:
            f.write(damage(data, how))
    try:
        value, warned = run(cache)
        assert value == pytest.approx(EXPECTED, rel=1e-6)
        assert any("damaged compile-cache entry" in w and ".vmfb" in w for w in warned), warned
        value, warned = run(cache)  # rewritten: the next process uses it silently
        assert value == pytest.approx(EXPECTED, rel=1e-6) and not warned
    finally:
        for path, data in entries.items():
            with open(path, "wb") as f:
                f.write(data)


def test_the_key_names_the_cpu_that_host_stands_for(monkeypatch):
    flags, versions = ("--iree-llvmcpu-target-cpu=host",), ("0", "0")
    here = disk_cache.key("module", flags, versions)
    monkeypatch.setattr(disk_cache, "host_cpu", lambda: "another CPU with other features")
    assert disk_cache.key("module", flags, versions) != here
    portable = ("--iree-llvmcpu-target-cpu=generic",)
    assert disk_cache.key("module", portable, versions) == disk_cache.key("module", portable, versions)


def test_entries_for_another_cpu_are_not_served(tmp_path, monkeypatch):
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path))
    flags, versions = ("--iree-llvmcpu-target-cpu=host",), ("0", "0")
    monkeypatch.setattr(disk_cache, "host_cpu", lambda: "another CPU")
    disk_cache.write(disk_cache.key("module", flags, versions), b"code for another CPU")
    monkeypatch.undo()
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path))
    assert disk_cache.read(disk_cache.key("module", flags, versions)) is None


def test_the_cache_is_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path / "new"))
    disk_cache.write("ab" + "0" * 62, b"module")
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700
    assert disk_cache.read("ab" + "0" * 62) == b"module"


def test_a_cache_others_can_write_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("MLAX_CACHE_DIR", str(tmp_path))
    disk_cache.write("cd" + "0" * 62, b"module")
    os.chmod(tmp_path, 0o777)
    disk_cache._warn_once.cache_clear()
    with pytest.warns(RuntimeWarning, match="another user can write it"):
        assert disk_cache.read("cd" + "0" * 62) is None
    os.chmod(tmp_path, 0o700)
    entry = tmp_path / "cd" / ("cd" + "0" * 62 + ".vmfb")
    os.chmod(entry, 0o666)
    disk_cache._warn_once.cache_clear()
    with pytest.warns(RuntimeWarning, match="another user can write it"):
        assert disk_cache.read("cd" + "0" * 62) is None


def test_an_unusable_cache_directory_warns_once(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MLAX_CACHE_DIR", str(blocker / "cache"))
    disk_cache._warn_once.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        disk_cache.write("ef" + "0" * 62, b"module")
        assert disk_cache.read("ef" + "0" * 62) is None
    assert len([w for w in caught if "cannot use the compile cache" in str(w.message)]) == 1
