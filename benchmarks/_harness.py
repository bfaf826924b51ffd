"""Shared helpers for the benchmarks: timing loops, the --backend option and a side-by-side table."""

import argparse
import importlib.util
import os
import subprocess
import sys
import time


def have_jax():
    return importlib.util.find_spec("jax") is not None


def jax_imports():
    """Whether JAX imports here (a child process measures it; a broken install counts as none)."""
    try:
        import jax  # noqa: F401
        return True
    except Exception:  # noqa: BLE001  (JAX missing or broken: mlax alone)
        return False


def only_names(parser, only, known):
    """The workload names --only picked (comma-separated; all of `known` when None); a parser
    error names any unknown one."""
    names = only.split(",") if only else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"--only: unknown workload {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def best_time(fn, repeat=5, number=None, budget=0.2):
    """Best per-call time of fn() in seconds over `repeat` runs of `number` calls."""
    if number is None:
        start = time.perf_counter()
        fn()
        once = max(time.perf_counter() - start, 1e-7)
        number = max(1, int(budget / once))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def run_python(code, env_updates=None, parse=float):
    """Run `code` in a fresh interpreter; return the last line it prints, read by `parse`
    (a number by default). A variable of env_updates that is None is removed."""
    env = dict(os.environ)
    for name, value in (env_updates or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env.setdefault("JAX_PLATFORMS", "cpu")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if result.returncode:  # name the child's exception: the first unindented line after its traceback
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        start = max((i for i, line in enumerate(lines) if line.startswith("Traceback")), default=-1) + 1
        raise RuntimeError(next((line for line in lines[start:] if not line[:1].isspace()), lines[-1]))
    return parse(result.stdout.strip().splitlines()[-1])


def backends_from_argv(doc=None, argv=None):
    """The mlax backends named by --backend (comma-separated, default cpu); exits with a
    message naming a backend that mlax does not know or that has no device here."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="cpu", metavar="NAMES",
                        help="comma-separated mlax backends to measure side by side, e.g. cpu,vulkan "
                             "(cpu, vulkan, cuda, rocm; default: cpu)")
    names = list(dict.fromkeys(n.strip().lower() for n in parser.parse_args(argv).backend.split(",") if n.strip()))
    if not names:
        parser.error("--backend needs at least one backend name")
    import mlax
    for name in names:
        try:
            mlax.devices(name)
        except mlax.errors.BackendError as error:
            parser.error(f"--backend {name}: {error}")
    return names


def mlax_on(backend):
    """(jit, put): mlax.jit compiling for `backend`, and mlax.device_put to its first device."""
    import functools

    import mlax
    return (functools.partial(mlax.jit, backend=backend),
            functools.partial(mlax.device_put, device=mlax.devices(backend)[0]))


def per_backend(backends, measure, *args):
    """{backend: measure(backend, *args)}, holding the exception instead where the workload fails there."""
    results = {}
    for backend in backends:
        try:
            results[backend] = measure(backend, *args)
        except Exception as error:  # noqa: BLE001  (a dtype or op the backend lacks: a footnote)
            results[backend] = error.with_traceback(None)  # frees the frames (and arrays) it held
    return results


def pick(results, index):
    """Element `index` of each backend's tuple of figures from per_backend (exceptions kept)."""
    return {b: r if isinstance(r, Exception) else r[index] for b, r in results.items()}


def devices_label(backends):
    """The devices measured, for a table title: "CPU" for the cpu alone, else each device."""
    if list(backends) == ["cpu"]:
        return "CPU"
    import mlax
    from mlax.runtime.gpu_targets import vulkan_devices

    def label(backend):
        device = repr(mlax.devices(backend)[0])
        return f"{device} {vulkan_devices()[0].name!r}" if backend == "vulkan" else device
    return ", ".join(label(b) for b in backends)


class Table:
    """Rows of one metric measured for mlax (on one or several backends), NumPy and JAX,
    printed with ratios. With `backends`, the title names their devices and a row's mlax
    value is {backend: figure, None or the exception the workload raised there}. With
    numpy=False the table has no NumPy column."""

    def __init__(self, title, backends=None, numpy=True):
        self.backends = list(backends or ["cpu"])
        self.numpy = numpy
        self.title = title if backends is None else f"{title} ({devices_label(self.backends)})"
        self.rows = []

    def add(self, metric, unit, mlax_value, numpy_value=None, jax_value=None):
        if not isinstance(mlax_value, dict):
            mlax_value = {self.backends[0]: mlax_value}
        self.rows.append((metric, unit, [mlax_value.get(b) for b in self.backends], numpy_value, jax_value))

    def print(self):
        first, others = self.backends[0], self.backends[1:]
        names = [f"mlax[{b}]" for b in self.backends] if others else ["mlax"]
        mine = first if others else "mlax"
        libraries = ["numpy", "jax"] if self.numpy else ["jax"]
        ratios = [f"{mine}/{library}" for library in libraries] + [f"{b}/{first}" for b in others]
        columns = names + libraries
        widths = [max(10, len(n)) for n in columns]
        footnotes = {}

        def usable(v):
            return v is not None and not isinstance(v, Exception)

        def fmt(v, column):
            if isinstance(v, Exception):
                line = next((line.strip() for line in str(v).splitlines() if line.strip()), "")
                return f"-[{footnotes.setdefault(f'{column}: {type(v).__name__}: {line}', len(footnotes) + 1)}]"
            if v is None:
                return "-"
            return f"{v:.1e}" if 0 < abs(v) < 1e-2 else f"{v:.3f}"

        def ratio(a, b):
            return f"{a / b:.2f}x" if usable(a) and usable(b) and b else "-"

        print(f"\n== {self.title} ==")
        header = (f"{'metric':44s} {'unit':9s} " + " ".join(c.rjust(w) for c, w in zip(columns, widths))
                  + "  " + " ".join(r.rjust(9 if i == 1 and self.numpy and not others else 10) for i, r in enumerate(ratios)))
        print(header)
        print("-" * len(header))
        for metric, unit, ms, n, j in self.rows:
            compared = [n, j] if self.numpy else [j]
            cells = " ".join(fmt(v, c).rjust(w) for v, c, w in zip(ms + compared, columns, widths))
            quotients = [ratio(ms[0], v) for v in compared] + [ratio(m, ms[0]) for m in ms[1:]]
            print(f"{metric:44s} {unit:9s} {cells}  {' '.join(q.rjust(10) for q in quotients)}")
        for text, note in footnotes.items():
            print(f"[{note}] {text}")
        if others:
            print(f"(ratio = mlax[{first}] / other, and mlax[backend] / mlax[{first}]: "
                  "for GFLOP/s and steps/s higher is better, for times lower is better)")
        else:
            print("(ratio = mlax / other: for GFLOP/s and steps/s higher is better, for times lower is better)")
