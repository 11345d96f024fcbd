import Foundation
public import GaiaCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How to start one instance of a function.
public struct WorkerConfiguration: Sendable {
    /// The real Python interpreter (see `PythonInterpreter.resolve`).
    public var python: String
    /// The function's folder.
    public var functionDirectory: String
    /// The handler's file, relative to `functionDirectory`.
    public var entryPoint: String
    /// The handler's name.
    public var handler: String
    /// The function's name, shown to the handler as `context.function_name`.
    public var functionName: String
    /// The rung the instance runs on.
    public var backend: Backend
    /// The cores the instance is pinned to (empty: no pinning).
    public var cpus: [Int]
    /// Where the instance's stdout and stderr go.
    public var logPath: String
    /// Address-space limit of the instance in MiB (RLIMIT_AS); 0 for none.
    public var memoryLimitMB: Int
    /// Requests one instance runs at once (the shim's thread pool); 1 runs them one by one.
    public var concurrency: Int
    /// The rung's environment (thread counts, the visible GPU, `GAIA_DEVICE`), from
    /// `Machine.environment(for:)`, and any extra variables.
    public var environment: [String: String]
    /// The fork server to fork the instance from, or nil to start a fresh process.
    public var zygote: Zygote?
    /// Largest response the instance may send; a larger one fails its request (502, saying so)
    /// and the instance, and is never read into memory.
    public var maxResponseBytes = WorkerFrame.maxBodyBytes
    /// How the instance is confined (nil: it runs as the server's user, with no_new_privs only).
    public var sandbox: FunctionSandbox?
    /// Whose entry point the handler is: the shim adapts another platform's to `handle(payload, context)`.
    public var convention: HandlerConvention = .gaia

    /// Creates a configuration.
    public init(
        python: String, functionDirectory: String, entryPoint: String = "handler.py", handler: String = "handle",
        functionName: String, backend: Backend, cpus: [Int] = [], logPath: String, memoryLimitMB: Int = 0,
        concurrency: Int = 1, environment: [String: String]? = nil, zygote: Zygote? = nil
    ) {
        self.zygote = zygote
        self.concurrency = max(1, concurrency)
        self.python = python
        self.functionDirectory = functionDirectory
        self.entryPoint = entryPoint
        self.handler = handler
        self.functionName = functionName
        self.backend = backend
        self.cpus = cpus
        self.logPath = logPath
        self.memoryLimitMB = memoryLimitMB
        self.environment = environment ?? Machine(cpus: cpus.isEmpty ? Array(0..<backend.cpuCores) : cpus).environment(for: backend)
    }
}

/// What went wrong with a worker, for the caller and the logs.
public enum WorkerError: Error, CustomStringConvertible, Equatable {
    /// Importing the function or running its `init` failed; the worker has exited.
    case initFailed(error: String, traceback: String)
    /// The handler raised; the worker is still alive and serves the next request.
    case handlerFailed(error: String, traceback: String)
    /// The payload was refused: it could not be decoded as its content type says, or another
    /// platform's handler answered a client error (4xx); the message says which. The worker is still alive.
    case badRequest(String)
    /// The client of a streaming invocation went away and its generator was closed; the worker is still alive.
    case cancelled(String)
    /// The invocation took longer than its timeout; the worker was killed.
    case timedOut(after: Duration)
    /// The worker died (exit status, or the signal that killed it) with the end of its log.
    case crashed(status: Int32, logTail: String)
    /// The worker sent something the protocol does not allow; it was killed.
    case protocolViolation(String)
    /// The worker is not ready (still starting, busy, or dead).
    case notReady(String)
    /// The worker could not be started at all.
    case launchFailed(String)

    /// A message for a person.
    public var description: String {
        switch self {
        case .initFailed(let error, _): "the function failed to initialise: \(error)"
        case .handlerFailed(let error, _): "the handler raised \(error)"
        case .badRequest(let error): error
        case .cancelled(let why): why
        case .timedOut(let after): "the invocation exceeded its timeout of \(after); the instance was stopped"
        case .crashed(let status, let tail): "the instance exited unexpectedly (status \(status))\(tail.isEmpty ? "" : ": " + tail)"
        case .protocolViolation(let what): "\(what); the instance was stopped"
        case .notReady(let why): "the instance is not ready: \(why)"
        case .launchFailed(let why): "could not start a worker: \(why)"
        }
    }

    /// Whether the instance that raised it can keep serving (the handler's own errors).
    public var instanceSurvives: Bool {
        switch self {
        case .handlerFailed, .badRequest, .cancelled: true
        default: false
        }
    }
}

/// A worker's answer to one invocation.
public struct WorkerResponse: Sendable {
    /// The response body.
    public var body: [UInt8]
    /// Its media type (`application/json`, `text/plain; charset=utf-8`, `application/octet-stream`).
    public var contentType: String
    /// Time spent in the handler, as the worker measured it (for a batch: the whole batch's).
    public var handlerMilliseconds: Double
    /// Requests in the batch it ran in (1: alone).
    public var batchSize: Int = 1
    /// Items the handler's generator yielded, when it streamed (nil: it returned one value). Sent
    /// to the invocation's `ResponseStream` as they came, or else collected into `body`.
    public var chunks: Int?

    /// An answer.
    public init(body: [UInt8], contentType: String, handlerMilliseconds: Double, batchSize: Int = 1, chunks: Int? = nil) {
        self.body = body
        self.contentType = contentType
        self.handlerMilliseconds = handlerMilliseconds
        self.batchSize = batchSize
        self.chunks = chunks
    }
}

/// One instance: a real OS process running `gaia_worker.py` with the function loaded, reached
/// through a `WorkerTransport` (spawned fresh, or forked from the fork server).
///
/// `start()` returns once the function's `init` has run. `invoke` sends a request and waits for
/// the answer with its id; up to `concurrency` at once. One pump reads every message the worker
/// sends; when its output ends (the worker exited or was killed) or it breaks the protocol, every
/// waiting request fails with the reason, and the process is reaped.
public actor WorkerProcess {
    /// The configuration it was started with.
    public nonisolated let configuration: WorkerConfiguration
    private var transport: (any WorkerTransport)?
    /// The pump is reading the worker's messages.
    private var pumping = false
    /// `start()` waiting for the first message.
    private var startWaiter: CheckedContinuation<Void, any Error>?
    private var nextID = 0
    /// Requests (invocations and resizes) sent and not yet answered, by id.
    private var pending: [Int: CheckedContinuation<WorkerMessage, any Error>] = [:]
    /// Invocations among them.
    private var running = 0
    /// Where each running invocation's streamed chunks go: its `ResponseStream`, or collected.
    private var streamed: [Int: StreamedChunks] = [:]

    private struct StreamedChunks {
        var stream: ResponseStream?
        var body: [UInt8] = []
        var contentType: String?
    }
    /// The rung the instance runs on now (it changes with `resize`).
    public private(set) var backend: Backend
    /// The cores it is pinned to now.
    public private(set) var cpus: [Int]
    /// Requests whose watchdog fired (their instance was killed for them).
    private var timedOutIDs: [Int: Duration] = [:]
    /// Its cgroups while it runs (sandboxed instances, where cgroups can be made).
    private var cgroup: InstanceCgroup?
    /// Its exit status once reaped (nil inside: unknown), and who waits for it.
    private var reapedStatus: Int32??
    private var reapWaiters: [CheckedContinuation<Int32?, Never>] = []
    /// Why the worker ended, once known from what it said or what we did.
    private var endReason: WorkerError?
    /// `terminate()` was called (perhaps before the process existed).
    private var terminated = false
    private var ended = false
    private var endWaiters: [CheckedContinuation<Void, Never>] = []
    private(set) var ready = false
    /// Milliseconds `init` (and importing the function) took, once ready.
    public private(set) var initMilliseconds: Double = 0
    /// Milliseconds the function's `warmup` took, once ready (0 when it has none).
    public private(set) var warmupMilliseconds: Double = 0

    /// Creates a worker; nothing runs until `start()`.
    public init(configuration: WorkerConfiguration) {
        self.configuration = configuration
        self.backend = configuration.backend
        self.cpus = configuration.cpus
    }

    /// The process id, once started (0 before).
    public var pid: Int32 { transport?.pid ?? 0 }

    /// Whether it was forked from the fork server.
    public var isForked: Bool { transport is ForkedTransport }

    /// Whether the process is still running.
    public var isAlive: Bool { transport != nil && !ended }

    /// Starts the process and waits until the function is loaded and `init` has run.
    public func start(timeout: Duration = .seconds(120)) async throws {
        let c = configuration
        guard FileManager.default.fileExists(atPath: c.python) else {
            throw WorkerError.launchFailed("no Python interpreter at \(c.python)")
        }
        var environment = InheritedEnvironment.of(ProcessInfo.processInfo.environment)
        environment.merge(c.environment) { $1 }
        environment["GAIA_FUNCTION_DIR"] = c.functionDirectory
        environment["GAIA_ENTRY_POINT"] = c.entryPoint
        environment["GAIA_HANDLER"] = c.handler
        environment["GAIA_CONVENTION"] = c.convention.rawValue
        environment["GAIA_FUNCTION_NAME"] = c.functionName
        environment["GAIA_BACKEND"] = c.backend.description
        environment["GAIA_CPUS"] = c.cpus.map(String.init).joined(separator: ",")
        environment["GAIA_MEMORY_LIMIT_MB"] = String(c.memoryLimitMB)
        environment["GAIA_CONCURRENCY"] = String(c.concurrency)
        environment["PYTHONUNBUFFERED"] = "1"
        _ = FileManager.default.createFile(atPath: c.logPath, contents: nil)
        if let sandbox = c.sandbox {
            if let cgroups = sandbox.cgroups {
                let name = c.functionName + "-" + URL(fileURLWithPath: c.logPath).deletingPathExtension().lastPathComponent
                cgroup = try cgroups.makeInstance(
                    named: name, maxProcesses: sandbox.maxProcesses, memoryLimitMB: c.memoryLimitMB, cores: c.cpus.count,
                    gpu: c.backend.deviceClass == .gpu)
            }
            let uid = c.backend.deviceClass == .gpu ? sandbox.gpuUID ?? sandbox.uid : sandbox.uid
            environment.merge(
                sandbox.environment(cwd: c.functionDirectory, uid: uid, privateTemporary: c.backend.deviceClass == .cpu, cgroup: cgroup)) { $1 }
        }
        let transport: any WorkerTransport
        do {
            if let zygote = c.zygote {
                transport = try await ForkedTransport(
                    zygote: zygote, environment: environment, directory: c.functionDirectory, logPath: c.logPath, maxBodyBytes: c.maxResponseBytes)
            } else {
                transport = try SpawnedTransport(
                    python: c.python, environment: environment, directory: c.functionDirectory, logPath: c.logPath, maxBodyBytes: c.maxResponseBytes)
            }
        } catch {
            await cgroup?.release()
            throw error
        }
        self.transport = transport
        // Reaped as soon as it exits, and then whatever it started is killed: a child it left
        // holding its output open would otherwise keep its end unseen.
        Task { await self.reaped(await transport.exitStatus()) }
        if terminated {  // stopped while the process was being created
            transport.kill()
            _ = await exitStatus()
            ended = true
            throw WorkerError.notReady("it was stopped while starting")
        }
        let watchdog = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.fail(with: .timedOut(after: timeout))
        }
        defer { watchdog.cancel() }
        let messages = transport.messages
        pumping = true
        try await withCheckedThrowingContinuation { continuation in
            startWaiter = continuation
            Task { await self.pump(messages) }
        }
    }

    /// Reads the worker's messages until its output ends, then fails whatever still waits and
    /// reaps the process.
    private func pump(_ messages: AsyncThrowingStream<WorkerMessage, any Error>) async {
        do {
            for try await message in messages { handle(message) }
        } catch {
            endReason = endReason ?? .protocolViolation("\(error)")
            transport?.kill()
        }
        ready = false
        let status = await exitStatus() ?? -1
        let reason = endReason ?? .crashed(status: status, logTail: Self.tail(of: configuration.logPath))
        startWaiter?.resume(throwing: reason)
        startWaiter = nil
        for (id, continuation) in pending {
            continuation.resume(throwing: timedOutIDs[id].map { WorkerError.timedOut(after: $0) } ?? reason)
        }
        pending = [:]
        streamed = [:]
        ended = true
        for waiter in endWaiters { waiter.resume() }
        endWaiters = []
    }

    private func handle(_ message: WorkerMessage) {
        switch message {
        case .ready(let milliseconds, let warmup) where startWaiter != nil:
            transport?.connected()
            initMilliseconds = milliseconds
            warmupMilliseconds = warmup
            ready = true
            startWaiter?.resume()
            startWaiter = nil
        case .initError(let error, let traceback) where startWaiter != nil:
            transport?.connected()
            endReason = .initFailed(error: error, traceback: traceback)  // the shim exits after saying so
        case .chunk(let id, let body, let contentType):
            guard pending[id] != nil, var chunks = streamed[id] else {
                return fail(with: .protocolViolation("the worker streamed for request \(id), which is not an invocation waiting"))
            }
            if let stream = chunks.stream {
                stream.yield(body, contentType: contentType)
                return
            }
            guard chunks.body.count + body.count <= configuration.maxResponseBytes else {
                return fail(with: .protocolViolation("the streamed response is over the limit of \(configuration.maxResponseBytes) bytes"))
            }
            chunks.body += body
            chunks.contentType = chunks.contentType ?? contentType
            streamed[id] = chunks
        case .result(let id, _), .resized(let id, _, _):
            guard let continuation = pending.removeValue(forKey: id) else {
                return fail(with: .protocolViolation("the worker answered request \(id), which is not waiting"))
            }
            continuation.resume(returning: message)
        default:
            fail(with: .protocolViolation("the worker sent an unexpected message: \(message)"))
        }
    }

    /// Ends the worker for `reason` (the first reason given is kept).
    private func fail(with reason: WorkerError) {
        guard !ended else { return }
        endReason = endReason ?? reason
        transport?.kill()
    }

    /// Sends one invocation and waits for its result. On timeout the process is killed (and with it
    /// any other request it was running).
    /// A request that is part of a `batch` goes with its batch's number and size: the shim runs
    /// `handle_batch` once it has them all. A handler that streams sends its chunks to `stream` as
    /// they come (without one, they are collected into the response).
    public func invoke(
        _ body: [UInt8], contentType: String, batch: BatchFormer.Membership? = nil, timeout: Duration = .seconds(60),
        stream: ResponseStream? = nil
    ) async throws -> WorkerResponse {
        guard ready, !ended else { throw WorkerError.notReady(ended ? "it has exited" : "it has not started") }
        guard running < configuration.concurrency else {
            throw WorkerError.notReady("it is already running \(running) request(s), its limit")
        }
        running += 1
        defer { running -= 1 }
        var header: [String: JSONValue] = ["type": .string("invoke"), "content_type": .string(contentType)]
        if let batch, batch.size > 1 {
            header["batch_group"] = .number(Double(batch.group))
            header["batch_size"] = .number(Double(batch.size))
        }
        var id = 0
        let message = try await send(header, body: body, timeout: timeout) { sent in
            id = sent
            streamed[sent] = StreamedChunks(stream: stream)
            stream?.onCancel { Task { await self.cancel(sent) } }
        }
        let chunks = streamed.removeValue(forKey: id)
        switch message {
        case .result(_, .success(let body, let contentType, let milliseconds)):
            return WorkerResponse(body: body, contentType: contentType, handlerMilliseconds: milliseconds, batchSize: batch?.size ?? 1)
        case .result(_, .streamed(let count, let contentType, let milliseconds)):
            return WorkerResponse(
                body: chunks?.body ?? [], contentType: chunks?.contentType ?? contentType, handlerMilliseconds: milliseconds, chunks: count)
        case .result(_, .cancelled(let error, _)):
            throw WorkerError.cancelled(error)
        case .result(_, .handlerError(let error, let traceback, _)):
            throw WorkerError.handlerFailed(error: error, traceback: traceback)
        case .result(_, .badRequest(let error)):
            throw WorkerError.badRequest(error)
        default:
            fail(with: .protocolViolation("the worker answered an invocation with \(message)"))
            throw WorkerError.protocolViolation("the worker answered an invocation with \(message)")
        }
    }

    /// Moves the running instance to another rung of the same device class without restarting it:
    /// the shim re-pins every thread to `cpus` and sets the BLAS/OpenMP/torch thread counts to the
    /// rung's cores. Returns what the shim adjusted (`affinity`, the BLAS library, `torch`).
    @discardableResult
    public func resize(to backend: Backend, cpus: [Int], timeout: Duration = .seconds(10)) async throws -> [String] {
        guard ready, !ended else { throw WorkerError.notReady(ended ? "it has exited" : "it has not started") }
        try? cgroup?.setCPU(cores: cpus.isEmpty || self.cpus.isEmpty ? 0 : max(cpus.count, self.cpus.count))  // room for the move
        let message = try await send(
            [
                "type": .string("resize"), "backend": .string(backend.description), "cpus": .array(cpus.map { .number(Double($0)) }),
                "threads": .number(Double(cpus.isEmpty ? backend.cpuCores : cpus.count)),
            ], timeout: timeout)
        guard case .resized(_, let adjusted, let error) = message else {
            fail(with: .protocolViolation("the worker answered a resize with \(message)"))
            throw WorkerError.protocolViolation("the worker answered a resize with \(message)")
        }
        if let error { throw WorkerError.notReady("it could not be resized: \(error)") }
        try? cgroup?.setCPU(cores: cpus.count)
        self.backend = backend
        self.cpus = cpus
        return adjusted
    }

    /// Sends one request frame (an id is added, and given to `registered` before it goes) and waits
    /// for the answer with its id; past `timeout` the process is killed and the request fails as timed out.
    private func send(
        _ header: [String: JSONValue], body: [UInt8] = [], timeout: Duration, registered: (Int) -> Void = { _ in }
    ) async throws -> WorkerMessage {
        guard let transport else { throw WorkerError.notReady("it has not started") }
        nextID += 1
        let id = nextID
        registered(id)
        var header = header
        header["id"] = .number(Double(id))
        let request = try WorkerFrame(header: header, body: body).encoded()
        let watchdog = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.timeOut(id, after: timeout)
        }
        defer { watchdog.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            transport.send(request) { error in Task { await self.failPending(id, with: error) } }
        }
    }

    /// Tells the worker that invocation `id`'s client went away: its generator stops before the next item.
    private func cancel(_ id: Int) {
        guard pending[id] != nil, let transport, let frame = try? WorkerFrame(header: ["type": .string("cancel"), "id": .number(Double(id))]).encoded()
        else { return }
        transport.send(frame) { _ in }  // a worker whose input is closed is ending anyway
    }

    private func failPending(_ id: Int, with error: any Error) {
        pending.removeValue(forKey: id)?.resume(throwing: error)
    }

    private func timeOut(_ id: Int, after timeout: Duration) {
        guard pending[id] != nil else { return }
        timedOutIDs[id] = timeout
        fail(with: .timedOut(after: timeout))
    }

    /// Returns once the worker has ended (exited, crashed or been stopped) and been reaped; at once
    /// if it never started.
    public func waitUntilEnded() async {
        guard pumping && !ended else { return }
        await withCheckedContinuation { endWaiters.append($0) }
    }

    /// Stops the process (SIGKILL to its process group) and waits until it is reaped, so no process
    /// outlives it. Safe to call at any time, also while `start()` is still creating the process.
    public func terminate() async {
        terminated = true
        ready = false
        guard let transport else { return }
        fail(with: .notReady("it was stopped"))
        transport.closeInput()
        if pumping && !ended {
            await withCheckedContinuation { endWaiters.append($0) }
        } else {
            _ = await exitStatus()
        }
    }

    /// The process has exited and been reaped: what it left in its cgroup is killed, then waiters learn its status.
    private func reaped(_ status: Int32?) async {
        await cgroup?.release()
        reapedStatus = .some(status)
        for waiter in reapWaiters { waiter.resume(returning: status) }
        reapWaiters = []
    }

    /// Waits until the process has been reaped (and its cgroup emptied); its status, when known.
    private func exitStatus() async -> Int32? {
        if let reapedStatus { return reapedStatus }
        return await withCheckedContinuation { reapWaiters.append($0) }
    }

    /// The last lines of a log, for error messages.
    static func tail(of path: String, lines: Int = 5) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.suffix(2000), as: UTF8.self)
            .split(separator: "\n").suffix(lines).joined(separator: " | ")
    }

    /// The worker shim shipped with GaiaRuntime (`GAIA_WORKER_SCRIPT` overrides it).
    static func shimPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["GAIA_WORKER_SCRIPT"] { return path }
        guard let path = Bundle.module.path(forResource: "gaia_worker", ofType: "py") else {
            throw WorkerError.launchFailed("the worker shim gaia_worker.py is missing from GaiaRuntime's resources")
        }
        return path
    }
}


/// Gaia's worker shim, `gaia_worker.py`, and `gaia_platforms.py` beside it (other platforms'
/// handlers): what `gaia kube render` copies into a function's image.
public enum WorkerShim {
    /// The shim's files, by name.
    public static let files = ["gaia_worker.py", "gaia_platforms.py"]

    /// The shim's path (a resource of GaiaRuntime; `GAIA_WORKER_SCRIPT` overrides it).
    public static func path() throws -> String { try WorkerProcess.shimPath() }

    /// Copies the shim's files into `folder`; its image runs `python3 /gaia/gaia_worker.py`.
    public static func write(into folder: String) throws {
        let directory = URL(fileURLWithPath: try path()).deletingLastPathComponent()
        for name in files {
            try Data(contentsOf: directory.appendingPathComponent(name)).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
        }
    }
}
