import Foundation
public import GaiaCore
import GaiaAnalyzer
public import GaiaStore
public import Logging
import PythonSyntax

/// The embedded platform on one machine: deploys functions, routes invocations to their
/// instance pools, autoscales them on each `tick`, and records what happened. This file holds its
/// state, start-up, invocation and shutdown; deploys (`+Deploy`, `+Validation`), the control tick
/// (`+Control`) and queries (`+Queries`) are extensions in files of their own, hence the state's
/// module-internal (still actor-isolated) access.
public actor FunctionRuntime {
    struct Live {
        var stored: StoredFunction
        var pool: any FunctionPool
        var backend: Backend
        /// Its control policy: instances, keep-alive, rung.
        var controller: FunctionController
        /// Instance time is counted up to here.
        var usageCountedTo: ContinuousClock.Instant
        /// Instance-seconds with no request running, since the function was loaded.
        var idleInstanceSeconds = 0.0
        /// Instances at the last tick.
        var instances = 0
        /// A rung switch is being carried out: its controller is not asked again until it ends
        /// (as in the simulator).
        var switching = false
    }

    /// One finished invocation, on its way to the mode controller.
    struct Sample {
        var function: String
        var at: ContinuousClock.Instant
        var milliseconds: Double
        /// The handler's own time, as the worker measured it (nil for failures).
        var serviceMilliseconds: Double? = nil
        var backend: Backend
        /// Warm and successful: a latency of the rung.
        var counts: Bool
        /// Requests in the batch it ran in.
        var batch = 1
    }

    /// The configuration it runs with.
    public nonisolated let configuration: RuntimeConfiguration
    /// The database it records into.
    public nonisolated let database: GaiaDatabase
    var live: [String: Live] = [:]
    /// Where invocation records are committed before their answers leave.
    public nonisolated let records: InvocationLog
    var pendingSamples: [Sample] = []
    /// Pools left after a warm switch, finishing their last requests.
    var draining: [ObjectIdentifier: any FunctionPool] = [:]
    /// Pools a switch is warming on its target rung: a shutdown stops them at once.
    var warming: [ObjectIdentifier: any FunctionPool] = [:]
    /// The control actions being carried out (a scaling's starts, a switch), by a key of their own:
    /// the tick begins them and waits for none, so one function's slow start holds back no other's
    /// control.
    var carryingOut: [Int: Task<Void, Never>] = [:]
    var nextCarryingOut = 0
    let logger: Logger
    /// The fork server CPU-rung instances come from (nil when `forkServer` is off).
    public nonisolated let zygote: Zygote?
    /// Names with a deploy in progress: the actor is re-entered while the first instance starts.
    var deploying: Set<String> = []
    /// Set by `beginShutdown()` or `shutdown()`: no deploy completes after it (one in flight stops its instance).
    var closed = false
    /// Pools of deploys whose first instance is starting, by function: a shutdown, or a removal of
    /// that function, stops them at once.
    var starting: [String: any FunctionPool] = [:]
    /// Deploys in progress that a removal cancelled: each stops at its next step.
    var cancelledDeploys: Set<String> = []
    /// Deploys whose first instance waits for room on the machine (`InstanceSlots`).
    var waitingForRoom: Set<String> = []
    /// The quota schedulers of shared devices (GPUs, and CPU cores shared by share rungs).
    public nonisolated let schedulers: DeviceSchedulers
    /// Functions' secrets, apart from their manifests.
    nonisolated let secrets: SecretStore
    /// The queue of asynchronous invocations.
    public nonisolated let asyncInvocations: AsyncInvocations
    /// Virtual environments of functions with a `requirements.txt`.
    public nonisolated let environments: PythonEnvironments
    /// When the logs were last swept (`LogRotation`).
    var logsSweptAt: ContinuousClock.Instant?
    /// A fork server per virtual environment in use, by its key.
    var environmentZygotes: [String: Zygote] = [:]
    /// Whether instances are confined (`SandboxSettings.active`, read from /proc once, here, and
    /// never on a cluster).
    let sandboxing: Bool
    /// Where instance cgroups are made (nil: not sandboxing, or no writable cgroup hierarchy).
    let cgroups: Cgroups?
    /// Each live function's sandbox uid (when sandboxing), from the database.
    var sandboxUIDs: [String: UInt32] = [:]
    /// The machine's instance slots, shared by every local pool (nil on a cluster).
    public nonisolated let slots: InstanceSlots?
    /// Invocations running or waiting for an instance, by id: `invocationsInFlight(of:)`.
    var inFlight: [String: (function: String, at: Date, revision: Int, backend: Backend)] = [:]
    /// Writes the platform's lines into functions' logs (`noteFailure`).
    let logNotes = FunctionLogNotes()
    /// Functions deployed at start (`gaia serve --examples`) not yet deployed or refused: `/readyz`.
    var startupDeploys: Set<String> = []

    /// Creates the runtime over a database; `restore()` brings back deployed functions.
    public init(configuration: RuntimeConfiguration, database: GaiaDatabase, logger: Logger = Logger(label: "gaia.runtime")) {
        self.configuration = configuration
        self.database = database
        self.logger = logger
        self.schedulers = DeviceSchedulers(window: configuration.shareWindow)
        self.records = InvocationLog(database: database, folder: configuration.dataDirectory, logger: logger)
        self.slots = configuration.capacity.map(InstanceSlots.init)
        self.secrets = SecretStore(dataDirectory: configuration.dataDirectory)
        self.asyncInvocations = AsyncInvocations(database: database, settings: configuration.asyncInvocations)
        self.environments = PythonEnvironments(
            root: "\(configuration.dataDirectory)/envs", python: configuration.python, timeout: configuration.installTimeout)
        let logs = "\(configuration.dataDirectory)/logs"
        try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        self.zygote = configuration.forkServer ? Zygote(python: configuration.python, logPath: "\(logs)/zygote.log") : nil
        sandboxing = configuration.sandbox.active && configuration.cluster == nil
        if sandboxing {
            switch Cgroups.discover() {
            case .success(let found): cgroups = found
            case .failure(let why):
                cgroups = nil
                logger.warning("instances run without cgroup limits", metadata: ["reason": "\(why)"])
            }
        } else {
            cgroups = nil
        }
    }

    /// A function's sandbox user (its uid, and its home owned by it), before its instances start.
    func prepareSandbox(for name: String) throws {
        guard sandboxing else { return }
        let uid = try database.sandboxUID(of: name, first: configuration.sandbox.firstUID)
        try FunctionSandbox.makeHome(home(of: name), uid: uid, gid: uid)
        sandboxUIDs[name] = uid
    }

    func home(of name: String) -> String { "\(configuration.dataDirectory)/home/\(name)" }

    /// Recreates (empty) pools for every function in the database, as after a restart, once the
    /// invocation records a previous process left in its journal are committed.
    public func restore() async throws {
        try await records.recover()
        for stored in try database.functions() where live[stored.name] == nil {
            if let cluster = configuration.cluster {
                // Applying again what is already there changes nothing (no new revision); a cluster
                // that lost the function's objects gets them back.
                do {
                    try await cluster.publish(stored, files: try files(of: stored))
                } catch {
                    logger.warning("not published on the cluster", metadata: ["function.name": "\(stored.name)", "error": "\(error)"])
                }
            }
            var stored = stored
            let (bounded, changes) = configuration.limits.bounded(stored.manifest)
            if !changes.isEmpty {
                // An older server (or a hand-edited store) let in a value this one refuses: serve
                // the function within bounds rather than trap on it later.
                stored.manifest = bounded
                logger.warning(
                    "a stored setting is out of bounds; the function runs within them",
                    metadata: ["function.name": "\(stored.name)", "changes": "\(changes.joined(separator: "; "))"])
            }
            if let key = stored.manifest.pythonEnvironment, !environments.isReady(key) {
                stored.manifest.pythonEnvironment = await rebuildEnvironment(of: stored)
            }
            await zygote(for: stored.manifest)?.want(stored.manifest.frameworks)
            do {
                try prepareSandbox(for: stored.name)
            } catch {
                logger.error("not serving a function: its sandbox could not be prepared", metadata: ["function.name": "\(stored.name)", "error": "\(error)"])
                continue
            }
            live[stored.name] = makeLive(stored, loaded: false)  // nothing starts until asked (or min scale)
        }
        await collectEnvironments()
        // Accepted asynchronous invocations run again after a restart, those cut midway included.
        try await asyncInvocations.start(runtime: self)
    }

    /// The environment of a stored function whose environment is gone (removed by hand, or the
    /// interpreter changed): built again from its requirements.txt; on failure, the key it had (its
    /// instances then fail to start, and say why).
    func rebuildEnvironment(of stored: StoredFunction) async -> String? {
        let name = stored.name
        do {
            let requirements = try Requirements(try files(of: stored)["requirements.txt"] ?? [])
            logger.info("building the function's environment again", metadata: ["function.name": "\(name)"])
            let environment = try await environments.prepare(requirements) { [logger] line in
                logger.debug("\(line)", metadata: ["function.name": "\(name)"])
            }
            await environments.release(environment.key)
            return environment.key
        } catch {
            logger.error("the function's environment cannot be built", metadata: ["function.name": "\(name)", "error": "\(error)"])
            return stored.manifest.pythonEnvironment
        }
    }

    /// Removes the environments no function uses (run when no pool is draining: every instance
    /// then belongs to a function in `live`, or to a deploy holding its environment).
    func collectEnvironments() async {
        guard draining.isEmpty else { return }
        let used = Set(live.values.compactMap(\.stored.manifest.pythonEnvironment))
        for key in await environments.collect(keeping: used) {
            logger.info("removed an unused environment", metadata: ["environment": "\(key)"])
            await environmentZygotes.removeValue(forKey: key)?.stop()
        }
    }

    /// The fork server a function's CPU instances come from: the shared one, or its environment's
    /// own (nil when fork servers are off).
    func zygote(for manifest: FunctionManifest) -> Zygote? {
        guard zygote != nil, let key = manifest.pythonEnvironment else { return zygote }
        if let existing = environmentZygotes[key] { return existing }
        let made = Zygote(python: environments.environment(key).python, logPath: "\(configuration.dataDirectory)/logs/zygote-\(key).log")
        environmentZygotes[key] = made
        return made
    }

    // MARK: Invoke

    /// Accepts an asynchronous invocation of a function: stored before this returns, run by the
    /// queue (`asyncInvocations`), its outcome kept for `GET /v1/invocations/{id}`.
    public func submitAsync(_ name: String, body: [UInt8], contentType: String) async throws -> AsyncInvocationRecord {
        guard live[name] != nil else {
            throw PlatformError("not_found", "no function named '\(name)'; deploy it first (gaia deploy)", status: 404)
        }
        return try await asyncInvocations.submit(function: name, body: body, contentType: contentType, runtime: self)
    }

    /// A new invocation id: `inv_` and 24 hex digits (96 random bits).
    public static func newInvocationID() -> String {
        "inv_" + (0..<2).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined().prefix(24)
    }

    /// Runs one invocation of a function under `id` (the caller's `Gaia-Invocation-Id`); returns,
    /// or throws, only once its record is in the journal (`InvocationLog`), whence no kill loses it.
    public func invoke(
        _ name: String, body: [UInt8], contentType: String, stream: ResponseStream? = nil, id: String = newInvocationID()
    ) async throws -> PlatformInvocation {
        guard var function = live[name] else {
            throw PlatformError("not_found", "no function named '\(name)'; deploy it first (gaia deploy)", status: 404)
        }
        let arrived = Date()
        let instant = ContinuousClock.now
        inFlight[id] = (name, arrived, function.stored.revision, function.backend)
        defer { inFlight.removeValue(forKey: id) }
        do {
            let outcome: InvocationOutcome
            do {
                outcome = try await function.pool.invoke(body, contentType: contentType, stream: stream)
            } catch PoolError.shuttingDown {
                // The pool was replaced (a rung switch or a deploy) while this request was on its way: the new one serves it.
                guard let replacement = live[name], replacement.pool !== function.pool else { throw PoolError.shuttingDown }
                function = replacement
                outcome = try await function.pool.invoke(body, contentType: contentType, stream: stream)
            }
            pendingSamples.append(Sample(
                function: name, at: instant, milliseconds: outcome.totalMilliseconds,
                serviceMilliseconds: outcome.response.handlerMilliseconds, backend: function.backend, counts: !outcome.coldStart,
                batch: outcome.response.batchSize))
            records.append(record(
                function, id: id, at: arrived, backend: function.backend, cold: outcome.coldStart, total: outcome.totalMilliseconds,
                queue: outcome.queueMilliseconds, status: 200))
            return PlatformInvocation(outcome: outcome, backend: function.backend, revision: function.stored.revision, id: id)
        } catch {
            let elapsed = Date().timeIntervalSince(arrived) * 1000
            pendingSamples.append(Sample(function: name, at: instant, milliseconds: elapsed, backend: function.backend, counts: false))
            let status = Self.status(of: error)
            records.append(record(
                function, id: id, at: arrived, backend: function.backend, cold: false, total: elapsed, queue: 0, status: status))
            noteFailure(of: function.stored, id: id, status: status, error: error)
            if case WorkerError.handlerFailed(let message, let traceback) = error, function.stored.manifest.secrets != nil {
                throw WorkerError.handlerFailed(error: redacted(message, function.stored), traceback: redacted(traceback, function.stored))
            }
            throw error
        }
    }

    /// A failed invocation, in the server's log and the function's own (`gaia logs`): its id,
    /// status and the first line of its error (secrets redacted). The caller has the rest.
    func noteFailure(of stored: StoredFunction, id: String, status: Int, error: any Error) {
        let reason = redacted(Self.shortReason(error), stored)
        logger.warning(
            "invocation failed",
            metadata: ["function.name": "\(stored.name)", "invocation.id": "\(id)", "status": "\(status)", "error": "\(reason)"])
        guard configuration.cluster == nil else { return }  // its pods' logs are the cluster's
        let path = "\(configuration.dataDirectory)/logs/\(stored.name)/r\(stored.revision)-gaia.log"
        let line = "\(LogLines.stamp(Date())) \(id) failed with \(status): \(reason)"
        let notes = logNotes
        Task { await notes.append(line, to: path) }
    }

    func record(
        _ f: Live, id: String, at: Date, backend: Backend, cold: Bool, total: Double, queue: Double, status: Int
    ) -> InvocationRecord {
        InvocationRecord(
            function: f.stored.name, revision: f.stored.revision, at: at, backend: backend.description, coldStart: cold,
            durationMs: total, queueMs: queue, status: status,
            costUSD: configuration.prices.cost(seconds: total / 1000, on: backend), invocationId: id)
    }

    /// What an invocation's error means for running it again (an asynchronous invocation's retry,
    /// `AsyncRetryPolicy`), by the error's kind.
    public static func attemptFailure(of error: any Error) -> AttemptFailure {
        switch error {
        case PoolError.queueFull, PoolError.machineFull, PoolError.shuttingDown: .noRoom
        case let e as PlatformError: e.statusCode == 503 ? .noRoom : .final
        case WorkerError.handlerFailed, WorkerError.badRequest, WorkerError.cancelled: .final
        default: .instanceFailed  // crashed, timed out, broke the protocol, failed to start or initialise
        }
    }

    /// The HTTP status an invocation's error is answered with (the edge's choice).
    public static func status(of error: any Error) -> Int {
        switch error {
        case let e as PlatformError: e.statusCode
        case PoolError.queueFull: 503
        case PoolError.machineFull: 503
        case PoolError.shuttingDown: 503
        case WorkerError.timedOut: 504
        case WorkerError.handlerFailed: 500
        case WorkerError.badRequest: 400
        case WorkerError.cancelled: 499  // the client closed the request (nginx's code)
        default: 502
        }
    }

    /// Returns once every invocation record appended so far is committed to the database (a failed
    /// commit's records retried).
    public func flushRecords() async {
        await records.flush()
    }

    /// The start of a graceful shutdown: deploys are refused from now on and those whose first
    /// instance is still starting are stopped (their requests answer 503 at once), so that only
    /// invocations are left for the grace period.
    public func beginShutdown() async {
        closed = true
        await asyncInvocations.close()
        for pool in starting.values { await pool.shutdown() }
    }

    /// Stops every instance (draining, starting and warming pools' too) and writes pending records.
    public func shutdown() async {
        await beginShutdown()
        for pool in warming.values { await pool.shutdown() }
        await actionsCarriedOut()
        for f in live.values { await f.pool.shutdown() }
        for pool in draining.values { await pool.shutdown() }
        await zygote?.stop()
        for environmentZygote in environmentZygotes.values { await environmentZygote.stop() }
        cgroups?.remove()
        await configuration.cluster?.shutdown()
        await flushRecords()
    }
}
