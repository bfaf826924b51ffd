"""eigh and svd by Jacobi rotations (parallel, round-robin), with their custom JVPs."""

import numpy as np

from mlax import lax
from mlax.api.custom_rules import custom_jvp
from mlax.core import dtypes
from mlax.lax.linalg._matrices import (_abs_squared, _adjoint, _as, _check_matrices, _diagonal, _diagonal_matrix,
                                       _eye, _matmul, _matrix_transpose, _positions, _real_dtype, _scale_columns,
                                       _symmetrized, _triangle, _where, _zeros)
from mlax.lax.linalg.householder import _householder, _join_columns, orthonormal_complement
from mlax.lax.linalg.triangular import permutation_matrix


# -- Jacobi rotations: eigh and svd ---------------------------------------------------------
# Parallel (round-robin) Jacobi: each round rotates the disjoint index pairs (0, 1), (2, 3),
# ... together, then moves the indices on (_rotate_and_advance) so that n - 1 rounds (a
# sweep) meet every pair once and end where they began. Sweeps repeat until the matrix is
# diagonal (eigh) or its columns orthogonal (svd) to working precision.

_MAX_SWEEPS = 30


def _rotation(app, aqq, apq):
    """(c, s) of the rotation [[c, s], [-s, c]] that diagonalizes [[app, apq], [apq, aqq]]."""
    zero, one = lax.full(apq.shape, 0, apq.dtype), lax.full(apq.shape, 1, apq.dtype)
    is_zero = lax.eq(apq, zero)
    tau = lax.div(lax.sub(aqq, app), lax.mul(lax.full(apq.shape, 2, apq.dtype), lax.select(is_zero, one, apq)))
    sign = lax.select(lax.ge(tau, zero), one, lax.neg(one))
    t = lax.div(sign, lax.add(lax.abs(tau), lax.sqrt(lax.add(one, lax.mul(tau, tau)))))
    t = lax.select(is_zero, zero, t)
    c = lax.rsqrt(lax.add(one, lax.mul(t, t)))
    return c, lax.mul(t, c)


def _rotate_and_advance(x, c, s, axis, phase=None):
    """Rotate the pairs (2i, 2i+1) of x along `axis` (-2: rows, -1: columns) by (c[i], s[i]),
    after multiplying the odd entries by phase[i] (complex matrices), then move the
    entries one round on: of the evens E and odds O, the next evens are E0, O0, E1 ..
    E(k-2) and the next odds O1 .. O(k-1), E(k-1). Over n - 1 rounds that pairs every two
    indices once (the circle method) and returns each to its place."""
    axis %= x.ndim
    size = x.shape[axis]
    even = lax.slice_in_dim(x, 0, size, stride=2, axis=axis)
    odd = lax.slice_in_dim(x, 1, size, stride=2, axis=axis)
    spread = tuple(range(x.ndim - 2)) + (axis,)
    if phase is not None:
        odd = lax.mul(odd, lax.broadcast_in_dim(phase, odd.shape, spread))
    c, s = (lax.broadcast_in_dim(_as(v, x.dtype), even.shape, spread) for v in (c, s))
    even, odd = lax.sub(lax.mul(c, even), lax.mul(s, odd)), lax.add(lax.mul(s, even), lax.mul(c, odd))
    half = size // 2
    if half > 1:
        piece = lambda v, start, stop: lax.slice_in_dim(v, start, stop, axis=axis)
        even, odd = (lax.concatenate([piece(even, 0, 1), piece(odd, 0, 1), piece(even, 1, half - 1)], axis),
                     lax.concatenate([piece(odd, 1, half), piece(even, half - 1, half)], axis))
    paired = lax.concatenate([lax.expand_dims(even, (axis + 1,)), lax.expand_dims(odd, (axis + 1,))], axis + 1)
    return lax.reshape(paired, x.shape)


def _pad_to_even(x, axes):
    """x with a zero row/column appended along `axes` when their size is odd."""
    if x.shape[-1] % 2 == 0:
        return x
    config = [(0, 0, 0)] * x.ndim
    for axis in axes:
        config[axis % x.ndim] = (0, 1, 0)
    return lax.pad(x, lax.full((), 0, x.dtype), config)


def _sweep_until(converged, sweep, state):
    """Run `sweep` on state until converged(state) (every matrix of the batch) or the cap."""
    def going_on(carry):
        count, inner = carry[0], carry[1:]
        return lax.bitwise_and(lax.lt(count, _MAX_SWEEPS), lax.bitwise_not(converged(*inner)))

    def step(carry):
        return (lax.add(carry[0], 1),) + tuple(sweep(*carry[1:]))

    return lax.while_loop(going_on, step, (lax.full((), 0, dtypes.int32),) + tuple(state))[1:]


def _tolerance(dtype, n):
    """How far from diagonal (relative) counts as converged: rounding in each of a sweep's
    rotations leaves about eps per entry, so n * eps, not eps, is within reach."""
    return float(np.finfo(dtype).eps) * max(n, 1)


def _jacobi_eigh(a):
    """(eigenvalues unsorted, eigenvectors as columns) of real symmetric or complex Hermitian
    a. A complex pair is first turned real by the phase of its off-diagonal entry."""
    n = a.shape[-1]
    a = _pad_to_even(a, (-2, -1))
    size = a.shape[-1]

    def one_round(_, state):
        matrix, vectors = state
        diagonal = _diagonal(matrix)
        app = lax.slice_in_dim(diagonal, 0, size, stride=2, axis=diagonal.ndim - 1)
        aqq = lax.slice_in_dim(diagonal, 1, size, stride=2, axis=diagonal.ndim - 1)
        above = _diagonal(matrix, offset=1)
        apq = lax.slice_in_dim(above, 0, size - 1, stride=2, axis=above.ndim - 1)
        if not dtypes.is_complex(a.dtype):
            c, s = _rotation(app, aqq, apq)
            matrix = _rotate_and_advance(_rotate_and_advance(matrix, c, s, -2), c, s, -1)
            return matrix, _rotate_and_advance(vectors, c, s, -1)
        magnitude = lax.abs(apq)
        c, s = _rotation(lax.real(app), lax.real(aqq), magnitude)
        unit = lax.select(lax.eq(magnitude, _zeros(magnitude.shape, magnitude.dtype)), lax.full(apq.shape, 1, a.dtype),
                          lax.div(apq, _as(magnitude, a.dtype)))
        # Row q times the phase of a_pq and column q times its conjugate make the pair real.
        matrix = _rotate_and_advance(matrix, c, s, -2, phase=unit)
        matrix = _rotate_and_advance(matrix, c, s, -1, phase=lax.conj(unit))
        return matrix, _rotate_and_advance(vectors, c, s, -1, phase=lax.conj(unit))

    def sweep(matrix, vectors):
        return lax.fori_loop(0, size - 1, one_round, (matrix, vectors))

    def converged(matrix, vectors):
        total = lax.reduce_sum(_abs_squared(matrix), (matrix.ndim - 2, matrix.ndim - 1))
        on_diagonal = lax.reduce_sum(_abs_squared(_diagonal(matrix)), (matrix.ndim - 2,))
        off = lax.sub(total, on_diagonal)
        limit = lax.mul(total, lax.full(total.shape, _tolerance(_real_dtype(a.dtype), n) ** 2, total.dtype))
        return lax.reduce_and(lax.le(off, limit), tuple(range(off.ndim)))

    matrix, vectors = _sweep_until(converged, sweep, (a, _eye(size, a.dtype, a.shape[:-2])))
    eigenvalues = lax.slice_in_dim(_diagonal(matrix), 0, n, axis=a.ndim - 2)
    if dtypes.is_complex(a.dtype):
        eigenvalues = lax.real(eigenvalues)
    vectors = lax.slice_in_dim(lax.slice_in_dim(vectors, 0, n, axis=a.ndim - 2), 0, n, axis=a.ndim - 1)
    return eigenvalues, vectors


def _sort_columns(keys, columns, descending=False):
    """keys (..., n) sorted, and each matrix of `columns` (..., m, n) with its columns in that order."""
    positions = lax.broadcasted_iota(dtypes.int32, keys.shape, keys.ndim - 1)
    sorted_keys, order = lax.sort_key_val(lax.neg(keys) if descending else keys, positions)
    # columns[..., :, order]: a product with the permutation's matrix.
    reorder = _matrix_transpose(permutation_matrix(order, columns.dtype))
    return (lax.neg(sorted_keys) if descending else sorted_keys), _matmul(columns, reorder)


def eigh(x, *, lower=True, symmetrize_input=True, sort_eigenvalues=True):
    """(v, w): the eigenvectors (columns of v) and real eigenvalues w (ascending) of the
    symmetric or Hermitian x, of which only the `lower` (or upper) triangle is read unless
    symmetrize_input averages x with its adjoint."""
    _check_matrices("eigh", x, square=True)
    if symmetrize_input:
        x = _symmetrized(x)
    else:
        half = _triangle(x, lower=lower, k=1)
        diagonal = lax.mul(x, _eye(x.shape[-1], x.dtype, x.shape[:-2]))
        if dtypes.is_complex(x.dtype):
            diagonal = _as(lax.real(diagonal), x.dtype)
        x = lax.add(lax.add(half, _adjoint(half)), diagonal)
    if not sort_eigenvalues:
        w, v = _jacobi_eigh(x)
        return v, w
    v, w = _eigh(x)
    return v, w


@custom_jvp
def _eigh(a):
    w, v = _sort_columns(*_jacobi_eigh(a))
    return v, w


@_eigh.defjvp
def _eigh_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    v, w = _eigh(a)
    # In the eigenbasis, dA's diagonal moves the eigenvalues and its off-diagonal entries
    # turn the eigenvectors: dV = V (F * (V^H dA V)), F_ij = 1 / (w_j - w_i).
    rotated = _matmul(_adjoint(v), _matmul(a_dot, v))
    w_dot = _diagonal(rotated)
    if dtypes.is_complex(a.dtype):
        w_dot = lax.real(w_dot)
    return (v, w), (_matmul(v, lax.mul(_as(_inverse_gaps(w), a.dtype), rotated)), w_dot)


def _inverse_gaps(values):
    """F with F_ij = 1 / (values_j - values_i) off the diagonal and 0 on it."""
    n = values.shape[-1]
    shape = values.shape + (n,)
    rows = lax.broadcast_in_dim(values, shape, tuple(range(values.ndim - 1)) + (values.ndim - 1,))
    cols = lax.broadcast_in_dim(values, shape, tuple(range(values.ndim - 1)) + (values.ndim,))
    identity = _eye(n, values.dtype, values.shape[:-1])
    return lax.sub(lax.div(lax.full(shape, 1, values.dtype), lax.add(lax.sub(cols, rows), identity)), identity)


def svd(x, *, full_matrices=True, compute_uv=True):
    """(u, s, vh) with x = u @ diag(s) @ vh, s descending (just s without compute_uv); u is
    m x m and vh n x n with full_matrices, else m x k and k x n (k = min(m, n))."""
    _check_matrices("svd", x)
    m, n = x.shape[-2:]
    if m < n:  # the svd of the adjoint, turned back
        result = svd(_adjoint(x), full_matrices=full_matrices, compute_uv=compute_uv)
        if not compute_uv:
            return result
        u, s, vh = result
        return _adjoint(vh), s, _adjoint(u)
    u, s, vh = _svd(x)
    if not compute_uv:
        return s
    if full_matrices and m > n:
        u = _join_columns(u, orthonormal_complement(u))
    return u, s, vh


def _one_sided_jacobi(a):
    """(columns of a rotated to be orthogonal, the rotations' product v): a @ v."""
    n = a.shape[-1]
    columns = _pad_to_even(a, (-1,))
    size = columns.shape[-1]

    def one_round(_, state):
        u, v = state
        even = lax.slice_in_dim(u, 0, size, stride=2, axis=u.ndim - 1)
        odd = lax.slice_in_dim(u, 1, size, stride=2, axis=u.ndim - 1)
        rows = (u.ndim - 2,)
        lengths = lax.reduce_sum(_abs_squared(even), rows), lax.reduce_sum(_abs_squared(odd), rows)
        overlap = lax.reduce_sum(lax.mul(lax.conj(even) if dtypes.is_complex(a.dtype) else even, odd), rows)
        if not dtypes.is_complex(a.dtype):
            c, s = _rotation(*lengths, overlap)
            return _rotate_and_advance(u, c, s, -1), _rotate_and_advance(v, c, s, -1)
        # Column q times the conjugate phase of the overlap makes the pair's overlap real.
        magnitude = lax.abs(overlap)
        c, s = _rotation(*lengths, magnitude)
        unit = lax.select(lax.eq(magnitude, _zeros(magnitude.shape, magnitude.dtype)),
                          lax.full(overlap.shape, 1, a.dtype), lax.div(overlap, _as(magnitude, a.dtype)))
        return (_rotate_and_advance(u, c, s, -1, phase=lax.conj(unit)),
                _rotate_and_advance(v, c, s, -1, phase=lax.conj(unit)))

    def sweep(u, v):
        return lax.fori_loop(0, size - 1, one_round, (u, v))

    def converged(u, v):
        # Every pair of columns orthogonal relative to their lengths.
        gram = lax.abs(_matmul(_adjoint(u), u))
        lengths = lax.sqrt(_diagonal(gram))
        scale = lax.mul(lax.broadcast_in_dim(lengths, gram.shape, tuple(range(gram.ndim - 2)) + (gram.ndim - 2,)),
                        lax.broadcast_in_dim(lengths, gram.shape, tuple(range(gram.ndim - 2)) + (gram.ndim - 1,)))
        off = _where(lax.ne(*_positions(size, size)), gram, _zeros(gram.shape, gram.dtype))
        limit = lax.mul(scale, lax.full(scale.shape, _tolerance(gram.dtype, n), scale.dtype))
        return lax.reduce_and(lax.le(off, limit), tuple(range(off.ndim)))

    u, v = _sweep_until(converged, sweep, (columns, _eye(size, a.dtype, a.shape[:-2])))
    return (lax.slice_in_dim(u, 0, n, axis=a.ndim - 1),
            lax.slice_in_dim(lax.slice_in_dim(v, 0, n, axis=a.ndim - 2), 0, n, axis=a.ndim - 1))


@custom_jvp
def _svd(a):
    """The reduced svd of a with m >= n rows."""
    n = a.shape[-1]
    rotated, v = _one_sided_jacobi(a)
    lengths = lax.sqrt(lax.reduce_sum(_abs_squared(rotated), (a.ndim - 2,)))
    s, v = _sort_columns(lengths, v, descending=True)
    _, rotated = _sort_columns(lengths, rotated, descending=True)
    # u: the normalized columns, made exactly orthonormal (and completed where s is zero)
    # by a QR whose diagonal phases are kept.
    safe = lax.select(lax.eq(s, _zeros(s.shape, s.dtype)), lax.full(s.shape, 1, s.dtype), s)
    q, r = _householder(_scale_columns(rotated, lax.div(lax.full(s.shape, 1, s.dtype), safe)))
    diagonal = _diagonal(r)
    magnitude = lax.abs(diagonal)
    phases = lax.select(lax.eq(magnitude, _zeros(magnitude.shape, magnitude.dtype)),
                        lax.full(diagonal.shape, 1, a.dtype), lax.div(diagonal, _as(magnitude, a.dtype)))
    u = _scale_columns(lax.slice_in_dim(q, 0, n, axis=a.ndim - 1), phases)
    return u, s, _adjoint(v)


@_svd.defjvp
def _svd_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    u, s, vh = _svd(a)
    v = _adjoint(vh)
    # With dP = U^H dA V: ds = Re diag(dP); dU = U (F * (dP S + S dP^H) + D) + (I - U U^H) dA V S^-1;
    # dV = V (F * (S dP + dP^H S)), F_ij = 1 / (s_j^2 - s_i^2). D (complex only) takes the
    # imaginary part of dP's diagonal, divided by S, into U (V's phases stay put).
    a_dot_v = _matmul(a_dot, v)
    p = _matmul(_adjoint(u), a_dot_v)
    gaps = _as(_inverse_gaps(lax.mul(s, s)), a.dtype)
    p_s = _scale_columns(p, s)
    s_p = _adjoint(_scale_columns(_adjoint(p), s))
    is_zero = lax.eq(s, _zeros(s.shape, s.dtype))
    s_inverse = lax.select(is_zero, _zeros(s.shape, s.dtype),
                           lax.div(lax.full(s.shape, 1, s.dtype), lax.select(is_zero, lax.full(s.shape, 1, s.dtype), s)))
    rotation = lax.mul(gaps, lax.add(p_s, _adjoint(p_s)))
    s_dot = _diagonal(p)
    if dtypes.is_complex(a.dtype):
        imaginary = lax.sub(s_dot, _as(lax.real(s_dot), a.dtype))
        rotation = lax.add(rotation, _diagonal_matrix(lax.mul(imaginary, _as(s_inverse, a.dtype))))
        s_dot = lax.real(s_dot)
    u_dot = lax.add(_matmul(u, rotation), _scale_columns(lax.sub(a_dot_v, _matmul(u, p)), s_inverse))
    v_dot = _matmul(v, lax.mul(gaps, lax.add(s_p, _adjoint(s_p))))
    return (u, s, vh), (u_dot, s_dot, _adjoint(v_dot))
