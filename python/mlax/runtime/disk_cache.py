"""The disk cache of compiled modules: a second process skips IREE's compilation.

An entry is native code mlax will run, so the cache is checked like ssh checks its keys:

- Its key hashes the module text, the compiler flags, the mlax and IREE versions and the
  CPU the code is compiled for: `--iree-llvmcpu-target-cpu=host` stands for this machine's
  CPU (its model and feature flags), so a cache shared between machines (a home directory
  on a cluster) never serves code for another CPU.
- Each entry starts with a header: magic, payload size, SHA-256 of the payload. A truncated,
  emptied or damaged entry fails the check before IREE reads a byte: it is deleted and the
  module recompiled, with a one-line warning naming the file.
- The directory is created private to the user (0700). A directory or entry that another
  user could write is not used; a warning says why, once.
- Entries are written to a temporary file and renamed into place, so concurrent writers
  (threads or processes) never leave a half-written entry.
"""

import functools
import hashlib
import os
import platform
import stat
import struct
import tempfile
import warnings

from mlax.core import mlir

_MAGIC = b"MLAXVMFB"
_FORMAT = "2"  # part of every key: entries of an older layout are never looked up
_HEADER = struct.Struct("<8sQ32s")  # magic, payload size, SHA-256 of the payload


def directory() -> str:
    """Where compiled modules are kept: $MLAX_CACHE_DIR, else the user cache directory."""
    explicit = os.environ.get("MLAX_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mlax")


def enabled() -> bool:
    """False when MLAX_CACHE_DIR is set to the empty string."""
    return os.environ.get("MLAX_CACHE_DIR", "x") != ""


@functools.cache
def host_cpu() -> str:
    """This machine's CPU as the compiler sees it for `target-cpu=host`: its architecture,
    model and feature flags (from /proc/cpuinfo where there is one)."""
    identity = [platform.machine(), platform.processor()]
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                field = line.split(":", 1)[0].strip()
                if field in ("model name", "flags", "Features", "CPU part", "vendor_id"):
                    identity.append(line.strip())
                if not line.strip() and len(identity) > 2:
                    break  # the first processor describes them all
    except OSError:
        pass
    return "\n".join(identity)


def key(text: str, flags: tuple[str, ...], versions: tuple[str, ...]) -> str:
    """The entry name of a module compiled with `flags` by these mlax and IREE `versions`."""
    digest = hashlib.sha256()
    all_flags = mlir.GLOBAL_COMPILER_OPTIONS + tuple(flags)
    cpu = host_cpu() if any(flag.endswith("target-cpu=host") for flag in all_flags) else ""
    for part in (_FORMAT, *versions, "\0".join(all_flags), cpu, text):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _path(entry: str) -> str:
    return os.path.join(directory(), entry[:2], entry + ".vmfb")


@functools.cache
def _warn_once(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def _writable_by_others(path: str) -> bool:
    status = os.stat(path)
    return bool(status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)) or status.st_uid != os.getuid()


def _usable_directory() -> str | None:
    """The cache directory, created private (0700) if missing; None when it is unsafe or
    cannot be created (warned once)."""
    root = directory()
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
    except OSError as error:
        _warn_once(f"mlax: cannot use the compile cache {root} ({error.strerror}); programs compile every time")
        return None
    if _writable_by_others(root):
        _warn_once(f"mlax: not using the compile cache {root}: another user can write it, and its entries "
                   "are native code mlax would run (make it private: chmod 700)")
        return None
    return root


def read(entry: str) -> bytes | None:
    """The cached module `entry`, or None when there is none or it fails its checks (a
    damaged entry is deleted, with a warning naming it)."""
    if _usable_directory() is None:
        return None
    path = _path(entry)
    try:
        with open(path, "rb") as f:
            if _writable_by_others(path):
                _warn_once(f"mlax: not using compile-cache entry {path}: another user can write it")
                return None
            data = f.read()
    except OSError:
        return None
    problem = _check(data)
    if problem is None:
        return data[_HEADER.size:]
    warnings.warn(f"mlax: discarded a damaged compile-cache entry {path} ({problem}); recompiling",
                  RuntimeWarning, stacklevel=3)
    try:
        os.remove(path)
    except OSError:
        pass
    return None


def _check(data: bytes) -> str | None:
    """What is wrong with an entry's bytes, or None."""
    if len(data) < _HEADER.size:
        return f"{len(data)} bytes, shorter than its header"
    magic, size, digest = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        return "not an mlax cache entry"
    if len(data) - _HEADER.size != size:
        return f"{len(data) - _HEADER.size} bytes of module, the header says {size}"
    if hashlib.sha256(data[_HEADER.size:]).digest() != digest:
        return "checksum mismatch"
    return None


def write(entry: str, vmfb: bytes) -> None:
    """Store `vmfb` as `entry` (atomically; a read-only or full cache only costs recompiling)."""
    root = _usable_directory()
    if root is None:
        return
    folder = os.path.join(root, entry[:2])
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, len(vmfb), hashlib.sha256(vmfb).digest()))
            f.write(vmfb)
        os.replace(temporary, _path(entry))
    except OSError:
        pass
