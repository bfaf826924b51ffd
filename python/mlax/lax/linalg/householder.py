"""QR by Householder reflections, and orthonormal_complement (the columns that complete
orthonormal ones to a basis), with their custom JVPs."""

from mlax import lax, ops
from mlax.api.custom_rules import custom_jvp
from mlax.core import dtypes
from mlax.lax.linalg._matrices import (_abs_squared, _adjoint, _as, _check_matrices, _compare_index, _eye, _full,
                                       _matmul, _real_dtype, _slice_at, _triangle, _zeros)
from mlax.ops.linalg import triangular_solve


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
    return lax.concatenate([ops.optimization_barrier(u), ops.optimization_barrier(complement)], u.ndim - 1)


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
