"""Functions of matrices from jax.scipy.linalg: expm (and its Frechet derivative), sqrtm,
and rsf2csf (the real Schur form made complex).

expm is JAX's algorithm (Higham 2005): scaling and squaring of a Pade approximant whose
order and scaling follow from the 1-norm, so its values and derivatives (by
differentiating through it) agree with JAX's. sqrtm needs no Schur decomposition here:
the Denman-Beavers iteration (product form, determinant scaling) converges to the same
principal square root wherever it exists. Functions of one matrix run on a batch of
matrices through vmap.
"""

import functools
import math

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.autodiff import jvp
from mlax.api.jit import compiled
from mlax.api.vmap import vmap
from mlax.core import dtypes
from mlax.scipy.linalg._solvers import _inexact, solve_triangular


def _over_batch(fn, *matrices):
    """fn of single matrices applied to each matrix of the batch (the leading axes, shared)."""
    batch = matrices[0].shape[:-2]
    if not batch:
        return fn(*matrices)
    flat = [m.reshape((-1,) + m.shape[-2:]) for m in matrices]
    out = vmap(fn)(*flat)
    reshape = lambda x: x.reshape(batch + x.shape[1:])
    return tuple(map(reshape, out)) if isinstance(out, tuple) else reshape(out)


# -- expm -----------------------------------------------------------------------------------------

# Per precision: the largest 1-norm the top approximant serves, the 1-norms up to which each
# lower order suffices, and the orders (Higham 2005, table 2.3 and the single-precision analogue).
_PADE_PLAN = {
    "double": (5.371920351148152, (0.01495585217958292, 0.253939833006323, 0.9504178996162932, 2.097847961257068),
               (3, 5, 7, 9, 13)),
    "single": (3.925724783138660, (0.4258730016922831, 1.880152677804762), (3, 5, 7)),
}


def _pade_coefficients(order):
    """b_j of the [order/order] Pade approximant of exp: (2 order - j)! / (j! (order - j)!)."""
    f = math.factorial
    return [f(2 * order - j) / (f(j) * f(order - j)) for j in range(order + 1)]


def _pade(a, order):
    """(u, v): the odd and even parts of the Pade numerator, exp(a) ~ (v - u)^-1 (v + u)."""
    b = _pade_coefficients(order)
    identity = mnp.eye(a.shape[-1], dtype=a.dtype)
    powers = [identity, a @ a]  # the even powers a^0, a^2 ... up to a^(order - 1), or a^6 for order 13
    while len(powers) <= (3 if order == 13 else order // 2):
        powers.append(powers[-1] @ powers[1])
    if order < 13:
        odd = sum(b[2 * k + 1] * powers[k] for k in reversed(range(1, order // 2 + 1))) + b[1] * identity
        even = sum(b[2 * k] * powers[k] for k in reversed(range(1, order // 2 + 1))) + b[0] * identity
        return a @ odd, even
    # Order 13 (Higham's scheme): a^8 and up only through a^6 times a lower polynomial.
    a2, a4, a6 = powers[1], powers[2], powers[3]
    odd = a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * identity
    even = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * identity
    return a @ odd, even


def _expm_matrix(a, upper_triangular, max_squarings):
    """exp(a) for one matrix: NaNs where it would need more than max_squarings squarings."""
    real = mnp.real(mnp.zeros((), a.dtype)).dtype
    largest, thresholds, orders = _PADE_PLAN["double" if real == np.float64 else "single"]
    norm = mnp.max(mnp.sum(mnp.abs(a), axis=0))
    squarings = mnp.maximum(0, mnp.floor(mnp.log2(norm / largest)))
    a = a / mnp.ldexp(mnp.ones((), real), squarings.astype(dtypes.int32)).astype(a.dtype)
    order = mnp.sum(mnp.asarray(thresholds, real) <= norm).astype(dtypes.int32)
    u, v = lax.switch(order, [functools.partial(_pade, order=o) for o in orders], a)
    p, q = u + v, v - u
    r = solve_triangular(q, p) if upper_triangular else mnp.linalg.solve(q, p)

    def square(i, r):
        return lax.cond(i < squarings, lambda x: x @ x, lambda x: x, r)

    r = lax.fori_loop(0, max_squarings, square, r)
    return mnp.where(squarings > max_squarings, mnp.full_like(r, np.nan), r)


@compiled("upper_triangular", "max_squarings")
def expm(A, *, upper_triangular=False, max_squarings=16):
    """The matrix exponential of the square A (batched), by scaling and squaring a Pade
    approximant; upper_triangular solves the last step as a triangular system (A must then
    be upper triangular); NaNs where it would need more than max_squarings squarings."""
    (A,) = _inexact(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"expm: needs a (batch of) square matrices, got shape {A.shape}")
    if mnp.real(mnp.zeros((), A.dtype)).dtype not in (np.float32, np.float64):
        raise TypeError(f"expm: dtype {A.dtype} is not supported (float32, float64, complex64 or complex128)")
    return _over_batch(functools.partial(_expm_matrix, upper_triangular=upper_triangular,
                                         max_squarings=max_squarings), A)


def expm_frechet(A, E, *, method=None, compute_expm=True):
    """The Frechet derivative of expm at A in the direction E (the JVP of expm), with expm(A)
    first unless compute_expm is False."""
    del method  # SciPy's choice of algorithm; JAX, and mlax, differentiate expm instead
    A, E = mnp.asarray(A), mnp.asarray(E)
    for name, x in (("A", A), ("E", E)):
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"expm_frechet: {name} must be a (batch of) square matrices, got shape {x.shape}")
    if A.shape != E.shape:
        raise ValueError(f"expm_frechet: A and E must have the same shape, got {A.shape} and {E.shape}")
    return _expm_frechet(A, E, bool(compute_expm))


@compiled("compute_expm")
def _expm_frechet(A, E, compute_expm):
    value, derivative = jvp(expm, (A,), (E,))
    return (value, derivative) if compute_expm else derivative


# -- sqrtm ----------------------------------------------------------------------------------------

_MAX_DENMAN_BEAVERS_STEPS = 50


def _sqrtm_matrix(a):
    """The principal square root of one matrix by the scaled product-form Denman-Beavers
    iteration (Higham, Functions of Matrices, eq. 6.29): M -> I, Y -> a^(1/2)."""
    n = a.shape[-1]
    identity = mnp.eye(n, dtype=a.dtype)
    real = mnp.real(mnp.zeros((), a.dtype)).dtype
    tolerance = n * float(np.finfo(real).eps)

    def going_on(state):
        count, m, _ = state
        return (count < _MAX_DENMAN_BEAVERS_STEPS) & (mnp.linalg.norm(m - identity) > tolerance)

    def step(state):
        count, m, y = state
        mu = mnp.exp(-mnp.linalg.slogdet(m)[1] / (2 * n)).astype(a.dtype)  # |det m|^(-1/(2n))
        m_inverse = mnp.linalg.inv(m)
        y = 0.5 * mu * (y @ (identity + m_inverse / mu ** 2))
        m = 0.5 * (identity + (mu ** 2 * m + m_inverse / mu ** 2) / 2)
        return count + 1, m, y

    return lax.while_loop(going_on, step, (0, a, a), max_steps=_MAX_DENMAN_BEAVERS_STEPS)[2]


def sqrtm(A, blocksize=1):
    """The principal square root of the square A, complex as in JAX. Computed by the
    Denman-Beavers iteration (JAX: from the Schur form); it takes a batch of matrices, and
    does not converge where A is singular or has eigenvalues on the negative real axis
    (where A has no principal square root)."""
    if blocksize > 1:
        raise NotImplementedError(f"sqrtm: blocksize > 1 (the blocked algorithm) is not implemented, got {blocksize}")
    return _sqrtm(A)


@compiled()
def _sqrtm(A):
    (A,) = _inexact(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"sqrtm: needs a (batch of) square matrices, got shape {A.shape}")
    root = _over_batch(_sqrtm_matrix, A)
    return root.astype(mnp.promote_types(root.dtype, np.complex64))


# -- rsf2csf --------------------------------------------------------------------------------------

def _rotate_block(t, z, m):
    """The complex Givens rotation that makes t[m, m - 1] zero, applied to rows and columns
    m - 1 and m of t and to columns m - 1 and m of z: its 2x2 block [[p, q], [r, s]] has the
    eigenvalue mu (the one of larger imaginary part: LAPACK's first for a real block with a
    complex pair), and the rotation takes the eigenvector for mu to the first axis."""
    n = t.shape[-1]
    block = lax.dynamic_slice(t, (m - 1, m - 1), (2, 2))
    p, q, r, s = block[0, 0], block[0, 1], block[1, 0], block[1, 1]
    root = mnp.sqrt(((p - s) / 2) ** 2 + q * r)
    root = mnp.where(mnp.imag(root) >= 0, root, -root)
    shift = (p + s) / 2 + root - s
    length = mnp.sqrt(mnp.abs(shift) ** 2 + mnp.abs(r) ** 2).astype(t.dtype)
    c, sine = shift / length, r / length
    rotation = mnp.stack([mnp.stack([mnp.conj(c), sine]), mnp.stack([-sine, c])])
    rotation_adjoint = mnp.conj(rotation.T)
    rows = lax.broadcasted_iota(dtypes.int32, (n, 1), 0)
    cols = lax.broadcasted_iota(dtypes.int32, (1, n), 1)
    two_rows = lax.dynamic_slice(t, (m - 1, 0), (2, n))
    t = lax.dynamic_update_slice(t, mnp.where(cols >= m - 1, rotation @ two_rows, two_rows), (m - 1, 0))
    two_cols = lax.dynamic_slice(t, (0, m - 1), (n, 2))
    t = lax.dynamic_update_slice(t, mnp.where(rows < m + 1, two_cols @ rotation_adjoint, two_cols), (0, m - 1))
    z = lax.dynamic_update_slice(z, lax.dynamic_slice(z, (0, m - 1), (n, 2)) @ rotation_adjoint, (0, m - 1))
    return t, z


def _rsf2csf_matrix(t, z):
    n = t.shape[-1]
    eps = float(np.finfo(t.dtype).eps)
    rows = lax.broadcasted_iota(dtypes.int32, (n, 1), 0)
    cols = lax.broadcasted_iota(dtypes.int32, (1, n), 1)

    def step(i, state):
        # From the bottom up: a 2x2 block (a complex pair) at rows m - 1 and m is made triangular.
        t, z = state
        m = n - i
        block = lax.dynamic_slice(t, (m - 1, m - 1), (2, 2))
        coupled = mnp.abs(block[1, 0]) > eps * (mnp.abs(block[0, 0]) + mnp.abs(block[1, 1]))
        rotated_t, rotated_z = _rotate_block(t, z, m)
        t, z = mnp.where(coupled, rotated_t, t), mnp.where(coupled, rotated_z, z)
        return mnp.where((rows == m) & (cols == m - 1), mnp.zeros((), t.dtype), t), z

    return lax.fori_loop(1, n, step, (t, z))


def rsf2csf(T, Z, check_finite=True):
    """(T, Z) of a real Schur decomposition a = Z T Z^H turned complex: T upper triangular."""
    del check_finite  # SciPy's input check: no effect on the result
    return _rsf2csf(T, Z)


@compiled()
def _rsf2csf(T, Z):
    T, Z = mnp.asarray(T), mnp.asarray(Z)
    for name, x in (("T", T), ("Z", Z)):
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"rsf2csf: {name} must be a (batch of) square matrices, got shape {x.shape}")
    if T.shape[-1] != Z.shape[-1]:
        raise ValueError(f"rsf2csf: T and Z must have matching shapes, got T {T.shape} and Z {Z.shape}")
    T, Z = mnp.promote_dtypes(T, Z)
    dtype = mnp.promote_types(mnp.inexact_dtype(T.dtype), np.complex64)
    T, Z = T.astype(dtype), Z.astype(dtype)
    batch = mnp.broadcast_shapes(T.shape[:-2], Z.shape[:-2])
    T, Z = mnp.broadcast_to(T, batch + T.shape[-2:]), mnp.broadcast_to(Z, batch + Z.shape[-2:])
    if T.shape[-1] == 1:
        return T, Z
    return _over_batch(_rsf2csf_matrix, T, Z)
