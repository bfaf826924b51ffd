"""mlax.numpy's convolve, over lax.conv_general_dilated."""

from mlax import lax
from mlax.numpy._dtypes import asarray
from mlax.numpy._promotion import promote_dtypes


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """NumPy's convolve: the discrete linear convolution of two 1-d arrays, mode 'full',
    'same' (as long as the longer input, centred) or 'valid' (where they overlap fully)."""
    a, v = promote_dtypes(asarray(a), asarray(v))
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"convolve: a and v must be 1-dimensional, got shapes {a.shape} and {v.shape}")
    if a.size == 0 or v.size == 0:
        raise ValueError(f"convolve: a and v must not be empty, got shapes {a.shape} and {v.shape}")
    if v.size > a.size:
        a, v = v, a
    reach = v.size - 1
    padding = {"full": (reach, reach), "same": (reach - reach // 2, reach // 2), "valid": (0, 0)}
    if mode not in padding:
        raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', got {mode!r}")
    out = lax.conv_general_dilated(lax.reshape(a, (1, 1, a.size)), lax.reshape(lax.rev(v, (0,)), (1, 1, v.size)),
                                   (1,), [padding[mode]], preferred_element_type=preferred_element_type)
    return lax.reshape(out, out.shape[2:])
