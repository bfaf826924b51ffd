"""The driver the transformation passes share: find transformation ops ready
to expand (innermost first) and hand each to its expander."""

from iree.compiler import ir
from iree.compiler.dialects import func as func_dialect

from mlax.core import aval as aval_lib
from mlax.core import mlir, op as op_table
from mlax.core.ir_builder import ModuleBuilder
from mlax.passes import _walk

# Ops that transform the function they name, by op name; each pass adds its expander.
EXPANDERS = {}
# Ops that only call their callee unless a transformation gives them meaning.
CALLS_OF_CALLEE = ("mlax.custom_jvp_call", "mlax.custom_vjp_call", "mlax.checkpoint")


class Module:
    """Functions of the module by name, and a builder for new ones."""

    def __init__(self, module_op):
        self.module_op = module_op
        self.builder = ModuleBuilder(module_op)

    def function(self, name):
        for f in _walk.functions(self.module_op):
            if _walk.function_name(f) == name:
                return f
        raise ValueError(f"no function @{name} in the module")

    def referenced(self, func_op, seen=None):
        """func_op and every function it references, transitively."""
        seen = {} if seen is None else seen
        name = _walk.function_name(func_op)
        if name not in seen:
            seen[name] = func_op
            for operation in _walk.post_order(func_op):
                for symbol in _walk.referenced_symbols(operation):
                    self.referenced(self.function(symbol), seen)
        return seen.values()

    def ready(self, operation):
        """Whether `operation`'s callee reaches no unexpanded transformation op."""
        callee = self.function(mlir.op_attrs(operation)["callee"])
        return not any(inner.name in EXPANDERS
                       for f in self.referenced(callee) for inner in _walk.post_order(f))

    def uses_axis(self, operation, axis_name):
        """Whether `operation` is, or calls a function holding, a collective over `axis_name`."""
        if axis_name is None:
            return False
        operations = [operation] + [inner for symbol in _walk.referenced_symbols(operation)
                                    for f in self.referenced(self.function(symbol))
                                    for inner in _walk.post_order(f)]
        return any(_is_collective_over(inner, axis_name) for inner in operations)


def _is_collective_over(operation, axis_name):
    definition = op_table.lookup(operation.name)
    return (definition is not None and "collective" in definition.traits
            and ir.StringAttr(operation.attributes["axis_name"]).value == axis_name)


def arg_avals(func_op):
    return [aval_lib.from_type(a.type) for a in func_op.regions[0].blocks[0].arguments]


def result_avals(func_op):
    function_type = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    return [aval_lib.from_type(t) for t in function_type.results]


def reemit(operation, definition, ins, attrs):
    """Apply the op of `operation` to `ins` in the function being built; return its results."""
    from mlax.core.trace import current_trace

    if "typed_by_callee" in definition.traits:
        out_avals = [aval_lib.from_type(r.type) for r in operation.results]
        return current_trace().emit(definition, ins, attrs, out_avals)
    out = definition(*ins, **attrs)
    return list(out) if definition.multiple_results else [out]


def replace_by_call(operation, name):
    """Replace `operation` by a func.call of @name with the same operands and results."""
    with operation.location, ir.InsertionPoint(operation):
        call = func_dialect.CallOp([r.type for r in operation.results], ir.FlatSymbolRefAttr.get(name),
                                   list(operation.operands))
    _walk.replace_op(operation, list(call.results))


def expand(module_op, kinds):
    """Expand the transformation ops named in `kinds`, innermost first, until none is left.

    Once no transformation op is left at all, custom-rule and checkpoint ops
    (which only mean something under a transformation) become plain calls."""
    module = Module(module_op)
    while True:
        pending = [op for f in _walk.functions(module_op) for op in _walk.post_order(f) if op.name in kinds]
        ready = next((op for op in pending if module.ready(op)), None)
        if ready is None:
            if pending and set(kinds) >= set(EXPANDERS):
                raise ValueError("transformation ops refer to each other recursively")
            break
        EXPANDERS[ready.name](module, ready)
    if not any(op.name in EXPANDERS for f in _walk.functions(module_op) for op in _walk.post_order(f)):
        for f in _walk.functions(module_op):
            for operation in _walk.post_order(f):
                if operation.name in CALLS_OF_CALLEE:
                    replace_by_call(operation, mlir.op_attrs(operation)["callee"])


class RuleContext:
    """What the rules of ops that name functions (control flow) need from the pass
    running them: the functions' signatures, and new functions derived from them; for
    batching rules, the vmapped axis (its name, None when it has none, and size)."""

    def __init__(self, module, axis_name=None, axis_size=None):
        self.module = module
        self.axis_name = axis_name
        self.axis_size = axis_size

    def signature(self, name):
        """(argument avals, result avals) of the function @name."""
        function = self.module.function(name)
        return arg_avals(function), result_avals(function)

    def trace(self, fn, in_avals, name):
        """Trace fn(*args) -> list of results into a new private function; return its Symbol."""
        from mlax.core.mlir import Symbol
        from mlax.core.trace import Trace

        trace = Trace(self.module.builder, name, in_avals)
        with trace:
            trace.finish(list(fn(*trace.args)))
        return Symbol(trace.name)

    def call(self, name, args):
        """Call @name from the function being built; return its results."""
        from mlax.core.trace import current_trace

        return current_trace().call(name, args, self.signature(name)[1])

    def batch(self, name, dims, size):
        """(Symbol of @name batched along `dims`, its results' batch axes, None where unbatched)."""
        from mlax.passes.vmap import batched_function

        return batched_function(self.module, self.module.function(name), dims, size, front=False,
                                axis_name=self.axis_name)

    def batched(self, name, dims, size, front=True):
        """Symbol of @name batched along `dims`, its results (all, or those flagged in
        `front`) batched along their first axis."""
        from mlax.passes.vmap import batched_function

        return batched_function(self.module, self.module.function(name), dims, size, front,
                                axis_name=self.axis_name)[0]

    def jvp(self, name, wrt):
        """Symbol of @name's JVP: (args, tangents of the args in `wrt`) -> (results, their tangents)."""
        from mlax.core.mlir import Symbol
        from mlax.passes.autodiff import jvp_function

        return Symbol(jvp_function(self.module, self.module.function(name), list(wrt)))

    def vjp(self, name, wrt):
        """Symbol of @name's VJP: (args, cotangents of the results) -> (results, cotangents
        of the args in `wrt`)."""
        from mlax.core.mlir import Symbol
        from mlax.passes.autodiff import vjp_function

        return Symbol(vjp_function(self.module, self.module.function(name), list(wrt)))
