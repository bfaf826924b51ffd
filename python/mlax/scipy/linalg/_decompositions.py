"""The decompositions of jax.scipy.linalg that do not solve systems: eigh, eigh_tridiagonal,
svd, qr (with column pivoting) and qr_multiply, hessenberg, and polar (QDWH or SVD).

They build on mlax.lax.linalg; hessenberg and the column pivoting of qr are loops of
Householder reflections and column swaps here, with LAPACK's sign conventions so that the
factors JAX fixes agree. Derivatives come from mlax.lax.linalg's rules and, for the loops,
from differentiating through them.
"""

import functools

import numpy as np

import mlax.numpy as mnp
from mlax import lax
from mlax.api.jit import compiled
from mlax.core import dtypes
from mlax.lax import linalg as lax_linalg
from mlax.scipy.linalg._solvers import _inexact, _square


def _adjoint(x):
    return mnp.conj(mnp.matrix_transpose(x))


def _real_dtype(dtype):
    return mnp.real(mnp.zeros((), dtype)).dtype


# -- eigh and svd ---------------------------------------------------------------------------------

def eigh(a, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, turbo=True, eigvals=None,
         type=1, check_finite=True):
    """(w, v): the eigenvalues w (ascending) and eigenvectors (columns of v) of the Hermitian a;
    w alone with eigvals_only. Only the standard problem: b, eigvals and type must keep their
    defaults. As JAX, a is averaged with its adjoint, so `lower` picks the same values."""
    del overwrite_a, overwrite_b, turbo, check_finite  # SciPy's memory, speed and input checks
    if b is not None:
        raise NotImplementedError("eigh: the generalized problem (b other than None) is not implemented")
    if type != 1:
        raise NotImplementedError(f"eigh: only type=1 is implemented, got type={type!r}")
    if eigvals is not None:
        raise NotImplementedError("eigh: selecting eigenvalues (eigvals other than None) is not implemented")
    return _eigh(a, bool(lower), bool(eigvals_only))


@compiled("lower", "eigvals_only")
def _eigh(a, lower, eigvals_only):
    (a,) = _inexact(a)
    v, w = lax_linalg.eigh(a, lower=lower)
    return w if eigvals_only else (w, v)


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True, lapack_driver="gesdd"):
    """(u, s, vh) with a = u @ diag(s) @ vh, s descending; s alone without compute_uv."""
    del overwrite_a, check_finite, lapack_driver  # SciPy's memory, input checks and LAPACK routine
    return _svd(a, bool(full_matrices), bool(compute_uv))


@compiled("full_matrices", "compute_uv")
def _svd(a, full_matrices, compute_uv):
    (a,) = _inexact(a)
    return lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


# -- QR -------------------------------------------------------------------------------------------

def _swap_last(x, i, j):
    """x with its entries i and j along the last axis swapped (i and j traced, j batched (..., 1))."""
    positions = lax.broadcasted_iota(dtypes.int32, x.shape, x.ndim - 1)
    at_i, at_j = positions == i, positions == j
    value_i = mnp.sum(mnp.where(at_i, x, mnp.zeros((), x.dtype)), axis=-1, keepdims=True)
    value_j = mnp.sum(mnp.where(at_j, x, mnp.zeros((), x.dtype)), axis=-1, keepdims=True)
    return mnp.where(at_i, value_j, mnp.where(at_j, value_i, x))


def _column_pivots(a):
    """The column order of LAPACK's QR with column pivoting (geqp3): step j swaps column j
    with the column (j or right of it) of largest norm once the chosen columns are
    projected out of all."""
    m, n = a.shape[-2:]
    positions = lax.broadcasted_iota(dtypes.int32, a.shape[:-2] + (n,), a.ndim - 2)
    squared = lambda x: mnp.real(x * mnp.conj(x))

    def step(j, state):
        residual, order = state
        norms = mnp.sum(squared(residual), axis=-2)
        pivot = mnp.argmax(mnp.where(positions >= j, norms, -1), axis=-1, keepdims=True).astype(dtypes.int32)
        order = _swap_last(order, j, pivot)
        residual = _swap_last(residual, j, pivot[..., None])
        column = mnp.sum(mnp.where(positions[..., None, :] == j, residual, 0), axis=-1, keepdims=True)
        length = mnp.sqrt(mnp.sum(squared(column), axis=-2, keepdims=True))
        unit = column / mnp.where(length == 0, 1, length).astype(a.dtype)
        return residual - unit @ (_adjoint(unit) @ residual), order

    _, order = lax.fori_loop(0, min(m, n), step, (lax.stop_gradient(a), positions))
    return order


def _qr(a, full_matrices, pivoting):
    """(q, r) of a (q, r and the column order with pivoting), a[..., order] = q @ r."""
    if not pivoting:
        return lax_linalg.qr(a, full_matrices=full_matrices)
    order = _column_pivots(a)
    q, r = lax_linalg.qr(mnp.take_along_axis(a, order[..., None, :], axis=-1), full_matrices=full_matrices)
    return q, r, order


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """The QR decomposition a = q @ r by Householder reflections: (q, r) with mode 'full' (q
    square) or 'economic' (q with min(m, n) columns), (r,) with mode 'r'; with pivoting also
    the column order p, a[:, p] = q @ r."""
    del overwrite_a, lwork, check_finite  # SciPy's memory, workspace size and input checks
    return _qr_modes(a, mode, bool(pivoting))


@compiled("mode", "pivoting")
def _qr_modes(a, mode, pivoting):
    if mode not in ("full", "r", "economic"):
        raise ValueError(f"qr: mode must be 'full', 'r' or 'economic', got {mode!r}")
    (a,) = _inexact(a)
    q, r, *order = _qr(a, mode != "economic", pivoting)
    return (r, *order) if mode == "r" else (q, r, *order)


def qr_multiply(a, c, mode="right", pivoting=False, conjugate=False, overwrite_a=False, overwrite_c=False):
    """(c @ Q or Q @ c, r) for the QR decomposition of a, Q its first min(m, n) columns (of
    Q conjugated with `conjugate`), and the column order with pivoting. mode 'right' takes c
    with m columns, 'left' c with min(m, n) rows; a 1-D c is a row ('right') or a column."""
    del overwrite_a, overwrite_c  # SciPy's memory use: no effect on the result
    return _qr_multiply(a, c, mode, bool(pivoting), bool(conjugate))


@compiled("mode", "pivoting", "conjugate")
def _qr_multiply(a, c, mode, pivoting, conjugate):
    a, c = _inexact(a, c)
    if mode not in ("right", "left"):
        raise ValueError(f"qr_multiply: mode must be 'right' or 'left', got {mode!r}")
    vector = c.ndim == 1
    if vector:
        c = c[:, None] if mode == "left" else c[None, :]
    m, n = a.shape[-2:]
    k = min(m, n)
    if mode == "left" and c.shape[-2] != k:
        raise ValueError(f"qr_multiply: Q of a {a.shape} has {k} columns, so c needs {k} rows, got shape {c.shape}")
    if mode == "right" and c.shape[-1] != m:
        raise ValueError(f"qr_multiply: Q of a {a.shape} has {m} rows, so c needs {m} columns, got shape {c.shape}")
    batch = mnp.broadcast_shapes(a.shape[:-2], c.shape[:-2])
    a, c = mnp.broadcast_to(a, batch + a.shape[-2:]), mnp.broadcast_to(c, batch + c.shape[-2:])
    q, r, *order = _qr(a, False, pivoting)
    q = mnp.conj(q) if conjugate else q
    product = q @ c if mode == "left" else c @ q
    return (mnp.ravel(product) if vector else product, r, *order)


# -- Hessenberg -----------------------------------------------------------------------------------

def _reflector(column, head, below):
    """LAPACK's (z)larfg for the entries of `column` from row `head` down (`below`: the rows
    after head): (v, tau) with (I - tau v v^H)^H column = beta e_head, beta real, v[head] = 1;
    tau = 0 (no reflection) where nothing below head is nonzero and the head is real."""
    zero = mnp.zeros((), column.dtype)
    alpha = mnp.sum(mnp.where(head, column, zero), axis=-2, keepdims=True)
    tail = mnp.where(below, column, zero)
    tail_squared = mnp.sum(mnp.real(tail * mnp.conj(tail)), axis=-2, keepdims=True)
    beta = -mnp.copysign(mnp.sqrt(mnp.real(alpha * mnp.conj(alpha)) + tail_squared), mnp.real(alpha))
    skip = (tail_squared == 0) & (mnp.imag(alpha) == 0)
    safe_beta = mnp.where(skip, 1, beta).astype(column.dtype)
    tau = mnp.where(skip, zero, (safe_beta - alpha) / safe_beta)
    v = mnp.where(head, mnp.ones((), column.dtype), tail / mnp.where(skip, 1, alpha - safe_beta))
    return mnp.where(head | below, v, zero), tau


def hessenberg(a, *, calc_q=False, overwrite_a=False, check_finite=True):
    """The upper Hessenberg form h = q^H a q of the square a (batched), by Householder
    reflections as LAPACK's gehrd; (h, q) with calc_q."""
    del overwrite_a, check_finite  # SciPy's memory and input checks: no effect on the result
    return _hessenberg(a, bool(calc_q))


@compiled("calc_q")
def _hessenberg(a, calc_q):
    (a,) = _inexact(a)
    _square("hessenberg", a)
    n = a.shape[-1]
    rows = lax.broadcasted_iota(dtypes.int32, (n, 1), 0)
    columns = lax.broadcasted_iota(dtypes.int32, (1, n), 1)

    def reflect(i, state):
        h, q = state
        column = mnp.sum(mnp.where(columns == i, h, mnp.zeros((), h.dtype)), axis=-1, keepdims=True)
        v, tau = _reflector(column, rows == i + 1, rows > i + 1)
        h = h - mnp.conj(tau) * (v @ (_adjoint(v) @ h))
        h = h - ((h @ v) * tau) @ _adjoint(v)
        return h, q - ((q @ v) * tau) @ _adjoint(v)

    # (The last step reflects no entries below the subdiagonal: of a complex matrix it makes it real.)
    h, q = lax.fori_loop(0, max(n - 1, 0), reflect, (a, mnp.broadcast_to(mnp.eye(n, dtype=a.dtype), a.shape)))
    h = mnp.triu(h, -1)
    return (h, q) if calc_q else h


# -- polar ----------------------------------------------------------------------------------------

_CHOLESKY_CUTOFF = 100  # QDWH updates with c above this use QR (c large: Cholesky loses accuracy)


def _qdwh_schedule(eps, max_iterations):
    """The dynamically weighted Halley parameters (a, b, c) of QDWH (Nakatsukasa, Bai and
    Gygi 2010) from the lower bound eps on the scaled singular values, until the bound
    reaches 1 (to 5 eps)."""
    bound, steps = eps, []
    while bound + 5 * eps < 1 and len(steps) < max_iterations:
        squared = bound * bound
        d = (4 * (1 / squared - 1) / squared) ** (1 / 3)
        root = (1 + d) ** 0.5
        a = root + (8 - 4 * d + 8 * (2 - squared) / (squared * root)) ** 0.5 / 2
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        bound = bound * (a + b * squared) / (1 + c * squared)
        steps.append((a, b, c))
    return steps


def _halley_step(u, a, b, c):
    """u -> (b/c) u + (a - b/c) u (I + c u^H u)^-1: by a QR of [sqrt(c) u; I] for large c,
    else by the Cholesky factor of I + c u^H u."""
    n = u.shape[-1]
    identity = mnp.broadcast_to(mnp.eye(n, dtype=u.dtype), u.shape[:-2] + (n, n))
    e = b / c
    if c > _CHOLESKY_CUTOFF:
        q, _ = lax_linalg.qr(mnp.concatenate([np.sqrt(c) * u, identity], axis=-2), full_matrices=False)
        upper, lower = q[..., :u.shape[-2], :], q[..., u.shape[-2]:, :]
        return e * u + (a - e) / np.sqrt(c) * (upper @ _adjoint(lower))
    factor = lax_linalg.cholesky(c * (_adjoint(u) @ u) + identity, symmetrize_input=False)
    solve = functools.partial(lax_linalg.triangular_solve, factor, left_side=False, lower=True)
    z = solve(solve(u, transpose_a=True, conjugate_a=True))  # u (L L^H)^-1
    return e * u + (a - e) * z


def _qdwh(x, eps, max_iterations=10):
    """(u, h) of the polar decomposition x = u h of x with at least as many rows as columns."""
    one_norm = mnp.max(mnp.sum(mnp.abs(x), axis=-2), axis=-1, keepdims=True)[..., None]
    inf_norm = mnp.max(mnp.sum(mnp.abs(x), axis=-1), axis=-1, keepdims=True)[..., None]
    scale = mnp.where(one_norm == 0, 1, lax.rsqrt(one_norm) * lax.rsqrt(inf_norm))
    u = x * scale.astype(x.dtype)
    tolerance = (5 * eps) ** (1 / 3)
    converged = mnp.zeros(x.shape[:-2] + (1, 1), bool)
    schedule = _qdwh_schedule(eps, max_iterations)
    for a, b, c in schedule:
        previous, u = u, _halley_step(u, a, b, c)
        if c <= _CHOLESKY_CUTOFF:  # convergence is judged on the Cholesky steps alone
            converged = mnp.linalg.norm(u - previous, axis=(-2, -1), keepdims=True) <= tolerance

    # Then plain Halley steps (a, b, c = 3, 1, 3) on the matrices not yet converged.
    def going_on(state):
        count, _, converged = state
        return (count < max_iterations) & ~mnp.all(converged)

    def step(state):
        count, u, converged = state
        new = _halley_step(u, 3.0, 1.0, 3.0)
        done = mnp.linalg.norm(new - u, axis=(-2, -1), keepdims=True) <= tolerance
        return count + 1, mnp.where(converged, u, new), converged | done

    _, u, _ = lax.while_loop(going_on, step, (len(schedule), u, converged), max_steps=max_iterations)
    u = 1.5 * u - 0.5 * u @ (_adjoint(u) @ u)  # one Newton-Schulz step polishes orthogonality
    h = _adjoint(u) @ x
    return u, (h + _adjoint(h)) / 2


def polar(a, side="right", *, method="qdwh", eps=None, max_iterations=None):
    """(u, p) of the polar decomposition a = u p (side 'right', p n x n) or a = p u ('left',
    p m x m): u with orthonormal columns or rows, p Hermitian positive semidefinite. Method
    'qdwh' (QR-based dynamically weighted Halley, to tolerance eps) takes tall a with side
    'right' and wide a with 'left'; 'svd' takes any."""
    del max_iterations  # JAX accepts it and does not pass it on: QDWH stops at 10 steps
    a = mnp.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"polar: the input a must be at least 2-D, got shape {a.shape}")
    if side not in ("right", "left"):
        raise ValueError(f"polar: side must be 'right' or 'left', got {side!r}")
    if method not in ("qdwh", "svd"):
        raise ValueError(f"polar: unknown polar decomposition method {method!r} ('qdwh' or 'svd')")
    if eps is not None and not 0 < eps < 1:
        raise ValueError(f"polar: eps must lie between 0 and 1, got {eps!r}")
    return _polar(a, side, method, eps)


@compiled("side", "method", "eps")
def _polar(a, side, method, eps):
    (a,) = _inexact(a)
    m, n = a.shape[-2:]
    if method == "svd":
        u, s, vh = lax_linalg.svd(a, full_matrices=False)
        s = s.astype(u.dtype)
        if side == "right":
            return u @ vh, (_adjoint(vh) * s[..., None, :]) @ vh
        return u @ vh, (u * s[..., None, :]) @ _adjoint(u)
    if (side == "right") != (m >= n):
        raise NotImplementedError(f"polar: method='qdwh' takes m x n matrices with m >= n for side='right' and "
                                  f"m < n for side='left', got shape {a.shape} with side={side!r}")
    eps = float(np.finfo(_real_dtype(a.dtype)).eps) if eps is None else eps
    if side == "right":
        return _qdwh(a, eps)
    u, p = _qdwh(_adjoint(a), eps)
    return _adjoint(u), _adjoint(p)


# -- eigh_tridiagonal -----------------------------------------------------------------------------

def _sturm_count(diagonal, off_squared, pivot_minimum, x):
    """How many eigenvalues of the symmetric tridiagonal matrix lie below each x: the
    negative pivots of the LDL^T factorization of T - x, tiny pivots taken as -pivot_minimum."""
    def pivot(i, state):
        q, count = state
        previous_squared = lax.dynamic_slice(off_squared, (mnp.maximum(i - 1, 0),), (1,))
        current = lax.dynamic_slice(diagonal, (i,), (1,))
        q = mnp.where(i == 0, current - x, current - previous_squared / q - x)
        negative = q <= pivot_minimum
        return mnp.where(negative, mnp.minimum(q, -pivot_minimum), q), count + negative.astype(dtypes.int32)

    start = (mnp.ones_like(x), mnp.zeros(x.shape, dtypes.int32))
    return lax.fori_loop(0, diagonal.shape[0], pivot, start)[1]


def eigh_tridiagonal(d, e, *, eigvals_only=False, select="a", select_range=None, tol=None, key=None):
    """The eigenvalues (ascending, by bisection on Sturm counts) and eigenvectors of the
    Hermitian tridiagonal matrix with diagonal d (its real part) and superdiagonal e:
    all of them (select='a') or those with indices select_range[0] .. select_range[1]
    (select='i'); tol: the absolute accuracy (at least eps times the matrix norm). The
    eigenvectors come from a dense eigh, not JAX's inverse iteration from a random start,
    so `key` (that start) is not supported and signs may differ from JAX's."""
    if key is not None:
        raise NotImplementedError("eigh_tridiagonal: key (the random start of JAX's inverse iteration) is not "
                                  "supported: mlax computes the eigenvectors without one")
    diagonal, off = mnp.asarray(d), mnp.asarray(e)
    if diagonal.dtype != off.dtype:
        raise TypeError(f"eigh_tridiagonal: d and e must have the same dtype, got {diagonal.dtype} and {off.dtype}")
    if not dtypes.is_inexact(diagonal.dtype) or diagonal.dtype.itemsize < 4:
        raise TypeError(f"eigh_tridiagonal: d and e must be float32, float64, complex64 or complex128, "
                        f"got {diagonal.dtype}")
    n = diagonal.shape[0]
    if n <= 1:
        values = mnp.real(diagonal)
        return values if eigvals_only else (values, mnp.eye(n, dtype=diagonal.dtype))
    if select == "a":
        targets = (0, n - 1)
    elif select == "i":
        if select_range is None:
            raise ValueError("eigh_tridiagonal: select='i' needs select_range")
        if select_range[0] > select_range[1]:
            raise ValueError(f"eigh_tridiagonal: select_range {select_range} is an empty range of indices")
        targets = (int(select_range[0]), int(select_range[1]))
    elif select == "v":
        raise NotImplementedError("eigh_tridiagonal: select='v' (eigenvalues in an interval) is not implemented")
    else:
        raise ValueError(f"eigh_tridiagonal: select must be 'a', 'i' or 'v', got {select!r}")
    return _eigh_tridiagonal(diagonal, off, bool(eigvals_only), targets, tol)


@compiled("eigvals_only", "targets")
def _eigh_tridiagonal(diagonal, off, eigvals_only, targets, tol):
    n = diagonal.shape[0]
    real = _real_dtype(diagonal.dtype)
    alpha = mnp.real(diagonal)
    off_squared = mnp.real(off * mnp.conj(off))
    off_abs = mnp.sqrt(off_squared)
    finfo = np.finfo(real)
    # Gershgorin's interval, widened as LAPACK's stebz does, holds every eigenvalue.
    radius = mnp.concatenate([off_abs[:1], off_abs[:-1] + off_abs[1:], off_abs[-1:]])
    low, high = mnp.min(alpha - radius), mnp.max(alpha + radius)
    norm = mnp.maximum(mnp.abs(low), mnp.abs(high))
    safe_minimum = max(1 / float(finfo.max), (1 + float(finfo.eps)) * float(finfo.tiny))
    pivot_minimum = safe_minimum * mnp.maximum(1, mnp.max(off_squared))
    slack = n * 2.1 * float(finfo.eps) * norm
    low, high = low - slack - 4.2 * pivot_minimum, high + slack + 2.1 * pivot_minimum
    tolerance = float(finfo.eps) * norm
    if tol is not None:
        tolerance = mnp.maximum(tol, tolerance)
    wanted = mnp.arange(targets[0], targets[1] + 1, dtype=dtypes.int32)
    lower, upper = mnp.full(wanted.shape, low, real), mnp.full(wanted.shape, high, real)

    def going_on(state):
        count, lower, upper = state
        return (count < finfo.nmant + 1) & (mnp.max(upper - lower) > tolerance)

    def halve(state):
        count, lower, upper = state
        middle = (lower + upper) / 2
        below = _sturm_count(alpha, off_squared, pivot_minimum, middle)
        return count + 1, mnp.where(below <= wanted, middle, lower), mnp.where(below > wanted, middle, upper)

    _, lower, upper = lax.while_loop(going_on, halve, (0, lower, upper))
    values = (lower + upper) / 2
    if eigvals_only:
        return values
    # T[i, i + 1] = e[i], T[i + 1, i] = conj(e[i]).
    above = mnp.diag(off, 1)
    matrix = mnp.diag(alpha.astype(diagonal.dtype)) + above + _adjoint(above)
    vectors, _ = lax_linalg.eigh(matrix)
    return values, vectors[:, targets[0]:targets[1] + 1]
