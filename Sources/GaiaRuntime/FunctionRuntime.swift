import Foundation
public import GaiaCore
import GaiaAnalyzer
public import GaiaStore
import PythonSyntax

/// How the embedded platform runs.
public struct RuntimeConfiguration: Sendable {
    /// Where functions' files, instance logs and the database live.
    public var dataDirectory: String
    /// The real Python interpreter workers run.
    public var python: String
    /// Pool limits applied to every function unless its deploy says otherwise.
    public var pool = PoolSettings()
    /// Autoscaler settings applied to every function unless its deploy says otherwise.
    public var autoscaler = AutoscalerSettings()
    /// Prices for cost accounting.
    public var prices = PriceTable()
    /// Largest upload accepted for a deploy, in bytes.
    public var maxUploadBytes = 10 * 1024 * 1024
    /// Address-space limit per instance in MiB (0 for none).
    public var memoryLimitMB = 4096

    /// Creates a configuration.
    public init(dataDirectory: String, python: String) {
        self.dataDirectory = dataDirectory
        self.python = python
    }
}

/// A deploy: a name, the function's files, and the user's choices.
public struct DeployRequest: Sendable {
    /// The function's name (`[a-z][a-z0-9-]*`, at most 63 characters).
    public var name: String
    /// The function's files by relative path (`handler.py`, `model.py`, `requirements.txt`).
    public var files: [String: [UInt8]]
    /// A forced mode, recorded as an override.
    public var mode: ExecutionMode?
    /// Fewest instances kept (0 allows scale to zero).
    public var minScale: Int?
    /// Most instances.
    public var maxScale: Int?
    /// The latency objective.
    public var slo: SLO?
    /// Requests one instance may run at once.
    public var concurrency: Int?

    /// Creates a deploy request.
    public init(
        name: String, files: [String: [UInt8]], mode: ExecutionMode? = nil, minScale: Int? = nil, maxScale: Int? = nil,
        slo: SLO? = nil, concurrency: Int? = nil
    ) {
        self.slo = slo
        self.concurrency = concurrency
        self.name = name
        self.files = files
        self.mode = mode
        self.minScale = minScale
        self.maxScale = maxScale
    }
}

/// Why the platform refused a request; `status` is the HTTP status it maps to.
public struct PlatformError: Error, CustomStringConvertible, Sendable {
    /// A machine-readable code (`not_found`, `invalid_function`, …).
    public var code: String
    /// What was wrong and what to do.
    public var message: String
    /// The HTTP status.
    public var status: Int

    /// Creates an error.
    public init(_ code: String, _ message: String, status: Int) {
        self.code = code
        self.message = message
        self.status = status
    }

    /// The message.
    public var description: String { message }
}

/// The result of one invocation through the platform.
public struct PlatformInvocation: Sendable {
    /// What the pool reported.
    public var outcome: InvocationOutcome
    /// The rung that served it.
    public var backend: Backend
    /// The revision that served it.
    public var revision: Int
}

/// The embedded platform on one machine: deploys functions, routes invocations to their
/// instance pools, autoscales them on each `tick`, and records what happened.
public actor FunctionRuntime {
    private struct Live {
        var stored: StoredFunction
        var pool: InstancePool
        var autoscaler: Autoscaler
        var backend: Backend
    }

    /// The configuration it runs with.
    public nonisolated let configuration: RuntimeConfiguration
    /// The database it records into.
    public nonisolated let database: GaiaDatabase
    private var live: [String: Live] = [:]
    private var pendingRecords: [InvocationRecord] = []
    /// Names with a deploy in progress: the actor is re-entered while the first instance starts.
    private var deploying: Set<String> = []

    /// Creates the runtime over a database; `restore()` brings back deployed functions.
    public init(configuration: RuntimeConfiguration, database: GaiaDatabase) {
        self.configuration = configuration
        self.database = database
    }

    /// Recreates (empty) pools for every function in the database, as after a restart.
    public func restore() throws {
        for stored in try database.functions() where live[stored.name] == nil {
            live[stored.name] = makeLive(stored)
        }
    }

    // MARK: Deploy

    /// Validates, analyzes and stores a new revision, starts one instance of it to prove it
    /// loads, then moves traffic to it and stops the previous revision's instances.
    @discardableResult
    public func deploy(_ request: DeployRequest) async throws -> FunctionManifest {
        try Self.validate(request, maxBytes: configuration.maxUploadBytes)
        guard let entry = FunctionSource.entryPoint(among: request.files) else {
            throw PlatformError("invalid_function", "no entry point: upload handler.py (or main.py, app.py) defining handle(payload, context)", status: 400)
        }
        let pyFiles = request.files.filter { $0.key.hasSuffix(".py") }
        let source = FunctionSource(files: pyFiles, entryPoint: entry)
        var manifest = ExecutionModeAnalyzer().analyze(source, name: request.name, override: request.mode)
        manifest.slo = request.slo
        manifest.minScale = request.minScale
        manifest.maxScale = request.maxScale
        manifest.concurrency = request.concurrency
        if manifest.partial {
            throw PlatformError("syntax_error", "the function has syntax errors:\n" + manifest.diagnostics.joined(separator: "\n"), status: 400)
        }
        let parsed = PythonParser.parse(bytes: request.files[entry]!)
        let definesHandle = parsed.module.body.contains {
            if case .functionDef(let f) = $0.kind { return f.name == "handle" } else { return false }
        }
        guard definesHandle else {
            throw PlatformError("invalid_function", "\(entry) defines no top-level function handle(payload, context)", status: 400)
        }
        if manifest.mode == .gpu && manifest.modeOverride == nil && !Self.machineHasGPU {
            throw PlatformError(
                "no_gpu", "\(manifest.rationale)\nThis machine has no GPU; deploy with --mode cpu_preferred (or another mode) to run it on CPU.",
                status: 422)
        }

        guard deploying.insert(request.name).inserted else {
            throw PlatformError("conflict", "a deploy of '\(request.name)' is already in progress; retry when it finishes", status: 409)
        }
        defer { deploying.remove(request.name) }
        let previous = live[request.name]
        let revision = try database.nextRevision(of: request.name)
        let directory = "\(configuration.dataDirectory)/functions/\(request.name)/r\(revision)"
        try? FileManager.default.removeItem(atPath: directory)
        for (path, bytes) in request.files {
            let target = "\(directory)/\(path)"
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: target, contents: Data(bytes)) else {
                throw PlatformError("storage", "cannot write \(target)", status: 500)
            }
        }
        let stored = StoredFunction(name: request.name, revision: revision, sourceDirectory: directory, manifest: manifest, deployedAt: Date())
        let next = makeLive(stored)
        do {
            try await next.pool.scale(to: 1)
        } catch let error as WorkerError {
            await next.pool.shutdown()
            try? FileManager.default.removeItem(atPath: directory)
            if case .initFailed(let message, let traceback) = error {
                throw PlatformError("init_failed", "the function failed to load: \(message)\n\(traceback)", status: 400)
            }
            throw PlatformError("init_failed", error.description, status: 400)
        }
        try database.deploy(name: request.name, manifest: manifest, sourceDirectory: directory)
        live[request.name] = next
        if let previous { await previous.pool.shutdown() }
        return manifest
    }

    static func validate(_ request: DeployRequest, maxBytes: Int) throws {
        let name = request.name
        let validName = !name.isEmpty && name.count <= 63 && name.first!.isLowercase && name.first!.isLetter
            && name.allSatisfy { ($0.isLetter && $0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "-" }
        guard validName else {
            throw PlatformError(
                "invalid_name", "'\(name)' is not a valid function name: use lowercase letters, digits and '-', starting with a letter, at most 63 characters",
                status: 400)
        }
        let size = request.files.values.reduce(0) { $0 + $1.count }
        guard size <= maxBytes else {
            throw PlatformError("too_large", "the upload is \(size) bytes; the limit is \(maxBytes)", status: 413)
        }
        guard !request.files.isEmpty else { throw PlatformError("invalid_function", "no files uploaded", status: 400) }
        for path in request.files.keys {
            let parts = path.split(separator: "/")
            guard !path.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
                throw PlatformError("invalid_function", "file path '\(path)' must be relative and stay inside the function", status: 400)
            }
        }
        if let min = request.minScale, let max = request.maxScale, min > max {
            throw PlatformError("invalid_scale", "min scale \(min) is above max scale \(max)", status: 400)
        }
        if (request.minScale ?? 0) < 0 || (request.maxScale ?? 1) < 1 || (request.concurrency ?? 1) < 1 || (request.concurrency ?? 1) > 1000 {
            throw PlatformError("invalid_scale", "min scale must be ≥ 0, max scale ≥ 1, and concurrency between 1 and 1000", status: 400)
        }
    }

    /// Whether an NVIDIA GPU is visible to this machine.
    static var machineHasGPU: Bool { FileManager.default.fileExists(atPath: "/dev/nvidia0") }

    /// A pool and autoscaler for a revision, with the function's own limits from its manifest.
    private func makeLive(_ stored: StoredFunction) -> Live {
        var poolSettings = configuration.pool
        var autoscaler = configuration.autoscaler
        if let maxScale = stored.manifest.maxScale {
            poolSettings.maxScale = maxScale
            autoscaler.maxScale = maxScale
        }
        if let minScale = stored.manifest.minScale { autoscaler.minScale = minScale }
        if let concurrency = stored.manifest.concurrency { poolSettings.instanceConcurrency = concurrency }
        // The autoscaler's target is per instance: scale it with what one instance may run at once.
        autoscaler.targetConcurrency *= Double(max(1, poolSettings.instanceConcurrency))
        let backend = Backend.cpu(cores: 1)
        let python = configuration.python
        let memoryLimit = configuration.memoryLimitMB
        let instanceConcurrency = poolSettings.instanceConcurrency
        let logs = "\(configuration.dataDirectory)/logs/\(stored.name)"
        try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let pool = InstancePool(backend: backend, settings: poolSettings) { id in
            WorkerConfiguration(
                python: python, functionDirectory: stored.sourceDirectory, entryPoint: stored.manifest.entryPoint,
                handler: stored.manifest.handler, functionName: stored.name, backend: backend,
                logPath: "\(logs)/r\(stored.revision)-i\(id).log", memoryLimitMB: memoryLimit,
                concurrency: instanceConcurrency)
        }
        return Live(stored: stored, pool: pool, autoscaler: Autoscaler(settings: autoscaler), backend: backend)
    }

    // MARK: Invoke

    /// Runs one invocation of a function; the record goes to the database on the next tick.
    public func invoke(_ name: String, body: [UInt8], contentType: String) async throws -> PlatformInvocation {
        guard let function = live[name] else {
            throw PlatformError("not_found", "no function named '\(name)'; deploy it first (gaia deploy)", status: 404)
        }
        let arrived = Date()
        do {
            let outcome = try await function.pool.invoke(body, contentType: contentType)
            note(function, at: arrived, backend: function.backend, cold: outcome.coldStart, total: outcome.totalMilliseconds,
                 queue: outcome.queueMilliseconds, status: 200)
            return PlatformInvocation(outcome: outcome, backend: function.backend, revision: function.stored.revision)
        } catch {
            let elapsed = Date().timeIntervalSince(arrived) * 1000
            note(function, at: arrived, backend: function.backend, cold: false, total: elapsed, queue: 0, status: Self.status(of: error))
            throw error
        }
    }

    private func note(_ f: Live, at: Date, backend: Backend, cold: Bool, total: Double, queue: Double, status: Int) {
        pendingRecords.append(InvocationRecord(
            function: f.stored.name, revision: f.stored.revision, at: at, backend: backend.description, coldStart: cold,
            durationMs: total, queueMs: queue, status: status,
            costUSD: configuration.prices.cost(seconds: total / 1000, on: backend)))
    }

    /// The HTTP status an invocation error maps to.
    public static func status(of error: any Error) -> Int {
        switch error {
        case let e as PlatformError: e.status
        case PoolError.queueFull: 503
        case PoolError.shuttingDown: 503
        case WorkerError.timedOut: 504
        case WorkerError.handlerFailed: 500
        default: 502
        }
    }

    // MARK: Queries

    /// Every deployed function, by name.
    public func functions() -> [StoredFunction] { live.values.map(\.stored).sorted { $0.name < $1.name } }

    /// One function, or a not-found error.
    public func function(_ name: String) throws -> StoredFunction {
        guard let f = live[name] else { throw PlatformError("not_found", "no function named '\(name)'", status: 404) }
        return f.stored
    }

    /// Instances running or starting for a function.
    public func instanceCount(_ name: String) async -> Int {
        guard let f = live[name] else { return 0 }
        return await f.pool.instanceCount
    }

    /// The end of a function's instance logs (latest revision), oldest instance first.
    public func logs(_ name: String, maxBytes: Int = 64 * 1024) throws -> String {
        let f = try function(name)
        let dir = "\(configuration.dataDirectory)/logs/\(name)"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasPrefix("r\(f.revision)-") }.sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        var text = ""
        for file in files {
            let content = (try? String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)) ?? ""
            if !content.isEmpty { text += "==> \(file) <==\n\(content)\n" }
        }
        return String(text.suffix(maxBytes))
    }

    /// Stops a function's instances and marks it deleted (its history stays).
    public func remove(_ name: String) async throws {
        guard let f = live.removeValue(forKey: name) else {
            throw PlatformError("not_found", "no function named '\(name)'", status: 404)
        }
        await f.pool.shutdown()
        try database.delete(name: name)
    }

    // MARK: Control

    /// One control step: feed each autoscaler, apply its decision, and store pending records.
    public func tick(at now: ContinuousClock.Instant = .now) async {
        for name in live.keys.sorted() {
            guard var f = live[name] else { continue }
            let concurrency = await f.pool.concurrency
            let current = await f.pool.instanceCount
            // The awaits above may have let a deploy or removal replace this function: act only on
            // the pool that was measured.
            guard let still = live[name], still.pool === f.pool else { continue }
            f.autoscaler.record(concurrency: concurrency, at: now)
            let decision = f.autoscaler.evaluate(current: current, at: now)
            live[name]?.autoscaler = f.autoscaler
            if decision.desired != current {
                try? await f.pool.scale(to: decision.desired)
                try? database.record(DecisionRecord(
                    function: name, at: Date(), kind: "scale", from: "\(current) instances", to: "\(decision.desired) instances",
                    reason: decision.reason))
            }
        }
        flushRecords()
    }

    /// Writes the invocation records gathered since the last tick.
    public func flushRecords() {
        guard !pendingRecords.isEmpty else { return }
        let batch = pendingRecords
        pendingRecords = []
        try? database.record(batch)
    }

    /// Stops every instance and writes pending records.
    public func shutdown() async {
        for f in live.values { await f.pool.shutdown() }
        flushRecords()
    }
}
