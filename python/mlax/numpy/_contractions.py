"""mlax.numpy products: dot, matmul, matvec, vecmat, tensordot, einsum (with einsum_path), inner, outer,
vdot, kron."""

import string

import numpy as np
import opt_einsum

from mlax import errors, lax
from mlax.core import dtypes
from mlax.numpy._diagonals import diagonal
from mlax.numpy._dtypes import asarray
from mlax.numpy._promotion import broadcast_to, promote_dtypes
from mlax.numpy._shape import _axis, ravel, reshape, transpose
from mlax.numpy._ufuncs import conj


def dot(a, b, *, precision=None, preferred_element_type=None):
    """NumPy's dot: inner product of vectors, matrix product, or sum over a's last and b's second-to-last axis."""
    a, b = _dot_operands("dot", a, b)
    if a.ndim == 0 or b.ndim == 0:
        if preferred_element_type is not None:  # the products are computed in it, as by dot_general
            a, b = (lax.convert_element_type(x, dtypes.canonicalize(preferred_element_type)) for x in (a, b))
        return a * b
    contract_b = 0 if b.ndim == 1 else b.ndim - 2
    return lax.dot_general(a, b, (((a.ndim - 1,), (contract_b,)), ((), ())),
                           preferred_element_type=preferred_element_type)


def _dot_operands(name, a, b):
    a, b = asarray(a), asarray(b)
    dtype, weak = dtypes.promote_types((a.dtype, a.weak_type), (b.dtype, b.weak_type))
    return [lax.convert_element_type(x, dtype, weak) for x in (a, b)]


def matmul(a, b, *, precision=None, preferred_element_type=None):
    """Matrix product with NumPy's broadcasting of leading (batch) axes."""
    a, b = _dot_operands("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise errors.ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                                f"{a.shape[-1]} (dim {a.ndim - 1}) != {b.shape[0 if b.ndim == 1 else -2]}")
    if b.ndim <= 2:
        # No batch axes on b: one contraction, a's leading axes pass through.
        return lax.dot_general(a, b, (((a.ndim - 1,), (0,)), ((), ())),
                               preferred_element_type=preferred_element_type)
    squeeze_a = a.ndim == 1
    if squeeze_a:
        a = reshape(a, (1, a.shape[0]))
    try:
        batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    except ValueError:
        raise errors.ShapeError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not broadcast") from None
    a = broadcast_to(a, batch + a.shape[-2:])
    b = broadcast_to(b, batch + b.shape[-2:])
    nb = len(batch)
    out = lax.dot_general(a, b, (((nb + 1,), (nb,)), (tuple(range(nb)), tuple(range(nb)))),
                          preferred_element_type=preferred_element_type)
    return reshape(out, out.shape[:-2] + out.shape[-1:]) if squeeze_a else out


def _core_shapes(name, x1, x2, core1, core2, contracted):
    """Check that x1 and x2 have the core ranks core1 and core2 and that their contracted axes
    (axis indices from the end) agree; return nothing, raising ValueError otherwise."""
    for x, core in ((x1, core1), (x2, core2)):
        if x.ndim < core:
            raise ValueError(f"{name}: input with shape {x.shape} does not have enough dimensions for its "
                             f"{core} core dimensions")
    if x1.shape[contracted[0]] != x2.shape[contracted[1]]:
        raise ValueError(f"{name}: inconsistent size for the contracted core dimension: shapes {x1.shape} and "
                         f"{x2.shape}")
    try:
        np.broadcast_shapes(x1.shape[:x1.ndim - core1], x2.shape[:x2.ndim - core2])
    except ValueError:
        raise ValueError(f"{name}: batch dimensions of shapes {x1.shape} and {x2.shape} do not broadcast") from None


def matvec(x1, x2, /):
    """Matrix-vector products: x1 of shape (..., n, m) times x2 of shape (..., m), batch axes broadcast."""
    x1, x2 = _dot_operands("matvec", x1, x2)
    _core_shapes("matvec", x1, x2, 2, 1, (-1, -1))
    out = matmul(x1, lax.expand_dims(x2, (x2.ndim,)))
    return reshape(out, out.shape[:-1])


def vecmat(x1, x2, /):
    """Vector-matrix products: conj(x1) of shape (..., n) times x2 of shape (..., n, m), batch axes broadcast."""
    x1, x2 = _dot_operands("vecmat", x1, x2)
    _core_shapes("vecmat", x1, x2, 1, 2, (-1, -2))
    out = matmul(lax.expand_dims(conj(x1), (x1.ndim - 1,)), x2)
    return reshape(out, out.shape[:-2] + out.shape[-1:])


def vdot(a, b):
    """The dot product of the flattened arrays, with the first conjugated."""
    return dot(ravel(conj(a)), ravel(b))


def inner(a, b):
    """Sum of products over the last axes of a and b (a scalar operand multiplies)."""
    a, b = _dot_operands("inner", a, b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 1,)), ((), ())))


def outer(a, b):
    """The outer product of the flattened a and b: a matrix of every a[i] * b[j]."""
    a, b = _dot_operands("outer", ravel(a), ravel(b))
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def kron(a, b):
    """The Kronecker product: b scaled by each element of a, the blocks laid out as a's elements."""
    a, b = _dot_operands("kron", a, b)
    ndim = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (ndim - a.ndim) + a.shape)
    b = reshape(b, (1,) * (ndim - b.ndim) + b.shape)
    expanded_a = reshape(a, [d for s in a.shape for d in (s, 1)])
    expanded_b = reshape(b, [d for s in b.shape for d in (1, s)])
    return reshape(expanded_a * expanded_b, [x * y for x, y in zip(a.shape, b.shape)])


def tensordot(a, b, axes=2):
    """Sum products over `axes` (an int N: a's last N with b's first N; or two axis lists)."""
    a, b = _dot_operands("tensordot", a, b)
    if isinstance(axes, int):
        axes_a, axes_b = tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = (axes_a,) if isinstance(axes_a, int) else tuple(axes_a)
        axes_b = (axes_b,) if isinstance(axes_b, int) else tuple(axes_b)
    axes_a = tuple(_axis(x, a.ndim) for x in axes_a)
    axes_b = tuple(_axis(x, b.ndim) for x in axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(f"tensordot: axes {axes_a} and {axes_b} differ in length")
    for x, y in zip(axes_a, axes_b):
        if a.shape[x] != b.shape[y]:
            raise errors.ShapeError(f"tensordot: shape mismatch: {a.shape} axis {x} vs {b.shape} axis {y}")
    return lax.dot_general(a, b, ((axes_a, axes_b), ((), ())))


# -- einsum ----------------------------------------------------------------------------

def _parse_einsum(subscripts, operands):
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        inputs, output = subscripts.split("->")
    else:
        inputs, output = subscripts, None
    inputs = inputs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {len(inputs)} operand subscripts for {len(operands)} operands")
    used = set(subscripts) - set(".,->")
    free = iter(c for c in string.ascii_letters if c not in used)
    ellipsis_letters = ""
    expanded = []
    for spec, op in zip(inputs, operands):
        if "..." in spec:
            count = op.ndim - (len(spec) - 3)
            while len(ellipsis_letters) < count:
                ellipsis_letters = next(free) + ellipsis_letters
            spec = spec.replace("...", ellipsis_letters[len(ellipsis_letters) - count:] if count else "")
        if len(spec) != op.ndim:
            raise ValueError(f"einsum: subscripts {spec!r} do not match an operand of shape {op.shape}")
        expanded.append(spec)
    sizes = {}
    for spec, op in zip(expanded, operands):
        for c, d in zip(spec, op.shape):
            size, shape = sizes.setdefault(c, (d, op.shape))
            if size != d:
                raise errors.ShapeError(f"einsum: index {c!r} has size {size} in an operand of shape {shape} "
                                        f"but {d} in an operand of shape {op.shape}")
    if output is None:
        counts = {}
        for spec in expanded:
            for c in spec:
                counts[c] = counts.get(c, 0) + 1
        output = ellipsis_letters + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis_letters))
    else:
        output = output.replace("...", ellipsis_letters)
    return expanded, output


def _take_diagonals(x, spec):
    """Merge repeated letters of one operand by taking the diagonal."""
    while True:
        repeated = next((c for c in spec if spec.count(c) > 1), None)
        if repeated is None:
            return x, spec
        i = spec.index(repeated)
        j = spec.index(repeated, i + 1)
        x = diagonal(x, 0, i, j)
        spec = "".join(c for k, c in enumerate(spec) if k not in (i, j)) + repeated


def _sum_letters(x, spec, keep):
    axes = tuple(i for i, c in enumerate(spec) if c not in keep)
    if axes:
        x = lax.reduce_sum(x, axes)
        spec = "".join(c for c in spec if c in keep)
    return x, spec


def einsum(subscripts, *operands, optimize="auto", precision=None, preferred_element_type=None):
    """Einstein summation over `operands`, as numpy.einsum. Operands are contracted pairwise in
    the order opt_einsum picks for `optimize` (as JAX: "auto", "greedy", "optimal", "dp", ...;
    True is "optimal", False contracts the first two operands again and again; or a path)."""
    operands = promote_dtypes(*operands)
    specs, output = _parse_einsum(subscripts, operands)
    terms = [_take_diagonals(x, spec) for x, spec in zip(operands, specs)]
    for positions in _contraction_path(terms, output, optimize):
        picked = [terms[i] for i in positions]
        terms = [t for i, t in enumerate(terms) if i not in positions]
        later = set(output).union(*[set(s) for _, s in terms])
        terms.append(_contract(picked, later, preferred_element_type))
    (result, spec), = terms
    result, spec = _sum_letters(result, spec, set(output))
    if sorted(spec) != sorted(output):
        raise ValueError(f"einsum: output subscripts {output!r} use letters absent from the inputs")
    if preferred_element_type is not None:  # a single operand meets no dot_general; JAX converts its sum
        result = lax.convert_element_type(result, dtypes.canonicalize(preferred_element_type))
    return transpose(result, [spec.index(c) for c in output])


def einsum_path(subscripts, *operands, optimize="auto"):
    """opt_einsum's contraction path for einsum(subscripts, *operands) and its report, as
    jax.numpy.einsum_path (`optimize` as in einsum)."""
    operands = [asarray(x) for x in operands]
    specs, output = _parse_einsum(subscripts, operands)
    return opt_einsum.contract_path(",".join(specs) + "->" + output, *[x.shape for x in operands], shapes=True,
                                    optimize=_path_optimizer(optimize, len(operands)))


def _path_optimizer(optimize, count):
    if optimize is True:
        return "optimal"
    if optimize is False:
        return [(0, 1)] * (count - 1)
    return optimize


def _contraction_path(terms, output, optimize):
    """Which terms each pairwise step contracts (positions in the list of terms left; each
    step's result goes to the end)."""
    if len(terms) == 1:
        return [(0,)]
    expression = ",".join(spec for _, spec in terms) + "->" + output
    path, _ = opt_einsum.contract_path(expression, *[x.shape for x, _ in terms], shapes=True,
                                       optimize=_path_optimizer(optimize, len(terms)))
    return path


def _contract(picked, keep, preferred_element_type):
    """One step of a path: the product of one or two terms, summed over the letters no
    later term or the output uses."""
    if len(picked) == 1:
        return _sum_letters(*picked[0], keep)
    if len(picked) != 2:
        raise NotImplementedError(f"einsum: a step of the optimize path contracts {len(picked)} operands at once; "
                                  "like JAX, mlax contracts one or two per step")
    (x, x_spec), (y, y_spec) = picked
    x, x_spec = _sum_letters(x, x_spec, keep | set(y_spec))
    y, y_spec = _sum_letters(y, y_spec, keep | set(x_spec))
    shared = [c for c in x_spec if c in y_spec]
    batch = [c for c in shared if c in keep]
    contract = [c for c in shared if c not in keep]
    result = lax.dot_general(
        x, y,
        ((tuple(x_spec.index(c) for c in contract), tuple(y_spec.index(c) for c in contract)),
         (tuple(x_spec.index(c) for c in batch), tuple(y_spec.index(c) for c in batch))),
        preferred_element_type=preferred_element_type)
    return result, "".join(batch) + "".join(c for c in x_spec if c not in shared) + "".join(
        c for c in y_spec if c not in shared)
