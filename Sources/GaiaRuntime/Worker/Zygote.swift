import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A fork server: one Python process that has imported the heavy shared libraries once (numpy,
/// and the fork-safe frameworks deployed functions use) and forks new instances on request, so an
/// instance skips the interpreter start and those imports; copy-on-write keeps their memory shared.
///
/// The zygote never initialises CUDA (it runs with no visible GPU, and only CPU rungs use it).
/// Its children are ordinary instances to the runtime: `ForkedTransport` talks to them through two
/// FIFOs, they limit themselves (affinity, threads, RLIMIT_AS), and are killed by process group;
/// the zygote reaps them and reports each exit status.
///
/// Nothing here waits on a process synchronously. When a deploy asks for a module the running
/// zygote lacks, the next fork starts a new zygote and the old one is *retired*: its input closes,
/// it keeps reaping (and reporting) its children and exits once the last is gone; Gaia reaps it.
/// A module the zygote cannot import (not installed, an ImportError) is left out: the instance
/// imports it itself, so the function's own error reaches the deploy. If a zygote dies, the next
/// fork starts another; children it leaves behind keep serving, and their ends are seen in `/proc`.
public actor Zygote {
    /// Modules that are safe to import before `fork()` (they start no threads at import) and worth
    /// sharing; a deployed function's frameworks outside this list are imported by the instance.
    public static let forkSafe: Set<String> = ["numpy", "scipy", "pandas", "sklearn", "onnxruntime", "torch", "PIL", "transformers", "tokenizers"]

    /// One started fork-server process.
    private final class Generation {
        let id: Int
        let child: ChildProcess
        let writer: FrameWriter
        /// Modules it imported (known once it is ready).
        var preloaded: [String] = []
        /// `start()` waiting for it to be ready.
        var readyWaiter: CheckedContinuation<Void, any Error>?
        /// Children that have not exited.
        var children: Set<Int32> = []
        /// Fork requests sent and not yet answered.
        var pendingForks: [Int: CheckedContinuation<Int32, any Error>] = [:]

        init(id: Int, child: ChildProcess, writer: FrameWriter) {
            self.id = id
            self.child = child
            self.writer = writer
        }
    }

    /// The interpreter it runs.
    public nonisolated let python: String
    private let logPath: String
    /// Modules the next start preloads.
    private var wanted: [String]
    private var current: Generation?
    /// Zygotes replaced by a newer one, still reaping their children, by generation id.
    private var retired: [Int: Generation] = [:]
    /// Forks waiting for a zygote that is starting.
    private var starting: [CheckedContinuation<Void, any Error>]?
    /// Times it has been started.
    public private(set) var starts = 0
    private var nextID = 0
    /// Exit statuses reported and not yet collected.
    private var exited: [Int32: Int32] = [:]
    private var exitWaiters: [Int32: [CheckedContinuation<Int32?, Never>]] = [:]

    /// A fork server for `python` preloading `preload` (only the fork-safe ones are kept).
    public init(python: String, preload: [String] = ["numpy"], logPath: String) {
        self.python = python
        self.logPath = logPath
        self.wanted = preload.filter { Self.forkSafe.contains($0) }
    }

    /// The running zygote's process id.
    public var pid: Int32? { current.flatMap { $0.child.isRunning ? $0.child.pid : nil } }

    /// Modules the running zygote preloaded (nil while none runs).
    public var preloaded: [String]? { current?.preloaded }

    /// Adds modules to preload. A running zygote that lacks one of them (and has not already failed
    /// to import it) is retired at once, without waiting for it: the next fork starts a new one.
    public func want(_ modules: [String]) {
        let new = modules.filter { Self.forkSafe.contains($0) && !wanted.contains($0) }
        guard !new.isEmpty else { return }
        wanted += new
        if let current { retire(current) }
    }

    /// Forks an instance whose stdin and stdout are the given FIFOs and whose stderr appends to
    /// `log`, with exactly `environment`; returns its pid.
    public func fork(environment: [String: String], directory: String, stdin: String, stdout: String, log: String) async throws -> Int32 {
        do {
            return try await forkOnce(environment: environment, directory: directory, stdin: stdin, stdout: stdout, log: log)
        } catch ZygoteGone.gone {
            // It died since the last fork (its exit not yet noticed): start a new one and try again.
            do {
                return try await forkOnce(environment: environment, directory: directory, stdin: stdin, stdout: stdout, log: log)
            } catch ZygoteGone.gone {
                throw WorkerError.launchFailed("the fork server exited twice in a row; see \(logPath)")
            }
        }
    }

    private enum ZygoteGone: Error { case gone }

    private func forkOnce(environment: [String: String], directory: String, stdin: String, stdout: String, log: String) async throws -> Int32 {
        let generation = try await running()
        nextID += 1
        let id = nextID
        let frame = try WorkerFrame(
            header: [
                "type": .string("fork"), "id": .number(Double(id)), "cwd": .string(directory), "stdin": .string(stdin),
                "stdout": .string(stdout), "log": .string(log), "env": .object(environment.mapValues { .string($0) }),
            ], body: []
        ).encoded()
        let pid = try await withCheckedThrowingContinuation { continuation in
            generation.pendingForks[id] = continuation
            Task {
                do {
                    try await generation.writer.write(frame)
                } catch {
                    self.forkAnswered(id, in: generation, with: .failure(ZygoteGone.gone))
                }
            }
        }
        generation.children.insert(pid)
        return pid
    }

    private func forkAnswered(_ id: Int, in generation: Generation, with result: Result<Int32, any Error>) {
        generation.pendingForks.removeValue(forKey: id)?.resume(with: result)
    }

    /// Waits until child `pid` has exited and returns its status (negative: the signal), or nil
    /// when it is not known (its zygote died and the child was reaped elsewhere).
    public func waitForExit(_ pid: Int32) async -> Int32? {
        if let status = exited.removeValue(forKey: pid) { return status }
        let parent = ([current].compactMap { $0 } + retired.values).first { $0.children.contains(pid) }
        guard parent != nil else {
            // Not (or no longer) a running zygote's child: watch /proc until it is gone or a zombie.
            while Self.processExists(pid) { try? await Task.sleep(for: .milliseconds(5)) }
            return nil
        }
        return await withCheckedContinuation { exitWaiters[pid, default: []].append($0) }
    }

    /// Kills every zygote (not their children) and waits until each is reaped.
    public func stop() async {
        let all = [current].compactMap { $0 } + retired.values
        current = nil
        for generation in all {
            generation.writer.close()
            generation.child.signal(SIGKILL)
        }
        for generation in all { _ = await generation.child.exitStatus() }
    }

    /// Closes a zygote's input: it answers the forks already asked of it (they were written before
    /// the close), forks no more, reaps its children as they end and then exits.
    private func retire(_ generation: Generation) {
        if current === generation { current = nil }
        retired[generation.id] = generation
        generation.writer.close()
    }

    /// The running zygote, started if none runs (concurrent callers wait for one start).
    private func running() async throws -> Generation {
        if let current, current.child.isRunning { return current }
        if let current { retire(current) }
        if starting != nil {
            try await withCheckedThrowingContinuation { starting!.append($0) }
            guard let current else { throw ZygoteGone.gone }
            return current
        }
        starting = []
        do {
            let generation = try await start()
            current = generation
            for waiter in starting ?? [] { waiter.resume() }
            starting = nil
            return generation
        } catch {
            for waiter in starting ?? [] { waiter.resume(throwing: error) }
            starting = nil
            throw error
        }
    }

    private func start() async throws -> Generation {
        var environment = InheritedEnvironment.of(ProcessInfo.processInfo.environment)
        for variable in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"] { environment[variable] = "1" }
        environment["CUDA_VISIBLE_DEVICES"] = ""
        environment["GAIA_ZYGOTE"] = "1"
        environment["GAIA_PRELOAD"] = wanted.joined(separator: ",")
        environment["PYTHONUNBUFFERED"] = "1"
        let transport = try SpawnedTransport(python: python, environment: environment, directory: nil, logPath: logPath)
        starts += 1
        let generation = Generation(id: starts, child: transport.child, writer: transport.writer)
        retired[generation.id] = generation  // until it is ready: a failed start is reaped like a retired one
        let messages = transport.messages
        do {
            try await withCheckedThrowingContinuation { continuation in
                generation.readyWaiter = continuation
                Task { await self.pump(messages, of: generation.id) }
            }
        } catch {
            throw WorkerError.launchFailed("the fork server did not start (\(error)): \(WorkerProcess.tail(of: logPath))")
        }
        retired.removeValue(forKey: generation.id)
        return generation
    }

    private func generation(_ id: Int) -> Generation? {
        current?.id == id ? current : retired[id]
    }

    /// Hands fork answers to their callers and exit reports to their waiters until the zygote's
    /// output ends; then reaps it.
    private func pump(_ messages: AsyncThrowingStream<WorkerMessage, any Error>, of id: Int) async {
        var failure: (any Error)?
        do {
            for try await message in messages {
                guard let generation = generation(id) else { break }
                switch message {
                case .zygoteReady(let preloaded):
                    generation.preloaded = preloaded
                    generation.readyWaiter?.resume()
                    generation.readyWaiter = nil
                case .forked(let fork, let pid): forkAnswered(fork, in: generation, with: .success(pid))
                case .forkError(let fork, let error): forkAnswered(fork, in: generation, with: .failure(WorkerError.launchFailed(error)))
                case .exited(let pid, let status):
                    generation.children.remove(pid)
                    if let waiters = exitWaiters.removeValue(forKey: pid) {
                        for w in waiters { w.resume(returning: status) }
                    } else {
                        exited[pid] = status
                        if exited.count > 4096 { exited.removeAll() }
                    }
                default:
                    throw WorkerProtocolError("the fork server sent \(message)")
                }
            }
        } catch {
            failure = error
        }
        guard let generation = generation(id) else { return }
        generation.child.signal(SIGKILL)  // ended or broke the protocol: not trusted further
        if current === generation { current = nil }
        retired.removeValue(forKey: id)
        generation.readyWaiter?.resume(throwing: failure ?? ZygoteGone.gone)
        generation.readyWaiter = nil
        for (_, continuation) in generation.pendingForks { continuation.resume(throwing: ZygoteGone.gone) }
        generation.pendingForks = [:]
        // Its children are orphans now: their waiters watch /proc.
        for pid in generation.children {
            guard let waiters = exitWaiters.removeValue(forKey: pid) else { continue }
            Task {
                while Self.processExists(pid) { try? await Task.sleep(for: .milliseconds(5)) }
                for w in waiters { w.resume(returning: nil) }
            }
        }
        generation.children = []
        _ = await generation.child.exitStatus()
    }

    /// Whether `pid` is a live (not zombie) process.
    static func processExists(_ pid: Int32) -> Bool { ProcessStatus(of: pid)?.isLive ?? false }
}
