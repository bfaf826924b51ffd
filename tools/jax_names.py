"""Write tests/data/jax_public_names.json: the public names of the JAX modules mlax mirrors.

    python tools/jax_names.py      (needs `jax` installed; the file records its version)

Primitives (`jax.lax`'s `*_p`) are left out: they are JAX's internals, not its API.
tests/test_api_coverage.py counts how many of these names mlax has.
"""

import importlib
import json
import os

import jax

MODULES = ["jax", "jax.numpy", "jax.numpy.linalg", "jax.numpy.fft", "jax.lax", "jax.nn", "jax.random",
           "jax.tree_util", "jax.tree", "jax.scipy.special", "jax.scipy.stats", "jax.scipy.linalg"]


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    return sorted(n for n in dir(module) if not n.startswith("_") and not n.endswith("_p"))


def main() -> None:
    out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data",
                       "jax_public_names.json")
    with open(out, "w") as f:
        json.dump({"jax_version": jax.__version__, "modules": {m: public_names(m) for m in MODULES}}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
