"""The IREE compiler in a process of its own, so that a crash, an abort or a hang
inside it costs a compilation, not the user's process (runtime/compiler.py
starts it, talks to it and restarts it).

Run as a script (it imports nothing from mlax). It reads requests from stdin
and writes replies to its original stdout, as messages framed by `send` and
`receive`:

    request:  (global options, session flags, MLIR bytecode)
    reply:    ("ok", .vmfb bytes) or ("error", IREE's diagnostics)

IREE writes nothing to the reply stream: file descriptor 1 is pointed at
stderr before the compiler loads.
"""

import ctypes
import os
import pickle
import struct
import sys

_HEADER = struct.Struct("<Q")


def send(stream, message):
    """Write one message (any picklable value) to a binary stream."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream):
    """Read one message from a binary stream; None at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    return pickle.loads(stream.read(_HEADER.unpack(header)[0]))


def _compile(api, callback_type, enable_callback, session, bytecode):
    invocation = session.invocation()
    messages = []

    def collect(severity, message, size, user_data):
        messages.append(ctypes.string_at(message, size).decode(errors="replace"))
    callback = callback_type(collect)
    try:
        # IREE's C API hands diagnostics to a callback; its Python API only prints them.
        enable_callback(invocation._inv_p, 0, callback, None)
        invocation.parse_source(api.Source.wrap_buffer(session, bytecode))
        if not invocation.execute():
            return ("error", "\n".join(messages).strip() or "no diagnostics")
        output = api.Output.open_membuffer()
        invocation.output_vm_bytecode(output)
        vmfb = bytes(output.map_memory())
        output.close()
        return ("ok", vmfb)
    finally:
        invocation.close()


def main():
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer

    from iree.compiler import api
    from iree.compiler.api import ctypes_dl

    callback_type = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    enable_callback = ctypes_dl._dylib.ireeCompilerInvocationEnableCallbackDiagnostics
    enable_callback.argtypes = [ctypes.c_void_p, ctypes.c_int, callback_type, ctypes.c_void_p]
    enable_callback.restype = None
    sessions = {}
    initialized = False
    while True:
        request = receive(requests)
        if request is None:
            return
        global_options, flags, bytecode = request
        if not initialized:
            ctypes_dl._initializeGlobalCL("mlax-compile-worker", *global_options)
            initialized = True
        if flags not in sessions:
            sessions[flags] = api.Session()
            sessions[flags].set_flags(*flags)
        send(replies, _compile(api, callback_type, enable_callback, sessions[flags], bytecode))


if __name__ == "__main__":
    main()
