"""Ahead-of-time export: numbers against NumPy, round trips through bytes and files
(in a fresh process that never sees the function), several targets, pytrees, static
arguments, the .vmfb under IREE's own iree-run-module, and every error path."""

import collections
import hashlib
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import mlax
import mlax.numpy as mnp
from mlax import errors
from mlax.runtime import export as export_lib

Params = collections.namedtuple("Params", "w b")
IREE_RUN_MODULE = os.path.join(os.path.dirname(sys.executable), "iree-run-module")
# The layout the module docstring documents: magic, format version, header size, header SHA-256.
PREAMBLE = struct.Struct("<8sII32s")


def affine(x, y):
    return mnp.sin(x) * y + 1.0


def affine_numpy(x, y):
    return np.sin(x) * y + 1


def layer(params, x, scale=1.0):
    h = mnp.tanh(x @ params.w + params.b)
    return {"h": h * scale, "stats": [h.sum(), h.max()]}


X = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
PARAMS = Params(np.arange(12, dtype=np.float32).reshape(3, 4) / 10, np.full(4, 0.5, np.float32))


def layer_numpy(params, x, scale=1.0):
    h = np.tanh(x @ params.w + params.b)
    return {"h": h * scale, "stats": [h.sum(), h.max()]}


@pytest.fixture(scope="module")
def affine_export():
    return mlax.export(affine)(mlax.ShapeDtypeStruct((3,), np.float32), np.ones(3, np.float32))


@pytest.fixture(scope="module")
def layer_export():
    return mlax.export(layer)(PARAMS, X, scale=2.0)


def assert_tree_close(got, want):
    assert mlax.tree_util.tree_structure(got) == mlax.tree_util.tree_structure(want)
    for g, w in zip(mlax.tree_util.tree_leaves(got), mlax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-6, atol=1e-6)


def test_export_records_the_signature_and_matches_numpy(affine_export):
    exp = affine_export
    assert [a.str_short() for a in exp.in_avals] == ["f32[3]", "f32[3]"]
    assert [(a.shape, a.dtype) for a in exp.out_avals] == [((3,), np.float32)]
    assert exp.platforms == ("cpu",) and exp.fun_name == "affine"
    assert exp.signature() == "affine(f32[3], f32[3]) -> f32[3]"
    x, y = np.array([0.0, 0.5, -2.0], np.float32), np.array([1.0, 2.0, 3.0], np.float32)
    out = exp.call(x, y)
    assert isinstance(out, mlax.Array)
    np.testing.assert_allclose(out, affine_numpy(x, y), rtol=1e-6)
    again = mlax.deserialize(exp.serialize())
    assert again.in_avals == exp.in_avals and again.out_avals == exp.out_avals
    np.testing.assert_allclose(again.call(mlax.numpy.asarray(x), y), affine_numpy(x, y), rtol=1e-6)


def test_pytrees_in_and_out_survive_serialization(layer_export):
    exp = mlax.deserialize(layer_export.serialize())
    assert repr(exp.in_tree) == "((Params(*, *), *), {'scale': *})"
    assert repr(exp.out_tree) == "{'h': *, 'stats': [*, *]}"
    assert exp.in_tree != layer_export.in_tree, "the namedtuple type is rebuilt from its name and fields"
    want = layer_numpy(PARAMS, X, scale=2.0)
    assert_tree_close(layer_export.call(PARAMS, X, scale=2.0), want)
    assert_tree_close(exp.call(PARAMS, X, scale=np.float32(2.0)), want)
    rebuilt = exp.in_tree.children[0].children[0].node_type
    assert_tree_close(exp.call(rebuilt(*PARAMS), X, scale=2.0), want)


def test_closed_over_arrays_become_constants_of_the_module():
    table = mnp.asarray(np.arange(5000, dtype=np.float32))  # big enough to be an argument under jit
    offset = np.float32(3.0)
    exp = mlax.export(lambda i: table[i] + offset)(np.int32(0))
    assert [a.str_short() for a in exp.in_avals] == ["i32[]"]
    assert float(mlax.deserialize(exp.serialize()).call(np.int32(4321))) == 4324.0


def test_static_arguments_come_from_jit():
    power = mlax.jit(lambda x, n: x ** n, static_argnums=1)
    exp = mlax.export(power)(mlax.ShapeDtypeStruct((3,), np.float32), 3)
    assert [a.str_short() for a in exp.in_avals] == ["f32[3]"]
    x = np.array([1.0, 2.0, -3.0], np.float32)
    np.testing.assert_allclose(exp.call(x), x ** 3)


def test_arguments_the_program_writes_stay_untouched():
    exp = mlax.deserialize(mlax.export(lambda x: x.at[0].set(5.0) * 2)(np.zeros(3, np.float32)).serialize())
    x = mnp.asarray(np.array([1.0, 2.0, 3.0], np.float32))
    np.testing.assert_allclose(exp.call(x), [10.0, 4.0, 6.0])
    np.testing.assert_allclose(x, [1.0, 2.0, 3.0])


def test_float64_exports_take_float64_data_without_x64(x64):
    exp = mlax.export(lambda x: x / 3)(np.ones(2, np.float64))
    data = exp.serialize()
    mlax.config.update("mlax_enable_x64", False)
    out = mlax.deserialize(data).call(np.array([1.0, 2.0]))
    assert out.dtype == np.float64 and np.asarray(out).tolist() == [1 / 3, 2 / 3]


def test_float64_data_canonicalizes_for_float32_exports(affine_export):
    x = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(affine_export.call(x, x), affine_numpy(x, x), rtol=1e-6)


# Loads an export in a new process that never imports the test module, counting traces and
# IREE compiler invocations; reads the path from argv and the same bytes from stdin.
_FRESH_PROCESS = """
import collections, json, sys
import numpy as np
from iree.compiler.api import Session
import mlax
from mlax.runtime import pipeline

traces, invocations = [], []
pipeline.trace_observers.append(traces.append)
original = Session.invocation
Session.invocation = lambda self: invocations.append(1) or original(self)
from_file = mlax.load(sys.argv[1])
from_bytes = mlax.deserialize(sys.stdin.buffer.read())
x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
Params = collections.namedtuple("Params", "w b")  # the same name and fields as the exporter's
params = Params(np.arange(12, dtype=np.float32).reshape(3, 4) / 10, np.full(4, 0.5, np.float32))
outs = [exp.call(params, x, scale=2.0) for exp in (from_file, from_bytes)]
print(json.dumps({"traces": len(traces), "invocations": len(invocations), "tree": repr(from_file.out_tree),
                  "outs": [[np.asarray(a).tolist() for a in mlax.tree_util.tree_leaves(out)] for out in outs]}))
"""


def test_a_fresh_process_calls_the_export_without_tracing_or_compiling(layer_export, tmp_path):
    path = tmp_path / "layer.mlaxpkg"
    layer_export.save(path)
    assert path.read_bytes() == layer_export.serialize()
    done = subprocess.run([sys.executable, "-c", _FRESH_PROCESS, str(path)], input=layer_export.serialize(),
                          capture_output=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert (result["traces"], result["invocations"]) == (0, 0)
    assert result["tree"] == "{'h': *, 'stats': [*, *]}"
    want = mlax.tree_util.tree_leaves(layer_numpy(PARAMS, X, scale=2.0))
    for leaves in result["outs"]:
        for got, expected in zip(leaves, want, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_one_export_carries_several_targets():
    exp = mlax.export(affine, platforms=("cpu", "CUDA", "cpu"))(np.ones(3, np.float32), np.ones(3, np.float32))
    assert exp.platforms == ("cpu", "cuda")
    again = mlax.deserialize(exp.serialize())
    assert again.platforms == ("cpu", "cuda")
    assert b"embedded-elf-" in again.vmfb("cpu") and b"cuda-nvptx-fb" in again.vmfb("cuda")
    x = np.array([0.5, 1.0, 2.0], np.float32)
    np.testing.assert_allclose(again.call(x, x), affine_numpy(x, x), rtol=1e-6)
    with pytest.raises(errors.BackendError, match=r"^this export has no 'rocm' target; its targets: \['cpu', 'cuda'\]$"):
        again.vmfb("rocm")


def test_call_without_a_target_for_this_platform_names_the_targets():
    exp = mlax.export(affine, platforms="cuda")(np.ones(3, np.float32), np.ones(3, np.float32))
    with pytest.raises(errors.BackendError) as error:
        exp.call(np.ones(3, np.float32), np.ones(3, np.float32))
    assert str(error.value).startswith("affine was exported for ['cuda'], not for the current platform 'cpu': ")


def test_unknown_platform_is_refused_at_export():
    with pytest.raises(errors.BackendError, match=r"^unknown backend 'tpu'; mlax knows \['cpu', 'cuda', "):
        mlax.export(affine, platforms=("cpu", "tpu"))


@pytest.mark.skipif(not os.path.exists(IREE_RUN_MODULE), reason="iree-run-module is not installed")
def test_the_vmfb_inside_runs_with_iree_run_module(affine_export, tmp_path):
    module = tmp_path / "affine.vmfb"
    module.write_bytes(affine_export.vmfb("cpu"))
    x, y = np.array([0.0, 0.5, -2.0], np.float32), np.array([1.0, 2.0, 3.0], np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    done = subprocess.run([IREE_RUN_MODULE, f"--module={module}", "--device=local-task", "--function=main",
                           "--input=@x.npy", "--input=@y.npy", "--output=@out.npy"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), affine_numpy(x, y), rtol=1e-6)


# -- errors ---------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ((np.ones(4, np.float32), np.ones(3, np.float32)), "args[0] should be f32[3], got f32[4]"),
    ((np.ones(3, np.float32), np.ones(3, np.int32)), "args[1] should be f32[3], got i32[3]"),
    ((np.ones(3, np.float32), 2), "args[1] should be f32[3], got i32[]"),
    ((np.ones(3, np.float32),), "the arguments have structure ((*,), {}), but the export takes ((*, *), {})"),
    (([np.ones(3, np.float32)], np.ones(3, np.float32)),
     "the arguments have structure (([*], *), {}), but the export takes ((*, *), {})"),
], ids=["shape", "dtype", "scalar", "count", "structure"])
def test_call_checks_arguments_against_the_signature(affine_export, args, message):
    with pytest.raises(TypeError) as error:
        affine_export.call(*args)
    assert str(error.value) == f"Exported.call of affine: {message}"


def test_call_names_the_path_of_a_bad_leaf(layer_export):
    bad = Params(PARAMS.w, np.ones(5, np.float32))
    with pytest.raises(TypeError, match=r"^Exported.call of layer: args\[0\]\.b should be f32\[4\], got f32\[5\]$"):
        layer_export.call(bad, X, scale=2.0)
    with pytest.raises(TypeError, match=r"^Exported.call of layer: kwargs\['scale'\] should be f32\[\], "):
        layer_export.call(PARAMS, X, scale=np.ones(2, np.float32))


class Box:
    def __init__(self, value):
        self.value = value


mlax.tree_util.register_pytree_node(Box, lambda b: ([b.value], None), lambda _, c: Box(c[0]))


@pytest.mark.parametrize("fun, args, message", [
    (lambda b: b.value * 2, (Box(np.ones(2, np.float32)),),
     "export cannot save a pytree holding Box: exported signatures may use tuple, list, dict, None and "
     "namedtuple containers only"),
    (lambda x: Box(x), (np.ones(2, np.float32),), "export cannot save a pytree holding Box: "),
    (lambda d: d[(1, 2)], ({(1, 2): np.ones(2, np.float32)},),
     "export cannot save the dict key (1, 2): exported dicts need str or int keys"),
], ids=["custom-input", "custom-output", "tuple-key"])
def test_export_refuses_structures_a_load_could_not_rebuild(fun, args, message):
    with pytest.raises(TypeError) as error:
        mlax.export(fun)(*args)
    assert str(error.value).startswith(message)


def split(data):
    """(header, text, modules) of a serialized export, by the documented layout."""
    _, _, size, _ = PREAMBLE.unpack_from(data)
    text = data[PREAMBLE.size:PREAMBLE.size + size]
    return json.loads(text), text, data[PREAMBLE.size + size:]


def pack(header, modules, version=1, magic=b"MLAXPKG\0"):
    text = json.dumps(header).encode()
    return PREAMBLE.pack(magic, version, len(text), hashlib.sha256(text).digest()) + text + modules


@pytest.fixture(scope="module")
def package(affine_export):
    return affine_export.serialize()


def test_the_header_is_the_documented_json(package):
    header, _, modules = split(package)
    assert PREAMBLE.unpack_from(package)[:2] == (b"MLAXPKG\0", 1)
    assert header["function"] == "affine" and header["entry"] == "main"
    assert header["in_avals"] == ["f32[3]", "f32[3]"] and header["out_avals"] == ["f32[3]"]
    assert header["out_tree"] == {"type": "leaf"}
    [target] = header["targets"]
    assert target == {"platform": "cpu", "size": len(modules), "sha256": hashlib.sha256(modules).hexdigest()}
    assert mlax.deserialize(pack(header, modules)).signature() == "affine(f32[3], f32[3]) -> f32[3]"


def test_truncation_anywhere_is_reported(package):
    _, text, _ = split(package)
    header_end = PREAMBLE.size + len(text)
    cases = {0: "preamble", 5: "preamble", 8: "preamble", 47: "preamble", 48: "header", header_end - 1: "header",
             header_end: "cpu module", header_end + 100: "cpu module", len(package) - 1: "cpu module"}
    for size, inside in cases.items():
        with pytest.raises(errors.ExportError) as error:
            mlax.deserialize(package[:size])
        needed = {"preamble": 48, "header": header_end, "cpu module": len(package)}[inside]
        assert str(error.value) == f"truncated export: it ends at byte {size}, inside the {inside} " \
                                   f"(which needs {needed} bytes)"


def test_a_file_cut_short_on_disk_is_reported(package, tmp_path):
    path = tmp_path / "cut.mlaxpkg"
    path.write_bytes(package[:len(package) // 2])
    with pytest.raises(errors.ExportError, match="^truncated export: "):
        mlax.load(path)


@pytest.mark.parametrize("damage, message", [
    (lambda p: b"PK\x03\x04" + p[4:], "not an mlax export: it starts with b'PK\\x03\\x04PKG\\x00', not the magic "
                                      "bytes b'MLAXPKG\\x00'"),
    (lambda p: p[:8] + struct.pack("<I", 2) + p[12:], "unsupported export format version 2: this mlax reads "
                                                      "version 1"),
    (lambda p: p[:60] + bytes([p[60] ^ 1]) + p[61:], "corrupted export: the header does not match its checksum"),
    (lambda p: p[:-50] + bytes([p[-50] ^ 0xFF]) + p[-49:],
     "corrupted export: the cpu module does not match its checksum"),
    (lambda p: p[:-5000] + bytes([p[-5000] ^ 0x10]) + p[-4999:],
     "corrupted export: the cpu module does not match its checksum"),
    (lambda p: p + b"\0", "corrupted export: 1 unexpected bytes after its last module"),
], ids=["magic", "version", "header-bit", "module-byte", "module-bit", "trailing"])
def test_damaged_files_are_reported(package, damage, message):
    with pytest.raises(errors.ExportError) as error:
        mlax.deserialize(damage(package))
    assert str(error.value) == message


def test_malformed_header_with_a_valid_checksum_is_reported(package):
    header, _, modules = split(package)
    del header["in_tree"]
    with pytest.raises(errors.ExportError, match=r"^malformed export header \(KeyError: 'in_tree'\)$"):
        mlax.deserialize(pack(header, modules))
    header["targets"] = "cpu"
    with pytest.raises(errors.ExportError, match=r"^malformed export header \(TypeError: "):
        mlax.deserialize(pack(header, modules))


def test_a_module_iree_rejects_is_reported_on_call(package):
    header, _, _ = split(package)
    junk = b"not a flatbuffer" * 8
    header["targets"][0].update(size=len(junk), sha256=hashlib.sha256(junk).hexdigest())
    exp = mlax.deserialize(pack(header, junk))
    with pytest.raises(errors.ExportError) as error:
        exp.call(np.ones(3, np.float32), np.ones(3, np.float32))
    assert str(error.value).startswith(f"the IREE runtime {export_lib.runtime_version.VERSION} cannot load the cpu "
                                       f"module of this export (compiled by IREE {header['iree_version']}): ")
