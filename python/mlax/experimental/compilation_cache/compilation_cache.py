"""The persistent compilation cache's settings (mlax keeps compiled .vmfb modules on disk)."""

import os

__all__ = ["set_cache_dir"]


def set_cache_dir(path):
    """Keep compiled programs in the directory `path` from now on (as setting MLAX_CACHE_DIR does)."""
    os.environ["MLAX_CACHE_DIR"] = os.fspath(path)
