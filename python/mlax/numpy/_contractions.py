"""mlax.numpy products: dot, matmul, tensordot, einsum, inner, outer, vdot, kron."""

import string

import numpy as np

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


def vdot(a, b):
    return dot(ravel(conj(a)), ravel(b))


def inner(a, b):
    a, b = _dot_operands("inner", a, b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 1,)), ((), ())))


def outer(a, b):
    a, b = _dot_operands("outer", ravel(a), ravel(b))
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def kron(a, b):
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


def einsum(subscripts, *operands, optimize=None, precision=None, preferred_element_type=None):
    """Einstein summation over `operands`, as numpy.einsum (pairwise contractions, left to right)."""
    operands = promote_dtypes(*operands)
    specs, output = _parse_einsum(subscripts, operands)
    terms = []
    for x, spec in zip(operands, specs):
        x, spec = _take_diagonals(x, spec)
        terms.append((x, spec))
    # Sum out letters used by one operand only (and not in the output).
    for k, (x, spec) in enumerate(terms):
        elsewhere = set(output).union(*[set(s) for j, (_, s) in enumerate(terms) if j != k])
        terms[k] = _sum_letters(x, spec, elsewhere)
    result, spec = terms[0]
    for k in range(1, len(terms)):
        other, other_spec = terms[k]
        later = set(output).union(*[set(s) for _, s in terms[k + 1:]])
        shared = [c for c in spec if c in other_spec]
        batch = [c for c in shared if c in later]
        contract = [c for c in shared if c not in later]
        result = lax.dot_general(
            result, other,
            ((tuple(spec.index(c) for c in contract), tuple(other_spec.index(c) for c in contract)),
             (tuple(spec.index(c) for c in batch), tuple(other_spec.index(c) for c in batch))),
            preferred_element_type=preferred_element_type)
        spec = ("".join(batch) + "".join(c for c in spec if c not in shared)
                + "".join(c for c in other_spec if c not in shared))
    result, spec = _sum_letters(result, spec, set(output))
    if sorted(spec) != sorted(output):
        raise ValueError(f"einsum: output subscripts {output!r} use letters absent from the inputs")
    if preferred_element_type is not None:  # a single operand meets no dot_general; JAX converts its sum
        result = lax.convert_element_type(result, dtypes.canonicalize(preferred_element_type))
    return transpose(result, [spec.index(c) for c in output])
