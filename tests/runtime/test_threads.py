"""Many threads at once: jit, grad, eager ops, export and load give the results they give
serially (one MLIR context and IREE compiler session are shared by the process)."""

import os
import subprocess
import sys
import textwrap

import numpy as np


def test_threads_on_a_cold_cache_match_serial_results(tmp_path):
    # A fresh process with an empty compile cache, so the threads really compile at once.
    script = textwrap.dedent("""
        import sys
        import threading
        import numpy as np
        import mlax, mlax.numpy as mnp

        def shared(x):
            return mnp.tanh(x @ x.T).sum(axis=0)

        def distinct(k):
            def f(x):
                return mnp.sin(x * (k + 1)).sum() + k
            return f

        def work(k, x, exported_path):
            out = [np.asarray(mlax.jit(shared)(x)), np.asarray(mlax.jit(distinct(k))(x)),
                   np.asarray(mlax.grad(distinct(k))(x)), np.asarray(mnp.cos(x) + k),
                   np.asarray(mlax.vmap(mlax.grad(lambda v: (v * v * k).sum()))(x))]
            exported = mlax.export(distinct(k))(x)
            exported.save(exported_path)
            out.append(np.asarray(mlax.load(exported_path).call(x)))
            return out

        folder = sys.argv[1]
        xs = [np.random.default_rng(k).standard_normal((4, 5)).astype(np.float32) for k in range(8)]
        results, errors = [None] * 8, []

        def run(k):
            try:
                results[k] = work(k, mnp.asarray(xs[k]), f"{folder}/threaded-{k}.mlaxpkg")
            except BaseException as error:  # reported below, with the thread's index
                errors.append((k, repr(error)))

        threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for k in range(8):
            serial = work(k, mnp.asarray(xs[k]), f"{folder}/serial-{k}.mlaxpkg")
            for a, b in zip(results[k], serial):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        print("ok")
    """)
    env = dict(os.environ, MLAX_CACHE_DIR=str(tmp_path / "cache"))
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stdout[-2000:] + run.stderr[-4000:]


def test_one_compiled_function_called_from_many_threads():
    import threading

    import mlax
    import mlax.numpy as mnp

    f = mlax.jit(lambda x: mnp.exp(x) * 2 + x.sum())
    x = mnp.asarray(np.linspace(0, 1, 1000, dtype=np.float32))
    expected = np.asarray(f(x))
    failures = []

    def call():
        for _ in range(200):
            if not np.allclose(np.asarray(f(x)), expected):
                failures.append("wrong result")

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_other_threads_run_while_a_compiled_program_runs():
    # The IREE runtime releases the GIL while a program runs and while its result is waited
    # for: a held GIL would stop the counting thread for the whole call, but for one switch
    # interval (5 ms).
    import threading
    import time

    import mlax
    import mlax.numpy as mnp

    x = mnp.asarray(np.random.default_rng(0).standard_normal((1500, 1500)).astype(np.float32))
    product = mlax.jit(lambda a: (a @ a @ a @ a @ a).sum())
    product(x)
    count, running = [0], [True]

    def spin():
        while running[0]:
            count[0] += 1
    spinner = threading.Thread(target=spin)
    spinner.start()
    time.sleep(0.05)
    before, start = count[0], time.perf_counter()
    time.sleep(0.2)
    free_rate = (count[0] - before) / (time.perf_counter() - start)
    before, start = count[0], time.perf_counter()
    product(x).block_until_ready()
    elapsed = time.perf_counter() - start
    rate = (count[0] - before) / elapsed
    running[0] = False
    spinner.join()
    assert rate > 0.05 * free_rate, f"another thread ran at {rate / free_rate:.1%} of its speed during a {elapsed:.2f} s call"
