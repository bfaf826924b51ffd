"""mlax.numpy's function transformations in NumPy's terms: vectorize (a generalized ufunc
from a function of core-shaped arrays, by mlax.vmap), apply_along_axis, apply_over_axes,
and ufunc objects (frompyfunc) with reduce, accumulate, outer, at and reduceat.

vectorize batches by mapping the function over every broadcast (non-core) axis, as JAX
does, so the function is traced once and never called per element. A ufunc's methods
apply its binary function in order (a fori_loop or scan over the elements), so a function
that is not associative gives NumPy's left-to-right answer.
"""

import functools
import operator
import re

import numpy as np

from mlax import lax
from mlax.api.introspection import eval_shape
from mlax.api.vmap import vmap
from mlax.numpy._dtypes import asarray, astype
from mlax.numpy._promotion import broadcast_shapes, broadcast_to
from mlax.numpy._shape import _axis, concatenate, expand_dims, moveaxis, ravel, reshape, squeeze
from mlax.numpy._indexing import take
from mlax.numpy._ufuncs import where as _where  # the methods' `where` argument takes the name

_DIM = r"\w+"
_CORE = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_SIGNATURE = re.compile(rf"^{_CORE}(?:,{_CORE})*->{_CORE}(?:,{_CORE})*$")


def _parse_signature(signature):
    """A gufunc signature such as "(m,n),(n)->(m)" as ([('m', 'n'), ('n',)], [('m',)])."""
    if not _SIGNATURE.match(signature):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    return tuple([tuple(re.findall(_DIM, core)) for core in re.findall(_CORE, side)]
                 for side in signature.split("->"))


def _record_sizes(sizes, shape, core, context, is_input):
    """Add the sizes of the core dimensions at the end of `shape` to `sizes`, checking they agree."""
    if is_input and len(shape) < len(core):
        raise ValueError(f"input with shape {shape} does not have enough dimensions for all core dimensions "
                         f"{core} {context}")
    if not is_input and len(shape) != len(core):
        raise ValueError(f"output shape {shape} does not match core dimensions {core} {context}")
    for dim, size in zip(core, shape[len(shape) - len(core):]):
        if sizes.setdefault(dim, size) != size:
            raise ValueError(f"inconsistent size for core dimension {dim!r}: {size} vs {sizes[dim]} {context}")


def _without(func, positions, args, kwargs, names=()):
    """func with the positional args at `positions` and the keyword args in `names` bound, and the
    args and kwargs left to pass."""
    if not positions and not names:
        return func, list(args), kwargs
    bound = [(i, args[i]) for i in sorted(positions) if i < len(args)]
    bound_kwargs = {k: v for k, v in kwargs.items() if k in names}

    def partial_func(*rest, **rest_kwargs):
        rest = list(rest)
        for i, value in bound:
            rest.insert(i, value)
        return func(*rest, **rest_kwargs, **bound_kwargs)
    left = [a for i, a in enumerate(args) if i not in positions]
    return partial_func, left, {k: v for k, v in kwargs.items() if k not in names}


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """pyfunc made to broadcast like a ufunc, as numpy.vectorize, but batched with mlax.vmap: with
    `signature` ("(n),(n)->()") each call sees arrays of the core shapes; arguments at the
    positions or names in `excluded` are passed through as they are."""
    if any(not isinstance(e, (str, int)) for e in excluded):
        raise TypeError(f"vectorize can only exclude integer or string arguments, but excluded={excluded!r}")
    if any(isinstance(e, int) and e < 0 for e in excluded):
        raise ValueError(f"excluded={excluded!r} contains negative numbers")

    @functools.wraps(pyfunc)
    def vectorized(*args, **kwargs):
        context = f"on vectorized function with excluded={excluded!r} and signature={signature!r}"
        func, args, kwargs = _without(pyfunc, {e for e in excluded if isinstance(e, int)}, args, kwargs,
                                      {e for e in excluded if isinstance(e, str)})
        if kwargs:  # JAX drops them without a word; passing them on unbatched or batched would both be guesses
            raise NotImplementedError(f"vectorize: keyword arguments {sorted(kwargs)} must be named in `excluded`")
        if signature is None:
            input_cores, output_cores = [()] * len(args), None
        else:
            input_cores, output_cores = _parse_signature(signature)
        nones = {i for i, a in enumerate(args) if a is None}
        if nones:  # None stays a Python None, passed through
            if any(input_cores[i] != () for i in nones if i < len(input_cores)):
                raise ValueError(f"Cannot pass None at locations {nones} with signature={signature!r}")
            func, args, _ = _without(func, nones, args, {})
            input_cores = [c for i, c in enumerate(input_cores) if i not in nones]
        args = [asarray(a) for a in args]
        if len(args) != len(input_cores):
            raise TypeError(f"wrong number of positional arguments: expected {len(input_cores)}, got {len(args)} "
                            f"{context}")
        sizes = {}
        for arg, core in zip(args, input_cores):
            _record_sizes(sizes, arg.shape, core, context, is_input=True)
        loop_shapes = [a.shape[:a.ndim - len(core)] for a, core in zip(args, input_cores)]
        batch = broadcast_shapes(*loop_shapes)
        if output_cores is not None:
            func = _checked_outputs(func, sizes, output_cores, context)
        # Size-1 loop axes are squeezed away and broadcast by vmap's None; loop axes of size 1 in
        # every argument are added back to the result.
        squeezed = [squeeze(a, tuple(i for i, n in enumerate(s) if n == 1)) for a, s in zip(args, loop_shapes)]
        filled = [(1,) * (len(batch) - len(s)) + s for s in loop_shapes]
        mapped, added = func, []
        for position in range(len(batch) - 1, -1, -1):
            in_axes = tuple(None if s[position] == 1 else 0 for s in filled)
            if all(axis is None for axis in in_axes):
                added.append(position)
            else:
                mapped = vmap(mapped, in_axes)
        out = mapped(*squeezed)
        if not added:
            return out
        if isinstance(out, tuple):
            return tuple(expand_dims(o, tuple(added)) for o in out)
        return expand_dims(out, tuple(added))
    return vectorized


def _checked_outputs(func, sizes, output_cores, context):
    def checked(*args, **kwargs):
        out = func(*args, **kwargs)
        if len(output_cores) > 1 and not isinstance(out, tuple):
            raise TypeError(f"output must be a tuple when multiple outputs are expected, got: {out!r}\n{context}")
        outs = out if isinstance(out, tuple) else [out]
        if len(outs) != len(output_cores):
            raise TypeError(f"wrong number of output arguments: expected {len(output_cores)}, got {len(outs)} "
                            f"{context}")
        found = dict(sizes)
        for o, core in zip(outs, output_cores):
            _record_sizes(found, np.shape(o), core, context, is_input=False)
        return out
    return checked


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """func1d(v, *args, **kwargs) for each 1-d slice v of arr along `axis`, its results in place of
    that axis (mapped with mlax.vmap, so func1d is traced once)."""
    arr = asarray(arr)
    axis = _axis(axis, arr.ndim)

    def func(v):
        return func1d(v, *args, **kwargs)
    for i in range(1, arr.ndim - axis):
        func = vmap(func, in_axes=i, out_axes=-1)
    for _ in range(axis):
        func = vmap(func, in_axes=0, out_axes=0)
    return func(arr)


def apply_over_axes(func, a, axes):
    """func(a, axis) applied for each axis in turn, each result keeping a's rank (a reduced axis
    is put back with length 1)."""
    a = asarray(a)
    for axis in axes:
        out = func(a, axis)
        if out.ndim == a.ndim - 1:
            out = expand_dims(out, axis)
        elif out.ndim != a.ndim:
            raise ValueError("apply_over_axes: function is not returning an array of the correct shape")
        a = out
    return a


class ufunc:  # noqa: N801 - NumPy's and JAX's name
    """A function of `nin` arrays with NumPy's ufunc methods (reduce, accumulate, outer, at,
    reduceat), as jax.numpy.ufunc: calls broadcast by vectorize; the methods apply a binary
    function in order. `call`, `reduce`, ... replace a method by a faster equivalent."""

    def __init__(self, func, /, nin, nout, *, name=None, nargs=None, identity=None, call=None, reduce=None,
                 accumulate=None, at=None, reduceat=None):
        self.__doc__ = func.__doc__
        self.__name__ = name or func.__name__
        self._func = func
        self._nin, self._nout = operator.index(nin), operator.index(nout)
        self._nargs = operator.index(nargs or nin)
        self._identity = identity
        self._methods = {"call": call, "reduce": reduce, "accumulate": accumulate, "at": at, "reduceat": reduceat}

    nin = property(lambda self: self._nin)
    nout = property(lambda self: self._nout)
    nargs = property(lambda self: self._nargs)
    identity = property(lambda self: self._identity)

    def _key(self):
        return (self._func, self.__name__, self._identity, self._nin, self._nout, self._nargs)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, ufunc) and self._key() == other._key()

    def __repr__(self):
        return f"<jnp.ufunc '{self.__name__}'>"

    def __call__(self, *args, out=None, where=None):
        if out is not None:
            raise NotImplementedError(f"the 'out' argument of {self} is not supported")
        if where is not None:
            raise NotImplementedError(f"the 'where' argument of {self} is not supported")
        call = self._methods["call"] or vectorize(self._func)
        return call(*args)

    def _binary(self, method):
        if self._nin != 2:
            raise ValueError(f"{method} only supported for binary ufuncs")
        if self._nout != 1:
            raise ValueError(f"{method} only supported for functions returning a single value")

    def _result_dtype(self, *arrays):
        return eval_shape(self._func, *(lax.full((), 1, a.dtype) for a in arrays)).dtype

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=None):
        """The function folded over `axis` (all axes for None) from the left, starting at `initial`
        (else the identity, else the first element); `where` masks elements out."""
        self._binary("reduce")
        if out is not None:
            raise NotImplementedError(f"the 'out' argument of {self.__name__}.reduce() is not supported")
        if where is not None:
            if self._identity is None and initial is None:
                raise ValueError(f"reduction operation {self.__name__!r} does not have an identity, so to use a "
                                 "where mask one has to specify 'initial'.")
            if asarray(where).dtype != np.bool_:
                raise ValueError(f"where argument must have dtype=bool; got dtype={asarray(where).dtype}")
        if self._methods["reduce"] is not None:
            return self._methods["reduce"](a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)
        return self._reduce_in_order(a, axis, dtype, keepdims, initial, where)

    def _reduce_in_order(self, a, axis, dtype, keepdims, initial, where):
        a = asarray(a)
        initial = self._identity if initial is None else initial
        dtype = self._result_dtype(a, a) if dtype is None else dtype
        if where is not None:
            where = broadcast_to(asarray(where), a.shape)
        if isinstance(axis, tuple):
            raise NotImplementedError(f"{self.__name__}.reduce: a tuple of axes (axis={axis}) is not supported")
        if axis is None:
            final_shape = (1,) * a.ndim if keepdims else ()
            a, axis = ravel(a), 0
            where = None if where is None else ravel(where)
        else:
            axis = _axis(axis, a.ndim)
            final_shape = a.shape[:axis] + ((1,) if keepdims else ()) + a.shape[axis + 1:]
        a = moveaxis(a, axis, 0)
        where = None if where is None else moveaxis(where, axis, 0)
        if a.shape[0] == 0:
            if initial is None:
                raise ValueError(f"zero-size array to reduction operation {self.__name__} which has no identity")
            return lax.full(final_shape, initial, dtype)

        def step(i, total):
            combined = self(total, astype(a[i], dtype))
            return combined if where is None else _where(where[i], combined, total)
        start, first = (1, a[0]) if initial is None else (0, initial)
        result = lax.fori_loop(start, a.shape[0], step, broadcast_to(astype(asarray(first), dtype), a.shape[1:]))
        return reshape(result, final_shape) if keepdims else result

    def accumulate(self, a, axis=0, dtype=None, out=None):
        """The running fold of the function along `axis`, from the left."""
        self._binary("accumulate")
        if out is not None:
            raise NotImplementedError(f"the 'out' argument of {self.__name__}.accumulate() is not supported")
        if self._methods["accumulate"] is not None:
            return self._methods["accumulate"](a, axis=axis, dtype=dtype)
        a = asarray(a)
        dtype = self._result_dtype(a, a) if dtype is None else dtype
        if axis is None or isinstance(axis, tuple):
            raise ValueError("accumulate does not allow multiple axes")
        axis = _axis(axis, a.ndim)
        if a.size == 0:
            return lax.full(a.shape, 0, dtype)
        a = moveaxis(a, axis, 0)
        first = astype(a[0], dtype)
        if a.shape[0] == 1:
            return moveaxis(first[None], 0, axis)

        def step(total, x):
            total = self(total, astype(x, dtype))
            return total, total
        _, rest = lax.scan(step, first, a[1:])
        return moveaxis(concatenate([first[None], rest]), 0, axis)

    def at(self, a, indices, b=None, /, *, inplace=True):
        """a with the function applied at `indices` (with b's values as second operand), one index
        after another, so repeated indices apply it repeatedly. Needs inplace=False."""
        if inplace:
            raise NotImplementedError("the 'inplace' argument of ufunc.at must be False: mlax arrays are immutable, "
                                      "so ufunc.at returns the updated array instead")
        if self._methods["at"] is not None:
            return self._methods["at"](a, indices) if b is None else self._methods["at"](a, indices, b)
        operands = [] if b is None else [b]
        dtype = self._result_dtype(asarray(a), *(asarray(o) for o in operands))
        a = astype(asarray(a), dtype)
        operands = [astype(asarray(o), dtype) for o in operands]
        indices = indices if isinstance(indices, tuple) else (indices,)
        if not indices:
            return a
        shapes = [np.shape(i) for i in indices if not isinstance(i, slice)]
        shape = broadcast_shapes(*shapes) if shapes else ()
        if not shape:
            return a.at[indices].set(self(a[indices], *operands))
        count = int(np.prod(shape))
        operands = [reshape(broadcast_to(o, shape + o.shape[len(shape):]), (count,) + o.shape[len(shape):])
                    for o in operands]
        indices = [i if isinstance(i, slice) else ravel(broadcast_to(asarray(i), shape)) for i in indices]

        def step(k, updated):
            index = tuple(i if isinstance(i, slice) else i[k] for i in indices)
            return updated.at[index].set(self(updated[index], *(o[k] for o in operands)))
        return lax.fori_loop(0, count, step, a)

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """The function folded over the slices indices[i]:indices[i+1] along `axis` (the single element
        a[indices[i]] where indices[i+1] <= indices[i]), as numpy.ufunc.reduceat."""
        self._binary("reduceat")
        if out is not None:
            raise NotImplementedError(f"the 'out' argument of {self.__name__}.reduceat() is not supported")
        if self._methods["reduceat"] is not None:
            return self._methods["reduceat"](a, indices, axis=axis, dtype=dtype)
        a, indices = asarray(a), asarray(indices)
        if a.ndim == 0:
            raise ValueError(f"reduceat: a must have 1 or more dimension, got a.shape={a.shape}")
        if indices.ndim != 1:
            raise ValueError(f"reduceat: indices must be one-dimensional, got indices.shape={indices.shape}")
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("reduceat requires a single integer axis.")
        axis = _axis(axis, a.ndim)
        a = a if dtype is None else astype(a, dtype)
        start = take(a, indices, axis=axis)
        bounds = concatenate([indices, lax.full((1,), a.shape[axis], indices.dtype)])
        spread = [n if i == axis else 1 for i, n in enumerate(start.shape)]
        lows, highs = reshape(bounds[:-1], spread), reshape(bounds[1:], spread)

        def step(i, out):
            inside = (i > lows) & (i < highs)
            return _where(inside, self(out, take(a, i[None], axis=axis)), out)
        return lax.fori_loop(0, a.shape[axis], step, start)

    def outer(self, A, B, /):  # noqa: N803 - NumPy's names
        """The function at every pair (A[i...], B[j...]): shape A.shape + B.shape."""
        self._binary("outer")
        A, B = asarray(A), asarray(B)
        pairs = vmap(vmap(self, (None, 0)), (0, None))(ravel(A), ravel(B))
        return reshape(pairs, A.shape + B.shape)


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A ufunc (with reduce, accumulate, outer, at, reduceat) from a function of nin scalars, as
    jax.numpy.frompyfunc: the function must be traceable, taking and returning mlax arrays."""
    return ufunc(func, nin, nout, identity=identity)
