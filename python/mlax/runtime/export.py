"""Ahead-of-time export: a function traced and compiled for fixed shapes, saved
with its signature, and called later (in another process) without the Python
function.

    exp = mlax.export(f, platforms=("cpu", "cuda"))(x, mlax.ShapeDtypeStruct((8,), "int32"))
    mlax.load(path) / mlax.deserialize(data) -> Exported; exp.call(x, i) runs it

Static arguments: export a jitted function, `mlax.export(mlax.jit(f,
static_argnums=1))(x, 3)`; their values are fixed into the export and
`.call` takes the other arguments. Arrays the function closes over become
constants of the compiled module.

The serialized artifact (.mlaxpkg), all integers little-endian:

    b"MLAXPKG\\0" | format version (u32) | header size (u32) | SHA-256 of the header (32 bytes)
    | header (JSON, UTF-8) | one IREE .vmfb per target, in the header's order

The header holds the function's name and entry point, its signature (avals
spelled like "f32[8,128]", pytree structures as JSON: tuple, list, dict,
None and namedtuples by name and fields), the mlax and IREE versions, and per
target its platform, size and SHA-256. Loading checks sizes and checksums
before IREE reads a byte: IREE trusts a .vmfb, and a flipped byte in one can
change results or crash the process.
"""

import collections
import hashlib
import json
import re
import struct

import numpy as np

from iree.compiler import version as compiler_version
from iree.runtime import version as runtime_version

from mlax import errors
from mlax._version import __version__
from mlax.core import dtypes
from mlax.core.aval import ShapedArray
from mlax.core.trace import arg_aval
from mlax.runtime import backends, device as device_lib, pipeline
from mlax.tree_util import PyTreeDef, tree_flatten

MAGIC = b"MLAXPKG\0"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<8sII32s")  # magic, format version, header size, header SHA-256

_DTYPES = {dtypes.short_name(d): d for d in dtypes.MLIR_NAMES}
_AVAL = re.compile(r"\s*([a-z0-9]+)\[((?:\s*\d+\s*,)*\s*\d+\s*)?\]\s*")


def parse_aval(text):
    """The ShapedArray spelled `text`, as avals print: f32[8,128], i32[], bool[3]."""
    match = _AVAL.fullmatch(text)
    if not match or match.group(1) not in _DTYPES:
        raise ValueError(f"bad array type {text!r}: expected DTYPE[DIMS] such as f32[8,128] or i32[], "
                         f"with DTYPE one of {', '.join(_DTYPES)}")
    return ShapedArray([int(d) for d in re.findall(r"\d+", match.group(2) or "")], _DTYPES[match.group(1)])


# -- pytree structures as JSON --------------------------------------------------
_CONTAINERS = {tuple: "tuple", list: "list", dict: "dict", type(None): "none"}
_CONTAINER_TYPES = {name: node for node, name in _CONTAINERS.items()}


def tree_to_json(treedef):
    """A JSON description of a pytree structure; TypeError for a container a load could not rebuild."""
    node = treedef.node_type
    if node is None:
        return {"type": "leaf"}
    description = {"children": [tree_to_json(child) for child in treedef.children]}
    if node in _CONTAINERS:
        description["type"] = _CONTAINERS[node]
    elif issubclass(node, tuple) and hasattr(node, "_fields"):
        description.update(type="namedtuple", name=node.__name__, fields=list(node._fields))
    else:
        raise TypeError(f"export cannot save a pytree holding {node.__qualname__}: exported signatures may "
                        "use tuple, list, dict, None and namedtuple containers only")
    if node is dict:
        for key in treedef.aux:
            if type(key) not in (str, int):
                raise TypeError(f"export cannot save the dict key {key!r}: exported dicts need str or int keys")
        description["keys"] = list(treedef.aux)
    return description


def tree_from_json(description):
    """The PyTreeDef that tree_to_json described (namedtuples rebuilt from name and fields)."""
    kind = description["type"]
    if kind == "leaf":
        return PyTreeDef(None, None, ())
    children = [tree_from_json(child) for child in description["children"]]
    if kind == "namedtuple":
        return PyTreeDef(collections.namedtuple(description["name"], description["fields"]), None, children)
    if kind == "dict":
        return PyTreeDef(dict, tuple(description["keys"]), children)
    return PyTreeDef(_CONTAINER_TYPES[kind], None, children)


def leaf_paths(treedef, prefix):
    """Python spellings of the paths to a tree's leaves: prefix[0]['w'], prefix.field, ..."""
    node = treedef.node_type
    if node is None:
        return [prefix]
    if node is dict:
        steps = [f"[{key!r}]" for key in treedef.aux]
    elif hasattr(node, "_fields"):
        steps = [f".{field}" for field in node._fields]
    else:
        steps = [f"[{i}]" for i in range(len(treedef.children))]
    return [path for step, child in zip(steps, treedef.children) for path in leaf_paths(child, prefix + step)]


def argument_paths(in_tree):
    """Paths of the leaves of an (args, kwargs) tree: args[0], kwargs['y'] ..."""
    args_tree, kwargs_tree = in_tree.children
    return leaf_paths(args_tree, "args") + leaf_paths(kwargs_tree, "kwargs")


# -- Exported -------------------------------------------------------------------
class Exported:
    """A function compiled for fixed argument shapes, for one or more platforms.

    `in_avals`/`out_avals` are the flat signature, `in_tree` the structure of
    `(args, kwargs)` and `out_tree` that of the result."""

    def __init__(self, fun_name, in_avals, out_avals, in_tree, out_tree, vmfbs, entry="main",
                 written_args=(), work=0, iree_version=compiler_version.VERSION, device_count=1):
        self.fun_name = fun_name
        self.in_avals = tuple(in_avals)
        self.out_avals = tuple(out_avals)
        self.in_tree = in_tree
        self.out_tree = out_tree
        self._in_tree_json = tree_to_json(in_tree)
        self._out_tree_json = tree_to_json(out_tree)
        self._vmfbs = dict(vmfbs)                # platform -> .vmfb bytes
        self._entry = entry                      # the function to call in each .vmfb
        self._written_args = tuple(written_args)  # arguments IREE may overwrite
        self._work = work                        # elements the program produces (picks the executor)
        self.iree_version = iree_version         # of the compiler that made the .vmfbs
        self.device_count = device_count         # devices the program runs on (pmap: several)
        self._loaded = {}                        # platform -> CompiledProgram

    @property
    def platforms(self):
        return tuple(self._vmfbs)

    def vmfb(self, platform):
        """The IREE module for `platform`: it runs with `iree-run-module --function=main`."""
        if platform not in self._vmfbs:
            raise errors.BackendError(f"this export has no {platform!r} target; its targets: {list(self.platforms)}")
        return self._vmfbs[platform]

    def signature(self):
        """Its signature as text, e.g. `f(f32[8,128], i32[]) -> f32[8]`."""
        ins = ", ".join(a.str_short() for a in self.in_avals)
        outs = ", ".join(a.str_short() for a in self.out_avals)
        return f"{self.fun_name}({ins}) -> {outs if len(self.out_avals) == 1 else f'({outs})'}"

    def call(self, *args, **kwargs):
        """Run on the current platform; arguments must match `in_avals` and `in_tree`."""
        leaves, tree = tree_flatten((args, kwargs))
        if not self._takes(tree):
            raise TypeError(f"Exported.call of {self.fun_name}: the arguments have structure {tree}, "
                            f"but the export takes {self.in_tree}")
        for i, (x, aval) in enumerate(zip(leaves, self.in_avals)):
            got = arg_aval(x, f"argument {i}")
            dtype = np.dtype(getattr(x, "dtype", got.dtype))  # f64 data for an f64 export even without x64
            if got.shape != aval.shape or aval.dtype not in (got.dtype, dtype):
                raise TypeError(f"Exported.call of {self.fun_name}: {argument_paths(self.in_tree)[i]} should be "
                                f"{aval.str_short()}, got {got.update(dtype=dtype).str_short()}")
        return self.out_tree.unflatten(self._compiled().call_flat(leaves))

    def _takes(self, tree):
        if tree == self.in_tree:
            return True
        try:
            return tree_to_json(tree) == self._in_tree_json  # namedtuples compare by name and fields
        except TypeError:
            return False

    def _compiled(self):
        platform = backends.default_name()
        if platform not in self._loaded:
            if platform not in self._vmfbs:
                raise errors.BackendError(
                    f"{self.fun_name} was exported for {list(self.platforms)}, not for the current platform "
                    f"{platform!r}: export it with platforms including {platform!r}, or select one of its "
                    "targets with MLAX_PLATFORM")
            program_devices = device_lib.devices_for(platform, self.device_count)
            try:
                executable = device_lib.Executable(self._vmfbs[platform], program_devices[0], entry=self._entry,
                                                   inline=self._work < pipeline.INLINE_WORK_LIMIT,
                                                   devices=program_devices if self.device_count > 1 else None)
            except ValueError as error:  # IREE rejects the module: made by an incompatible IREE
                raise errors.ExportError(
                    f"the IREE runtime {runtime_version.VERSION} cannot load the {platform} module of this "
                    f"export (compiled by IREE {self.iree_version}): {error}") from None
            self._loaded[platform] = pipeline.CompiledProgram(executable, self.in_avals, self.out_avals,
                                                              self.out_tree, written_args=self._written_args)
        return self._loaded[platform]

    def serialize(self):
        """The artifact as bytes (see the module docstring for its layout)."""
        header = {
            "function": self.fun_name, "entry": self._entry,
            "mlax_version": __version__, "iree_version": self.iree_version,
            "in_avals": [a.str_short() for a in self.in_avals], "in_tree": self._in_tree_json,
            "out_avals": [a.str_short() for a in self.out_avals], "out_tree": self._out_tree_json,
            "written_args": list(self._written_args), "work": self._work, "devices": self.device_count,
            "targets": [{"platform": p, "size": len(v), "sha256": hashlib.sha256(v).hexdigest()}
                        for p, v in self._vmfbs.items()],
        }
        text = json.dumps(header, separators=(",", ":")).encode()
        preamble = _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(text), hashlib.sha256(text).digest())
        return preamble + text + b"".join(self._vmfbs.values())

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.serialize())

    def __repr__(self):
        return f"Exported({self.signature()}, platforms={self.platforms})"


def deserialize(data):
    """The Exported that `Exported.serialize()` wrote; ExportError when `data` is not a sound one."""
    data = bytes(data)
    header, vmfbs = _unpack(data)
    try:
        return Exported(header["function"], [parse_aval(a) for a in header["in_avals"]],
                        [parse_aval(a) for a in header["out_avals"]], tree_from_json(header["in_tree"]),
                        tree_from_json(header["out_tree"]), vmfbs, header["entry"], header["written_args"],
                        header["work"], header["iree_version"], header.get("devices", 1))
    except (KeyError, TypeError, ValueError) as error:
        raise errors.ExportError(f"malformed export header ({type(error).__name__}: {error})") from None


def load(path):
    """The Exported saved at `path` by `Exported.save`."""
    with open(path, "rb") as f:
        return deserialize(f.read())


def _truncated(data, inside, needed):
    return errors.ExportError(f"truncated export: it ends at byte {len(data)}, inside the {inside} "
                              f"(which needs {needed} bytes)")


def _unpack(data):
    """(header, {platform: vmfb}) of a serialized export, its sizes and checksums verified."""
    if not (data.startswith(MAGIC) or MAGIC.startswith(data)):
        raise errors.ExportError(f"not an mlax export: it starts with {data[:len(MAGIC)]!r}, "
                                 f"not the magic bytes {MAGIC!r}")
    if len(data) < _PREAMBLE.size:
        raise _truncated(data, "preamble", _PREAMBLE.size)
    _, version, header_size, header_digest = _PREAMBLE.unpack_from(data)
    if version != FORMAT_VERSION:
        raise errors.ExportError(f"unsupported export format version {version}: this mlax reads "
                                 f"version {FORMAT_VERSION}")
    end = _PREAMBLE.size + header_size
    if len(data) < end:
        raise _truncated(data, "header", end)
    text = data[_PREAMBLE.size:end]
    if hashlib.sha256(text).digest() != header_digest:
        raise errors.ExportError("corrupted export: the header does not match its checksum")
    vmfbs = {}
    try:
        header = json.loads(text)
        for target in header["targets"]:
            platform, start, end = target["platform"], end, end + target["size"]
            if len(data) < end:
                raise _truncated(data, f"{platform} module", end)
            vmfbs[platform] = data[start:end]
            if hashlib.sha256(vmfbs[platform]).hexdigest() != target["sha256"]:
                raise errors.ExportError(f"corrupted export: the {platform} module does not match its checksum")
    except (KeyError, TypeError, ValueError) as error:
        raise errors.ExportError(f"malformed export header ({type(error).__name__}: {error})") from None
    if len(data) > end:
        raise errors.ExportError(f"corrupted export: {len(data) - end} unexpected bytes after its last module")
    return header, vmfbs
