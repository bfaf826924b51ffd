"""solve_sylvester from jax.scipy.linalg, on mlax.numpy.linalg's complex Schur decomposition.

With A = U R U^H and B^H = V S V^H (complex Schur forms), A X + X B = C becomes the triangular
equation R Y + Y S^H = U^H C V (Bartels and Stewart), solved column by column from the last,
each column a triangular solve; X = U Y V^H. method="eigen" diagonalizes A and B instead. As in
JAX, the result is NaN when an eigenvalue of A plus one of B is within `tol` of zero, and real
when C is. Unlike JAX, which cannot differentiate the Schur decomposition, mlax differentiates
the solution: dX solves the same equation with dC - dA X - X dB on the right.
"""

import functools

import mlax.numpy as mnp
from mlax import lax
from mlax.api.custom_rules import custom_jvp
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.lax.linalg import _adjoint, _diagonal, _eye, triangular_solve
from mlax.numpy.linalg import _complex_dtype, _complex_schur, _eig_parts, inv, solve
from mlax.scipy.linalg._solvers import _inexact

METHODS = ("schur", "eigen")


def solve_sylvester(A, B, C, *, method="schur", tol=1e-8):  # noqa: N803 - SciPy's names
    """X with A @ X + X @ B = C (batched over leading axes, which broadcast); NaN where
    |eig(A)_i + eig(B)_j| < tol for some i, j."""
    if method not in METHODS:
        raise ValueError(f"solve_sylvester: method must be 'schur' or 'eigen', got {method!r}")
    A, B, C = _inexact(A, B, C)
    m, n = C.shape[-2:]
    if A.shape[-2:] != (m, m) or B.shape[-2:] != (n, n):
        raise ValueError(f"solve_sylvester: incompatible shapes: A {A.shape} must end in ({m}, {m}) and B {B.shape} "
                         f"in ({n}, {n}) for C {C.shape}")
    return _solve_sylvester(A, B, C, tol, method)


@compiled("method")
def _solve_sylvester(a, b, c, tol, method):
    batch = mnp.broadcast_shapes(a.shape[:-2], b.shape[:-2], c.shape[:-2])
    a, b, c = (mnp.broadcast_to(x, batch + x.shape[-2:]) for x in (a, b, c))
    work = _complex_dtype(c.dtype)
    x = _sylvester(method, *(lax.convert_element_type(v, work) for v in (a, b, c)), mnp.asarray(tol))
    return x if dtypes.is_complex(c.dtype) else mnp.real(x)


@functools.partial(custom_jvp, nondiff_argnums=(0,))
def _sylvester(method, a, b, c, tol):
    """The solution of a x + x b = c for complex a, b, c (batched), NaN where an eigenvalue of a
    plus one of b is within tol of zero."""
    if method == "eigen":
        values_a, vectors_a = _eig_parts(a)
        values_b, vectors_b = _eig_parts(b)
        rotated = solve(vectors_a, c @ vectors_b)
        x = vectors_a @ (rotated / (values_a[..., :, None] + values_b[..., None, :])) @ inv(vectors_b)
    else:
        r, u = _complex_schur(a)
        s, v = _complex_schur(_adjoint(b))
        x = u @ _triangular_sylvester(r, _adjoint(s), _adjoint(u) @ c @ v) @ _adjoint(v)
        values_a, values_b = _diagonal(r), mnp.conj(_diagonal(s))
    near_zero = mnp.abs(values_a[..., :, None] + values_b[..., None, :]) < tol
    return mnp.where(mnp.any(near_zero, axis=(-2, -1))[..., None, None], mnp.zeros_like(x) * mnp.nan, x)


@_sylvester.defjvp
def _sylvester_jvp(method, primals, tangents):
    # tol only decides where the result is NaN: no tangent flows from it.
    (a, b, c, tol), (a_dot, b_dot, c_dot, _) = primals, tangents
    x = _sylvester(method, a, b, c, tol)
    return x, _sylvester(method, a, b, c_dot - a_dot @ x - x @ b_dot, tol)


def _triangular_sylvester(r, lower, f):
    """y with r y + y lower = f, for upper triangular r and lower triangular `lower`: column j
    solves (r + lower_jj) y_j = f_j - sum over k > j of y_k lower_kj, from the last column."""
    m, n = f.shape[-2:]
    cols = lax.broadcasted_iota(dtypes.int32, f.shape, f.ndim - 1)
    lower_cols = lax.broadcasted_iota(dtypes.int32, lower.shape, lower.ndim - 1)
    identity = _eye(m, r.dtype, r.shape[:-2])
    diagonal = _diagonal(lower)
    positions = lax.broadcasted_iota(dtypes.int32, diagonal.shape, diagonal.ndim - 1)

    def column(i, y):
        j = n - 1 - i
        lower_column = mnp.sum(mnp.where(lower_cols == j, lower, 0), axis=-1, keepdims=True)  # lower[:, j]
        pivot = mnp.sum(mnp.where(positions == j, diagonal, 0), axis=-1)[..., None, None]
        rhs = mnp.sum(mnp.where(cols == j, f, 0), axis=-1, keepdims=True) - y @ lower_column
        solved = triangular_solve(r + pivot * identity, rhs, left_side=True, lower=False)
        return mnp.where(cols == j, solved, y)

    return lax.fori_loop(0, n, column, mnp.zeros_like(f))
