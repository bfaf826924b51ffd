"""What an entry of the op table is, and the table itself.

An `Op` holds everything that gives one mlax op its meaning: its operands and
attributes, its shape/dtype rule, its lowering to StableHLO, and (added by the
families that define them) its JVP, transpose and batching rules and a NumPy
reference for tests. Passes, the IRDL generator and the tests iterate
`OPS`; no other file lists op names.
"""

from mlax.core import mlir
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

OPS = {}


class Op:
    """One op of the mlax dialect.

    operands: operand names; a name starting with "*" is variadic (the rest).
    results:  result names, likewise.
    attrs:    {name: kind} with kind a key of ATTR_KINDS.
    shape_rule(*avals, **attrs) -> ShapedArray, or a tuple for several results.
    multiple_results: the Python builder returns a list of results.
    lower(ctx, *values, **attrs) -> the StableHLO value(s) replacing the op.
    """

    def __init__(self, name, operands, shape_rule, lower, attrs=None, doc="", regions=0,
                 multiple_results=False, results=("result",)):
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
        self.traits = set()
        self.jvp = None          # (primals, tangents, **attrs) -> (outs, out_tangents)
        self.transpose = None    # (cotangents, *operands, **attrs) -> operand cotangents
        self.batch = None        # (args, batch_dims, **attrs) -> (outs, out_batch_dims)
        # Reverse mode for ops that name functions: (primals, tangents, ctx, **attrs) ->
        # (outs, backward), backward(cotangents of outs) -> cotangents of the operands.
        self.linearize = None
        # Under pmap, for collectives and ops naming functions that hold one: (values per
        # operand, one per device, device ids, [ctx,] **attrs) -> values per result, one per device.
        self.spmd = None
        self.numpy_ref = None    # NumPy implementation, for tests
        if name in OPS:
            raise ValueError(f"op {name} defined twice")
        OPS[name] = self

    @property
    def variadic(self):
        return bool(self.operands) and self.operands[-1].startswith("*")

    def check_operands(self, count):
        fixed = len(self.operands) - self.variadic
        if count < fixed or (count > fixed and not self.variadic):
            raise TypeError(f"mlax.{self.name} takes {'at least ' if self.variadic else ''}{fixed} operands, got {count}")

    def abstract_eval(self, avals, attrs):
        """Result avals as a list (one entry per result)."""
        self.check_operands(len(avals))
        out = self.shape_rule(*avals, **attrs)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    def encode_attrs(self, attrs):
        unknown = set(attrs) - set(self.attrs)
        if unknown:
            raise TypeError(f"mlax.{self.name} got unknown attributes {sorted(unknown)}")
        return {k: mlir.encode_attr(v) for k, v in attrs.items() if v is not None}

    def __call__(self, *operands, **attrs):
        return bind(self, operands, attrs)

    def __repr__(self):
        return f"<mlax op {self.name}>"


def lookup(mlir_name):
    """The Op for an MLIR op name, or None for ops outside the mlax dialect."""
    if not mlir_name.startswith("mlax."):
        return None
    return OPS.get(mlir_name[5:])
