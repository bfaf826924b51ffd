"""Checks of mlax derivatives against finite differences computed on the host.

The idea of JAX's `check_grads`: forward mode (a JVP along a random tangent v)
is compared with a central difference along v, and reverse mode (a VJP of a
random cotangent u) through <vjp(u), v> = <u, J v>; second order does the same
one level up. Here the reference is a NumPy function evaluated in float64
(an op's `numpy_ref`), so what is measured is the float32 derivative rule and
not the rounding of a float32 difference quotient.

The mlax side of each order is one jitted program (compilation is what these
checks cost); `first_order` and `second_order` run it, the `assert_*`
functions compare its results, and `check_grads` does both orders.
"""

import numpy as np

import mlax
from mlax import lax


def host(x):
    """x in float64 (complex128 for complex x), for the reference function."""
    x = np.asarray(x)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def inner(a, b):
    """Re sum(a * b), in float64: the pairing under which a VJP is the transpose of a
    JVP (without conjugation, as in JAX)."""
    return float(np.real(np.sum(host(a) * host(b))))


def random_like(rng, x):
    """Uniform in [-1, 1) with the shape and dtype of x (both parts for complex x)."""
    x = np.asarray(x)
    values = rng.uniform(-1, 1, x.shape)
    if np.iscomplexobj(x):
        values = values + 1j * rng.uniform(-1, 1, x.shape)
    return values.astype(x.dtype)


def numerical_jvp(f, args, tangents, eps):
    """(f(x + eps v) - f(x - eps v)) / (2 eps) in float64."""
    plus = f(*[host(x) + eps * host(t) for x, t in zip(args, tangents)])
    minus = f(*[host(x) - eps * host(t) for x, t in zip(args, tangents)])
    return (host(plus) - host(minus)) / (2 * eps)


def numerical_second_jvp(f, args, v, w, eps):
    """The second directional derivative D^2 f(x)[v, w] as a difference of differences."""
    def at(sv, sw):
        return host(f(*[host(x) + sv * eps * host(a) + sw * eps * host(b) for x, a, b in zip(args, v, w)]))
    return (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * eps * eps)


def stable_numerical_jvp(f, args, tangents, eps, rtol):
    """numerical_jvp, after checking that halving eps barely changes it: a kink or
    jump of f within the stencil would (the inputs are then outside f's domain of
    differentiability, which is a fault of the test, not of the rule)."""
    coarse, fine = numerical_jvp(f, args, tangents, eps), numerical_jvp(f, args, tangents, eps / 2)
    scale = max(1.0, float(np.max(np.abs(fine), initial=0.0)))
    assert np.all(np.abs(coarse - fine) <= rtol * scale), \
        "finite differences are unstable here: the inputs are near a kink or jump of the function"
    return fine


def traced_inner(a, b):
    """Re sum(a * b) as a traced scalar."""
    product = lax.mul(a, b)
    if np.iscomplexobj(np.zeros((), product.dtype)):
        product = lax.real(product)
    return lax.reduce_sum(product, tuple(range(len(product.shape))))


def traced_sum(values):
    """The sum of traced values of one shape."""
    total = values[0]
    for v in values[1:]:
        total = lax.add(total, v)
    return total


def first_order(f, args, tangents, cotangent):
    """(f(*args), its JVP along `tangents`, the VJP of `cotangent`), from one mlax program."""
    @mlax.jit
    def program(args, tangents, cotangent):
        out, out_tangent = mlax.jvp(f, tuple(args), tuple(tangents))
        _, pullback = mlax.vjp(f, *args)
        return out, out_tangent, list(pullback(cotangent))
    return program(list(args), list(tangents), cotangent)


def second_order(f, args, v, w, u):
    """(D^2 f[v, w] as a JVP of a JVP, H w as a gradient of a gradient, where H is
    the Hessian of <u, f>), from one mlax program. Real arguments only."""
    argnums = tuple(range(len(args)))

    @mlax.jit
    def program(args, v, w, u):
        along_v = lambda *xs: mlax.jvp(f, xs, tuple(v))[1]  # noqa: E731
        second = mlax.jvp(along_v, tuple(args), tuple(w))[1]
        gradient = mlax.grad(lambda *xs: traced_inner(u, f(*xs)), argnums)
        hvp = mlax.grad(lambda *xs: traced_sum([traced_inner(g, b) for g, b in zip(gradient(*xs), w)]), argnums)(*args)
        return second, list(hvp)
    return program(list(args), list(v), list(w), u)


def assert_close(actual, expected, rtol, atol, what):
    """Elementwise |actual - expected| <= atol * max(1, max |expected|) + rtol * |expected|."""
    expected = host(expected)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(host(actual), expected, rtol=rtol, atol=atol * scale, err_msg=what)


def assert_pairings_close(actual, expected, scale, rtol, what):
    """Two values of one pairing agree to rtol relative to `scale`, the sum of the
    magnitudes of the pairing's terms (a pairing of random vectors may cancel)."""
    assert abs(actual - expected) <= rtol * max(scale, 1e-6), \
        f"{what}: {actual} != {expected} (tolerance {rtol} x {scale})"


def assert_first_order(f_ref, args, v, u, results, eps=1e-4, rtol=2e-3, atol=2e-3):
    """Check `first_order` results (JVP along v, VJP of u) against f_ref's differences."""
    _, jvp_out, vjp_out = results
    expected = stable_numerical_jvp(f_ref, args, v, eps, rtol)
    assert_close(jvp_out, expected, rtol, atol, "JVP against finite differences")
    scale = float(np.sum(np.abs(host(u) * expected)))
    assert_pairings_close(sum(inner(g, t) for g, t in zip(vjp_out, v)), inner(u, expected), scale, rtol,
                          "<vjp(u), v> against <u, finite-difference J v>")


def assert_second_order(f_ref, args, v, w, u, results, eps=1e-3, rtol=2e-2, atol=2e-2):
    """Check `second_order` results against f_ref's differences of differences."""
    second, hvp = results
    expected = numerical_second_jvp(f_ref, args, v, w, eps)
    assert_close(second, expected, rtol, atol, "JVP of JVP against differences of differences")
    scale = float(np.sum(np.abs(host(u) * expected)))
    assert_pairings_close(sum(inner(h, t) for h, t in zip(hvp, v)), inner(u, expected), scale, rtol,
                          "<grad of grad of <u, f> along w, v> against <u, D^2 f[v, w]>")


def check_grads(f, f_ref, args, order=2, seed=0):
    """Check the first (and with order=2 the second) derivatives of the mlax function f
    at args against finite differences of the float64 NumPy function f_ref."""
    rng = np.random.default_rng(seed)
    out = np.asarray(f_ref(*[host(x) for x in args]))
    kind = np.complex64 if np.iscomplexobj(out) else np.float32  # promoted to the arguments' precision
    u = random_like(rng, np.zeros(out.shape, np.result_type(kind, *[np.asarray(x).dtype for x in args])))
    v = [random_like(rng, x) for x in args]
    assert_first_order(f_ref, args, v, u, first_order(f, args, v, u))
    if order >= 2:
        w = [random_like(rng, x) for x in args]
        assert_second_order(f_ref, args, v, w, u, second_order(f, args, v, w, u))
