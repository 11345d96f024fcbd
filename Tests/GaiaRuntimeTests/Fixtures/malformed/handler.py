import fcntl
import json
import os
import stat
import struct


def protocol_out():
    """The shim's private descriptor to the runtime: the write end of a pipe, or of a FIFO when forked."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            fifo = stat.S_ISFIFO(os.fstat(fd).st_mode)
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if fd > 2 and fifo and flags & os.O_ACCMODE == os.O_WRONLY:
            return fd
    raise RuntimeError("no protocol pipe found")


def frame(header):
    return struct.pack(">I", len(header)) + header + struct.pack(">I", 0)


def handle(payload, context):
    # A function that writes to the protocol itself, as untrusted code may.
    kind = payload.get("kind", "id")
    out = protocol_out()
    if kind == "garbage":
        os.write(out, frame(b"not json at all"))
    elif kind == "id":
        os.write(out, frame(json.dumps({"type": "result", "id": 1e300, "ok": True}).encode()))
    elif kind == "nan":
        os.write(out, frame(json.dumps({"type": "result", "id": float("nan"), "ok": True}).encode()))
    elif kind == "deep":  # 100,000 nested arrays: a recursive decoder would overflow its stack
        os.write(out, frame(b'{"type": "result", "id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"))
    elif kind == "huge":  # a header length of 4 GiB
        os.write(out, struct.pack(">I", 0xFFFFFFFF))
    elif kind == "endless":  # answers to requests nobody sent, without end
        forged = frame(json.dumps({"type": "result", "id": 999999, "ok": True, "duration_ms": 1}).encode())
        while True:
            os.write(out, forged * 100)
    return "written"
