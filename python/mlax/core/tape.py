"""The tape of reverse-mode differentiation: linear values are recorded, not emitted.

While the autodiff pass runs JVP rules to build a derivative function, the
tangents of the differentiated inputs are `LinearValue`s. Binding an op with
a linear operand appends an equation to the active `Tape` instead of emitting
an op: those equations are the linear part of the JVP, which the pass then
transposes (walks backwards, asking each op's transpose rule for the
cotangents of its linear operands). Ops on primal values alone are emitted
as usual; they are the primal computation and the residuals the transposed
program reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from mlax.core.aval import ShapedArray
from mlax.core.trace import Trace, Tracer, aval_of, current_location

if TYPE_CHECKING:
    from mlax.core.op import Op, TransposeRule


class LinearValue(Tracer):
    """A tangent known only symbolically: a node of the tape."""

    is_linear = True

    def __init__(self, aval: ShapedArray, tape: "Tape") -> None:
        super().__init__(tape.trace, None, aval)
        self.tape = tape

    def __repr__(self) -> str:
        return f"Linear<{self.aval.str_short()}>"


class LinearStep(Protocol):
    """What an equation applies: an Op, or a step of the autodiff pass standing for several ops."""

    @property
    def name(self) -> str: ...

    @property
    def transpose(self) -> "TransposeRule | None": ...


class Equation:
    """One linear op on the tape: out = op(*operands, **attrs), with the location of the op
    whose derivative recorded it (its transpose's ops get that location too)."""

    __slots__ = ("op", "operands", "attrs", "outs", "location")

    def __init__(self, op: LinearStep, operands: list[Any], attrs: dict[str, Any],
                 outs: Sequence[LinearValue | None]) -> None:
        self.op = op
        self.operands = operands
        self.attrs = attrs
        self.outs = outs
        self.location = current_location()


class Tape:
    """The linear equations recorded while a JVP runs, in order."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.equations: list[Equation] = []

    def new_input(self, aval: ShapedArray) -> LinearValue:
        return LinearValue(aval, self)

    def record(self, op: "Op", operands: Sequence[Any], attrs: dict[str, Any]) -> list[LinearValue]:
        """Bind `op` with linear operands (core.trace.bind sends them here): put an
        equation on the tape; return its outputs as new LinearValues."""
        linear: Sequence[int] | None = op.linear_operands
        if linear is None:
            raise NotImplementedError(
                f"mlax.{op.name} was applied to a tangent but is not linear: a JVP rule must only apply "
                "linear ops (add, mul by a primal, reshape, ...) to tangents")
        for i, x in enumerate(operands):
            if getattr(x, "is_linear", False) and i not in linear:
                name = op.operands[min(i, len(op.operands) - 1)].lstrip("*")
                raise NotImplementedError(
                    f"mlax.{op.name} was applied to a tangent as its operand {i} ({name}), in which it is not "
                    f"linear (it is linear in operands {tuple(linear)}): a JVP rule must only pass tangents "
                    "where an op is linear (the numerator of div, not its denominator)")
        out_avals = op.abstract_eval([aval_of(x) for x in operands], attrs)
        outs = [LinearValue(a.strip_weak_type(), self) for a in out_avals]
        self.equations.append(Equation(op, list(operands), dict(attrs), outs))
        return outs
