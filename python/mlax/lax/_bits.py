"""jax.lax's functions on the bits of integers: population_count, clz and mulhi, built from
the op table's shifts, masks, additions and products in the operand's own width (integer
results: their derivatives are zero). Unsigned integers take the shifts' logical meaning;
products wrap, as two's complement does."""

from mlax import ops
from mlax.api._staging import as_value
from mlax.core import dtypes
from mlax.ops._elementwise import _like


def _integer(name, *args):
    """The arguments as arrays (Python scalars taking the others' dtype), checked to be integers."""
    arrays = [as_value(a) for a in _like(args)]
    for position, x in enumerate(arrays):
        if not dtypes.is_integer(x.dtype):
            raise TypeError(f"{name}: argument {position} must be an integer, got dtype {x.dtype.name}")
    return arrays


def _weak_if(result, *arrays):
    """result weakly typed where every argument is (as JAX's elementwise ops)."""
    return ops.convert_element_type(result, result.dtype, all(x.weak_type for x in arrays))


def _constant(x, value):
    """value (a bit pattern, Python int) as an array shaped and typed like x, wrapped into its width."""
    width = 8 * x.dtype.itemsize
    value &= (1 << width) - 1
    if not dtypes.is_unsigned(x.dtype) and value >= 1 << (width - 1):
        value -= 1 << width
    return ops.full(x.shape, value, x.dtype)


def _pattern(byte, width):
    """The byte repeated across `width` bits."""
    return int.from_bytes(bytes([byte]) * (width // 8), "little")


def population_count(x):
    """The number of set bits of each integer (of its two's complement bits when negative)."""
    (x,) = _integer("population_count", x)
    width = 8 * x.dtype.itemsize

    def srl(v, n):
        return ops.shift_right_logical(v, _constant(v, n))

    def mask(v, byte):
        return ops.bitwise_and(v, _constant(v, _pattern(byte, width)))
    # Counts of 2, then 4, then 8 bits side by side in the word (SWAR), then the bytes' sum.
    pairs = ops.sub(x, mask(srl(x, 1), 0x55))
    nibbles = ops.add(mask(pairs, 0x33), mask(srl(pairs, 2), 0x33))
    counts = mask(ops.add(nibbles, srl(nibbles, 4)), 0x0F)
    if width > 8:
        counts = srl(ops.mul(counts, _constant(counts, _pattern(0x01, width))), width - 8)
    return _weak_if(counts, x)


def clz(x):
    """The number of leading zero bits of each integer in its width (the width for 0)."""
    (x,) = original = _integer("clz", x)
    width = 8 * x.dtype.itemsize
    zeros = _constant(x, width)
    step = width // 2
    while step:  # binary search for the highest set bit
        higher = ops.shift_right_logical(x, _constant(x, step))
        found = ops.ne(higher, _constant(x, 0))
        zeros = ops.select(found, ops.sub(zeros, _constant(x, step)), zeros)
        x = ops.select(found, higher, x)
        step //= 2
    return _weak_if(ops.sub(zeros, x), *original)  # x is now 1 where a bit was set, 0 for x = 0


def mulhi(x, y, /):
    """The high half of the bits of the double-width product x * y (signed for signed integers,
    unsigned for unsigned ones), for integers of one dtype."""
    x, y = _integer("mulhi", x, y)
    if x.dtype != y.dtype:
        raise TypeError(f"mulhi: the arguments must have one dtype, got {x.dtype.name} and {y.dtype.name}")
    half = 4 * x.dtype.itemsize
    low_mask = _constant(x, (1 << half) - 1)

    shift = ops.shift_right_logical if dtypes.is_unsigned(x.dtype) else ops.shift_right_arithmetic

    def high(v):  # the upper half, sign-extended for signed v
        return shift(v, _constant(v, half))

    def low(v):
        return ops.bitwise_and(v, low_mask)
    # Schoolbook multiplication in half-width digits (Hacker's Delight's mulhs and mulhu): the
    # low digits are unsigned, the high ones carry the sign.
    low_product = ops.mul(low(x), low(y))
    middle = ops.add(ops.mul(high(x), low(y)), ops.shift_right_logical(low_product, _constant(x, half)))
    middle_low = ops.add(ops.mul(low(x), high(y)), low(middle))
    return _weak_if(ops.add(ops.add(ops.mul(high(x), high(y)), high(middle)), high(middle_low)), x, y)
