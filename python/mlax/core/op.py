"""What an entry of the op table is, and the table itself.

An `Op` holds everything that gives one mlax op its meaning: its operands and
attributes, its shape/dtype rule, its lowering to StableHLO, and (added by the
families that define them) its JVP, transpose and batching rules and a NumPy
reference for tests. Passes, the IRDL generator and the tests iterate
`OPS`; no other file lists op names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Concatenate, Protocol

from iree.compiler import ir

from mlax.core import mlir
from mlax.core.aval import ShapedArray
from mlax.core.trace import bind

# Attribute kinds: the Python value an attribute holds and its IRDL base.
ATTR_KINDS = {
    "int": "#builtin.integer",       # Python int, i64 IntegerAttr
    "bool": "#builtin.integer",      # Python bool, BoolAttr (an i1 integer)
    "float": "#builtin.float",       # Python float, f64 FloatAttr
    "str": "#builtin.string",        # Python str
    "ints": "#builtin.dense_array",  # tuple of ints, array<i64: ...>
    "dtype": "#builtin.type",        # numpy dtype, TypeAttr
    "dense": "#builtin.dense_typed_elements",  # numpy array, DenseElementsAttr
    "symbol": "#builtin.symbol_ref",     # a function symbol (@f)
    "symbols": "#builtin.array",         # a tuple of function symbols ([@f, @g])
}

class RuleContext(Protocol):
    """What the pass running a rule hands it first: the functions of the module being
    transformed (for ops that name functions) and, under vmap, the mapped axis."""

    axis_name: str | None
    axis_size: int | None


# The rules' signatures. Every rule takes the running pass's context first; the op's
# attributes come as keyword arguments after the positional parts shown.
#   jvp(ctx, primals, tangents, **attrs) -> (outputs, output tangents); a tangent may be
#       None, a symbolic zero
#   linearize(ctx, primals, tangents, **attrs) -> (outputs, backward or None): reverse mode
#       of an op naming functions: it emits the primal op, and backward maps the cotangents
#       of its results to those of its operands
#   transpose(ctx, cotangents, *operands, **attrs) -> one cotangent (or None) per operand,
#       given one cotangent per result; the linear operands are LinearValues
#   batch(ctx, args, dims, **attrs) -> (outputs, their batch axes); dims[i] is the batch
#       axis of args[i], None when it is unbatched
#   spmd(ctx, values, devices, **attrs) -> per result its values on each device, given per
#       operand its values on each device (under pmap)
#   lower(lowering ctx, *StableHLO values, **attrs) -> the value(s) replacing the op
JvpRule = Callable[Concatenate[RuleContext, Any, Any, ...], tuple[list, list]]
LinearizeRule = Callable[Concatenate[RuleContext, Any, Any, ...], tuple[list, Callable[[list], list] | None]]
TransposeRule = Callable[Concatenate[RuleContext, list, ...], list]
BatchRule = Callable[Concatenate[RuleContext, Any, Any, ...], tuple[list, list]]
SpmdRule = Callable[Concatenate[RuleContext, Any, Any, ...], list]
LowerRule = Callable[..., Any]


OPS: dict[str, "Op"] = {}


class Op:
    """One op of the mlax dialect.

    operands: operand names; a name starting with "*" is variadic (the rest).
    results:  result names, likewise.
    attrs:    {name: kind} with kind a key of ATTR_KINDS.
    shape_rule(*avals, **attrs) -> ShapedArray, or a tuple for several results.
    multiple_results: the Python builder returns a list of results.
    lower(ctx, *values, **attrs) -> the StableHLO value(s) replacing the op.
    The rules (jvp, transpose, batch, linearize, spmd) are set by the block defining
    the op, mostly through the families of ops/_rules.py and ops/_batching.py.
    """

    def __init__(self, name: str, operands: Sequence[str], shape_rule: Callable[..., Any], lower: LowerRule,
                 attrs: dict[str, str] | None = None, doc: str = "", regions: int = 0,
                 multiple_results: bool = False, results: Sequence[str] = ("result",)) -> None:
        self.name = name
        self.mlir_name = "mlax." + name
        self.operands = tuple(operands)
        self.results = tuple(results)
        self.attrs = dict(attrs or {})
        self.shape_rule = shape_rule
        self.lower = lower
        self.regions = regions
        self.multiple_results = multiple_results
        self.__doc__ = doc
        self.traits: set[str] = set()
        # The operands (by position) the op is linear in, where a transpose rule takes their
        # cotangents; None: not linear. Set by ops/_rules.py's deflinear, defbilinear, deftranspose.
        self.linear_operands: tuple[int, ...] | None = None
        self.jvp: JvpRule | None = None
        self.transpose: TransposeRule | None = None
        self.batch: BatchRule | None = None
        self.linearize: LinearizeRule | None = None
        self.spmd: SpmdRule | None = None
        self.numpy_ref: Callable[..., Any] | None = None   # NumPy implementation, for tests
        # How the interpreter tier runs the op, for ops no trait describes (runtime/interpreter.py):
        # "view" (the operand's storage with the result's shape), "broadcast", "transpose", "slice",
        # "dynamic_slice", "concatenate", "sum" (a reduction, float sums in blocks), "contraction", "host" (computed once by numpy_ref: no operands), and "cond",
        # "while_", "scan" (host loops over the plans of the functions they name). None: not
        # interpreted.
        self.kernel_form: str | None = None
        if name in OPS:
            raise ValueError(f"op {name} defined twice")
        OPS[name] = self

    @property
    def variadic(self) -> bool:
        return bool(self.operands) and self.operands[-1].startswith("*")

    def check_operands(self, count: int) -> None:
        fixed = len(self.operands) - self.variadic
        if count < fixed or (count > fixed and not self.variadic):
            raise TypeError(f"mlax.{self.name} takes {'at least ' if self.variadic else ''}{fixed} operands, got {count}")

    def abstract_eval(self, avals: Sequence[ShapedArray], attrs: dict[str, Any]) -> list[ShapedArray]:
        """Result avals as a list (one entry per result)."""
        self.check_operands(len(avals))
        out = self.shape_rule(*avals, **attrs)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    def encode_attrs(self, attrs: dict[str, Any]) -> dict[str, ir.Attribute]:
        unknown = set(attrs) - set(self.attrs)
        if unknown:
            raise TypeError(f"mlax.{self.name} got unknown attributes {sorted(unknown)}")
        return {k: mlir.encode_attr(v) for k, v in attrs.items() if v is not None}

    def __call__(self, *operands: Any, **attrs: Any) -> Any:
        return bind(self, operands, attrs)

    def __repr__(self) -> str:
        return f"<mlax op {self.name}>"


def lookup(mlir_name: str) -> "Op | None":
    """The Op for an MLIR op name, or None for ops outside the mlax dialect."""
    if not mlir_name.startswith("mlax."):
        return None
    return OPS.get(mlir_name[5:])
