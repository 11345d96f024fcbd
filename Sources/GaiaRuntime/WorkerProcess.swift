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
    /// Extra environment variables.
    public var environment: [String: String]
    /// The fork server to fork the instance from, or nil to start a fresh process.
    public var zygote: Zygote?

    /// Creates a configuration.
    public init(
        python: String, functionDirectory: String, entryPoint: String = "handler.py", handler: String = "handle",
        functionName: String, backend: Backend, cpus: [Int] = [], logPath: String, memoryLimitMB: Int = 0,
        concurrency: Int = 1, environment: [String: String] = [:], zygote: Zygote? = nil
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
        self.environment = environment
    }
}

/// What went wrong with a worker, for the caller and the logs.
public enum WorkerError: Error, CustomStringConvertible, Equatable {
    /// Importing the function or running its `init` failed; the worker has exited.
    case initFailed(error: String, traceback: String)
    /// The handler raised; the worker is still alive and serves the next request.
    case handlerFailed(error: String, traceback: String)
    /// The invocation took longer than its timeout; the worker was killed.
    case timedOut(after: Duration)
    /// The worker died (exit status, or the signal that killed it) with the end of its log.
    case crashed(status: Int32, logTail: String)
    /// The worker is not ready (still starting, busy, or dead).
    case notReady(String)
    /// The worker could not be started at all.
    case launchFailed(String)

    /// A message for a person.
    public var description: String {
        switch self {
        case .initFailed(let error, _): "the function failed to initialise: \(error)"
        case .handlerFailed(let error, _): "the handler raised \(error)"
        case .timedOut(let after): "the invocation exceeded its timeout of \(after); the instance was stopped"
        case .crashed(let status, let tail): "the instance exited unexpectedly (status \(status))\(tail.isEmpty ? "" : ": " + tail)"
        case .notReady(let why): "the instance is not ready: \(why)"
        case .launchFailed(let why): "could not start a worker: \(why)"
        }
    }
}

/// A worker's answer to one invocation.
public struct WorkerResponse: Sendable {
    /// The response body.
    public var body: [UInt8]
    /// Its media type (`application/json`, `text/plain; charset=utf-8`, `application/octet-stream`).
    public var contentType: String
    /// Time spent in the handler, as the worker measured it.
    public var handlerMilliseconds: Double
}

/// One instance: a real OS process running `gaia_worker.py` with the function loaded.
///
/// The process is started by `start()`, which returns once the function's `init` has run.
/// `invoke` sends a request and waits for the answer with its id; up to `concurrency` at once.
public actor WorkerProcess {
    /// The configuration it was started with.
    public nonisolated let configuration: WorkerConfiguration
    private let process = Process()
    /// The child's pid when it was forked from the zygote (then `process` is unused).
    private var forkedPID: Int32?
    /// The FIFOs of a forked child, removed when it ends.
    private var fifoDirectory: String?
    /// Tells the reader of a forked child's output to stop waiting for it to connect.
    private let stopReading = StopFlag()
    private var toWorker: FileHandle?
    private var frames: AsyncStream<WorkerFrame>.Iterator?
    private var nextID = 0
    /// Requests (invocations and resizes) sent and not yet answered, by id.
    private var pending: [Int: CheckedContinuation<WorkerFrame, any Error>] = [:]
    /// Invocations among them.
    private var running = 0
    /// The rung the instance runs on now (it changes with `resize`).
    public private(set) var backend: Backend
    /// The cores it is pinned to now.
    public private(set) var cpus: [Int]
    /// Requests whose watchdog fired (their instance was killed for them).
    private var timedOutIDs: Set<Int> = []
    private var timedOut = false
    private(set) var ready = false
    /// Milliseconds `init` (and importing the function) took, once ready.
    public private(set) var initMilliseconds: Double = 0

    /// Creates a worker; nothing runs until `start()`.
    public init(configuration: WorkerConfiguration) {
        self.configuration = configuration
        self.backend = configuration.backend
        self.cpus = configuration.cpus
    }

    /// The process id, once started.
    public var pid: Int32 { forkedPID ?? process.processIdentifier }

    /// Whether it was forked from the zygote.
    public var isForked: Bool { forkedPID != nil }

    /// Whether the process is still running.
    /// (A forked child that has exited but is not yet reaped counts as gone.)
    public var isAlive: Bool { forkedPID.map(Zygote.processExists) ?? process.isRunning }

    /// Starts the process and waits until the function is loaded and `init` has run.
    public func start(timeout: Duration = .seconds(120)) async throws {
        let c = configuration
        guard FileManager.default.fileExists(atPath: c.python) else {
            throw WorkerError.launchFailed("no Python interpreter at \(c.python)")
        }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GAIA_") }
        environment.merge(c.backend.environment) { $1 }
        environment.merge(c.environment) { $1 }
        environment["GAIA_FUNCTION_DIR"] = c.functionDirectory
        environment["GAIA_ENTRY_POINT"] = c.entryPoint
        environment["GAIA_HANDLER"] = c.handler
        environment["GAIA_FUNCTION_NAME"] = c.functionName
        environment["GAIA_BACKEND"] = c.backend.description
        environment["GAIA_CPUS"] = c.cpus.map(String.init).joined(separator: ",")
        environment["GAIA_MEMORY_LIMIT_MB"] = String(c.memoryLimitMB)
        environment["GAIA_CONCURRENCY"] = String(c.concurrency)
        environment["PYTHONUNBUFFERED"] = "1"
        _ = FileManager.default.createFile(atPath: c.logPath, contents: nil)
        if let zygote = c.zygote {
            try await fork(from: zygote, environment: environment)
        } else {
            try spawn(environment: environment)
        }

        let frame = try await nextFrame(timeout: timeout)
        switch frame.header["type"]?.string {
        case "ready":
            initMilliseconds = frame.header["init_ms"]?.number ?? 0
            ready = true
            Task { await self.pump() }
        case "init_error":
            _ = await exitStatus()
            throw WorkerError.initFailed(
                error: frame.header["error"]?.string ?? "unknown error", traceback: frame.header["traceback"]?.string ?? "")
        default:
            await terminate()
            throw WorkerError.launchFailed("unexpected first message from the worker: \(frame.header)")
        }
    }

    /// Starts a fresh interpreter running the shim.
    private func spawn(environment: [String: String]) throws {
        let c = configuration
        let (input, output) = try Self.launchShim(
            process, python: c.python, environment: environment, directory: c.functionDirectory, logPath: c.logPath)
        toWorker = input
        frames = Self.readFrames(from: output).makeAsyncIterator()
    }

    /// Runs the shim in `process` with `environment`, its stderr appended to `logPath`; returns the
    /// write end of its stdin and the read end of its stdout.
    static func launchShim(
        _ process: Process, python: String, environment: [String: String], directory: String? = nil, logPath: String
    ) throws -> (input: FileHandle, output: FileHandle) {
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [try shimPath()]
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let input = Pipe()
        let output = Pipe()
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logPath) else {
            throw WorkerError.launchFailed("cannot write the log at \(logPath)")
        }
        log.seekToEndOfFile()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw WorkerError.launchFailed("\(python): \(error)")
        }
        try? log.close()
        return (input.fileHandleForWriting, output.fileHandleForReading)
    }

    /// Forks the instance from the zygote, talking to it through two FIFOs: ours are opened before
    /// the fork (input read-write, output non-blocking), so neither side's open blocks.
    private func fork(from zygote: Zygote, environment: [String: String]) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-fifo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        fifoDirectory = directory
        let inPath = directory + "/in"
        let outPath = directory + "/out"
        guard mkfifo(inPath, 0o600) == 0, mkfifo(outPath, 0o600) == 0 else {
            throw WorkerError.launchFailed("cannot create FIFOs in \(directory): \(String(cString: strerror(errno)))")
        }
        let inFD = open(inPath, O_RDWR | O_CLOEXEC)
        let outFD = open(outPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard inFD >= 0, outFD >= 0 else {
            if inFD >= 0 { close(inFD) }
            if outFD >= 0 { close(outFD) }
            throw WorkerError.launchFailed("cannot open the FIFOs in \(directory): \(String(cString: strerror(errno)))")
        }
        toWorker = FileHandle(fileDescriptor: inFD, closeOnDealloc: true)
        frames = Self.readFrames(fromFIFO: outFD, stop: stopReading).makeAsyncIterator()
        do {
            forkedPID = try await zygote.fork(
                environment: environment, directory: configuration.functionDirectory, stdin: inPath, stdout: outPath,
                log: configuration.logPath)
        } catch {
            stopReading.set()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Waits for the process to end and returns its status (negative: the signal that killed it).
    private func exitStatus() async -> Int32 {
        if let forkedPID, let zygote = configuration.zygote {
            let status = await zygote.waitForExit(forkedPID) ?? -1
            stopReading.set()
            if let fifoDirectory { try? FileManager.default.removeItem(atPath: fifoDirectory) }
            return status
        }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }

    /// Sends one invocation and waits for its result. On timeout the process is killed (and with it
    /// any other request it was running).
    public func invoke(_ body: [UInt8], contentType: String, timeout: Duration = .seconds(60)) async throws -> WorkerResponse {
        guard ready, isAlive else { throw WorkerError.notReady(ready ? "it has exited" : "it has not started") }
        guard running < configuration.concurrency else {
            throw WorkerError.notReady("it is already running \(running) request(s), its limit")
        }
        running += 1
        defer { running -= 1 }
        let frame = try await send(["type": .string("invoke"), "content_type": .string(contentType)], body: body, timeout: timeout)
        let duration = frame.header["duration_ms"]?.number ?? 0
        if frame.header["ok"]?.bool == true {
            return WorkerResponse(
                body: frame.body, contentType: frame.header["content_type"]?.string ?? "application/octet-stream",
                handlerMilliseconds: duration)
        }
        throw WorkerError.handlerFailed(
            error: frame.header["error"]?.string ?? "unknown error", traceback: frame.header["traceback"]?.string ?? "")
    }

    /// Moves the running instance to another rung of the same device class without restarting it:
    /// the shim re-pins every thread to `cpus` and sets the BLAS/OpenMP/torch thread counts to the
    /// rung's cores. Returns what the shim adjusted (`affinity`, the BLAS library, `torch`).
    @discardableResult
    public func resize(to backend: Backend, cpus: [Int], timeout: Duration = .seconds(10)) async throws -> [String] {
        guard ready, isAlive else { throw WorkerError.notReady(ready ? "it has exited" : "it has not started") }
        let frame = try await send(
            [
                "type": .string("resize"), "backend": .string(backend.description), "cpus": .array(cpus.map { .number(Double($0)) }),
                "threads": .number(Double(backend.hostCores)),
            ], timeout: timeout)
        guard frame.header["ok"]?.bool == true else {
            throw WorkerError.notReady("it could not be resized: \(frame.header["error"]?.string ?? "unknown error")")
        }
        self.backend = backend
        self.cpus = cpus
        return frame.header["adjusted"]?.array?.compactMap(\.string) ?? []
    }

    /// Sends one request frame (an id is added) and waits for the answer with its id; past
    /// `timeout` the process is killed and the request fails as timed out.
    private func send(_ header: [String: JSONValue], body: [UInt8] = [], timeout: Duration) async throws -> WorkerFrame {
        nextID += 1
        let id = nextID
        var header = header
        header["id"] = .number(Double(id))
        let request = try WorkerFrame(header: header, body: body).encoded()
        let pid = self.pid
        let watchdog = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.timeOut(id, after: timeout, pid: pid)
        }
        defer { watchdog.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            do {
                try toWorker?.write(contentsOf: request)
            } catch {
                pending.removeValue(forKey: id)?.resume(throwing: WorkerError.notReady("its input is closed (\(error))"))
            }
        }
    }

    private func timeOut(_ id: Int, after timeout: Duration, pid: Int32) {
        guard pending[id] != nil else { return }
        timedOutIDs.insert(id)
        kill(pid, SIGKILL)
        lastTimeout = timeout
    }

    private var lastTimeout: Duration = .zero

    /// Reads answers and hands each to the request with its id; when the output ends (the process
    /// died or was killed) every pending request fails.
    private func pump() async {
        while true {
            var iterator = frames
            let frame = await iterator?.next(isolation: self)
            frames = iterator
            guard let frame else { break }
            guard let id = frame.header["id"]?.number.map(Int.init) else { continue }
            pending.removeValue(forKey: id)?.resume(returning: frame)
        }
        ready = false
        let status = await exitStatus()
        let crash = WorkerError.crashed(status: status, logTail: Self.tail(of: configuration.logPath))
        for (id, continuation) in pending {
            continuation.resume(throwing: timedOutIDs.contains(id) ? WorkerError.timedOut(after: lastTimeout) : crash)
        }
        pending = [:]
    }

    /// Stops the process (SIGKILL if it is still running) and reaps it, so no process outlives it.
    public func terminate() async {
        ready = false
        try? toWorker?.close()
        toWorker = nil
        if let forkedPID {
            kill(forkedPID, SIGKILL)
            _ = await exitStatus()
            return
        }
        stopReading.set()
        if let fifoDirectory { try? FileManager.default.removeItem(atPath: fifoDirectory) }
        guard process.processIdentifier != 0 else { return }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Waits for the next frame, killing the process if `timeout` passes first.
    private func nextFrame(timeout: Duration) async throws -> WorkerFrame {
        timedOut = false
        let pid = self.pid
        let watchdog = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.markTimedOut()
            kill(pid, SIGKILL)
        }
        defer { watchdog.cancel() }
        var iterator = frames
        let frame = await iterator?.next(isolation: self)
        frames = iterator
        guard let frame else {
            throw await startFailure(timeout: timeout)
        }
        return frame
    }

    private func markTimedOut() { timedOut = true }

    /// The error for a worker whose output ended before it was ready: a timeout we caused, or a crash.
    private func startFailure(timeout: Duration) async -> WorkerError {
        ready = false
        let status = await exitStatus()
        if timedOut { return .timedOut(after: timeout) }
        return .crashed(status: status, logTail: Self.tail(of: configuration.logPath))
    }

    /// The last lines of a log, for error messages.
    static func tail(of path: String, lines: Int = 5) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.suffix(2000), as: UTF8.self)
            .split(separator: "\n").suffix(lines).joined(separator: " | ")
    }

    /// Frames decoded from a forked child's output FIFO (opened non-blocking), read on a thread of
    /// their own: `poll` waits for data; before the child has opened its end there is neither data
    /// nor hang-up, so the reader waits (checking `stop`, set when the child is known to be gone);
    /// once the child's end closes, the stream finishes.
    static func readFrames(fromFIFO fd: Int32, stop: StopFlag) -> AsyncStream<WorkerFrame> {
        AsyncStream { continuation in
            let thread = Thread {
                var buffer: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                loop: while true {
                    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&p, 1, 50)
                    if ready == 0 {
                        if stop.isSet { break }
                        continue
                    }
                    if ready < 0 {
                        if errno == EINTR { continue }
                        break
                    }
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    switch n {
                    case 0: break loop  // the child closed its end
                    case ..<0:
                        if errno == EAGAIN || errno == EINTR { continue }
                        break loop
                    default:
                        buffer += chunk[0..<n]
                        while let frame = try? WorkerFrame.decode(from: &buffer) { continuation.yield(frame) }
                    }
                }
                close(fd)
                continuation.finish()
            }
            thread.start()
        }
    }

    /// Frames decoded from the worker's output, read on a thread of their own (reads block).
    static func readFrames(from handle: FileHandle) -> AsyncStream<WorkerFrame> {
        AsyncStream { continuation in
            let thread = Thread {
                var buffer: [UInt8] = []
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer += chunk
                    while let frame = try? WorkerFrame.decode(from: &buffer) { continuation.yield(frame) }
                }
                continuation.finish()
            }
            thread.start()
        }
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

/// A flag one thread sets and another polls.
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    /// Raises the flag.
    func set() { flag.withLock { $0 = true } }
    /// Whether it was raised.
    var isSet: Bool { flag.withLock { $0 } }
}

/// Finds the interpreter that `python3` really runs, once, so workers skip shims such as pyenv's.
public enum PythonInterpreter {
    /// The absolute path of the interpreter a command (`python3`, a path) runs.
    public static func resolve(_ command: String = "python3") throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command, "-c", "import sys; print(sys.executable)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw WorkerError.launchFailed("cannot run \(command): \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !path.isEmpty else {
            throw WorkerError.launchFailed("\(command) is not a working Python interpreter (install python3 or pass --python)")
        }
        return path
    }

    /// Whether `python` can import every one of `modules` (for optional frameworks).
    public static func canImport(_ modules: [String], python: String) -> Bool {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import " + modules.joined(separator: ", ")]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }
}
