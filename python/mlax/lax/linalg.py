"""mlax.lax.linalg: triangular solves and matrix decompositions, as jax.lax.linalg.

IREE compiles no StableHLO decomposition (cholesky, triangular_solve) on any
target, so the decompositions are written here as loops over mlax ops; one op,
triangular_solve, does forward substitution. Each decomposition has its own
differentiation rule (custom_jvp) whose tangent is linear in the input's tangent
(products with the primal factors and triangular solves), so it transposes for
reverse mode and never differentiates through the iterations. Every function
works on a batch of matrices in the last two axes.
"""

from mlax import lax
from mlax.core import dtypes
from mlax.core.op import OPS
from mlax.api.custom_rules import custom_jvp


def _matrix_transpose(x):
    return lax.transpose(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def triangular_solve(a, b, *, left_side=False, lower=False, transpose_a=False, conjugate_a=False,
                     unit_diagonal=False):
    """x with op(a) @ x = b (left_side) or x @ op(a) = b, for a triangular a of which only
    the `lower` (or upper) triangle is read; op(a) is a transposed and/or conjugated."""
    if not left_side:  # x op(a) = b  <=>  op(a)^T x^T = b^T
        return _matrix_transpose(triangular_solve(a, _matrix_transpose(b), left_side=True, lower=lower,
                                                  transpose_a=not transpose_a, conjugate_a=conjugate_a,
                                                  unit_diagonal=unit_diagonal))
    if conjugate_a and dtypes.is_complex(a.dtype):
        a = lax.conj(a)
    if transpose_a:
        a, lower = _matrix_transpose(a), not lower
    return OPS["triangular_solve"](a, b, lower=bool(lower), unit_diagonal=bool(unit_diagonal))


# -- helpers over the last two axes ---------------------------------------------------------

def _matmul(x, y):
    from mlax.ops.linalg import batched_matmul

    return batched_matmul(x, y)


def _adjoint(x):
    return _matrix_transpose(lax.conj(x) if dtypes.is_complex(x.dtype) else x)


def _zeros(shape, dtype):
    return lax.full(tuple(shape), 0, dtype)


def _where(keep, x, y):
    """select with a mask over the last axes of x (broadcast over the leading ones)."""
    return lax.select(lax.broadcast_in_dim(keep, x.shape, tuple(range(x.ndim - keep.ndim, x.ndim))), x, y)


def _positions(rows, cols):
    """(row index, column index) grids of a rows x cols matrix."""
    return (lax.broadcasted_iota(dtypes.int32, (rows, cols), 0),
            lax.broadcasted_iota(dtypes.int32, (rows, cols), 1))


def _triangle(x, lower, k=0):
    """The lower (rows >= cols + k) or upper (rows <= cols - k) part of x, zeros elsewhere."""
    rows, cols = _positions(*x.shape[-2:])
    keep = lax.ge(rows, lax.add(cols, k)) if lower else lax.le(rows, lax.sub(cols, k))
    return _where(keep, x, _zeros(x.shape, x.dtype))


def _eye(n, dtype, batch=()):
    rows, cols = _positions(n, n)
    return lax.broadcast_in_dim(lax.convert_element_type(lax.eq(rows, cols), dtype), tuple(batch) + (n, n),
                                (len(batch), len(batch) + 1))


def _diagonal(x, offset=0):
    """The entries x[..., i, i + offset]."""
    rows, cols = x.shape[-2:]
    count = max(0, min(rows, cols - offset))
    row_index, col_index = _positions(rows, cols)
    on_diagonal = _where(lax.eq(lax.add(row_index, offset), col_index), x, _zeros(x.shape, x.dtype))
    return lax.slice_in_dim(lax.reduce_sum(on_diagonal, (x.ndim - 1,)), 0, count, axis=x.ndim - 2)


def _diagonal_matrix(v, cols=None):
    """The matrix with v (..., n) on its diagonal (n x cols)."""
    n = v.shape[-1]
    cols = n if cols is None else cols
    rows, columns = _positions(n, cols)
    spread = lax.broadcast_in_dim(v, v.shape + (cols,), tuple(range(v.ndim)))
    return _where(lax.eq(rows, columns), spread, _zeros(spread.shape, v.dtype))


def _scale_columns(x, v):
    """x with column j multiplied by v[..., j]."""
    return lax.mul(x, lax.broadcast_in_dim(_as(v, x.dtype), x.shape, tuple(range(x.ndim - 2)) + (x.ndim - 1,)))


def _slice_at(x, axis, index, size=1):
    """x's `size` entries from a run-time `index` along `axis` (a negative axis counts from the end)."""
    axis %= x.ndim
    starts = [0] * x.ndim
    starts[axis] = index
    sizes = list(x.shape)
    sizes[axis] = size
    return lax.dynamic_slice(x, starts, sizes)


def _put_at(x, update, axis, index):
    starts = [0] * x.ndim
    starts[axis % x.ndim] = index
    return lax.dynamic_update_slice(x, update, starts)


def _compare_index(compare, positions, index):
    """compare(positions, index) for a run-time scalar index."""
    return compare(positions, lax.broadcast_in_dim(lax.convert_element_type(index, dtypes.int32), positions.shape, ()))


def _check_matrices(name, x, square=False):
    if x.ndim < 2:
        raise ValueError(f"{name}: needs a (batch of) matrices, got shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name}: needs square matrices, got shape {x.shape}")
    if not dtypes.is_inexact(x.dtype):
        raise TypeError(f"{name}: needs a floating or complex matrix, got {x.dtype}")


def _symmetrized(x):
    return lax.div(lax.add(x, _adjoint(x)), lax.full(x.shape, 2, x.dtype))


# -- cholesky -------------------------------------------------------------------------------

def cholesky(x, *, symmetrize_input=True):
    """The lower-triangular L with L @ L^H = x, for Hermitian positive-definite x (NaNs otherwise)."""
    _check_matrices("cholesky", x, square=True)
    return _cholesky(_symmetrized(x) if symmetrize_input else x)


@custom_jvp
def _cholesky(a):
    n = a.shape[-1]
    rows = lax.broadcasted_iota(dtypes.int32, (n, 1), 0)

    def column(j, factor):
        # Column j of L: (a[:, j] - L[:, :j] @ conj(L[j, :j])) scaled by its diagonal entry.
        row_j = _slice_at(factor, -2, j)
        rest = lax.sub(_slice_at(a, -1, j), _matmul(factor, _adjoint(row_j)))
        pivot = lax.sqrt(_slice_at(rest, -2, j))
        scaled = lax.div(rest, lax.broadcast_in_dim(pivot, rest.shape, tuple(range(rest.ndim))))
        below = _where(_compare_index(lax.gt, rows, j), scaled, _zeros(rest.shape, a.dtype))
        new_column = _where(_compare_index(lax.eq, rows, j), lax.broadcast_in_dim(pivot, rest.shape, tuple(range(rest.ndim))),
                            below)
        return _put_at(factor, new_column, -1, j)

    return lax.fori_loop(0, n, column, _zeros(a.shape, a.dtype))


@_cholesky.defjvp
def _cholesky_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    factor = _cholesky(a)
    # dL = L phi(L^-1 dA L^-H), phi: the lower triangle with its diagonal halved.
    inner = triangular_solve(factor, a_dot, left_side=True, lower=True)
    inner = triangular_solve(factor, inner, left_side=False, lower=True, transpose_a=True, conjugate_a=True)
    half_diagonal = lax.mul(_eye(a.shape[-1], a.dtype, a.shape[:-2]), lax.full(a.shape, 0.5, a.dtype))
    phi = lax.sub(_triangle(inner, lower=True), lax.mul(inner, half_diagonal))
    return factor, _matmul(factor, phi)


# -- LU -------------------------------------------------------------------------------------

def lu(x):
    """(lu, pivots, permutation) of the LU decomposition with partial pivoting of square x:
    x[permutation] = L @ U, L unit lower triangular (below lu's diagonal), U upper (on and
    above it); pivots[i] is the row swapped with row i at step i."""
    _check_matrices("lu", x, square=True)
    return _lu(x)


def _full(x, shape):
    """x broadcast to `shape`, its axes kept in order (size-1 axes stretch)."""
    if x.shape == tuple(shape):
        return x
    squeezed = [i for i, d in enumerate(x.shape) if d == 1 and shape[i] != 1]
    kept = tuple(i for i in range(x.ndim) if i not in squeezed)
    return lax.broadcast_in_dim(lax.reshape(x, tuple(x.shape[i] for i in kept)), tuple(shape), kept)


def _pick(mask, x, axis):
    """The entries of x where mask holds along `axis` (one per line), summed, broadcast back."""
    zeros = _zeros(x.shape, x.dtype)
    return _full(lax.reshape(lax.reduce_sum(lax.select(mask, x, zeros), (axis % x.ndim,)),
                             tuple(1 if i == axis % x.ndim else d for i, d in enumerate(x.shape))), x.shape)


def _lu_steps(a):
    n, batch = a.shape[-1], a.shape[:-2]
    shape, vector = a.shape, batch + (n,)
    rows = lax.broadcasted_iota(dtypes.int32, shape, a.ndim - 2)
    cols = lax.broadcasted_iota(dtypes.int32, shape, a.ndim - 1)
    positions = lax.broadcasted_iota(dtypes.int32, vector, len(batch))
    zeros = _zeros(shape, a.dtype)

    def step(k, state):
        matrix, pivots, permutation = state
        # The pivot: the largest magnitude in column k on or below the diagonal.
        in_column_k = _compare_index(lax.eq, cols, k)
        candidates = lax.select(_compare_index(lax.ge, rows, k), lax.abs(matrix), lax.full(shape, -1, lax.abs(matrix).dtype))
        column = lax.reduce_sum(lax.select(in_column_k, candidates, lax.full(shape, 0, candidates.dtype)), (a.ndim - 1,))
        pivot_row = lax.argmax(column, len(batch), dtypes.int32)
        # Swap rows k and pivot_row, of the matrix and of the permutation.
        is_k, is_pivot = _compare_index(lax.eq, rows, k), lax.eq(rows, _full(lax.reshape(pivot_row, batch + (1, 1)), shape))
        row_k, pivot_values = _pick(is_k, matrix, -2), _pick(is_pivot, matrix, -2)
        matrix = lax.select(is_k, pivot_values, lax.select(is_pivot, row_k, matrix))
        at_k, at_pivot = _compare_index(lax.eq, positions, k), lax.eq(positions, _full(lax.reshape(pivot_row, batch + (1,)), vector))
        entry_k, entry_pivot = _pick(at_k, permutation, -1), _pick(at_pivot, permutation, -1)
        permutation = lax.select(at_k, entry_pivot, lax.select(at_pivot, entry_k, permutation))
        pivots = lax.select(at_k, _full(lax.reshape(pivot_row, batch + (1,)), vector), pivots)
        # Eliminate below the pivot; the multipliers take the pivot column's place. A zero
        # pivot (a singular matrix) leaves its column as it is.
        pivot = _pick(in_column_k, pivot_values, -1)
        is_zero = lax.eq(pivot, zeros)
        multipliers = lax.div(_pick(in_column_k, matrix, -1), lax.select(is_zero, lax.full(shape, 1, a.dtype), pivot))
        below = _compare_index(lax.gt, rows, k)
        multipliers = lax.select(lax.bitwise_and(below, lax.bitwise_not(is_zero)), multipliers, zeros)
        right_of_pivot = lax.select(_compare_index(lax.gt, cols, k), pivot_values, zeros)
        matrix = lax.sub(matrix, lax.mul(multipliers, right_of_pivot))
        matrix = lax.select(lax.bitwise_and(below, in_column_k), multipliers, matrix)
        return matrix, pivots, permutation

    return lax.fori_loop(0, n, step, (a, lax.full(vector, 0, dtypes.int32), positions))


@custom_jvp
def _lu(a):
    return _lu_steps(a)


def permutation_matrix(permutation, dtype):
    """The matrix P (batched) with P @ x = x[permutation]."""
    n = permutation.shape[-1]
    shape = permutation.shape + (n,)
    columns = lax.broadcasted_iota(dtypes.int32, shape, len(shape) - 1)
    return lax.convert_element_type(lax.eq(_full(lax.reshape(permutation, permutation.shape + (1,)), shape), columns),
                                    dtype)


def _unit_lower(packed):
    return lax.add(_triangle(packed, lower=True, k=1), _eye(packed.shape[-1], packed.dtype, packed.shape[:-2]))


@_lu.defjvp
def _lu_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    packed, pivots, permutation = _lu(a)
    lower, upper = _unit_lower(packed), _triangle(packed, lower=False)
    # P dA = dL U + L dU, so L^-1 P dA U^-1 = L^-1 dL + dU U^-1: strictly lower plus upper.
    change = _matmul(permutation_matrix(permutation, a.dtype), a_dot)
    change = triangular_solve(lower, change, left_side=True, lower=True, unit_diagonal=True)
    change = triangular_solve(upper, change, left_side=False, lower=False)
    packed_dot = lax.add(_matmul(lower, _triangle(change, lower=True, k=1)),
                         _matmul(_triangle(change, lower=False), upper))
    return (packed, pivots, permutation), (packed_dot, lax.full(pivots.shape, 0, pivots.dtype),
                                           lax.full(permutation.shape, 0, permutation.dtype))


# -- QR -------------------------------------------------------------------------------------

def qr(x, *, full_matrices=True):
    """(q, r) with x = q @ r, q with orthonormal columns and r upper triangular: q is m x m
    and r m x n with full_matrices, else q m x k and r k x n (k = min(m, n))."""
    _check_matrices("qr", x)
    m, n = x.shape[-2:]
    if m < n:  # qr of the leading square block; the other columns follow from its q
        q, leading = _qr(lax.slice_in_dim(x, 0, m, axis=x.ndim - 1))
        rest = _matmul(_adjoint(q), lax.slice_in_dim(x, m, n, axis=x.ndim - 1))
        return q, lax.concatenate([leading, rest], x.ndim - 1)
    q, r = _qr(x)
    if full_matrices and m > n:
        q = _join_columns(q, orthonormal_complement(q))
        r = lax.concatenate([r, _zeros(x.shape[:-2] + (m - n, n), x.dtype)], x.ndim - 2)
    return q, r


def _householder(a):
    """(q, r): Householder reflections zero each column of a below its diagonal in turn
    (q is m x m, r is m x n). A real column already zero below its diagonal is left alone,
    as LAPACK does, so signs agree with NumPy's."""
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    column_shape = batch + (m, 1)
    rows = lax.broadcasted_iota(dtypes.int32, column_shape, a.ndim - 2)
    zeros = _zeros(column_shape, a.dtype)
    real = lambda value: lax.full(column_shape, value, _real_dtype(a.dtype))

    def total(x):
        return _full(lax.reshape(lax.reduce_sum(x, (a.ndim - 2,)), batch + (1, 1)), column_shape)

    def reflect(j, state):
        q, r = state
        column = _slice_at(r, -1, j)
        at_j = _compare_index(lax.eq, rows, j)
        head = total(lax.select(at_j, column, zeros))
        tail = lax.select(_compare_index(lax.gt, rows, j), column, zeros)
        tail_squared = total(_abs_squared(tail))
        head_magnitude = lax.abs(head)
        norm = lax.sqrt(lax.add(lax.mul(head_magnitude, head_magnitude), tail_squared))
        phase = lax.select(lax.eq(head_magnitude, real(0)), lax.full(column_shape, 1, a.dtype),
                           lax.div(head, _as(head_magnitude, a.dtype)))
        alpha = lax.neg(lax.mul(phase, _as(norm, a.dtype)))
        v = lax.select(at_j, lax.sub(head, alpha), tail)
        skip = lax.eq(tail_squared, real(0))
        if dtypes.is_complex(a.dtype):
            skip = lax.bitwise_and(skip, lax.eq(lax.imag(head), real(0)))
        v_norm = lax.sqrt(total(_abs_squared(v)))
        v = lax.select(skip, zeros, lax.div(v, _as(lax.select(skip, real(1), v_norm), a.dtype)))
        two_v = lax.add(v, v)
        r = lax.sub(r, _matmul(two_v, _matmul(_adjoint(v), r)))
        q = lax.sub(q, _matmul(_matmul(q, two_v), _adjoint(v)))
        return q, r

    q, r = lax.fori_loop(0, min(m, n), reflect, (_eye(m, a.dtype, batch), a))
    return q, _triangle(r, lower=False)


def _real_dtype(dtype):
    return lax.real(lax.full((), 0, dtype)).dtype if dtypes.is_complex(dtype) else dtype


def _as(x, dtype):
    return lax.convert_element_type(x, dtype)


def _abs_squared(x):
    if dtypes.is_complex(x.dtype):
        return lax.add(lax.square(lax.real(x)), lax.square(lax.imag(x)))
    return lax.mul(x, x)


@custom_jvp
def _qr(a):
    """The reduced QR of a with m >= n rows: q m x n, r n x n."""
    n = a.shape[-1]
    q, r = _householder(a)
    return lax.slice_in_dim(q, 0, n, axis=a.ndim - 1), lax.slice_in_dim(r, 0, n, axis=a.ndim - 2)


@_qr.defjvp
def _qr_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    q, r = _qr(a)
    # With C = Q^H dA R^-1: dQ = Q (W - C) + dA R^-1 and dR = (C - W) R, where W is the
    # anti-Hermitian matrix whose strictly lower part is C's (and whose diagonal is C's
    # imaginary part), which keeps Q^H Q = I and R upper triangular.
    a_dot_r_inv = triangular_solve(r, a_dot, left_side=False, lower=False)
    c = _matmul(_adjoint(q), a_dot_r_inv)
    strictly_lower = _triangle(c, lower=True, k=1)
    w = lax.sub(strictly_lower, _adjoint(strictly_lower))
    if dtypes.is_complex(a.dtype):
        diagonal = lax.mul(c, _eye(c.shape[-1], c.dtype, c.shape[:-2]))
        w = lax.add(w, lax.sub(diagonal, _as(lax.real(diagonal), c.dtype)))
    q_dot = lax.add(_matmul(q, lax.sub(w, c)), a_dot_r_inv)
    return (q, r), (q_dot, _matmul(lax.sub(c, w), r))


def _join_columns(u, complement):
    # Barriers keep IREE 3.13 from fusing the join with both producers: after the Jacobi
    # loop that fails stream partitioning ("circular dependency").
    barrier = OPS["optimization_barrier"]
    return lax.concatenate([barrier(u), barrier(complement)], u.ndim - 1)


@custom_jvp
def orthonormal_complement(u):
    """m x (m - k) orthonormal columns orthogonal to the k orthonormal columns of u. Its
    derivative is the one that keeps it orthogonal to u and moves it least."""
    m, k = u.shape[-2:]
    return lax.slice_in_dim(_householder(u)[0], k, m, axis=u.ndim - 1)


@orthonormal_complement.defjvp
def _orthonormal_complement_jvp(primals, tangents):
    (u,), (u_dot,) = primals, tangents
    complement = orthonormal_complement(u)
    return complement, lax.neg(_matmul(u, _matmul(_adjoint(u_dot), complement)))


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
    import numpy as np

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
