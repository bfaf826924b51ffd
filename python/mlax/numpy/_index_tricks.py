"""mlax.numpy's index tricks, objects indexed to build arrays: mgrid and ogrid (grids from
slices), r_ and c_ (concatenation along rows and columns), and NumPy's own s_ and index_exp.

A slice `start:stop:step` stands for arange(start, stop, step), or for linspace(start, stop,
n) when step is the imaginary number nj, as in NumPy; its bounds must be static.
"""

import numpy as np

from mlax.core.trace import Tracer
from mlax.numpy._creation import arange, linspace
from mlax.numpy._dtypes import array
from mlax.numpy._promotion import promote_dtypes
from mlax.numpy._shape import concatenate, expand_dims, meshgrid, stack, transpose

s_ = np.s_
index_exp = np.index_exp


def _grid_from_slice(s, name):
    for bound in (s.start, s.stop, s.step):
        if isinstance(bound, Tracer):
            raise bound._concretization_error(f"a slice bound of mlax.numpy.{name}")
    start, step = s.start or 0, s.step or 1
    if np.iscomplex(step):
        return linspace(start, s.stop, int(abs(step)))
    return arange(start, s.stop, step)


class _Mgrid:
    """mgrid[a:b, c:d]: the dense grid of the slices' ranges, stacked along a new first axis."""

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _grid_from_slice(key, "mgrid")
        grids = promote_dtypes(*[_grid_from_slice(k, "mgrid") for k in key])
        return stack(meshgrid(*grids, indexing="ij"), 0) if grids else arange(0)


class _Ogrid:
    """ogrid[a:b, c:d]: the open grid of the slices' ranges, one broadcastable array per slice."""

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _grid_from_slice(key, "ogrid")
        grids = promote_dtypes(*[_grid_from_slice(k, "ogrid") for k in key])
        return meshgrid(*grids, indexing="ij", sparse=True)


mgrid, ogrid = _Mgrid(), _Ogrid()


class _AxisConcat:
    """Concatenation by indexing: obj[a, b, 1:4, ...], with an optional first string directive
    ("r", "c" or "axis,ndmin,trans1d[,matrix]") as in NumPy."""

    axis, ndmin, trans1d, name = 0, 1, -1, "r_"

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        params = [self.axis, self.ndmin, self.trans1d, -1]
        if items and isinstance(items[0], str):
            directive, items = items[0], items[1:]
            if directive == "r":
                params[-1] = 0
            elif directive == "c":
                params[-1] = 1
            else:
                vec = directive.split(",")
                vec = vec + params[len(vec):] if len(vec) < 4 else vec[:3] + [params[-1]]
                try:
                    params = [int(v) for v in vec]
                except ValueError as err:
                    raise ValueError(f"could not understand directive {directive!r}") from err
        axis, ndmin, trans1d, matrix = params
        out = []
        for item in items:
            if isinstance(item, slice):
                new, item_ndim = _grid_from_slice(item, self.name), 0
            elif isinstance(item, str):
                raise ValueError("string directive must be placed at the beginning")
            else:
                new = array(item)
                item_ndim = new.ndim
            new = array(new, ndmin=ndmin)
            if trans1d != -1 and ndmin - item_ndim > 0:
                order = tuple(range(ndmin))
                shifts = ndmin - abs(ndmin + trans1d + 1) % ndmin
                new = transpose(new, order[shifts:] + order[:shifts])
            out.append(new)
        result = concatenate(tuple(out), axis=axis)
        return expand_dims(result, matrix) if matrix != -1 and result.ndim == 1 else result

    def __len__(self):
        return 0


class _RClass(_AxisConcat):
    """r_[...]: concatenation along the first axis (1-d pieces stay 1-d)."""


class _CClass(_AxisConcat):
    """c_[...]: concatenation along the last axis, 1-d pieces as columns."""

    axis, ndmin, trans1d, name = -1, 2, 0, "c_"


r_, c_ = _RClass(), _CClass()
