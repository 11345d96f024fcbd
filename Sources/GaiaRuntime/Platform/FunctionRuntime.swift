import Foundation
public import GaiaCore
import GaiaAnalyzer
public import GaiaStore
public import Logging
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
    /// Keep-alive settings applied to every function unless its deploy says otherwise.
    public var keepAlive = KeepAliveSettings()
    /// Prices for cost accounting.
    public var prices = PriceTable()
    /// Largest upload accepted for a deploy, in bytes.
    public var maxUploadBytes = 10 * 1024 * 1024
    /// How big instances' logs may grow, and how many are kept.
    public var logRotation = LogRotation()
    /// Longest a deploy's `pip install` of its requirements may take.
    public var installTimeout: Duration = .seconds(600)
    /// Largest response one invocation may return (`max_response_mb`); larger ones answer 502.
    public var maxResponseBytes = 64 * 1024 * 1024
    /// How asynchronous invocations run (concurrency, retries, result retention).
    public var asyncInvocations = AsyncInvocationSettings()
    /// Address-space limit per instance in MiB (0 for none).
    public var memoryLimitMB = 4096
    /// The cores and GPUs the ladder is built from.
    public var machine = Machine.discover()
    /// How the mode controller judges latency and how cautious it is.
    public var controller = ModeControllerSettings()
    /// Move running instances between CPU rungs in place (new affinity and thread counts, no
    /// restart); when false, every rung change warms new instances on the target rung instead.
    public var verticalScaling = true
    /// Fork CPU-rung instances from a pre-initialised fork server (zygote) instead of starting a
    /// fresh interpreter for each. (GPU-rung instances are always fresh processes: CUDA does not
    /// survive a fork.)
    public var forkServer = true
    /// GPU memory one instance is given room for, MiB, bounding the instances of a function on one
    /// GPU (nil: estimated from the analyzer's model size, `WorkEstimate.gpuMemoryMiB`).
    public var gpuMemoryPerInstanceMiB: Int?
    /// The window the quota scheduler of a shared device measures time quotas over.
    public var shareWindow: Duration = .seconds(1)
    /// How instances are confined (their own uid, mount namespace and cgroups when run as root).
    public var sandbox = SandboxSettings()
    /// Run functions on a cluster instead of this machine's worker processes (nil: here).
    public var cluster: (any ClusterBackend)?
    /// Most instances this machine runs at once, of all functions together (nil: as many as its
    /// cores, memory and process limit hold, `Machine.instanceCapacity`).
    public var maxInstances: Int?

    /// Instances the platform runs at once (nil on a cluster, which bounds its own).
    public var capacity: InstanceCapacity? { cluster == nil ? machine.instanceCapacity(operatorLimit: maxInstances) : nil }
    /// The bounds on each function's own settings.
    public var limits: FunctionLimits { FunctionLimits(defaults: autoscaler, capacity: capacity) }

    /// The rungs functions may run on: the cluster's, or this machine's.
    public var ladder: BackendLadder { cluster?.ladder ?? machine.ladder }
    /// Whether a GPU rung exists there.
    public var hasGPU: Bool { ladder.rungs.contains { $0.deviceClass == .gpu } }

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
    /// Keep-alive of idle instances (nil: adaptive).
    public var keepAlive: KeepAliveSettings.Mode?
    /// Pre-warm before the next expected request (nil: on).
    public var prewarm: Bool?
    /// Pin to one rung of the ladder (nil: the mode controller chooses).
    public var rung: Backend?
    /// The largest batch for a function that defines `handle_batch` (nil: 8).
    public var maxBatch: Int?
    /// Environment variables for its instances (nil: the previous revision's).
    public var environment: [String: String]?
    /// Secrets for its instances, as environment variables, stored apart from the manifest with
    /// owner-only permissions and never shown (nil: the previous revision's).
    public var secrets: [String: String]?
    /// Anyone may invoke it without a token.
    public var publicInvoke: Bool?
    /// Hears how the deploy goes (installing requirements, pip's output, starting an instance).
    public var progress: (@Sendable (String) -> Void)?

    /// Creates a deploy request.
    public init(
        name: String, files: [String: [UInt8]], mode: ExecutionMode? = nil, minScale: Int? = nil, maxScale: Int? = nil,
        slo: SLO? = nil, concurrency: Int? = nil, keepAlive: KeepAliveSettings.Mode? = nil, prewarm: Bool? = nil,
        rung: Backend? = nil, maxBatch: Int? = nil, environment: [String: String]? = nil, secrets: [String: String]? = nil
    ) {
        self.environment = environment
        self.secrets = secrets
        self.rung = rung
        self.maxBatch = maxBatch
        self.keepAlive = keepAlive
        self.prewarm = prewarm
        self.slo = slo
        self.concurrency = concurrency
        self.name = name
        self.files = files
        self.mode = mode
        self.minScale = minScale
        self.maxScale = maxScale
    }
}

/// What `FunctionRuntime.update` changes of a function's settings; what is not named stays.
public struct SettingsChange: Sendable {
    /// The SLO: kept, back to the platform's default, or a new one.
    public enum SLOChange: Sendable { case keep, platformDefault, set(SLO) }
    /// The mode: kept, the detected one (a forced mode released), or forced.
    public enum ModeChange: Sendable { case keep, detected, force(ExecutionMode) }

    public var slo: SLOChange
    public var mode: ModeChange
    public var minScale: Int?
    public var maxScale: Int?

    /// A change.
    public init(slo: SLOChange = .keep, mode: ModeChange = .keep, minScale: Int? = nil, maxScale: Int? = nil) {
        self.slo = slo
        self.mode = mode
        self.minScale = minScale
        self.maxScale = maxScale
    }
}

/// Why the platform refused a request; `statusCode` is the HTTP status it maps to.
public struct PlatformError: Error, CustomStringConvertible, Sendable {
    /// A machine-readable code (`not_found`, `invalid_function`, …).
    public var code: String
    /// What was wrong and what to do.
    public var message: String
    /// The HTTP status.
    public var statusCode: Int

    /// Creates an error.
    public init(_ code: String, _ message: String, status: Int) {
        self.code = code
        self.message = message
        self.statusCode = status
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
    /// Its id (`Gaia-Invocation-Id`), under which its record is stored.
    public var id: String
}

/// Where a function runs and what its mode controller knows, for `describe` and `/metrics`.
public struct RungStatus: Sendable {
    /// The rung serving it now.
    public var current: Backend
    /// Its start rung (the floor of low-load demotions).
    public var start: Backend
    /// The rungs its mode allows on this machine.
    public var rungs: [Backend]
    /// The SLO it is held to (the default when none was declared).
    public var slo: SLO
    /// The latency model's expectation per rung, ms.
    public var predictedMs: [Backend: Double]
    /// Rungs that have served enough traffic to be measured.
    public var measured: Set<Backend>
    /// The fraction of the work that speeds up with cores.
    public var parallelFraction: Double
    /// Whether that fraction was fitted from measurements.
    public var fitted: Bool
    /// Rungs that failed to start recently, with the reason; the controller keeps off them.
    public var failed: [Backend: String] = [:]
    /// The performance predictor's error on held-out recent invocations, percent (nil: too few).
    public var predictorError: Double?
    /// The request rate the controller plans for, per second (`DemandEstimate.planned`).
    public var demandForecast: Double = 0
}

/// The embedded platform on one machine: deploys functions, routes invocations to their
/// instance pools, autoscales them on each `tick`, and records what happened.
public actor FunctionRuntime {
    private struct Live {
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
    private struct Sample {
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
    private var live: [String: Live] = [:]
    /// Where invocation records are committed before their answers leave.
    public nonisolated let records: InvocationLog
    private var pendingSamples: [Sample] = []
    /// Pools left after a warm switch, finishing their last requests.
    private var draining: [ObjectIdentifier: any FunctionPool] = [:]
    /// Pools a switch is warming on its target rung: a shutdown stops them at once.
    private var warming: [ObjectIdentifier: any FunctionPool] = [:]
    /// The control actions being carried out (a scaling's starts, a switch), by a key of their own:
    /// the tick begins them and waits for none, so one function's slow start holds back no other's
    /// control.
    private var carryingOut: [Int: Task<Void, Never>] = [:]
    private var nextCarryingOut = 0
    private let logger: Logger
    /// The fork server CPU-rung instances come from (nil when `forkServer` is off).
    public nonisolated let zygote: Zygote?
    /// Names with a deploy in progress: the actor is re-entered while the first instance starts.
    private var deploying: Set<String> = []
    /// Set by `beginShutdown()` or `shutdown()`: no deploy completes after it (one in flight stops its instance).
    private var closed = false
    /// Pools of deploys whose first instance is starting, by function: a shutdown, or a removal of
    /// that function, stops them at once.
    private var starting: [String: any FunctionPool] = [:]
    /// Deploys in progress that a removal cancelled: each stops at its next step.
    private var cancelledDeploys: Set<String> = []
    /// Deploys whose first instance waits for room on the machine (`InstanceSlots`).
    private var waitingForRoom: Set<String> = []
    /// The quota schedulers of shared devices (GPUs, and CPU cores shared by share rungs).
    public nonisolated let schedulers: DeviceSchedulers
    /// Functions' secrets, apart from their manifests.
    private nonisolated let secrets: SecretStore
    /// The queue of asynchronous invocations.
    public nonisolated let asyncInvocations: AsyncInvocations
    /// Virtual environments of functions with a `requirements.txt`.
    public nonisolated let environments: PythonEnvironments
    /// When the logs were last swept (`LogRotation`).
    private var logsSweptAt: ContinuousClock.Instant?
    /// A fork server per virtual environment in use, by its key.
    private var environmentZygotes: [String: Zygote] = [:]
    /// Whether instances are confined (`SandboxSettings.active`, read from /proc once, here, and
    /// never on a cluster).
    private let sandboxing: Bool
    /// Where instance cgroups are made (nil: not sandboxing, or no writable cgroup hierarchy).
    private let cgroups: Cgroups?
    /// Each live function's sandbox uid (when sandboxing), from the database.
    private var sandboxUIDs: [String: UInt32] = [:]
    /// The machine's instance slots, shared by every local pool (nil on a cluster).
    public nonisolated let slots: InstanceSlots?

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
    private func prepareSandbox(for name: String) throws {
        guard sandboxing else { return }
        let uid = try database.sandboxUID(of: name, first: configuration.sandbox.firstUID)
        try FunctionSandbox.makeHome(home(of: name), uid: uid, gid: uid)
        sandboxUIDs[name] = uid
    }

    private func home(of name: String) -> String { "\(configuration.dataDirectory)/home/\(name)" }

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
    private func rebuildEnvironment(of stored: StoredFunction) async -> String? {
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
    private func collectEnvironments() async {
        guard draining.isEmpty else { return }
        let used = Set(live.values.compactMap(\.stored.manifest.pythonEnvironment))
        for key in await environments.collect(keeping: used) {
            logger.info("removed an unused environment", metadata: ["environment": "\(key)"])
            await environmentZygotes.removeValue(forKey: key)?.stop()
        }
    }

    /// The fork server a function's CPU instances come from: the shared one, or its environment's
    /// own (nil when fork servers are off).
    private func zygote(for manifest: FunctionManifest) -> Zygote? {
        guard zygote != nil, let key = manifest.pythonEnvironment else { return zygote }
        if let existing = environmentZygotes[key] { return existing }
        let made = Zygote(python: environments.environment(key).python, logPath: "\(configuration.dataDirectory)/logs/zygote-\(key).log")
        environmentZygotes[key] = made
        return made
    }

    // MARK: Deploy

    /// Validates, analyzes and stores a new revision, starts one instance of it to prove it
    /// loads, then moves traffic to it and stops the previous revision's instances.
    @discardableResult
    public func deploy(_ request: DeployRequest) async throws -> FunctionManifest {
        try Self.validate(request, maxBytes: configuration.maxUploadBytes)
        do {
            try configuration.limits.check(minScale: request.minScale, maxScale: request.maxScale, concurrency: request.concurrency, maxBatch: request.maxBatch)
        } catch {
            throw PlatformError(error.code, error.description, status: error.code == "over_capacity" ? 422 : 400)
        }
        guard let entry = FunctionSource.entryPoint(among: request.files) else {
            throw PlatformError("invalid_function", "no entry point: upload handler.py (or main.py, app.py) defining handle(payload, context)", status: 400)
        }
        var requirements: Requirements?
        if let bytes = request.files["requirements.txt"] {
            do { requirements = try Requirements(bytes) } catch { throw PlatformError("invalid_requirements", error.description, status: 400) }
            if requirements?.isEmpty == true { requirements = nil }
            if requirements != nil && configuration.cluster != nil {
                throw PlatformError(
                    "not_supported", "requirements.txt is not installed on the cluster yet: build the function's image with gaia kube render (its Dockerfile installs them)",
                    status: 501)
            }
        }
        let pyFiles = request.files.filter { $0.key.hasSuffix(".py") }
        let source = FunctionSource(files: pyFiles, entryPoint: entry, requirements: request.files["requirements.txt"])
        var manifest = ExecutionModeAnalyzer().analyze(source, name: request.name, override: request.mode)
        manifest.slo = request.slo
        manifest.minScale = request.minScale
        manifest.maxScale = request.maxScale
        manifest.concurrency = request.concurrency
        manifest.keepAlive = request.keepAlive?.description
        manifest.prewarm = request.prewarm
        manifest.rung = request.rung?.description
        manifest.publicInvoke = request.publicInvoke == true ? true : nil
        let previousRevision = live[request.name]?.stored
        let environment = request.environment ?? previousRevision?.manifest.environment ?? [:]
        let secretValues = request.secrets ?? previousRevision.map { secrets.values($0.name, revision: $0.revision) } ?? [:]
        if let both = environment.keys.first(where: { secretValues[$0] != nil }) {
            throw PlatformError("invalid_environment", "\(both) is both an environment variable and a secret; give it once", status: 400)
        }
        if !secretValues.isEmpty && configuration.cluster != nil {
            throw PlatformError(
                "not_supported", "secrets are not passed to the cluster yet: put them in a Kubernetes Secret in the namespace and deploy without --secret",
                status: 501)
        }
        manifest.environment = environment.isEmpty ? nil : environment
        manifest.secrets = secretValues.isEmpty ? nil : secretValues.keys.sorted()
        if let rung = request.rung, !configuration.ladder.offers(rung) {
            let here = configuration.cluster == nil ? "this machine" : "the cluster"
            throw PlatformError(
                "invalid_rung", "\(here) has no rung \(rung) (nor \(rung.wholeTime) to take a time quota of); its ladder is \(configuration.ladder.rungs.map(\.description).joined(separator: ", "))",
                status: 400)
        }
        if manifest.partial {
            throw PlatformError("syntax_error", "the function has syntax errors:\n" + manifest.diagnostics.joined(separator: "\n"), status: 400)
        }
        let parsed = PythonParser.parse(bytes: request.files[entry]!)
        let topLevel = Set(parsed.module.body.compactMap { statement -> String? in
            if case .functionDef(let f) = statement.kind { f.name } else { nil }
        })
        let definesHandle = topLevel.contains("handle")
        if topLevel.contains("handle_batch") { manifest.maxBatch = request.maxBatch ?? 8 }
        guard definesHandle else {
            throw PlatformError("invalid_function", "\(entry) defines no top-level function handle(payload, context)", status: 400)
        }
        if manifest.mode == .gpu && manifest.modeOverride == nil && !configuration.hasGPU {
            throw PlatformError(
                "no_gpu", "\(manifest.rationale)\n\(configuration.cluster == nil ? "This machine" : "The cluster") has no GPU; deploy with --mode cpu_preferred (or another mode) to run it on CPU.",
                status: 422)
        }

        guard !closed else { throw PlatformError("shutting_down", "the platform is shutting down", status: 503) }
        guard deploying.insert(request.name).inserted else {
            throw PlatformError("conflict", "a deploy of '\(request.name)' is already in progress; retry when it finishes", status: 409)
        }
        defer {
            deploying.remove(request.name)
            cancelledDeploys.remove(request.name)
        }
        let previous = live[request.name]
        let revision = try database.nextRevision(of: request.name)
        let directory = "\(configuration.dataDirectory)/functions/\(request.name)/r\(revision)"
        try? FileManager.default.removeItem(atPath: directory)
        /// Nothing is left of a refused deploy: its files and its secrets go.
        func discard() {
            try? FileManager.default.removeItem(atPath: directory)
            secrets.remove(request.name, revision: revision)
            if previous == nil, sandboxUIDs.removeValue(forKey: request.name) != nil {
                try? FileManager.default.removeItem(atPath: home(of: request.name))  // a first deploy leaves no home
            }
        }
        do {
            try secrets.write(secretValues, request.name, revision: revision)
            for (path, bytes) in request.files {
                let target = "\(directory)/\(path)"
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: target, contents: Data(bytes)) else {
                    throw PlatformError("storage", "cannot write \(path) of the function", status: 500)
                }
            }
        } catch {
            discard()
            throw error
        }
        if let requirements {
            do {
                let environment = try await environments.prepare(requirements, progress: request.progress ?? { _ in })
                manifest.pythonEnvironment = environment.key
            } catch {
                discard()
                throw error
            }
        }
        if cancelledDeploys.contains(request.name) {
            discard()
            throw Self.deployCancelled(request.name)
        }
        // The environment is held until this deploy ends; then the function (if it deployed) holds it.
        defer { if let key = manifest.pythonEnvironment { Task { await environments.release(key) } } }
        let stored = StoredFunction(name: request.name, revision: revision, sourceDirectory: directory, manifest: manifest, deployedAt: Date())
        if let cluster = configuration.cluster {
            do {
                try await cluster.publish(stored, files: request.files)
            } catch {
                discard()
                throw error as? PlatformError ?? PlatformError("cluster", "the cluster refused the function: \(error)", status: 502)
            }
        }
        await zygote(for: manifest)?.want(manifest.frameworks)
        do {
            try prepareSandbox(for: request.name)
        } catch {
            discard()
            throw PlatformError("sandbox", "the function's sandbox could not be prepared: \(error)", status: 500)
        }
        request.progress?("starting an instance to prove the function loads")
        let next = makeLive(stored)
        starting[request.name] = next.pool
        defer { starting.removeValue(forKey: request.name) }
        do {
            try await startFirstInstance(of: request.name, next.pool, progress: request.progress)
            if cancelledDeploys.contains(request.name) { throw Self.deployCancelled(request.name) }
        } catch {
            await next.pool.shutdown()
            discard()
            if closed {  // the platform began to shut down while the instance started
                throw PlatformError("shutting_down", "the platform is shutting down; deploy again once it is back", status: 503)
            }
            if cancelledDeploys.contains(request.name) { throw Self.deployCancelled(request.name) }
            guard let error = error as? WorkerError else { throw error }
            if case .initFailed(let message, let traceback) = error {
                throw PlatformError("init_failed", SecretStore.redact("the function failed to load: \(message)\n\(traceback)", secretValues), status: 400)
            }
            throw PlatformError("init_failed", SecretStore.redact(error.description, secretValues), status: 400)
        }
        guard !closed else {  // shut down while the instance started: nothing may outlive the runtime
            await next.pool.shutdown()
            throw PlatformError("shutting_down", "the platform is shutting down", status: 503)
        }
        try database.deploy(name: request.name, manifest: manifest, sourceDirectory: directory)
        secrets.keepOnly(request.name, revision: revision)
        live[request.name] = next
        if let previous { retire(previous.pool) }  // its requests in flight finish on it
        return manifest
    }

    /// A function's settings changed without new files: its serving revision's files and choices
    /// with `change` applied, deployed as a new revision (analysed, started and proven before
    /// traffic moves, as any deploy).
    @discardableResult
    public func update(_ name: String, _ change: SettingsChange) async throws -> FunctionManifest {
        let stored = try function(name)
        let m = stored.manifest
        var request = DeployRequest(
            name: name, files: try files(of: stored), mode: m.modeOverride, minScale: m.minScale, maxScale: m.maxScale, slo: m.slo,
            concurrency: m.concurrency, keepAlive: m.keepAlive.flatMap { try? KeepAliveSettings.Mode(parsing: $0) }, prewarm: m.prewarm,
            rung: m.rung.flatMap(Backend.init), maxBatch: m.maxBatch, environment: m.environment ?? [:])
        request.publicInvoke = m.publicInvoke
        switch change.slo {
        case .keep: break
        case .platformDefault: request.slo = nil
        case .set(let slo): request.slo = slo
        }
        switch change.mode {
        case .keep: break
        case .detected: request.mode = nil
        case .force(let mode): request.mode = mode
        }
        if let minScale = change.minScale { request.minScale = minScale }
        if let maxScale = change.maxScale { request.maxScale = maxScale }
        return try await deploy(request)
    }

    /// A function's serving revision's files, by relative path (what was uploaded; no `__pycache__`).
    public func files(of name: String) throws -> [String: [UInt8]] {
        try files(of: try function(name))
    }

    private func files(of stored: StoredFunction) throws -> [String: [UInt8]] {
        let root = URL(fileURLWithPath: stored.sourceDirectory)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw PlatformError("storage", "cannot read \(stored.sourceDirectory)", status: 500)
        }
        var files: [String: [UInt8]] = [:]
        let prefix = root.resolvingSymlinksInPath().path + "/"
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = url.resolvingSymlinksInPath().path
            guard path.hasPrefix(prefix) else { continue }
            let relative = String(path.dropFirst(prefix.count))
            // Python's bytecode caches are the instances' writing, not the user's files.
            guard !relative.split(separator: "/").contains("__pycache__") else { continue }
            files[relative] = Array(try Data(contentsOf: url))
        }
        return files
    }

    /// Most files one function may upload.
    static let maxFiles = 1000

    static func validate(_ request: DeployRequest, maxBytes: Int) throws {
        let name = request.name
        let validName = (1...63).contains(name.utf8.count) && name.utf8.first.map { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) } == true
            && name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
        guard validName else {
            throw PlatformError(
                "invalid_name", "'\(name.prefix(100))' is not a valid function name: use lowercase ASCII letters, digits and '-', starting with a letter, at most 63 characters",
                status: 400)
        }
        let size = request.files.values.reduce(0) { $0 + $1.count }
        guard size <= maxBytes else {
            throw PlatformError("too_large", "the upload is \(size) bytes; the limit is \(maxBytes)", status: 413)
        }
        guard !request.files.isEmpty else { throw PlatformError("invalid_function", "no files uploaded", status: 400) }
        guard request.files.count <= maxFiles else {
            throw PlatformError("invalid_function", "\(request.files.count) files uploaded; the limit is \(maxFiles)", status: 400)
        }
        for path in request.files.keys { try validate(path: path) }
        // A path may not also be a folder of another (`a` beside `a/b`).
        for path in request.files.keys {
            var folder = Substring(path)
            while let slash = folder.lastIndex(of: "/") {
                folder = folder[..<slash]
                if request.files[String(folder)] != nil {
                    throw PlatformError("invalid_function", "'\(folder)' is both a file and the folder of '\(path)'", status: 400)
                }
            }
        }
        for (kind, variables) in [("environment variable", request.environment ?? [:]), ("secret", request.secrets ?? [:])] {
            try validate(variables, kind)
        }
    }

    /// Names Gaia sets for every instance: a function may not give them.
    static let reservedVariables: Set<String> = [
        "CUDA_VISIBLE_DEVICES", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_LOG_DIRECTORY",
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "PYTHONUNBUFFERED",
    ]

    /// Environment variables or secrets: at most 100, names as POSIX shells take them (letters,
    /// digits, `_`, not starting with a digit, at most 128 bytes; none of Gaia's own), values
    /// without NUL bytes, at most 32 KiB each.
    static func validate(_ variables: [String: String], _ kind: String) throws {
        guard variables.count <= 100 else {
            throw PlatformError("invalid_environment", "\(variables.count) \(kind)s given; the limit is 100", status: 400)
        }
        for (name, value) in variables {
            let bytes = Array(name.utf8)
            let valid = (1...128).contains(bytes.count) && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0])
                && bytes.allSatisfy { $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            guard valid else {
                throw PlatformError(
                    "invalid_environment", "'\(name.prefix(60))' is not a valid \(kind) name: use letters, digits and '_', not starting with a digit",
                    status: 400)
            }
            guard !name.hasPrefix("GAIA_") && !reservedVariables.contains(name) else {
                throw PlatformError("invalid_environment", "\(name) is set by Gaia for every instance; choose another name", status: 400)
            }
            guard value.utf8.count <= 32 * 1024, !value.utf8.contains(0) else {
                throw PlatformError("invalid_environment", "the \(kind) \(name) is over 32 KiB or holds a NUL byte", status: 400)
            }
        }
    }

    /// A file path of an upload: relative, in plain components (no empty, `.` or `..` one, no
    /// trailing slash), each at most 255 bytes of printable characters, at most 1,024 bytes in all.
    static func validate(path: String) throws {
        func refuse(_ why: String) -> PlatformError {
            PlatformError("invalid_path", "file path '\(path.prefix(120))' \(why)", status: 400)
        }
        guard !path.isEmpty, path.utf8.count <= 1024 else { throw refuse("must have 1 to 1,024 bytes") }
        guard !path.hasPrefix("/") else { throw refuse("must be relative") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts {
            guard !part.isEmpty else { throw refuse("has an empty component (a doubled or trailing '/')") }
            guard part != ".", part != ".." else { throw refuse("must stay inside the function (no '.' or '..')") }
            guard part.utf8.count <= 255 else { throw refuse("has a component over 255 bytes") }
            guard part.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && $0 != "\\" }) else {
                throw refuse("has a control character or a backslash")
            }
        }
    }

    /// A pool and a controller for a revision, with the function's own limits from its manifest,
    /// starting on its start rung (a pinned rung this machine lacks, a GPU gone since the deploy,
    /// falls back to the mode's ladder).
    /// `loaded`: an instance of it was just started (a deploy's), which the keep-alive keeps.
    private func makeLive(_ stored: StoredFunction, loaded: Bool = true) -> Live {
        let inputs = policyInputs(stored.manifest)
        return Live(
            stored: stored, pool: makePool(stored, on: inputs.start), backend: inputs.start,
            controller: FunctionController(inputs, at: .now, loaded: loaded), usageCountedTo: .now)
    }

    /// What a function's controller is built from: this platform's settings and the manifest's choices.
    func policyInputs(_ manifest: FunctionManifest) -> FunctionPolicyInputs {
        var autoscaler = configuration.autoscaler
        if let maxScale = manifest.maxScale { autoscaler.maxScale = maxScale }
        if let minScale = manifest.minScale { autoscaler.minScale = minScale }
        var keepAlive = configuration.keepAlive
        if let text = manifest.keepAlive, let mode = try? KeepAliveSettings.Mode(parsing: text) { keepAlive.mode = mode }
        keepAlive.prewarm = manifest.prewarm ?? keepAlive.prewarm
        var inputs = FunctionPolicyInputs(
            ladder: configuration.ladder, mode: manifest.mode, pinned: manifest.rung.flatMap(Backend.init), slo: manifest.slo,
            work: manifest.estimatedWork,
            concurrency: max(manifest.concurrency ?? configuration.pool.instanceConcurrency, manifest.maxBatch ?? 1),
            autoscaler: autoscaler, keepAlive: keepAlive, controller: configuration.controller, prices: configuration.prices)
        inputs.gpuMemoryMiB = configuration.machine.gpus.map(\.memoryTotalMiB).min()
        inputs.instanceMiB = configuration.gpuMemoryPerInstanceMiB
        return inputs
    }

    /// An empty pool for a revision on a rung: the cluster's, or local instances pinned to cores of
    /// this machine.
    private func makePool(_ stored: StoredFunction, on backend: Backend) -> any FunctionPool {
        var poolSettings = configuration.pool
        let inputs = policyInputs(stored.manifest)
        poolSettings.startsForQueue = FunctionController.poolStartsForQueue(
            on: backend, among: inputs.rungs, plansConfigurations: inputs.plansConfigurations)
        if let maxScale = stored.manifest.maxScale { poolSettings.maxScale = maxScale }
        if let concurrency = stored.manifest.concurrency { poolSettings.instanceConcurrency = concurrency }
        if let cluster = configuration.cluster { return cluster.pool(for: stored, on: backend, settings: poolSettings) }
        if let batch = stored.manifest.maxBatch, batch > 1 {
            // A batch is `batch` requests on one instance at once.
            poolSettings.instanceConcurrency = max(poolSettings.instanceConcurrency, batch)
            poolSettings.batching = BatchPolicy(maxBatch: batch, budgetMs: (stored.manifest.slo ?? .default).thresholdMs)
        }
        let perInstanceMiB = configuration.gpuMemoryPerInstanceMiB ?? stored.manifest.estimatedWork.gpuMemoryMiB
        if let fit = configuration.machine.gpuInstanceLimit(on: backend, perInstanceMiB: perInstanceMiB) {
            poolSettings.maxScale = min(poolSettings.maxScale, fit)
        }
        let python = stored.manifest.pythonEnvironment.map { environments.environment($0).python } ?? configuration.python
        let memoryLimit = configuration.memoryLimitMB
        let machine = configuration.machine
        let zygote = zygote(for: stored.manifest)
        let instanceConcurrency = poolSettings.instanceConcurrency
        let logs = "\(configuration.dataDirectory)/logs/\(stored.name)"
        let maxResponseBytes = configuration.maxResponseBytes
        try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        // The function's variables and secrets; the rung's own (cores, threads, device) win.
        let extra = (stored.manifest.environment ?? [:]).merging(secrets.values(stored.name, revision: stored.revision)) { $1 }
        let tag = UInt32.random(in: 0..<UInt32.max)  // pools of one revision on different rungs log apart
        // Confined whenever sandboxing is on: a uid the database could not give falls back to nobody's.
        let sandboxUID = sandboxUIDs[stored.name] ?? (sandboxing ? 65534 : nil)
        let sandbox = sandboxUID.map { uid in
            FunctionSandbox(
                uid: uid, gpuUID: machine.mps ? configuration.sandbox.firstUID - 1 : nil,
                hidden: [configuration.dataDirectory], home: home(of: stored.name),
                maxProcesses: configuration.sandbox.maxProcesses, cgroups: cgroups)
        }
        let gate = ShareGate(schedulers: schedulers, client: "\(stored.name)/r\(stored.revision)")
        return InstancePool(backend: backend, settings: poolSettings, shareGate: gate, slots: slots) { id, backend in
            var worker = WorkerConfiguration(
                python: python, functionDirectory: stored.sourceDirectory, entryPoint: stored.manifest.entryPoint,
                handler: stored.manifest.handler, functionName: stored.name, backend: backend,
                cpus: machine.cores(forInstance: id, on: backend),
                logPath: "\(logs)/r\(stored.revision)-\(String(tag, radix: 36))-i\(id).log",
                memoryLimitMB: backend.deviceClass == .cpu ? memoryLimit : 0,
                concurrency: instanceConcurrency, environment: machine.environment(for: backend).merging(extra) { rung, _ in rung },
                zygote: backend.deviceClass == .cpu ? zygote : nil)
            worker.maxResponseBytes = maxResponseBytes
            worker.sandbox = sandbox
            return worker
        }
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
            records.append(record(
                function, id: id, at: arrived, backend: function.backend, cold: false, total: elapsed, queue: 0, status: Self.status(of: error)))
            if case WorkerError.handlerFailed(let message, let traceback) = error, function.stored.manifest.secrets != nil {
                throw WorkerError.handlerFailed(error: redacted(message, function.stored), traceback: redacted(traceback, function.stored))
            }
            throw error
        }
    }

    private func record(
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

    // MARK: Queries

    /// Every deployed function, by name.
    public func functions() -> [StoredFunction] { live.values.map(\.stored).sorted { $0.name < $1.name } }

    /// One function, or a not-found error.
    /// Whether anyone may invoke a function without a token.
    public func isPublic(_ name: String) -> Bool {
        live[name]?.stored.manifest.publicInvoke == true
    }

    public func function(_ name: String) throws -> StoredFunction {
        guard let f = live[name] else { throw PlatformError("not_found", "no function named '\(name)'", status: 404) }
        return f.stored
    }

    /// Instances running or starting for a function.
    public func instanceCount(_ name: String) async -> Int {
        guard let f = live[name] else { return 0 }
        return await f.pool.instanceCount
    }

    /// Process ids of a function's running instances.
    public func pids(of name: String) async -> [Int32] {
        guard let f = live[name] else { return [] }
        return await f.pool.pids
    }

    /// The end of a function's instance logs (latest revision), oldest instance first.
    public func logs(_ name: String, maxBytes: Int = 64 * 1024) throws -> String {
        let f = try function(name)
        if configuration.cluster != nil {
            return "\(name) runs on the cluster; its pods' logs: kubectl logs -l gaia.dev/function=\(name) -c function\n"
        }
        let dir = "\(configuration.dataDirectory)/logs/\(name)"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasPrefix("r\(f.revision)-") && $0.hasSuffix(".log") }.sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        var text = ""
        for file in files {
            // Only the end of each file is read: a function that prints without end costs the
            // server at most `maxBytes` per instance log here.
            guard let handle = FileHandle(forReadingAtPath: "\(dir)/\(file)") else { continue }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0)
            let tail = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
            if !tail.isEmpty { text += "==> \(file) <==\n\(size > UInt64(maxBytes) ? "…\n" : "")\(tail)\n" }
        }
        return redacted(String(text.suffix(maxBytes)), f)
    }

    /// `text` with the function's secret values replaced by their names.
    private func redacted(_ text: String, _ f: StoredFunction) -> String {
        guard f.manifest.secrets != nil else { return text }
        return SecretStore.redact(text, secrets.values(f.name, revision: f.revision))
    }

    /// Starts a deploy's first instance; while the machine runs all it holds, waits for the control
    /// loop's fair share to make room (at most `roomWait`), then gives up with the reason.
    private func startFirstInstance(of name: String, _ pool: any FunctionPool, progress: (@Sendable (String) -> Void)?) async throws {
        let started = ContinuousClock.now
        defer { waitingForRoom.remove(name) }
        while true {
            do {
                try await pool.scale(to: 1)
                return
            } catch PoolError.machineFull(let capacity) {
                guard ContinuousClock.now - started < Self.roomWait, !closed, !cancelledDeploys.contains(name) else {
                    throw PlatformError(
                        "machine_full",
                        "the machine runs the most instances it holds, \(capacity), and none came free within \(Self.roomWait); remove functions, lower their min scale, or raise max_instances",
                        status: 503)
                }
                if waitingForRoom.insert(name).inserted { progress?("the machine runs all the instances it holds; waiting for room") }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Longest a deploy waits for room on the machine for its first instance.
    static let roomWait = Duration.seconds(15)

    /// Why a deploy stopped: its function was removed meanwhile.
    static func deployCancelled(_ name: String) -> PlatformError {
        PlatformError("cancelled", "the deploy of '\(name)' was cancelled: the function was removed (gaia rm) while it deployed", status: 409)
    }

    /// Takes a function out of service (new requests get 404), lets its requests in flight finish,
    /// stops its instances and marks it deleted (its history stays). A deploy of it in progress is
    /// cancelled: the instance it is starting is stopped at once (an `init` that hangs included),
    /// and the deploy answers that it was cancelled.
    public func remove(_ name: String) async throws {
        let deployed = deploying.contains(name)
        if deployed {
            cancelledDeploys.insert(name)
            await starting[name]?.shutdown()  // the deploy may end meanwhile
        }
        guard let f = live.removeValue(forKey: name) else {
            if deployed { return }  // a first deploy: it removes what it wrote
            throw PlatformError("not_found", "no function named '\(name)'", status: 404)
        }
        draining[ObjectIdentifier(f.pool)] = f.pool  // a shutdown meanwhile stops it at once
        await f.pool.drain()
        drained(f.pool)
        try database.delete(name: name)
        secrets.remove(name)
        sandboxUIDs[name] = nil
        try? FileManager.default.removeItem(atPath: home(of: name))
        do {
            try await configuration.cluster?.remove(name)
        } catch {
            logger.warning("the function's cluster objects were not all removed", metadata: ["function.name": "\(name)", "error": "\(error)"])
        }
    }

    // MARK: Control

    /// One control step: feed each function's controller what finished since the last tick and
    /// what its pool holds now, carry out the actions it returns (recording each as done or
    /// failed, with the deciding rule's reason), count instance time, and store pending records.
    public func tick(at now: ContinuousClock.Instant = .now) async {
        if logsSweptAt.map({ now - $0 >= .seconds(10) }) ?? true {
            logsSweptAt = now
            let rotation = configuration.logRotation
            let logs = "\(configuration.dataDirectory)/logs"
            Task.detached(priority: .background) { rotation.sweep(logs) }
        }
        let samples = pendingSamples
        pendingSamples = []
        for sample in samples {
            live[sample.function]?.controller.invocationFinished(
                arrived: sample.at, milliseconds: sample.milliseconds, serviceMilliseconds: sample.serviceMilliseconds, on: sample.backend,
                warmAndSuccessful: sample.counts, batch: sample.batch)
        }
        var usage: [(function: String, backend: String, instanceSeconds: Double, costUSD: Double)] = []
        var decided: [(name: String, pool: any FunctionPool, current: Int, needs: Int, kept: Int, actions: [RuntimeAction], switching: Bool)] = []
        for name in live.keys.sorted() {
            guard var f = live[name] else { continue }
            let concurrency = await f.pool.concurrency
            let current = await f.pool.instanceCount
            let refused = await (f.pool as? InstancePool)?.takeRefusedStarts() ?? 0
            // The awaits above may have let a deploy, removal or switch replace this function's
            // pool: act only on the pool that was measured.
            guard let still = live[name], still.pool === f.pool else { continue }
            f = still
            if now > f.usageCountedTo {
                let elapsed = (now - f.usageCountedTo).inMilliseconds / 1000
                let seconds = elapsed * Double(current)
                if seconds > 0 {
                    usage.append((name, f.backend.description, seconds, configuration.prices.cost(seconds: seconds, on: f.backend)))
                }
                f.idleInstanceSeconds += elapsed * max(0, Double(current) - concurrency)
                f.usageCountedTo = now
            }
            f.instances = current
            guard !f.switching else {
                // Its switch holds what it runs now, and its controller waits for the outcome.
                live[name] = f
                decided.append((name, f.pool, current, current, 0, [], true))
                continue
            }
            let observation = FunctionObservation(requestsInPool: concurrency, instances: current, deviceRoom: deviceRoom(for: name, on: f.backend))
            let actions = f.controller.evaluate(at: now, observing: observation)
            live[name] = f
            if let batcher = f.pool.batcher, let maxBatch = f.stored.manifest.maxBatch {
                // The batch former's service times per batch size, from the predictor.
                let predictor = f.controller.predictor
                let expected = (1...maxBatch).compactMap { k in predictor.serviceMs(on: f.backend, batch: k).map { (k, $0) } }
                await batcher.update(serviceMs: Dictionary(uniqueKeysWithValues: expected), budgetMs: f.controller.mode.slo.thresholdMs)
            }
            // What it wants: the controller's target, one more than it has if starts were refused.
            // Its minimum scale, and what its load asks for, it needs; beyond that, an idle function
            // keeps instances for its keep-alive, which yield to others' needs.
            let target = actions.lazy.compactMap { if case .scale(_, let to, _) = $0 { to } else { nil } }.first ?? current
            let wants = max(target, refused > 0 ? current + 1 : 0)
            let needs = concurrency > 0 || refused > 0 ? wants : min(wants, f.controller.autoscaler.settings.scaleBounds.lowerBound)
            decided.append((name, f.pool, current, needs, wants - needs, actions, false))
        }
        if let slots {
            // The functions together may want more instances than the machine holds: each gets a
            // fair share of it (`InstanceCapacity.share`), the rest of its want waits for room. A
            // deploy waiting for room for its first instance needs one.
            let needs = decided.map(\.needs) + waitingForRoom.map { _ in 1 }
            let kept = decided.map(\.kept) + waitingForRoom.map { _ in 0 }
            let wants = zip(needs, kept).map { $0 + $1 }
            if wants.reduce(0, +) > slots.capacity.instances {
                let grants = slots.capacity.share(needs: needs, kept: kept)
                for i in decided.indices where grants[i] < wants[i] && !decided[i].switching {
                    let d = decided[i]
                    var actions = d.actions.filter { if case .scale = $0 { false } else { true } }
                    if grants[i] != d.current {
                        actions.insert(.scale(
                            from: d.current, to: grants[i],
                            reason: "wants \(wants[i]) instances; the machine runs at most \(slots.capacity), and its fair share among the functions that want them is \(grants[i])"),
                            at: 0)
                    }
                    decided[i].actions = actions
                }
            }
        }
        for d in decided {
            for action in d.actions {
                guard live[d.name]?.pool === d.pool, live[d.name]?.switching == false else { break }
                switch action {
                case .scale(let from, let to, let reason):
                    // Counted by the pool at once; the starts are waited for apart.
                    let scaling = await d.pool.beginScaling(to: to)
                    carryOut { await self.recordScaling(d.name, scaling, from: from, to: to, reason: reason) }
                case .switchRung(let rungSwitch):
                    live[d.name]?.switching = true
                    carryOut { await self.switchRung(d.name, rungSwitch, at: now) }
                }
            }
        }
        try? database.addUsage(usage)
        await flushRecords()
    }

    /// Runs `work` (a control action being carried out) as a task of its own, kept until it ends.
    private func carryOut(_ work: @escaping @Sendable () async -> Void) {
        nextCarryingOut += 1
        let key = nextCarryingOut
        carryingOut[key] = Task {
            await work()
            self.carryingOut.removeValue(forKey: key)
        }
    }

    /// Returns once the control actions begun so far (and any they begin) are carried out: the
    /// starts of a scaling, a switch's warm-up. (Tests read a tick's outcome after it; a shutdown
    /// waits for them once it has stopped what they wait on.)
    public func actionsCarriedOut() async {
        while let (_, task) = carryingOut.first {
            await task.value
        }
    }

    /// Percent of the GPU of `backend` that function `name` may hold: 100 less what the other
    /// functions' instances there hold (SM × quota each, a whole GPU 100); 100 off GPUs.
    private func deviceRoom(for name: String, on backend: Backend) -> Double {
        // On a cluster every pod of a GPU variant has a GPU of its own.
        guard configuration.cluster == nil, case .gpu(let device, _, _) = backend else { return 100 }
        var used = 0.0
        for (other, f) in live where other != name {
            if case .gpu(device, let sm, let quota) = f.backend { used += Double(f.instances * sm * quota) / 100 }
        }
        return max(0, 100 - used)
    }

    /// Records what a scaling really did once its starts have ended: done, or failed with the error.
    private func recordScaling(_ name: String, _ scaling: Task<Void, any Error>, from: Int, to: Int, reason: String) async {
        do {
            try await scaling.value
            try? database.record(DecisionRecord(
                function: name, at: Date(), kind: "scale", from: "\(from) instances", to: "\(to) instances", reason: reason))
        } catch {
            logger.warning("scaling failed", metadata: ["function.name": "\(name)", "to": "\(to)", "error": "\(error)"])
            try? database.record(DecisionRecord(
                function: name, at: Date(), kind: "scale_failed", from: "\(from) instances", to: "\(to) instances",
                reason: "\(reason); the scaling failed: \(error)"))
        }
    }

    /// Moves a function to another rung without exposing a cold start: in place when only the time
    /// quota changes (the quota scheduler takes the new one at the next invocation) or when both
    /// rungs are CPU rungs (vertical scaling), else by starting as many instances on the target rung as run
    /// now, moving traffic once they are ready, and draining the old ones.
    private func switchRung(_ name: String, _ decision: RungSwitch, at now: ContinuousClock.Instant) async {
        defer { live[name]?.switching = false }  // its controller is asked again from the next tick
        guard let f = live[name] else { return }
        let started = ContinuousClock.now
        let how: String
        do {
            if decision.from.wholeTime == decision.to.wholeTime {
                await f.pool.changeQuota(to: decision.to)
                guard live[name]?.pool === f.pool else { return }
                live[name]!.backend = decision.to
                how = "time quota changed in place"
            } else if configuration.verticalScaling && decision.from.deviceClass == .cpu && decision.to.deviceClass == .cpu {
                try await f.pool.resize(to: decision.to)
                guard live[name]?.pool === f.pool else { return }
                live[name]!.backend = decision.to
                how = "resized in place"
            } else {
                let instances = await f.pool.instanceCount
                let next = makePool(f.stored, on: decision.to)
                warming[ObjectIdentifier(next)] = next
                defer { warming.removeValue(forKey: ObjectIdentifier(next)) }
                do {
                    try await next.scale(to: instances)
                } catch {
                    await next.shutdown()
                    throw error
                }
                guard !closed, live[name]?.pool === f.pool else {
                    await next.shutdown()
                    return
                }
                live[name]!.pool = next
                live[name]!.backend = decision.to
                retire(f.pool)
                how = "\(instances) instance(s) warmed on \(decision.to) before traffic moved"
            }
        } catch {
            guard !closed else { return }  // stopped by a shutdown: no failure of the rung
            live[name]?.controller.switchFailed(decision, reason: Self.shortReason(error), at: now)
            logger.warning("rung switch failed", metadata: ["function.name": "\(name)", "to": "\(decision.to)", "error": "\(error)"])
            try? database.record(DecisionRecord(
                function: name, at: Date(), kind: "switch_failed", from: decision.from.description, to: decision.to.description,
                reason: "\(decision.reason); the switch failed: \(error)", measuredMs: decision.measuredMs, predictedMs: decision.predictedMs))
            return
        }
        live[name]!.controller.switched(decision, at: now)
        let took = (ContinuousClock.now - started).inMilliseconds
        logger.info(
            "\(decision.direction.rawValue) \(decision.from) -> \(decision.to)",
            metadata: ["function.name": "\(name)", "reason": "\(decision.reason)", "switch.ms": "\(took)"])
        try? database.record(DecisionRecord(
            function: name, at: Date(), kind: decision.direction.rawValue, from: decision.from.description, to: decision.to.description,
            reason: "\(decision.reason) (\(how))", measuredMs: decision.measuredMs, predictedMs: decision.predictedMs, tookMs: took))
    }

    /// An error's first line, for a failed rung's reason.
    static func shortReason(_ error: any Error) -> String {
        let text = (error as? WorkerError)?.description ?? "\(error)"
        return String(text.split(separator: "\n").first ?? "failed").prefix(300).description
    }

    /// Lets a pool that no longer gets traffic finish its requests, then stop (`shutdown()` stops
    /// it at once if it is still draining then).
    private func retire(_ pool: any FunctionPool) {
        draining[ObjectIdentifier(pool)] = pool
        Task {
            await pool.drain()
            self.drained(pool)
        }
    }

    private func drained(_ pool: any FunctionPool) {
        draining.removeValue(forKey: ObjectIdentifier(pool))
        if draining.isEmpty { Task { await self.collectEnvironments() } }
    }

    /// Instance-seconds a function's instances spent with no request running, and its keep-alive windows.
    public func idleness(of name: String) throws -> (idleInstanceSeconds: Double, windows: KeepAliveWindows) {
        guard let f = live[name] else { throw PlatformError("not_found", "no function named '\(name)'", status: 404) }
        return (f.idleInstanceSeconds, f.controller.keepAlive.windows)
    }

    /// Where a function runs now, where it may run, and what its latency model expects on each rung.
    public func rung(of name: String) throws -> RungStatus {
        guard let f = live[name] else { throw PlatformError("not_found", "no function named '\(name)'", status: 404) }
        let c = f.controller.mode
        return RungStatus(
            current: f.backend, start: c.start, rungs: c.rungs, slo: c.slo,
            predictedMs: Dictionary(uniqueKeysWithValues: c.rungs.compactMap { r in c.model.predict(r).map { (r, $0) } }),
            measured: Set(c.rungs.filter { c.model.isMeasured($0) }), parallelFraction: c.model.parallelFraction,
            fitted: c.model.fitted, failed: c.failedRungs(at: .now), predictorError: f.controller.predictor.error,
            demandForecast: f.controller.demand.planned)
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
