import Dispatch
import Synchronization
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How the runtime talks to one worker process and controls its life: a freshly spawned
/// interpreter (`SpawnedTransport`) or a child forked from the fork server (`ForkedTransport`).
protocol WorkerTransport: Sendable {
    /// The worker's process id.
    var pid: Int32 { get }
    /// Everything the worker sends, in order; finishes when its output closes and throws
    /// `WorkerProtocolError` when it sends something malformed.
    var messages: AsyncThrowingStream<WorkerMessage, any Error> { get }
    /// Writes bytes to the worker's input after earlier ones, without ever blocking the caller;
    /// `failed` is called if its input is closed.
    func send(_ bytes: [UInt8], failed: @escaping @Sendable (any Error) -> Void)
    /// Closes the worker's input (the shim exits when it ends).
    func closeInput()
    /// Kills the worker and what it started (SIGKILL to its process group).
    func kill()
    /// Waits until the worker has ended and been reaped; its status (negative: the signal), or nil
    /// when nobody could report it (a fork server that died before its child).
    func exitStatus() async -> Int32?
    /// The worker is connected (it sent its first message): rendezvous files are no longer needed.
    func connected()
}

/// Writes to a worker's input without ever blocking the caller: what the pipe takes at once is
/// written at once (the common case: no hop), the rest on a serial queue of the writer's own, in
/// order. A worker that stops reading blocks that queue, never an actor's executor.
final class FrameWriter: Sendable {
    private let fd: Int32
    private let queue: DispatchQueue
    private let state = Mutex(State())

    private struct State {
        /// Writes handed to the queue and not finished: later writes must go behind them.
        var queued = 0
        var closed = false
    }

    /// Takes over `fd` (made non-blocking here).
    init(fd: Int32, label: String) {
        self.fd = fd
        self.queue = DispatchQueue(label: label)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Writes `bytes` after every earlier write; `failed` is called (on any thread) if the
    /// worker's input is closed.
    func submit(_ bytes: [UInt8], failed: @escaping @Sendable (any Error) -> Void) {
        let outcome = state.withLock { state -> Result<Int, any Error> in
            guard !state.closed else { return .failure(WorkerError.notReady("its input is closed")) }
            var written = 0
            if state.queued == 0 {
                switch Self.writeNow(fd, bytes) {
                case .success(let n): written = n
                case .failure(let error): return .failure(error)
                }
                if written == bytes.count { return .success(written) }
            }
            state.queued += 1
            return .success(written)
        }
        switch outcome {
        case .failure(let error): failed(error)
        case .success(let written) where written == bytes.count: return
        case .success(let written):
            queue.async {
                if case .failure(let error) = Self.writeAll(self.fd, bytes[written...]) { failed(error) }
                self.state.withLock { $0.queued -= 1 }
            }
        }
    }

    /// Writes `bytes` after every earlier write and returns once they are written.
    func write(_ bytes: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let once = Mutex(Optional(continuation))
            submit(bytes) { error in once.withLock { $0.take() }?.resume(throwing: error) }
            queue.async { once.withLock { $0.take() }?.resume() }  // after the queued part, if any
        }
    }

    /// Closes the descriptor after the writes already submitted.
    func close() {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        if first { queue.async { Glibc.close(self.fd) } }
    }

    /// Writes what the descriptor takes now; the count written, or the error (not EAGAIN).
    private static func writeNow(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Result<Int, any Error> {
        let array = Array(bytes)
        var offset = 0
        while offset < array.count {
            let n = array.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n >= 0 {
                offset += n
                continue
            }
            if errno == EINTR { continue }
            if errno == EAGAIN { break }
            return .failure(WorkerError.notReady("its input is closed (\(String(cString: strerror(errno))))"))
        }
        return .success(offset)
    }

    /// Writes everything, waiting with `poll` while the pipe is full.
    private static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Result<Void, any Error> {
        var rest = bytes
        while !rest.isEmpty {
            switch writeNow(fd, rest) {
            case .failure(let error): return .failure(error)
            case .success(let n):
                rest = rest.dropFirst(n)
                if !rest.isEmpty {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, -1)
                }
            }
        }
        return .success(())
    }
}

/// Reads frames from `fd` on a thread of its own and decodes each into a `WorkerMessage`.
///
/// `poll` waits for data; a FIFO whose writer has not opened it yet shows neither data nor hang-up,
/// so the reader keeps waiting (checking `stop`, raised when the writer is known to be gone); once
/// the writer's end closes the stream finishes. A malformed frame ends the stream with its error.
func readMessages(from fd: Int32, stop: StopFlag, name: String, maxBodyBytes: Int) -> AsyncThrowingStream<WorkerMessage, any Error> {
    AsyncThrowingStream { continuation in
        let thread = Thread {
            var buffer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            var failure: (any Error)?
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
                case 0: break loop  // the writer closed its end
                case ..<0:
                    if errno == EAGAIN || errno == EINTR { continue }
                    break loop
                default:
                    buffer += chunk[0..<n]
                    do {
                        while let frame = try WorkerFrame.decode(from: &buffer, maxBodyBytes: maxBodyBytes) { continuation.yield(try WorkerMessage(frame)) }
                    } catch {
                        failure = error
                        break loop
                    }
                }
            }
            close(fd)
            continuation.finish(throwing: failure)
        }
        thread.name = name
        thread.start()
    }
}

/// A worker started as a fresh interpreter running the shim, talking over two pipes.
final class SpawnedTransport: WorkerTransport {
    let child: ChildProcess
    let messages: AsyncThrowingStream<WorkerMessage, any Error>
    let writer: FrameWriter
    private let stopReading = StopFlag()

    var pid: Int32 { child.pid }

    /// Starts `python shim` with exactly `environment`, its stderr appended to `logPath`.
    init(python: String, environment: [String: String], directory: String?, logPath: String, maxBodyBytes: Int = WorkerFrame.maxBodyBytes) throws {
        _ = ignoreSIGPIPE
        let shim = try WorkerProcess.shimPath()
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw WorkerError.launchFailed("cannot write the log at \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(log) }
        let input = try PipeDescriptors()
        let output: PipeDescriptors
        do {
            output = try PipeDescriptors()
        } catch {
            close(input.read)
            close(input.write)
            throw error
        }
        do {
            child = try ChildProcess.spawn(
                executable: python, arguments: [shim], environment: environment, directory: directory,
                stdin: input.read, stdout: output.write, stderr: log)
        } catch {
            for fd in [input.read, input.write, output.read, output.write] { close(fd) }
            throw error
        }
        close(input.read)
        close(output.write)
        writer = FrameWriter(fd: input.write, label: "gaia-worker-\(child.pid)-in")
        messages = readMessages(from: output.read, stop: stopReading, name: "gaia-worker-\(child.pid)-out", maxBodyBytes: maxBodyBytes)
    }

    func send(_ bytes: [UInt8], failed: @escaping @Sendable (any Error) -> Void) { writer.submit(bytes, failed: failed) }
    func closeInput() { writer.close() }
    func kill() { child.signal(SIGKILL) }
    func connected() {}

    /// Once it has exited, its output is read to the end of what it wrote and no further: a child
    /// it left holding the pipe open (in a session of its own, out of reach of the group kill)
    /// would otherwise keep its end unseen.
    func exitStatus() async -> Int32? {
        let status = await child.exitStatus()
        stopReading.set()
        return status
    }
}

/// A worker forked from the fork server, talking over two FIFOs: ours are opened before the fork
/// (input read-write, output non-blocking), so neither side's open blocks. The FIFOs are removed as
/// soon as the child has opened them (its first message), or when the start fails.
final class ForkedTransport: WorkerTransport {
    let pid: Int32
    let messages: AsyncThrowingStream<WorkerMessage, any Error>
    private let zygote: Zygote
    private let writer: FrameWriter
    private let stopReading: StopFlag
    private let fifoDirectory: String

    /// Asks `zygote` for a child with exactly `environment` in `directory`, logging to `logPath`.
    init(zygote: Zygote, environment: [String: String], directory: String, logPath: String, maxBodyBytes: Int) async throws {
        _ = ignoreSIGPIPE
        let fifos = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-fifo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: fifos, withIntermediateDirectories: true)
        let inPath = fifos + "/in"
        let outPath = fifos + "/out"
        guard mkfifo(inPath, 0o600) == 0, mkfifo(outPath, 0o600) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: fifos)
            throw WorkerError.launchFailed("cannot create FIFOs in \(fifos): \(reason)")
        }
        let inFD = open(inPath, O_RDWR | O_CLOEXEC)
        let outFD = open(outPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard inFD >= 0, outFD >= 0 else {
            let reason = String(cString: strerror(errno))
            if inFD >= 0 { close(inFD) }
            if outFD >= 0 { close(outFD) }
            try? FileManager.default.removeItem(atPath: fifos)
            throw WorkerError.launchFailed("cannot open the FIFOs in \(fifos): \(reason)")
        }
        let stop = StopFlag()
        let messages = readMessages(from: outFD, stop: stop, name: "gaia-forked-out", maxBodyBytes: maxBodyBytes)
        let writer = FrameWriter(fd: inFD, label: "gaia-forked-in")
        do {
            pid = try await zygote.fork(environment: environment, directory: directory, stdin: inPath, stdout: outPath, log: logPath)
        } catch {
            stop.set()
            writer.close()
            try? FileManager.default.removeItem(atPath: fifos)
            throw error
        }
        self.zygote = zygote
        self.messages = messages
        self.writer = writer
        self.stopReading = stop
        self.fifoDirectory = fifos
    }

    func send(_ bytes: [UInt8], failed: @escaping @Sendable (any Error) -> Void) { writer.submit(bytes, failed: failed) }
    func closeInput() { writer.close() }

    func kill() {
        // The child leads its own process group (the shim calls setpgid): kill what it started too.
        guard Zygote.processExists(pid) else { return }
        if Glibc.kill(-pid, SIGKILL) != 0 { Glibc.kill(pid, SIGKILL) }
    }

    func exitStatus() async -> Int32? {
        let status = await zygote.waitForExit(pid)
        stopReading.set()
        connected()
        return status
    }

    func connected() { try? FileManager.default.removeItem(atPath: fifoDirectory) }
}

/// Writes to a worker whose reading end closed fail with EPIPE instead of killing the server.
private let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

/// A flag one thread sets and another polls.
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    /// Raises the flag.
    func set() { flag.withLock { $0 = true } }
    /// Whether it was raised.
    var isSet: Bool { flag.withLock { $0 } }
}
