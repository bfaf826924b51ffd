"""The ground floor: MLIR building, avals and dtypes, the Op entry type, the trace stack
and bind (with the hooks the runtime and the op table install), the tape of reverse mode.
"""
