"""Gaia's worker shim: runs one instance of a user's function and serves invocations.

Started by the runtime as `python gaia_worker.py`, with the function described by environment
variables (GAIA_FUNCTION_DIR, GAIA_ENTRY_POINT, GAIA_HANDLER, GAIA_CONVENTION, GAIA_FUNCTION_NAME, GAIA_BACKEND,
GAIA_CPUS, GAIA_MEMORY_LIMIT_MB, GAIA_CONCURRENCY, GAIA_DEVICE). It speaks a framed protocol on its original stdin/stdout; the user's prints go to
stderr, which the runtime captures as the instance's log.

Frame (both directions): 4-byte big-endian header length, UTF-8 JSON header, 4-byte big-endian
body length, raw body.
  worker -> runtime, once:  {"type": "ready", "pid", "init_ms", "warmup_ms"}  or  {"type": "init_error", "error", "traceback"}
                            (init_ms: import + init(context); warmup_ms: the optional warmup(context), run
                            after init and before the instance takes traffic: CUDA kernels, cuDNN autotuning)
  runtime -> worker:        {"type": "invoke", "id", "content_type"} + payload
                            {"type": "invoke", "id", "content_type", "batch_group", "batch_size"} + payload
                            (one of a batch: once all batch_size have come, handle_batch runs on them once;
                            each gets its own result, duration_ms being the batch's)
  worker -> runtime:        {"type": "result", "id", "ok": true, "duration_ms", "content_type"} + response
                            {"type": "result", "id", "ok": false, "duration_ms", "error", "traceback"}
                            {"type": "result", "id", "ok": false, "kind": "bad_request", "error"}  (payload not decodable)
                            A handler that returns a generator (sync or async) streams: each item it yields is
  worker -> runtime:        {"type": "chunk", "id", "content_type"?} + the item's bytes  (content_type on the first)
                            then the result above with an empty body and "chunks": N (or ok false: it raised midway)
  runtime -> worker:        {"type": "cancel", "id"}  (the client went away: the generator is closed before its
                            next item, and the result says {"ok": false, "kind": "cancelled"})
                            Items: bytes as they are, str as UTF-8, anything else as one JSON line (NDJSON).
  runtime -> worker:        {"type": "resize", "id", "backend", "cpus": [0, 1], "threads": 2}  (vertical scaling)
  worker -> runtime:        {"type": "resized", "id", "ok", "adjusted": ["affinity", "openblas", ...], "error"?}
Fork server (zygote): started with GAIA_ZYGOTE=1 and GAIA_PRELOAD=numpy,onnxruntime,... it imports
those modules once (never initialising CUDA), says {"type": "ready", "pid", "preloaded": [...]}, then
serves on stdin/stdout:
  runtime -> zygote:  {"type": "fork", "id", "env": {...}, "cwd", "stdin": FIFO, "stdout": FIFO, "log": path}
  zygote -> runtime:  {"type": "forked", "id", "pid"}  or  {"type": "fork_error", "id", "error"}
                      {"type": "exited", "pid", "status"}   (a child ended and was reaped; status < 0: signal)
When its stdin closes (it was retired for a zygote with more modules) it forks no more, goes on
reaping and reporting its children, and exits once the last has ended.
The child leads a process group of its own, opens the FIFOs as its stdin/stdout and the log as
stderr, takes the given environment and runs this shim's main(): from there it is an ordinary instance.
Sandbox: with GAIA_SANDBOX set (the runtime runs as root), main() confines the instance before it
loads the function (enter_sandbox: cgroups, a mount namespace, its own uid, no_new_privs); a
failure there is its init_error.
HTTP mode (the container image of a function on Knative, `gaia kube render`): with GAIA_HTTP_PORT
set, the shim loads the function the same way and serves HTTP on that port instead of the
protocol: POST / with the payload (JSON or bytes) answers the handler's result with headers
Gaia-Duration-Ms; a handler error answers 500 {"error", "traceback"}, a payload that is not the
JSON it claims 400; GET /healthz answers 200 once init and warmup have run (Knative's readiness
probe). Requests run on threads (Knative's containerConcurrency bounds them). A generator's items
go out as HTTP chunks as they are produced.
A handler written for another platform (GAIA_CONVENTION other than "gaia": Cog, LitServe, RunPod,
AWS Lambda...) is adapted by gaia_platforms.py, beside this file, to handle(payload, context).
Standard library only.
"""
import collections
import copy
import importlib
import importlib.util
import json
import os
import resource
import select
import signal
import struct
import sys
import threading
import time
import traceback
import types

import gaia_platforms  # beside this file: other platforms' handlers (imported before any sandbox hides it)


def read_exact(stream, n):
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def read_frame(stream):
    raw = read_exact(stream, 4)
    if raw is None:
        return None, None
    header = json.loads(read_exact(stream, struct.unpack(">I", raw)[0]))
    body = read_exact(stream, struct.unpack(">I", read_exact(stream, 4))[0])
    return header, body


def write_frame(stream, header, body=b""):
    encoded = json.dumps(header).encode()
    stream.write(struct.pack(">I", len(encoded)) + encoded + struct.pack(">I", len(body)) + body)
    stream.flush()


class TimestampedLines:
    """The instance log as the function's prints and logging reach it: each line begins with its
    time, UTC to the millisecond (`2026-12-07T23:40:01.123Z `), which `gaia logs --since` and
    `--follow` read. What native code writes to the descriptor itself goes unstamped."""

    def __init__(self, stream):
        self.stream = stream
        self.at_line_start = True
        self.lock = threading.Lock()

    def write(self, text):
        if not text:
            return 0
        with self.lock:
            parts = text.split("\n")
            out = []
            for i, part in enumerate(parts):
                if i > 0:
                    out.append("\n")
                    self.at_line_start = True
                if part:
                    if self.at_line_start:
                        now = time.time()
                        out.append(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ " % int(now % 1 * 1000))
                    out.append(part)
                    self.at_line_start = False
            self.stream.write("".join(out))
        return len(text)

    def __getattr__(self, name):  # flush, fileno, encoding, isatty...: the stream's own
        return getattr(self.stream, name)


class Context:
    """What a handler learns about its invocation and instance."""

    def __init__(self, function_name, backend, cpus, device="cpu"):
        self.function_name = function_name
        self.backend = backend
        self.cpus = cpus
        # "cuda:0" on a GPU rung (the instance sees its one GPU as device 0), "cpu" elsewhere:
        # `model.to(context.device)` works unchanged on every rung.
        self.device = device
        self.request_id = None
        self.content_type = None
        # The request's body as sent (the payload is its decoded form): what other platforms'
        # HTTP-shaped handlers read.
        self.body = None


def apply_backend(cpus):
    """Pins this process to the backend's cores (the thread-count variables are set by the runtime)."""
    if cpus and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as error:
            print(f"gaia-worker: cannot pin to cores {sorted(cpus)}: {error}", file=sys.stderr)


BLAS_THREAD_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
                       "openblas_set_num_threads", "MKL_Set_Num_Threads", "omp_set_num_threads")


def resize(cpus, threads):
    """Moves the running instance to other cores without restarting it: every thread's affinity, and
    the thread count of the BLAS/OpenMP libraries loaded (through their C API, as threadpoolctl does)
    and of torch. Returns what was adjusted."""
    adjusted = []
    if cpus and hasattr(os, "sched_setaffinity"):
        for task in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(task), cpus)
            except OSError:
                pass  # the thread ended meanwhile
        adjusted.append("affinity")
    import ctypes

    libraries = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            name = os.path.basename(path).lower()
            if ".so" in name and any(k in name for k in ("blas", "mkl_rt", "gomp", "libomp", "iomp")) and path not in libraries:
                libraries.append(path)
    for path in libraries:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in BLAS_THREAD_SETTERS:
            if hasattr(library, symbol):
                getattr(library, symbol)(ctypes.c_int(threads))
                adjusted.append(os.path.basename(path).split(".so")[0])
                break
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(threads)
        adjusted.append("torch")
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[variable] = str(threads)
    return adjusted


def apply_memory_limit(megabytes):
    """Caps the instance's address space (RLIMIT_AS): allocations past it raise MemoryError."""
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def apply_gpu_memory_fraction(fraction):
    # A GPU share's memory cap, through the framework the function imported (never imported here:
    # a function without torch does not pay for it).
    torch = sys.modules.get("torch")
    if not fraction or torch is None:
        return
    try:
        if torch.cuda.is_available():
            torch.cuda.set_per_process_memory_fraction(float(fraction), 0)
    except Exception as error:  # noqa: BLE001 - the share still runs, uncapped; say so in the log
        print(f"gaia: could not cap GPU memory at {fraction}: {error}", file=sys.stderr)


MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
CLONE_NEWNS, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 0x00020000, 38, 36


def enter_sandbox():
    """Confines this instance before any of the function's code runs (GAIA_SANDBOX, set by the runtime
    when it runs as root): joins the instance's cgroups, enters a mount namespace of its own in
    which the data directory (and any folder other users cannot enter on the way to what the
    instance needs) is an empty tmpfs with only the function's code and the interpreter's prefixes
    and sys.path bound back read-only and its home writable, then drops to the function's own uid
    and gid with no supplementary groups and sets no_new_privs. Without GAIA_SANDBOX only
    no_new_privs is set. GAIA_SANDBOX is JSON: {"uid", "gid", "cwd", "hide": [folders],
    "private": [folders given an empty tmpfs of their own: /tmp, /dev/shm], "writable": [folders],
    "cgroups": [files to write "0" to]}."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def call(name, *args):
        if getattr(libc, name)(*args) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"{name}{args[:2]}: {os.strerror(error)}")

    spec = os.environ.pop("GAIA_SANDBOX", None)
    if spec:
        spec = json.loads(spec)
        for join in spec.get("cgroups", []):  # "0": this thread, the process's only one yet
            with open(join, "w") as f:
                f.write("0")
        if spec.get("hide"):
            mount_namespace(call, spec)
        os.umask(0o007)  # what it writes in its home stays its group's (GPU instances under MPS share a uid, not a gid)
        os.setgroups([])
        os.setresgid(spec["gid"], spec["gid"], spec["gid"])
        os.setresuid(spec["uid"], spec["uid"], spec["uid"])
        if os.getuid() != spec["uid"] or os.geteuid() == 0:
            raise PermissionError("the sandbox could not drop root")
    call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def mount_namespace(call, spec):
    """The instance's view of the files (see enter_sandbox)."""
    def c(text):
        return text.encode() if text is not None else None

    def mount(source, target, fstype, flags, data=None):
        call("mount", c(source), c(target), c(fstype), flags, c(data))

    def under(path, folder):
        return path == folder or path.startswith(folder.rstrip("/") + "/")

    read_only = [spec.get("cwd"), sys.prefix, sys.base_prefix, sys.exec_prefix]
    read_only += [p for p in sys.path if p and os.path.isdir(p)]
    wanted = {}
    for path, writable in [(p, False) for p in read_only if p] + [(p, True) for p in spec.get("writable", [])]:
        path = os.path.realpath(path)
        if os.path.exists(path):
            wanted[path] = wanted.get(path, False) or writable
    # Masked: the hidden folders, the private ones (an empty tmpfs anyone may write, as /tmp is),
    # and the topmost folder others cannot enter above anything wanted.
    private = {os.path.realpath(p) for p in spec.get("private", [])}
    masks = {os.path.realpath(p) for p in spec["hide"]} | private
    for path in list(wanted) + list(masks):
        parts = path.split("/")
        for depth in range(2, len(parts)):
            folder = "/".join(parts[:depth])
            if not os.stat(folder).st_mode & 0o001:
                masks.add(folder)
                break
    masks = sorted(m for m in masks if not any(o != m and under(m, o) for o in masks))
    binds = sorted(p for p in wanted if any(under(p, m) for m in masks))
    binds = [p for p in binds if not any(o != p and under(p, o) and wanted[o] == wanted[p] for o in binds)]
    call("unshare", CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Held open (in this namespace: a bind's source must be) across the masks laid over them.
    handles = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in binds}
    for folder in masks:
        mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" if folder in private else "mode=755,size=1m")
    for path in binds:
        if os.path.isdir(f"/proc/self/fd/{handles[path]}"):
            os.makedirs(path, exist_ok=True)
        elif not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
        mount(f"/proc/self/fd/{handles[path]}", path, None, MS_BIND | MS_REC)
        if not wanted[path]:
            mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(handles[path])
    # The working directory was entered before the masks: enter it again, through them.
    os.chdir(spec.get("cwd") or "/")


def load_module(directory, entry_point):
    """Imports the function's entry point as the module `gaia_function`, its folder on the path."""
    sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("gaia_function", os.path.join(directory, entry_point))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_handler(directory, entry_point, handler_name):
    module = load_module(directory, entry_point)
    handler = getattr(module, handler_name, None)
    if not callable(handler):
        raise AttributeError(f"{entry_point} defines no function '{handler_name}(payload, context)'")
    return module, handler


def decode_payload(body, content_type):
    """The handler's payload: a JSON body parsed, anything else the bytes as sent.

    JSON is what says `application/json` (or `+json`), and also a body that parses as JSON sent
    as curl's default form type or with no type at all (`curl -d '{"x": 1}'`); a JSON type that
    does not parse raises ValueError (answered 400)."""
    if not body:
        return body
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return json.loads(body)
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def encode_result(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), "application/octet-stream"
    if isinstance(value, str):
        return value.encode(), "text/plain; charset=utf-8"
    return json.dumps(value).encode(), "application/json"


def is_stream(value):
    """Whether a handler's result is a generator to stream (sync or async)."""
    return isinstance(value, (types.GeneratorType, types.AsyncGeneratorType))


def encode_chunk(item):
    """One streamed item: bytes as they are, str as UTF-8, anything else as a JSON line."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item), "application/octet-stream"
    if isinstance(item, str):
        return item.encode(), "text/plain; charset=utf-8"
    return json.dumps(item).encode() + b"\n", "application/x-ndjson"


class Stream:
    """Iterates a handler's generator (sync or async) item by item, and closes it when stopped early."""

    def __init__(self, generator):
        self.generator = generator
        self.loop = None
        if isinstance(generator, types.AsyncGeneratorType):
            import asyncio  # only for async generators: the common path never pays for it

            self.loop = asyncio.new_event_loop()

    def __iter__(self):
        return self

    def __next__(self):
        if self.loop is None:
            return next(self.generator)
        try:
            return self.loop.run_until_complete(self.generator.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self):
        try:
            if self.loop is None:
                self.generator.close()
            else:
                self.loop.run_until_complete(self.generator.aclose())
        finally:
            if self.loop is not None:
                self.loop.close()


def load_function(context):
    """Imports the function, runs its init(context) and warmup(context) (another platform's handler:
    its own setup, by gaia_platforms): (handler, handle_batch or None, init_ms, warmup_ms)."""
    started = time.perf_counter()
    warmup_ms = 0.0
    directory, entry_point = os.environ["GAIA_FUNCTION_DIR"], os.environ.get("GAIA_ENTRY_POINT", "handler.py")
    handler_name, convention = os.environ.get("GAIA_HANDLER", "handle"), os.environ.get("GAIA_CONVENTION", "gaia")
    apply_gpu_memory_fraction(os.environ.get("GAIA_GPU_MEMORY_FRACTION"))
    if convention != "gaia":
        adapter = gaia_platforms.load(convention, lambda: load_module(directory, entry_point), handler_name, context, directory)
        return adapter.handle, adapter.handle_batch, (time.perf_counter() - started) * 1000, 0.0
    module, handler = load_handler(directory, entry_point, handler_name)
    init = getattr(module, "init", None)
    if callable(init):
        init(context)
    init_ms = (time.perf_counter() - started) * 1000
    warmup = getattr(module, "warmup", None)
    if callable(warmup):
        warmup(context)
        warmup_ms = (time.perf_counter() - started) * 1000 - init_ms
    handle_batch = getattr(module, "handle_batch", None)
    return handler, handle_batch if callable(handle_batch) else None, init_ms, warmup_ms


def serve_http(port):
    """HTTP mode: the function behind POST / and GET /healthz on `port` (see the module's docstring)."""
    import http.server  # only in HTTP mode: the protocol path never pays for it

    context = Context(os.environ.get("GAIA_FUNCTION_NAME", ""), os.environ.get("GAIA_BACKEND", ""), [],
                      os.environ.get("GAIA_DEVICE", "cpu"))
    try:
        handler, _, init_ms, warmup_ms = load_function(context)
    except BaseException:  # noqa: BLE001 - the container exits; Knative reports it and retries
        traceback.print_exc()
        return 3
    print(f"gaia_worker: {context.function_name} ready on port {port} (init {init_ms:.1f} ms, warmup {warmup_ms:.1f} ms)",
          file=sys.stderr, flush=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body, content_type, headers=()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/healthz":
                self.answer(200, b'{"status":"ok"}', "application/json")
            else:
                self.answer(404, b'{"error":"POST the payload to /"}', "application/json")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = copy.copy(context)
            request.request_id = self.headers.get("X-Request-Id")
            request.content_type = self.headers.get("Content-Type", "application/octet-stream")
            request.body = body
            try:
                payload = decode_payload(body, request.content_type)
            except ValueError as error:
                message = f"the body is not valid JSON ({error}); send JSON or another content type"
                self.answer(400, json.dumps({"error": message}).encode(), "application/json")
                return
            start = time.perf_counter()
            try:
                result = handler(payload, request)
                if is_stream(result):
                    return self.stream(result)
                response, content_type = encode_result(result)
                status = 200
            except gaia_platforms.Rejected as error:  # another platform's handler answered a client error
                response, content_type, status = json.dumps({"error": str(error)}).encode(), "application/json", 400
            except Exception as error:  # noqa: BLE001 - the handler's error goes back to the caller
                response = json.dumps({"error": f"{type(error).__name__}: {error}",
                                       "traceback": traceback.format_exc(limit=8)}).encode()
                content_type, status = "application/json", 500
            duration = f"{(time.perf_counter() - start) * 1000:.3f}"
            self.answer(status, response, content_type, [("Gaia-Duration-Ms", duration)])

        def stream(self, generator):
            # A generator's items as HTTP chunks, each as it is produced; a client that goes away
            # closes the generator.
            items, started = Stream(generator), False
            try:
                for item in items:
                    data, content_type = encode_chunk(item)
                    if not started:
                        self.send_response(200)
                        self.send_header("Content-Type", content_type)
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        started = True
                    if data:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                if not started:
                    return self.answer(200, b"", "application/octet-stream")
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True  # the client went away
            except Exception as error:  # noqa: BLE001 - before the first item: a 500; after: the stream is cut
                if not started:
                    return self.answer(500, json.dumps({"error": f"{type(error).__name__}: {error}",
                                                        "traceback": traceback.format_exc(limit=8)}).encode(), "application/json")
                traceback.print_exc()
                self.close_connection = True
            finally:
                items.close()

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

    server = http.server.ThreadingHTTPServer(("", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


def main():
    if os.environ.get("GAIA_HTTP_PORT"):
        return serve_http(int(os.environ["GAIA_HTTP_PORT"]))
    # Keep the protocol on private descriptors; route the user's stdout to stderr (the log).
    protocol_in = os.fdopen(os.dup(0), "rb", buffering=0)
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = sys.stderr = TimestampedLines(sys.stderr)

    try:
        enter_sandbox()
    except BaseException as error:  # noqa: BLE001 - an instance that cannot be confined never runs the function
        write_frame(protocol_out, {"type": "init_error", "error": f"the instance could not be sandboxed: {type(error).__name__}: {error}",
                                   "traceback": traceback.format_exc(limit=8)})
        return 3
    cpus = {int(c) for c in os.environ.get("GAIA_CPUS", "").split(",") if c.strip()}
    if os.environ.get("GAIA_FORKED"):
        # Forked from the zygote: its libraries were loaded with one thread; size them for this rung.
        resize(cpus, max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1)))
    else:
        apply_backend(cpus)
    apply_memory_limit(int(os.environ.get("GAIA_MEMORY_LIMIT_MB", "0") or 0))
    context = Context(os.environ.get("GAIA_FUNCTION_NAME", ""), os.environ.get("GAIA_BACKEND", ""), sorted(cpus),
                      os.environ.get("GAIA_DEVICE", "cpu"))
    try:
        handler, handle_batch, init_ms, warmup_ms = load_function(context)
    except BaseException as error:  # noqa: BLE001 - every failure is reported, then the worker exits
        write_frame(protocol_out, {"type": "init_error", "error": f"{type(error).__name__}: {error}",
                                   "traceback": traceback.format_exc(limit=8)})
        return 3
    write_frame(protocol_out, {"type": "ready", "pid": os.getpid(), "init_ms": round(init_ms, 3),
                               "warmup_ms": round(warmup_ms, 3)})

    concurrency = max(1, int(os.environ.get("GAIA_CONCURRENCY", "1") or 1))
    write_lock = threading.Lock()
    pool = None
    cancelled = set()  # ids of streams whose client went away
    backlog = collections.deque()  # frames read while a stream ran on the reading thread

    def take_cancels():
        # One request at a time: the stream runs on the thread that reads the protocol, so look at
        # what came meanwhile (a cancel is noted, anything else waits its turn). With a pool the
        # main loop reads every frame and notes cancels itself.
        if pool is not None:
            return
        while not (backlog and backlog[-1][0] is None) and select.select([protocol_in], [], [], 0)[0]:
            header, body = read_frame(protocol_in)
            kind = header.get("type") if header is not None else None
            if kind == "cancel":
                cancelled.add(header.get("id"))
            elif kind == "resize":
                apply_resize(header)  # between two items: a long stream does not hold a rung switch up
            else:
                backlog.append((header, body))

    def apply_resize(header):
        try:
            new_cpus = {int(c) for c in header.get("cpus", [])}
            adjusted = resize(new_cpus, max(1, int(header.get("threads", 1))))
            context.cpus = sorted(new_cpus)
            context.backend = header.get("backend", context.backend)
            reply = {"type": "resized", "id": header.get("id"), "ok": True, "adjusted": adjusted}
        except Exception as error:  # noqa: BLE001 - reported; the instance keeps its old size
            reply = {"type": "resized", "id": header.get("id"), "ok": False, "error": f"{type(error).__name__}: {error}"}
        with write_lock:
            write_frame(protocol_out, reply)

    def stream(header, generator, start):
        # Each item goes out as a chunk frame as soon as it is produced; the result closes the stream.
        rid = header.get("id")
        items = Stream(generator)
        chunks, content_type = 0, "application/octet-stream"
        try:
            for item in items:
                data, kind = encode_chunk(item)
                frame = {"type": "chunk", "id": rid}
                if chunks == 0:
                    frame["content_type"] = content_type = kind
                with write_lock:
                    write_frame(protocol_out, frame, data)
                chunks += 1
                take_cancels()
                if rid in cancelled:
                    return ({"type": "result", "id": rid, "ok": False, "kind": "cancelled",
                             "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                             "error": f"the client went away after {chunks} chunk(s); the generator was closed"}, b"")
            return ({"type": "result", "id": rid, "ok": True, "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                     "content_type": content_type, "chunks": chunks}, b"")
        finally:
            cancelled.discard(rid)
            items.close()  # stopped early: GeneratorExit in the handler, so its finally blocks run

    def serve(header, body):
        request = copy.copy(context)
        request.request_id = header.get("id")
        request.content_type = header.get("content_type", "application/octet-stream")
        request.body = body
        start = time.perf_counter()
        try:
            payload = decode_payload(body, request.content_type)
        except ValueError as error:
            with write_lock:
                write_frame(protocol_out, {"type": "result", "id": header.get("id"), "ok": False, "kind": "bad_request",
                                           "error": f"the body is not valid JSON ({error}); send JSON or another content type"})
            return
        try:
            result = handler(payload, request)
            if is_stream(result):
                reply = stream(header, result, start)
            else:
                response, content_type = encode_result(result)
                reply = ({"type": "result", "id": header.get("id"), "ok": True,
                          "duration_ms": round((time.perf_counter() - start) * 1000, 3), "content_type": content_type}, response)
        except gaia_platforms.Rejected as error:  # another platform's handler answered a client error
            reply = ({"type": "result", "id": header.get("id"), "ok": False, "kind": "bad_request", "error": str(error)}, b"")
        except Exception as error:  # noqa: BLE001 - the handler's error goes back to the caller
            reply = ({"type": "result", "id": header.get("id"), "ok": False,
                      "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                      "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc(limit=8)}, b"")
        with write_lock:
            write_frame(protocol_out, *reply)

    batches = {}

    def serve_batch(frames):
        # Every request of a batch in one handle_batch call; a bad payload or an item that is an
        # exception fails only its own request; an exception from handle_batch fails them all.
        request = copy.copy(context)
        request.request_id = [h.get("id") for h, _ in frames]
        good = []
        for header, body in frames:
            content_type = header.get("content_type", "application/octet-stream")
            try:
                good.append((header, decode_payload(body, content_type)))
            except ValueError as error:
                with write_lock:
                    write_frame(protocol_out, {"type": "result", "id": header.get("id"), "ok": False, "kind": "bad_request",
                                               "error": f"the body is not valid JSON ({error}); send JSON or another content type"})
        if not good:
            return
        start = time.perf_counter()
        try:
            results = list(handle_batch([payload for _, payload in good], request))
            if len(results) != len(good):
                raise ValueError(f"handle_batch returned {len(results)} results for {len(good)} payloads")
            failure = None
        except Exception as error:  # noqa: BLE001 - the batch's error goes to each of its callers
            results, failure = [None] * len(good), (f"{type(error).__name__}: {error}", traceback.format_exc(limit=8))
        duration = round((time.perf_counter() - start) * 1000, 3)
        for (header, _), result in zip(good, results):
            reply = None
            if failure is None and not isinstance(result, BaseException):
                try:
                    response, content_type = encode_result(result)
                    reply = ({"type": "result", "id": header.get("id"), "ok": True, "duration_ms": duration,
                              "content_type": content_type}, response)
                except Exception as error:  # noqa: BLE001 - one unencodable result fails its own request
                    result = error
            if reply is None:
                error, trace = failure or (f"{type(result).__name__}: {result}", "")
                reply = ({"type": "result", "id": header.get("id"), "ok": False, "duration_ms": duration,
                          "error": error, "traceback": trace}, b"")
            with write_lock:
                write_frame(protocol_out, *reply)

    # One request at a time by default; with GAIA_CONCURRENCY > 1, that many on a thread pool.
    if concurrency > 1:
        import concurrent.futures  # only when needed: it costs ~5 ms of every cold start

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency)
    while True:
        header, body = backlog.popleft() if backlog else read_frame(protocol_in)
        if header is None:
            if pool:
                pool.shutdown(wait=True)
            return 0
        if header.get("type") == "cancel":
            cancelled.add(header.get("id"))  # a stream still running stops before its next item
            continue
        if header.get("type") == "resize":
            apply_resize(header)
            continue
        group = header.get("batch_group")
        if group is not None and callable(handle_batch):
            frames = batches.setdefault(group, [])
            frames.append((header, body))
            if len(frames) >= int(header.get("batch_size", 1)):
                del batches[group]
                serve_batch(frames)
            continue
        if pool:
            pool.submit(serve, header, body)
        else:
            serve(header, body)


def zygote():
    """The fork server: preloads modules, then forks instances on request and reaps them."""
    protocol_in = os.fdopen(os.dup(0), "rb", buffering=0)
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    preloaded = []
    for name in filter(None, os.environ.get("GAIA_PRELOAD", "").split(",")):
        try:
            importlib.import_module(name)
            preloaded.append(name)
        except Exception as error:  # noqa: BLE001 - a module that is not installed is simply not preloaded
            print(f"gaia-zygote: not preloading {name}: {type(error).__name__}: {error}", file=sys.stderr)
    # Processes an instance leaves behind come to us, not to init, and are reaped below.
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # The runtime may start us with SIGCHLD blocked (a blocked mask survives exec): unblock it, or
    # exits would never be noticed.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    write_frame(protocol_out, {"type": "ready", "pid": os.getpid(), "preloaded": preloaded})

    def reap():
        ended = set()
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return ended
            if pid == 0:
                return ended
            ended.add(pid)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            try:
                write_frame(protocol_out, {"type": "exited", "pid": pid, "status": code})
            except OSError:
                pass  # the runtime is gone; keep reaping

    children = set()
    retiring = False
    while True:
        if retiring and not children:
            return 0
        try:
            readable, _, _ = select.select([wake_read] if retiring else [protocol_in, wake_read], [], [])
        except InterruptedError:
            continue
        if wake_read in readable:
            os.read(wake_read, 512)
            children -= reap()
        if protocol_in not in readable:
            continue
        header, _ = read_frame(protocol_in)
        if header is None:
            retiring = True  # retired: no more forks; reap the children still serving, then exit
            continue
        if header.get("type") != "fork":
            continue
        try:
            pid = os.fork()
        except OSError as error:
            write_frame(protocol_out, {"type": "fork_error", "id": header.get("id"), "error": str(error)})
            continue
        if pid == 0:
            code = 70
            try:
                os.setpgid(0, 0)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, set())
                for fd in (wake_read, wake_write, protocol_in.fileno(), protocol_out.fileno()):
                    os.close(fd)
                for target, path, flags in ((2, header["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND),
                                            (0, header["stdin"], os.O_RDONLY), (1, header["stdout"], os.O_WRONLY)):
                    fd = os.open(path, flags, 0o644)
                    os.dup2(fd, target)
                    os.close(fd)
                os.environ.clear()
                os.environ.update(header["env"])
                os.environ["GAIA_FORKED"] = "1"
                os.chdir(header.get("cwd") or "/")
                code = main()
            except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code or 0)
        children.add(pid)
        write_frame(protocol_out, {"type": "forked", "id": header.get("id"), "pid": pid})


if __name__ == "__main__":
    sys.exit(zygote() if os.environ.get("GAIA_ZYGOTE") else main())
