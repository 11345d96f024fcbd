import Foundation
import GaiaCore
public import GaiaRuntime
import Yams

/// Everything `gaia serve` runs with. Filled, in increasing precedence, from defaults, an optional
/// YAML file (`--config gaia.yaml`), `GAIA_*` environment variables and command-line flags.
public struct ServerSettings: Sendable {
    /// Address to listen on.
    public var host = "127.0.0.1"
    /// Whether the API needs bearer tokens (off only on loopback: `gaia serve` refuses otherwise).
    public var auth = true
    /// Port to listen on.
    public var port = 8080
    /// Where the database, functions and logs live.
    public var dataDirectory = ".gaia"
    /// The Python command workers run (resolved to the real interpreter at start).
    public var python = "python3"
    /// Seconds between control-loop ticks.
    public var tickSeconds = 1.0
    /// How long SIGTERM lets requests in flight finish before the rest are cut and instances stop.
    public var shutdownGraceSeconds = 30.0
    /// How long a connection may stay silent (between requests, or in the middle of sending one)
    /// before it is closed; a request being answered is never cut by it.
    public var idleTimeoutSeconds = 30.0
    /// Most connections open at once; past it new ones wait in the listen backlog.
    public var maxConnections = 1024
    /// The runtime's knobs; `dataDirectory` and `python` are filled in at start.
    public var runtime = RuntimeConfiguration(dataDirectory: ".gaia", python: "python3")

    /// The defaults.
    public init() {}

    /// The file's shape: every field optional, snake_case keys.
    struct File: Decodable {
        struct Pool: Decodable {
            var maxScale: Int?
            var queueLimit: Int?
            var invocationTimeoutSeconds: Double?
            var startTimeoutSeconds: Double?
            var instanceConcurrency: Int?
            enum CodingKeys: String, CodingKey {
                case maxScale = "max_scale", queueLimit = "queue_limit", instanceConcurrency = "instance_concurrency"
                case invocationTimeoutSeconds = "invocation_timeout_seconds", startTimeoutSeconds = "start_timeout_seconds"
            }
        }
        struct Autoscaler: Decodable {
            var targetConcurrency: Double?
            var stableWindowSeconds: Double?
            var panicWindowSeconds: Double?
            var panicThreshold: Double?
            var minScale: Int?
            var maxScale: Int?
            var keepAliveSeconds: Double?
            enum CodingKeys: String, CodingKey {
                case targetConcurrency = "target_concurrency", stableWindowSeconds = "stable_window_seconds"
                case panicWindowSeconds = "panic_window_seconds", panicThreshold = "panic_threshold"
                case minScale = "min_scale", maxScale = "max_scale", keepAliveSeconds = "keep_alive_seconds"
            }
        }
        struct Prices: Decodable {
            var vcpuSecond: Double?
            var memoryGibSecond: Double?
            var gpuSecond: Double?
            var memoryGibPerInstance: Double?
            enum CodingKeys: String, CodingKey {
                case vcpuSecond = "vcpu_second", memoryGibSecond = "memory_gib_second", gpuSecond = "gpu_second"
                case memoryGibPerInstance = "memory_gib_per_instance"
            }
        }
        struct Controller: Decodable {
            var windowSeconds: Double?
            var minSamples: Int?
            var cooldownSeconds: Double?
            var demotionWindowSeconds: Double?
            var demotionMargin: Double?
            var minImprovement: Double?
            var driftFactor: Double?
            var verticalScaling: Bool?
            enum CodingKeys: String, CodingKey {
                case windowSeconds = "window_seconds", minSamples = "min_samples", cooldownSeconds = "cooldown_seconds"
                case demotionWindowSeconds = "demotion_window_seconds", demotionMargin = "demotion_margin"
                case minImprovement = "min_improvement", driftFactor = "drift_factor", verticalScaling = "vertical_scaling"
            }
        }
        struct GPU: Decodable {
            var hostCores: Int?
            var memoryPerInstanceMib: Int?
            var standIns: Int?
            var smShares: [Int]?
            var quotas: [Int]?
            var shareWindowMs: Int?
            enum CodingKeys: String, CodingKey {
                case hostCores = "host_cores", memoryPerInstanceMib = "memory_per_instance_mib", standIns = "stand_ins"
                case smShares = "sm_shares", quotas, shareWindowMs = "share_window_ms"
            }
        }
        var host: String?
        var port: Int?
        var dataDir: String?
        var python: String?
        var tickSeconds: Double?
        var shutdownGraceSeconds: Double?
        var idleTimeoutSeconds: Double?
        var maxConnections: Int?
        var maxUploadMb: Int?
        var maxResponseMb: Int?
        var memoryLimitMb: Int?
        var installTimeoutSeconds: Double?
        var maxLogMb: Int?
        var auth: Bool?
        var sandbox: Bool?
        var maxProcesses: Int?
        var maxInstances: Int?
        var pool: Pool?
        var autoscaler: Autoscaler?
        var prices: Prices?
        var controller: Controller?
        var gpu: GPU?
        enum CodingKeys: String, CodingKey {
            case host, port, python, pool, autoscaler, prices, controller, gpu, auth, sandbox
            case maxProcesses = "max_processes", maxInstances = "max_instances"
            case shutdownGraceSeconds = "shutdown_grace_seconds", idleTimeoutSeconds = "idle_timeout_seconds", maxConnections = "max_connections"
            case dataDir = "data_dir", tickSeconds = "tick_seconds", maxUploadMb = "max_upload_mb", maxResponseMb = "max_response_mb", memoryLimitMb = "memory_limit_mb"
            case installTimeoutSeconds = "install_timeout_seconds", maxLogMb = "max_log_mb"
        }
    }

    /// Applies a YAML document (see `gaia.example.yaml`); unknown keys are refused with their name.
    public mutating func apply(yaml text: String, source: String) throws {
        let file: File
        do {
            let decoder = YAMLDecoder()
            let node = try Yams.compose(yaml: text)
            let known: Set<String> = ["host", "port", "auth", "data_dir", "python", "tick_seconds", "shutdown_grace_seconds", "idle_timeout_seconds", "max_connections", "max_upload_mb", "max_response_mb", "memory_limit_mb", "install_timeout_seconds", "max_log_mb", "sandbox", "max_processes", "max_instances",
                                      "pool", "autoscaler", "prices", "controller", "gpu"]
            if let keys = node?.mapping?.keys.compactMap(\.string), let unknown = keys.first(where: { !known.contains($0) }) {
                throw ConfigurationError("\(source): unknown setting '\(unknown)'; known: \(known.sorted().joined(separator: ", "))")
            }
            file = try decoder.decode(File.self, from: text)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("\(source): \(error)")
        }
        host = file.host ?? host
        auth = file.auth ?? auth
        port = file.port ?? port
        dataDirectory = file.dataDir ?? dataDirectory
        python = file.python ?? python
        tickSeconds = file.tickSeconds ?? tickSeconds
        if let grace = file.shutdownGraceSeconds { try setShutdownGrace(grace, source: source) }
        try setConnections(idleTimeoutSeconds: file.idleTimeoutSeconds, maxConnections: file.maxConnections, source: source)
        if let mb = file.maxUploadMb {
            guard (1...1024).contains(mb) else { throw ConfigurationError("\(source): max_upload_mb must be 1…1024, not \(mb)") }
            runtime.maxUploadBytes = mb * 1024 * 1024
        }
        if let mb = file.maxResponseMb {
            guard (1...256).contains(mb) else { throw ConfigurationError("\(source): max_response_mb must be 1…256, not \(mb)") }
            runtime.maxResponseBytes = mb * 1024 * 1024
        }
        if let mb = file.memoryLimitMb { runtime.memoryLimitMB = mb }
        runtime.sandbox.enabled = file.sandbox ?? runtime.sandbox.enabled
        if let n = file.maxProcesses {
            guard (16...65536).contains(n) else { throw ConfigurationError("\(source): max_processes must be 16…65536, not \(n)") }
            runtime.sandbox.maxProcesses = n
        }
        if let n = file.maxInstances {
            guard (1...100_000).contains(n) else { throw ConfigurationError("\(source): max_instances must be 1…100000, not \(n)") }
            runtime.maxInstances = n
        }
        if let seconds = file.installTimeoutSeconds { try setInstallTimeout(seconds, source: source) }
        if let mb = file.maxLogMb {
            guard (1...1024).contains(mb) else { throw ConfigurationError("\(source): max_log_mb must be 1…1024, not \(mb)") }
            runtime.logRotation.maxBytes = mb * 1024 * 1024
        }
        if let p = file.pool {
            runtime.pool.maxScale = p.maxScale ?? runtime.pool.maxScale
            runtime.pool.queueLimit = p.queueLimit ?? runtime.pool.queueLimit
            if let s = p.invocationTimeoutSeconds { runtime.pool.invocationTimeout = .clamped(seconds: s) }
            if let s = p.startTimeoutSeconds { runtime.pool.startTimeout = .clamped(seconds: s) }
            runtime.pool.instanceConcurrency = p.instanceConcurrency ?? runtime.pool.instanceConcurrency
        }
        if let a = file.autoscaler {
            runtime.autoscaler.targetConcurrency = a.targetConcurrency ?? runtime.autoscaler.targetConcurrency
            if let s = a.stableWindowSeconds { runtime.autoscaler.stableWindow = .clamped(seconds: s) }
            if let s = a.panicWindowSeconds { runtime.autoscaler.panicWindow = .clamped(seconds: s) }
            runtime.autoscaler.panicThreshold = a.panicThreshold ?? runtime.autoscaler.panicThreshold
            runtime.autoscaler.minScale = a.minScale ?? runtime.autoscaler.minScale
            runtime.autoscaler.maxScale = a.maxScale ?? runtime.autoscaler.maxScale
            if let s = a.keepAliveSeconds { runtime.keepAlive.useDefaultKeepAlive(.clamped(seconds: s)) }
            let (low, high, ceiling) = (runtime.autoscaler.minScale, runtime.autoscaler.maxScale, AutoscalerSettings.instanceCeiling)
            guard (0...ceiling).contains(low), (1...ceiling).contains(high), low <= high else {
                throw ConfigurationError("\(source): autoscaler: min_scale must be 0…\(ceiling), max_scale 1…\(ceiling), and min_scale at most max_scale (got \(low) and \(high))")
            }
        }
        if let c = file.controller {
            let seconds = { (s: Double) in Duration.clamped(seconds: s) }
            if let s = c.windowSeconds { runtime.controller.window = seconds(s) }
            if let s = c.cooldownSeconds { runtime.controller.cooldown = seconds(s) }
            if let s = c.demotionWindowSeconds { runtime.controller.demotionWindow = seconds(s) }
            runtime.controller.minSamples = c.minSamples ?? runtime.controller.minSamples
            runtime.controller.demotionMargin = c.demotionMargin ?? runtime.controller.demotionMargin
            runtime.controller.minImprovement = c.minImprovement ?? runtime.controller.minImprovement
            runtime.controller.driftFactor = c.driftFactor ?? runtime.controller.driftFactor
            runtime.verticalScaling = c.verticalScaling ?? runtime.verticalScaling
            guard runtime.controller.minSamples >= 1, (0.1...1).contains(runtime.controller.demotionMargin),
                (0...0.9).contains(runtime.controller.minImprovement), (1.1...1000).contains(runtime.controller.driftFactor)
            else {
                throw ConfigurationError("\(source): controller: min_samples must be ≥ 1, demotion_margin in 0.1…1, min_improvement in 0…0.9, drift_factor in 1.1…1000")
            }
        }
        if let g = file.gpu {
            try applyGPU(hostCores: g.hostCores, memoryPerInstanceMiB: g.memoryPerInstanceMib, standIns: g.standIns, source: source)
            try applyShares(smPercents: g.smShares, quotaPercents: g.quotas, windowMs: g.shareWindowMs, source: source)
        }
        if let p = file.prices {
            runtime.prices.vcpuSecond = p.vcpuSecond ?? runtime.prices.vcpuSecond
            runtime.prices.memoryGiBSecond = p.memoryGibSecond ?? runtime.prices.memoryGiBSecond
            runtime.prices.gpuSecond = p.gpuSecond ?? runtime.prices.gpuSecond
            runtime.prices.memoryGiBPerInstance = p.memoryGibPerInstance ?? runtime.prices.memoryGiBPerInstance
        }
    }

    /// Applies GPU settings: host cores per GPU instance, GPU memory per instance (MiB), and CPU
    /// stand-ins for GPUs (`GPUDevice.standIn`: the GPU path on a machine without one, for tests
    /// and dry runs), numbered after the real GPUs.
    public mutating func applyGPU(hostCores: Int?, memoryPerInstanceMiB: Int?, standIns: Int?, source: String) throws {
        if let n = hostCores {
            guard (1...1024).contains(n) else { throw ConfigurationError("\(source): gpu host cores must be 1…1024, not \(n)") }
            runtime.machine.gpuHostCores = n
        }
        if let mib = memoryPerInstanceMiB {
            guard (1...10_000_000).contains(mib) else { throw ConfigurationError("\(source): gpu memory per instance must be 1…10,000,000 MiB") }
            runtime.gpuMemoryPerInstanceMiB = mib
        }
        if let n = standIns {
            guard (0...16).contains(n) else { throw ConfigurationError("\(source): gpu stand-ins must be 0…16, not \(n)") }
            let real = runtime.machine.gpus.filter { !$0.standIn }
            runtime.machine.gpus = real + (0..<n).map { GPUDevice.standIn(index: real.count + $0) }
        }
    }

    /// Applies the GPU share grid (SM shares × time quotas, percent; an empty list of either: whole
    /// GPUs only) and the quota scheduler's window.
    public mutating func applyShares(smPercents: [Int]?, quotaPercents: [Int]?, windowMs: Int?, source: String) throws {
        for list in [smPercents, quotaPercents].compactMap({ $0 }) where list.contains(where: { !(1...100).contains($0) }) {
            throw ConfigurationError("\(source): SM shares and quotas are percentages, 1…100 (got \(list.map(String.init).joined(separator: ",")))")
        }
        let grid = runtime.machine.shares
        let sm = smPercents ?? grid.smPercents
        let quotas = quotaPercents ?? grid.quotaPercents
        runtime.machine.shares = sm.isEmpty || quotas.isEmpty ? .none : ShareGrid(smPercents: sm, quotaPercents: quotas)
        if let ms = windowMs {
            guard (1...600_000).contains(ms) else { throw ConfigurationError("\(source): the share window must be 1…600,000 ms, not \(ms)") }
            runtime.shareWindow = .milliseconds(ms)
        }
    }

    /// Sets the shutdown grace period: 0…3600 seconds.
    public mutating func setShutdownGrace(_ seconds: Double, source: String) throws {
        guard seconds.isFinite, (0...3600).contains(seconds) else {
            throw ConfigurationError("\(source): shutdown_grace_seconds must be 0…3600, not \(seconds)")
        }
        shutdownGraceSeconds = seconds
    }

    /// Sets how long a deploy's `pip install` of its requirements may take: 10 s to 2 hours.
    public mutating func setInstallTimeout(_ seconds: Double, source: String) throws {
        guard seconds.isFinite, (10...7200).contains(seconds) else {
            throw ConfigurationError("\(source): install_timeout_seconds must be 10…7200, not \(seconds)")
        }
        runtime.installTimeout = .clamped(seconds: seconds)
    }

    /// Sets the connection limits: an idle timeout of 1…3600 s, 1…100,000 connections.
    public mutating func setConnections(idleTimeoutSeconds: Double?, maxConnections: Int?, source: String) throws {
        if let seconds = idleTimeoutSeconds {
            guard seconds.isFinite, (1...3600).contains(seconds) else {
                throw ConfigurationError("\(source): idle_timeout_seconds must be 1…3600, not \(seconds)")
            }
            self.idleTimeoutSeconds = seconds
        }
        if let n = maxConnections {
            guard (1...100_000).contains(n) else { throw ConfigurationError("\(source): max_connections must be 1…100000, not \(n)") }
            self.maxConnections = n
        }
    }

    /// Applies `GAIA_HOST`, `GAIA_PORT`, `GAIA_DATA_DIR`, `GAIA_PYTHON` where set.
    public mutating func apply(environment: [String: String]) throws {
        host = environment["GAIA_HOST"] ?? host
        if let value = environment["GAIA_PORT"] {
            guard let p = Int(value), (1...65535).contains(p) else { throw ConfigurationError("GAIA_PORT=\(value) is not a port number") }
            port = p
        }
        dataDirectory = environment["GAIA_DATA_DIR"] ?? dataDirectory
        python = environment["GAIA_PYTHON"] ?? python
    }
}

/// A configuration problem: where and what.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// The message.
    public let description: String
    init(_ description: String) { self.description = description }
}
