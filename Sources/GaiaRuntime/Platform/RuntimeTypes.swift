import Foundation
public import GaiaCore
import GaiaAnalyzer
import GaiaStore
import Logging
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
    /// Longest one invocation may run, seconds (nil: the server's `invocation_timeout_seconds`).
    public var timeoutSeconds: Double?
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
        rung: Backend? = nil, maxBatch: Int? = nil, environment: [String: String]? = nil, secrets: [String: String]? = nil,
        timeoutSeconds: Double? = nil
    ) {
        self.timeoutSeconds = timeoutSeconds
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
    /// A new invocation timeout, seconds.
    public var timeoutSeconds: Double?

    /// A change.
    public init(slo: SLOChange = .keep, mode: ModeChange = .keep, minScale: Int? = nil, maxScale: Int? = nil, timeoutSeconds: Double? = nil) {
        self.slo = slo
        self.mode = mode
        self.minScale = minScale
        self.maxScale = maxScale
        self.timeoutSeconds = timeoutSeconds
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
