"""`python -m mlax.warm` (also `mlax warm`): compile the interpreter tier's kernel library for
this machine's CPU (or MLAX_PLATFORM's device) into the disk cache ahead of time, so that a
new jitted function answers from its first call while IREE compiles it."""

from __future__ import annotations

import sys
import time

from mlax.runtime import disk_cache, interpreter
from mlax.runtime.device import default_device


def warm(quiet: bool = False) -> int:
    """Compile every kernel of the library (those cached already are only read); print
    progress unless `quiet`; returns the exit status."""
    if not disk_cache.enabled():
        print("mlax warm: the disk cache is off (MLAX_CACHE_DIR is empty): nothing would be kept",
              file=sys.stderr)
        return 2
    device = default_device()
    start = time.perf_counter()

    def report(done, total, name):
        if not quiet:
            print(f"\r[{done}/{total}] {name:<60.60}", end="", file=sys.stderr, flush=True)
    count, failed = interpreter.warm(device, report)
    if not quiet:
        print(file=sys.stderr)
    for name, reason in failed.items():
        print(f"mlax warm: {name} failed to compile (programs using it compile whole): {reason}", file=sys.stderr)
    print(f"{count - len(failed)} of {count} kernels for {device} in {disk_cache.directory()} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(warm(quiet="--quiet" in sys.argv[1:]))
