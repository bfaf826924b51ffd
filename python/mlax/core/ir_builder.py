"""Building MLIR: a module and the functions in it, op by op.

`ModuleBuilder` owns (or extends) a module and keeps its function names unique;
`FunctionBuilder` appends ops to one `func.func`. Both deal in MLIR values and
avals only: tracing (core/trace.py) and the passes build functions through them.

    builder = ModuleBuilder()
    fn = FunctionBuilder(builder, "main", [ShapedArray((3,), float32)], private=False)
    [y] = fn.emit(sin_op, fn.arguments, {}, [ShapedArray((3,), float32)])
    fn.finish([y])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from iree.compiler import ir
from iree.compiler.dialects import func as func_dialect

from mlax.core import mlir
from mlax.core.aval import ShapedArray

if TYPE_CHECKING:
    from mlax.core.op import Op


class ModuleBuilder:
    """A module being built (new, or an existing module op a pass extends), with
    unique function names and an estimate of the work its ops do."""

    def __init__(self, module_op: ir.Operation | None = None) -> None:
        self.module: ir.Module | None = None
        if module_op is None:
            with mlir.context(), ir.Location.unknown():
                self.module = ir.Module.create()
            module_op = self.module.operation
        self.body = module_op.regions[0].blocks[0]
        self.total_elements = 0     # produced by the ops built into it
        self.largest_elements = 0   # produced by its largest op
        self.has_control_flow = False
        # The module's symbol table: its functions by name, kept as functions are built.
        self.functions: dict[str, ir.Operation] = {
            ir.StringAttr(op.operation.attributes["sym_name"]).value: op.operation
            for op in self.body.operations if "sym_name" in op.operation.attributes}
        self._names: set[str] = set(self.functions)

    @property
    def work(self) -> int:
        """The cost estimate that picks the executor: the elements the program produces,
        or, when it loops, those of its largest op (each step's dispatches are what the
        worker threads would have to pay off, however many steps run)."""
        return self.largest_elements if self.has_control_flow else self.total_elements

    def unique_name(self, base: str) -> str:
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in base) or "f"
        name, i = base, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def count(self, op: "Op", out_avals: Sequence[ShapedArray]) -> None:
        """Account for an op producing `out_avals` in the work estimate."""
        produced = sum(a.size for a in out_avals if None not in a.shape)
        self.total_elements += produced
        self.largest_elements = max(self.largest_elements, produced)
        self.has_control_flow |= "control_flow" in op.traits


class FunctionBuilder:
    """One `func.func` of a module under construction: its arguments, ops and return."""

    def __init__(self, module: ModuleBuilder, name: str, in_avals: Sequence[ShapedArray],
                 private: bool = True) -> None:
        self.module = module
        self.name = module.unique_name(name)
        with mlir.context(), ir.Location.unknown():
            fn_type = ir.FunctionType.get([a.mlir_type() for a in in_avals], [])
            with ir.InsertionPoint(module.body):
                self.func = func_dialect.FuncOp(self.name, fn_type, visibility="private" if private else None)
            self.block = self.func.add_entry_block()
        module.functions[self.name] = self.func.operation

    @property
    def arguments(self) -> list[ir.Value]:
        return list(self.block.arguments)

    def add_argument(self, aval: ShapedArray) -> ir.Value:
        """A new trailing argument of type `aval`."""
        with mlir.context(), ir.Location.unknown():
            return self.block.add_argument(aval.mlir_type(), ir.Location.unknown())

    def emit(self, op: "Op", values: Sequence[ir.Value], attrs: dict[str, Any], out_avals: Sequence[ShapedArray],
             location: ir.Location | None = None) -> list[ir.Value]:
        """Append the mlax op `op` (an op-table entry) on `values` at `location`; return its results."""
        with mlir.context(), location or ir.Location.unknown(), ir.InsertionPoint(self.block):
            operation = ir.Operation.create(
                op.mlir_name,
                results=[a.mlir_type() for a in out_avals],
                operands=list(values),
                attributes=op.encode_attrs(attrs),
                regions=op.regions,
            )
        self.module.count(op, out_avals)
        return list(operation.results)

    def call(self, name: str, values: Sequence[ir.Value], out_avals: Sequence[ShapedArray]) -> list[ir.Value]:
        """Append a func.call of the function @name; return its results."""
        with mlir.context(), ir.Location.unknown(), ir.InsertionPoint(self.block):
            call = func_dialect.CallOp([a.mlir_type() for a in out_avals], ir.FlatSymbolRefAttr.get(name),
                                       list(values))
        return list(call.results)

    def finish(self, values: Sequence[ir.Value]) -> None:
        """Return `values` from the function and fix its signature."""
        with mlir.context(), ir.Location.unknown(), ir.InsertionPoint(self.block):
            func_dialect.ReturnOp(list(values))
            arg_types = [a.type for a in self.block.arguments]
            self.func.attributes["function_type"] = ir.TypeAttr.get(
                ir.FunctionType.get(arg_types, [v.type for v in values]))
