import fcntl
import json
import os
import struct


def protocol_out():
    """The shim's private descriptor to the runtime: the write end of a pipe."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if fd > 2 and target.startswith("pipe:") and flags & os.O_ACCMODE == os.O_WRONLY:
            return fd
    raise RuntimeError("no protocol pipe found")


def handle(payload, context):
    # A function that writes to the protocol itself, as untrusted code may.
    if payload.get("garbage"):
        header = b"not json at all"
    else:
        header = json.dumps({"type": "result", "id": 1e300, "ok": True}).encode()
    os.write(protocol_out(), struct.pack(">I", len(header)) + header + struct.pack(">I", 0))
    return "written"
