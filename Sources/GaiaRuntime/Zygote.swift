import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A fork server: one Python process that has imported the heavy shared libraries once (numpy,
/// and the fork-safe frameworks deployed functions use) and forks new instances on request, so an
/// instance skips the interpreter start and those imports; copy-on-write keeps their memory shared.
///
/// The zygote never initialises CUDA (it runs with no visible GPU, and only CPU rungs use it).
/// Its children are ordinary instances to the runtime: `WorkerProcess` talks to them through two
/// FIFOs, limits them (affinity, threads, RLIMIT_AS, applied by the child), and kills them by pid;
/// the zygote reaps them and reports each exit status. If the zygote dies it is started again on
/// the next fork; children it leaves behind keep serving, and their exits are then noticed from
/// `/proc`.
public actor Zygote {
    /// Modules that are safe to import before `fork()` (they start no threads at import) and worth
    /// sharing; a deployed function's frameworks outside this list are imported by the instance.
    public static let forkSafe: Set<String> = ["numpy", "scipy", "pandas", "sklearn", "onnxruntime", "torch", "PIL", "transformers", "tokenizers"]

    /// The interpreter it runs.
    public nonisolated let python: String
    private let logPath: String
    /// Modules the next start preloads.
    private var wanted: [String]
    /// Modules the running zygote preloaded (nil while none runs).
    public private(set) var preloaded: [String]?
    /// Times it has been started.
    public private(set) var starts = 0
    private var process: Process?
    private var input: FileHandle?
    private var nextID = 0
    private var pendingForks: [Int: CheckedContinuation<Int32, any Error>] = [:]
    private var starting: [CheckedContinuation<Void, any Error>]?
    /// Children of the running zygote that have not exited.
    private var children: Set<Int32> = []
    /// Exit statuses reported and not yet collected.
    private var exited: [Int32: Int32] = [:]
    private var exitWaiters: [Int32: [CheckedContinuation<Int32?, Never>]] = [:]

    /// A fork server for `python` preloading `preload` (only the fork-safe ones are kept).
    public init(python: String, preload: [String] = ["numpy"], logPath: String) {
        self.python = python
        self.logPath = logPath
        self.wanted = preload.filter { Self.forkSafe.contains($0) }
    }

    /// The zygote's process id, while it runs.
    public var pid: Int32? { process?.isRunning == true ? process?.processIdentifier : nil }

    /// Adds modules to preload; a running zygote that lacks one is replaced at the next fork
    /// (its children keep running).
    public func want(_ modules: [String]) {
        let new = modules.filter { Self.forkSafe.contains($0) && !wanted.contains($0) }
        guard !new.isEmpty else { return }
        wanted += new
        if let preloaded, !Set(new).isSubset(of: Set(preloaded)) { stop() }
    }

    /// Forks an instance whose stdin and stdout are the given FIFOs and whose stderr appends to
    /// `log`, with exactly `environment`; returns its pid.
    public func fork(environment: [String: String], directory: String, stdin: String, stdout: String, log: String) async throws -> Int32 {
        do {
            return try await forkOnce(environment: environment, directory: directory, stdin: stdin, stdout: stdout, log: log)
        } catch ZygoteGone.gone {
            // It died since the last fork (its exit not yet noticed): start a new one and try again.
            stop()
            do {
                return try await forkOnce(environment: environment, directory: directory, stdin: stdin, stdout: stdout, log: log)
            } catch ZygoteGone.gone {
                throw WorkerError.launchFailed("the fork server exited twice in a row; see \(logPath)")
            }
        }
    }

    private enum ZygoteGone: Error { case gone }

    private func forkOnce(environment: [String: String], directory: String, stdin: String, stdout: String, log: String) async throws -> Int32 {
        try await ensureRunning()
        nextID += 1
        let id = nextID
        let frame = try WorkerFrame(
            header: [
                "type": .string("fork"), "id": .number(Double(id)), "cwd": .string(directory), "stdin": .string(stdin),
                "stdout": .string(stdout), "log": .string(log), "env": .object(environment.mapValues { .string($0) }),
            ], body: []
        ).encoded()
        let pid = try await withCheckedThrowingContinuation { continuation in
            pendingForks[id] = continuation
            do {
                try input?.write(contentsOf: frame)
            } catch {
                pendingForks.removeValue(forKey: id)?.resume(throwing: ZygoteGone.gone)
            }
        }
        children.insert(pid)
        return pid
    }

    /// Waits until child `pid` has exited and returns its status (negative: the signal), or nil
    /// when it is not known (the zygote died and the child was reaped elsewhere).
    public func waitForExit(_ pid: Int32) async -> Int32? {
        if let status = exited.removeValue(forKey: pid) { return status }
        if !children.contains(pid) {
            // Not (or no longer) the running zygote's child: watch /proc until it is gone or a zombie.
            while Self.processExists(pid) { try? await Task.sleep(for: .milliseconds(5)) }
            return nil
        }
        return await withCheckedContinuation { exitWaiters[pid, default: []].append($0) }
    }

    /// Stops the zygote (not its children).
    public func stop() {
        try? input?.close()
        input = nil
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process?.waitUntilExit()
        lost()
    }

    private func ensureRunning() async throws {
        if process?.isRunning == true && input != nil { return }
        if starting != nil {
            try await withCheckedThrowingContinuation { starting!.append($0) }
            return
        }
        starting = []
        do {
            try await start()
            for waiter in starting ?? [] { waiter.resume() }
            starting = nil
        } catch {
            for waiter in starting ?? [] { waiter.resume(throwing: error) }
            starting = nil
            throw error
        }
    }

    private func start() async throws {
        let process = Process()
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GAIA_") }
        for variable in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"] { environment[variable] = "1" }
        environment["CUDA_VISIBLE_DEVICES"] = ""
        environment["GAIA_ZYGOTE"] = "1"
        environment["GAIA_PRELOAD"] = wanted.joined(separator: ",")
        environment["PYTHONUNBUFFERED"] = "1"
        let (input, output) = try WorkerProcess.launchShim(process, python: python, environment: environment, logPath: logPath)
        starts += 1
        self.process = process
        self.input = input
        var frames = WorkerProcess.readFrames(from: output).makeAsyncIterator()
        guard let ready = await frames.next(isolation: self), ready.header["type"]?.string == "ready" else {
            stop()
            throw WorkerError.launchFailed("the fork server did not start: \(WorkerProcess.tail(of: logPath))")
        }
        preloaded = ready.header["preloaded"]?.array?.compactMap(\.string) ?? []
        Task { await self.pump(frames, of: process) }
    }

    /// Hands fork answers to their callers and exit reports to their waiters, until the zygote's
    /// output ends.
    private func pump(_ frames: AsyncStream<WorkerFrame>.Iterator, of zygote: Process) async {
        var frames = frames
        while let frame = await frames.next(isolation: self) {
            switch frame.header["type"]?.string {
            case "forked":
                if let id = frame.header["id"]?.number.map(Int.init), let pid = frame.header["pid"]?.number.map(Int32.init) {
                    pendingForks.removeValue(forKey: id)?.resume(returning: pid)
                }
            case "fork_error":
                if let id = frame.header["id"]?.number.map(Int.init) {
                    pendingForks.removeValue(forKey: id)?.resume(throwing: WorkerError.launchFailed(frame.header["error"]?.string ?? "fork failed"))
                }
            case "exited":
                if let pid = frame.header["pid"]?.number.map(Int32.init) {
                    let status = Int32(frame.header["status"]?.number ?? -1)
                    children.remove(pid)
                    if let waiters = exitWaiters.removeValue(forKey: pid) {
                        for w in waiters { w.resume(returning: status) }
                    } else {
                        exited[pid] = status
                        if exited.count > 4096 { exited.removeAll() }
                    }
                }
            default:
                break
            }
        }
        if process === zygote { lost() }
    }

    /// The zygote is gone: pending forks fail; its children become orphans, watched through /proc.
    private func lost() {
        process = nil
        input = nil
        preloaded = nil
        for (_, continuation) in pendingForks { continuation.resume(throwing: ZygoteGone.gone) }
        pendingForks = [:]
        let orphans = children
        children = []
        for pid in orphans {
            guard let waiters = exitWaiters.removeValue(forKey: pid) else { continue }
            Task {
                while Self.processExists(pid) { try? await Task.sleep(for: .milliseconds(5)) }
                for w in waiters { w.resume(returning: nil) }
            }
        }
    }

    /// Whether `pid` is a live (not zombie) process.
    static func processExists(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}
