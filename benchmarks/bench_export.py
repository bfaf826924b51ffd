"""Ahead-of-time export figures, next to JAX's jax.export when installed (with
flatbuffers, which its serialization needs; a JAX export holds StableHLO, so
its first call includes XLA compilation).

    python benchmarks/bench_export.py

- size of the serialized export of a 30-op function on f32[128] (cpu; cpu + cuda)
- load + first call in a fresh process (after `import`), against jit's first
  call of the same function in a fresh process whose disk cache holds it
- call latency of a loaded export, argument on the device
"""

import importlib.util
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Table, best_time, have_jax, run_python  # noqa: E402

import mlax  # noqa: E402
import mlax.numpy as mnp  # noqa: E402

THIRTY_OPS = """
def f(x):
    for i in range(10):
        x = np_.sin(x) * 1.01 + 0.5
    return x
"""


def thirty_ops(np_):
    scope = {"np_": np_}
    exec(THIRTY_OPS, scope)
    return scope["f"]


def first_call_after_load(library, path):
    setup = {"mlax": "import mlax, mlax.numpy as np_\nx = np_.ones(128)",
             "jax": "import jax, jax.numpy as np_\nfrom jax import export\nx = np_.ones(128)"}[library]
    load = {"mlax": f"exp = mlax.load({path!r})",
            "jax": f"exp = export.deserialize(bytearray(open({path!r}, 'rb').read()))"}[library]
    code = (f"{setup}\nimport time\nt = time.perf_counter()\n{load}\n"
            "exp.call(x).block_until_ready()\nprint(time.perf_counter() - t)")
    return run_python(code)


def jit_first_call(cache_dir):
    code = (f"import mlax, mlax.numpy as np_\nx = np_.ones(128)\n{THIRTY_OPS}\nimport time\n"
            "t = time.perf_counter()\nmlax.jit(f)(x).block_until_ready()\nprint(time.perf_counter() - t)")
    return run_python(code, {"MLAX_CACHE_DIR": cache_dir})


def main():
    table = Table("mlax export benchmarks (CPU)")
    x = mnp.ones(128)
    with tempfile.TemporaryDirectory() as work:
        exp = mlax.export(thirty_ops(mnp))(x)
        path = os.path.join(work, "f.mlaxpkg")
        exp.save(path)
        jax_size = jax_load = None
        if have_jax() and importlib.util.find_spec("flatbuffers"):  # jax.export serializes with flatbuffers
            import jax
            import jax.numpy as jnp
            from jax import export

            data = export.export(jax.jit(thirty_ops(jnp)))(jnp.ones(128)).serialize()
            jax_path = os.path.join(work, "f.jax")
            with open(jax_path, "wb") as f:
                f.write(data)
            jax_size, jax_load = len(data), first_call_after_load("jax", jax_path) * 1e3
        table.add("export size, 30 ops f32[128], cpu", "bytes", len(exp.serialize()), None, jax_size)
        both = mlax.export(thirty_ops(mnp), platforms=("cpu", "cuda"))(x)
        table.add("export size, same, cpu + cuda", "bytes", len(both.serialize()), None, None)
        table.add("load + first call (new process)", "ms", first_call_after_load("mlax", path) * 1e3, None,
                  jax_load)
        cache = os.path.join(work, "cache")
        jit_first_call(cache)
        table.add("jit first call from disk cache (new process)", "ms", jit_first_call(cache) * 1e3, None, None)
    loaded = mlax.deserialize(exp.serialize())
    loaded.call(x)
    table.add("call of a loaded export, tiny input", "µs/call", best_time(lambda: loaded.call(x)) * 1e6, None, None)
    table.print()


if __name__ == "__main__":
    main()
