import CGaiaProcess
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A process Gaia started (a worker or the fork server), and the one place that reaps it.
///
/// It is spawned with `posix_spawn`: only its three standard descriptors are inherited (nothing of
/// the server's sockets, database or other workers' pipes), it leads a process group of its own (so
/// a kill reaches what it started too), and it begins with an empty signal mask. A dedicated thread
/// waits in `waitpid` for it, so its exit is awaited asynchronously (`exitStatus()`) and it never
/// becomes a zombie, whoever asks or not. (Foundation's `Process` was not used: on Linux it detects
/// an exit through a socket the child inherits, so a child whose own children outlive it — the fork
/// server's instances — never counts as ended, and `waitUntilExit()` blocks its caller for good.)
final class ChildProcess: Sendable {
    /// The process id.
    let pid: Int32
    private let state = Mutex(State())

    private struct State {
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    private init(pid: Int32) {
        self.pid = pid
    }

    /// Starts `executable` with `arguments` and exactly `environment`, in `directory`, with the given
    /// descriptors as its stdin, stdout and stderr (they stay open here; close yours after).
    static func spawn(
        executable: String, arguments: [String], environment: [String: String], directory: String? = nil,
        stdin: Int32, stdout: Int32, stderr: Int32
    ) throws -> ChildProcess {
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let error = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envpBuffer in
                gaia_spawn(
                    executable, argvBuffer.baseAddress, envpBuffer.baseAddress, directory, stdin, stdout, stderr, &pid)
            }
        }
        guard error == 0 else {
            throw WorkerError.launchFailed("\(executable): \(String(cString: strerror(error)))")
        }
        let spawned = pid
        let child = ChildProcess(pid: spawned)
        let reaper = Thread { child.reaped(status: gaia_wait_exit(spawned)) }
        reaper.name = "gaia-reaper-\(pid)"
        reaper.stackSize = 64 * 1024
        reaper.start()
        return child
    }

    private func reaped(status: Int32) {
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// The exit status once it has ended (negative: the signal that killed it), else nil.
    var status: Int32? { state.withLock { $0.status } }

    /// Whether it is still running (not yet reaped).
    var isRunning: Bool { status == nil }

    /// Waits, without blocking a thread, until it has ended and been reaped; returns its status.
    func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Sends `signal` to its process group (what it started too), or to it alone when the group is
    /// gone; nothing once it has been reaped (its pid may belong to another process by then).
    func signal(_ signal: Int32 = SIGKILL) {
        state.withLock { state in
            guard state.status == nil else { return }
            if kill(-pid, signal) != 0 { kill(pid, signal) }
        }
    }
}

/// A pipe whose descriptors are closed on exec (the child gets `dup2`'d copies).
struct PipeDescriptors {
    let read: Int32
    let write: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard gaia_pipe_cloexec(&fds) == 0 else {
            throw WorkerError.launchFailed("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        read = fds[0]
        write = fds[1]
    }
}

extension ChildProcess {
    /// Runs a command to its end (stdin from /dev/null), handing each line of its output (stdout
    /// and stderr together) to `line` as it comes, read on a thread of its own; after `timeout` its
    /// process group is killed. Returns its exit status, nil when it was killed for time.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], directory: String? = nil, timeout: Duration,
        line: @escaping @Sendable (String) -> Void
    ) async throws -> Int32? {
        let output = try PipeDescriptors()
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { if null >= 0 { close(null) } }
        let child: ChildProcess
        do {
            child = try spawn(
                executable: executable, arguments: arguments, environment: environment, directory: directory,
                stdin: null, stdout: output.write, stderr: output.write)
        } catch {
            close(output.read)
            close(output.write)
            throw error
        }
        close(output.write)
        let drained = AsyncStream<Void> { done in
            let reader = Thread {
                var pending: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 16 * 1024)
                while true {
                    let count = chunk.withUnsafeMutableBytes { Glibc.read(output.read, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    pending += chunk[..<count]
                    while let newline = pending.firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
                        let text = String(decoding: pending[..<newline], as: UTF8.self)
                        pending.removeSubrange(...newline)
                        if !text.trimmingCharacters(in: .whitespaces).isEmpty { line(text) }
                    }
                }
                if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
                close(output.read)
                done.finish()
            }
            reader.name = "gaia-output-\(child.pid)"
            reader.start()
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            child.signal(SIGKILL)
            return true
        }
        let status = await child.exitStatus()
        for await _ in drained {}  // what its last lines said, before the status is reported
        timer.cancel()
        let timedOut = (try? await timer.value) == true
        return timedOut ? nil : status
    }
}
