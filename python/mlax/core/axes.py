"""The named axes that vmap and pmap bind while they trace their function.

A collective (mlax.lax.psum, ...) names the axis it works over; the innermost
vmap(..., axis_name=...) or pmap(..., axis_name=...) being traced with that
name binds it. Like the trace stack, the bindings are per thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_state = threading.local()


def _frames() -> list[tuple[str | None, int, str]]:
    if not hasattr(_state, "frames"):
        _state.frames = []
    return _state.frames


@contextlib.contextmanager
def bind_axis(name: str | None, size: int, kind: str) -> Iterator[None]:
    """Bind axis `name` of `size` instances while tracing a vmap ("vmap") or pmap ("pmap") body."""
    _frames().append((name, size, kind))
    try:
        yield
    finally:
        _frames().pop()


def bound_kinds() -> list[str]:
    """The kinds of the transformations binding axis names now, outermost first."""
    return [kind for _, _, kind in _frames()]


def axis_size(name: str) -> int:
    """The number of instances along the bound axis `name`."""
    for bound, size, _ in reversed(_frames()):
        if bound is not None and bound == name:
            return size
    names = [bound for bound, _, _ in _frames() if bound is not None]
    raise NameError(f"unbound axis name: {name!r}. A collective's axis must be named by an enclosing "
                    f"vmap(..., axis_name=...) or pmap(..., axis_name=...); bound here: "
                    f"{names if names else 'none'}")
