"""The driver the transformation passes share, and what their rules get first.

A transformation op's entry (ops/higher_order.py, `Transformation.writer`) names
the function writer that expands it; the passes register their writers here
(`@writer("jvp")`), so rules and passes reach each other's writers through this
module rather than by importing one another. `expand` then:

1. finds the transformation ops whose writer is among those asked for, and picks
   one whose callee (with everything it calls) holds no transformation op, so
   nested transformations expand innermost first;
2. writes the transformed function with its writer and checks that the op's
   operands fit it;
3. replaces the op by a func.call of that function, and repeats;
4. once no transformation op is left in the module, turns the ops that only call
   their callee when no transformation gives them meaning (trait "calls_callee":
   custom_jvp_call, custom_vjp_call, checkpoint) into plain calls.

`Interpreter` is the walk each pass runs over a function's ops (a map from old
values to new ones, each op applied through its op-table entry); it is also the
`RuleContext` the rules get first.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Sequence, ValuesView
from typing import Any, TypeVar, cast

from iree.compiler import ir
from iree.compiler.dialects import func as func_dialect

from mlax.core import aval as aval_lib
from mlax.core import mlir, op as op_table
from mlax.core.aval import ShapedArray
from mlax.core.ir_builder import ModuleBuilder
from mlax.core.mlir import Symbol
from mlax.core.trace import Trace, Tracer, at_location, current_trace
from mlax.ops._rules import is_linear
from mlax.ops.higher_order import Transformation
from mlax.passes import _walk

# Function writers by name: writer(ctx, callee, **options) -> the Symbol of the function it writes
# (the batching writer also gives its results' batch axes). Each pass registers its own.
WRITERS: dict[str, Callable[..., Any]] = {}

W = TypeVar("W", bound=Callable[..., Any])


def writer(name: str) -> Callable[[W], W]:
    """Register `fn(ctx, callee, **options)` as the function writer `name`."""
    def register(fn: W) -> W:
        WRITERS[name] = fn
        return fn
    return register


def transformation_writer(operation: ir.Operation) -> Callable[..., Any] | None:
    """The writer expanding `operation`, or None when it is not a transformation op."""
    entry = op_table.lookup(operation.name)
    return WRITERS[entry.writer] if isinstance(entry, Transformation) else None


class Module:
    """Functions of the module by name, and a builder for new ones."""

    def __init__(self, module_op: ir.Operation) -> None:
        self.module_op = module_op
        self.builder = ModuleBuilder(module_op)
        # Functions written from others, by (writer, callee, options), entered as soon as
        # their name is known: a function that reaches itself (a custom_jvp rule calling its
        # function) is written once, its inner reference naming the function being written.
        self.written: dict[tuple, Any] = {}

    def function(self, name: str) -> ir.Operation:
        """The function @name, from the module builder's symbol table."""
        function = self.builder.functions.get(name)
        if function is None:
            raise ValueError(f"no function @{name} in the module")
        return function

    def operations(self) -> list[ir.Operation]:
        """Every operation in the module's functions, inner ops first."""
        return [op for f in _walk.functions(self.module_op) for op in _walk.post_order(f)]

    def referenced(self, func_op: ir.Operation,
                   seen: dict[str, ir.Operation] | None = None) -> ValuesView[ir.Operation]:
        """func_op and every function it references, transitively."""
        seen = {} if seen is None else seen
        name = _walk.function_name(func_op)
        if name not in seen:
            seen[name] = func_op
            for operation in _walk.post_order(func_op):
                for symbol in _walk.referenced_symbols(operation):
                    self.referenced(self.function(symbol), seen)
        return seen.values()

    def uses_axis(self, operation: ir.Operation, axis_name: str | None) -> bool:
        """Whether `operation` is, or calls a function holding, a collective over `axis_name`."""
        if axis_name is None:
            return False
        operations = [operation] + [inner for symbol in _walk.referenced_symbols(operation)
                                    for f in self.referenced(self.function(symbol))
                                    for inner in _walk.post_order(f)]
        return any(_is_collective_over(inner, axis_name) for inner in operations)


def _is_collective_over(operation: ir.Operation, axis_name: str) -> bool:
    definition = op_table.lookup(operation.name)
    return (definition is not None and "collective" in definition.traits
            and ir.StringAttr(operation.attributes["axis_name"]).value == axis_name)


def arg_avals(func_op: ir.Operation) -> list[ShapedArray]:
    return [aval_lib.from_type(a.type) for a in func_op.regions[0].blocks[0].arguments]


def _function_type(func_op: ir.Operation) -> ir.FunctionType:
    return ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)


def result_avals(func_op: ir.Operation) -> list[ShapedArray]:
    return [aval_lib.from_type(t) for t in _function_type(func_op).results]


def mapped_aval(aval: ShapedArray, axis: int | None, size: int) -> ShapedArray:
    """aval with a mapped axis of `size` inserted at `axis` (None: not mapped)."""
    if axis is None:
        return aval
    shape = list(aval.shape)
    shape.insert(axis, size)
    return ShapedArray(shape, aval.dtype)


def reemit(operation: ir.Operation, entry: op_table.Op, ins: Sequence[Any], attrs: dict[str, Any]) -> list[Any]:
    """The op of `operation` applied to `ins` (values of the types of its operands) in the
    function being built, its results typed as `operation`'s; applied to a tangent of
    reverse mode, it goes on the tangent's tape instead."""
    if any(is_linear(x) for x in ins):
        out = entry(*ins, **attrs)
        return list(out) if entry.multiple_results else [out]
    return cast(Trace, current_trace()).emit(entry, list(ins), attrs,
                                             [aval_lib.from_type(r.type) for r in operation.results])


def replace_by_call(operation: ir.Operation, name: str) -> None:
    """Replace `operation` by a func.call of @name with the same operands and results."""
    with operation.location, ir.InsertionPoint(operation):
        call = func_dialect.CallOp([r.type for r in operation.results], ir.FlatSymbolRefAttr.get(name),
                                   list(operation.operands))
    _walk.replace_op(operation, list(call.results))


class _CallGraph:
    """Per function of a module: its transformation ops and the functions it refers to,
    rescanned only for the functions a round of expansion changed or added."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.transformations: dict[str, list[ir.Operation]] = {}
        self.callees: dict[str, set[str]] = {}

    def scan(self, changed: Iterable[str]) -> None:
        """Read the `changed` functions again, and every function new since the last scan."""
        for name in set(changed) | (self.module.builder.functions.keys() - self.transformations.keys()):
            operations = _walk.post_order(self.module.function(name))
            self.transformations[name] = [op for op in operations if transformation_writer(op)]
            self.callees[name] = {symbol for op in operations for symbol in _walk.referenced_symbols(op)}

    def holding(self) -> set[str]:
        """The functions holding a transformation op or calling, however indirectly, one that does."""
        holding = {name for name, ops in self.transformations.items() if ops}
        callers: collections.defaultdict[str, set[str]] = collections.defaultdict(set)
        for name, callees in self.callees.items():
            for callee in callees:
                callers[callee].add(name)
        unvisited = list(holding)
        while unvisited:
            for caller in callers[unvisited.pop()] - holding:
                holding.add(caller)
                unvisited.append(caller)
        return holding


def expand(module_op: ir.Operation, writers: Iterable[Callable[..., Any]]) -> None:
    """Expand the transformation ops that `writers` write, innermost first, until none is left;
    then, if no transformation op is left at all, make plain calls of the "calls_callee" ops."""
    module = Module(module_op)
    chosen = set(writers)
    graph, changed = _CallGraph(module), set(module.builder.functions)
    while True:
        # Every op whose callee reaches no transformation op is ready; expanding one never
        # makes another unready, so all of them expand in one round (rounds: nesting depth).
        graph.scan(changed)
        holding = graph.holding()
        pending = [(name, op) for name, ops in graph.transformations.items() for op in ops
                   if transformation_writer(op) in chosen]
        ready = [(name, op) for name, op in pending if mlir.op_attrs(op)["callee"] not in holding]
        if not ready:
            if pending and chosen >= set(WRITERS.values()):
                raise ValueError("transformation ops refer to each other recursively")
            break
        for _, operation in ready:
            _expand_one(module, operation)
        changed = {name for name, _ in ready}
    if not any(graph.transformations.values()):
        for operation in module.operations():
            entry = op_table.lookup(operation.name)
            if entry is not None and "calls_callee" in entry.traits:
                replace_by_call(operation, mlir.op_attrs(operation)["callee"])


def _expand_one(module: Module, operation: ir.Operation) -> None:
    """Write the function a transformation op stands for, and call it instead."""
    attrs = mlir.op_attrs(operation)
    name = cast(Callable[..., Any], transformation_writer(operation))(RuleContext(module), **attrs)
    function_type = _function_type(module.function(name))
    operand_types, result_types = [v.type for v in operation.operands], [r.type for r in operation.results]
    if len(operand_types) != len(function_type.inputs):
        raise ValueError(f"{operation.name} has {len(operand_types)} operands; @{attrs['callee']} needs "
                         f"{len(function_type.inputs)}")
    if operand_types != list(function_type.inputs) or result_types != list(function_type.results):
        raise ValueError(f"{operation.name} of @{attrs['callee']} is typed {operand_types} -> {result_types}, but "
                         f"the transformed function {function_type}")
    replace_by_call(operation, name)


class RuleContext:
    """What a rule gets first from the pass running it: the functions of the module being
    transformed and new functions derived from them (through the registered writers); for
    batching rules, the vmapped axis (its name, None when it has none, and size)."""

    def __init__(self, module: Module, axis_name: str | None = None, axis_size: int | None = None) -> None:
        self.module = module
        self.axis_name = axis_name
        self.axis_size = axis_size

    def signature(self, name: str) -> tuple[list[ShapedArray], list[ShapedArray]]:
        """(argument avals, result avals) of the function @name."""
        function = self.module.function(name)
        return arg_avals(function), result_avals(function)

    def trace(self, fn: Callable[..., Iterable[Any]], in_avals: Sequence[ShapedArray], name: str) -> Symbol:
        """Trace fn(*args) -> list of results into a new private function; return its Symbol."""
        trace = Trace(self.module.builder, name, in_avals)
        with trace:
            trace.finish(list(fn(*trace.args)))
        return Symbol(trace.name)

    def call(self, name: str, args: Sequence[Any]) -> list[Tracer]:
        """Call @name from the function being built; return its results."""
        return cast(Trace, current_trace()).call(name, args, self.signature(name)[1])

    def batch(self, name: str, dims: Iterable[int | None], size: int) -> tuple[Symbol, list[int | None]]:
        """(Symbol of @name batched along `dims`, its results' batch axes, None where unbatched)."""
        return WRITERS["batched"](self, name, list(dims), size, front=False)

    def batched(self, name: str, dims: Iterable[int | None], size: int,
                front: bool | Sequence[bool] = True) -> Symbol:
        """Symbol of @name batched along `dims`, its results (all, or those flagged in
        `front`) batched along their first axis."""
        return WRITERS["batched"](self, name, list(dims), size, front)[0]

    def jvp(self, name: str, wrt: Iterable[int]) -> Symbol:
        """Symbol of @name's JVP: (args, tangents of the args in `wrt`) -> (results, their tangents)."""
        return WRITERS["jvp"](self, name, tuple(wrt))

    def vjp(self, name: str, wrt: Iterable[int]) -> Symbol:
        """Symbol of @name's VJP: (args, cotangents of the results) -> (results, cotangents
        of the args in `wrt`)."""
        return WRITERS["vjp"](self, name, tuple(wrt))


class Interpreter(RuleContext):
    """A pass's walk over a function's ops: a map from the function's values to new ones
    (what a new value is, each pass says: a Tracer with its tangent, with its batch axis,
    one per device). Calls are walked into; the block's terminator gives the results;
    every other op goes to `apply` with its op-table entry."""

    unknown = "{} is not an mlax op"  # the error for an op outside the op table

    def walk(self, func_op: ir.Operation, values: Sequence[Any]) -> list[Any]:
        """The new values of func_op's results, given those of its arguments."""
        block = func_op.regions[0].blocks[0]
        env = dict(zip(block.arguments, values))
        *body, terminator = _walk.operations(block)
        for operation in body:
            ins = [env[v] for v in operation.operands]
            if _walk.is_call(operation):
                outs = self.walk(self.module.function(mlir.op_attrs(operation)["callee"]), ins)
            else:
                entry = op_table.lookup(operation.name)
                if entry is None:
                    raise ValueError(self.unknown.format(operation.name))
                with at_location(operation.location):
                    outs = self.apply(operation, entry, ins)
            env.update(zip(operation.results, outs))
        return [env[v] for v in terminator.operands]

    def apply(self, operation: ir.Operation, entry: op_table.Op, ins: list[Any]) -> list[Any]:
        """The new values of `operation`'s results, given those of its operands."""
        raise NotImplementedError
