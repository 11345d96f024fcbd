/// Everything Gaia knows about a deployed function revision: what it is, where it should run and why.
public struct FunctionManifest: Codable, Sendable, Hashable {
    /// The function's name.
    public var name: String
    /// The file holding the handler, relative to the function's root.
    public var entryPoint: String
    /// The handler's name in that file: a function, or a class for conventions built on one.
    public var handler: String
    /// Whose entry point it is: Gaia's `handle(payload, context)` or another platform's handler,
    /// adapted by the worker shim (nil in manifests stored before conventions: Gaia's).
    public var convention: HandlerConvention?
    /// The mode Gaia runs the function in: the user's override if given, else the detected mode.
    public var mode: ExecutionMode
    /// The mode the analyzer chose from the source.
    public var detectedMode: ExecutionMode
    /// How sure the analyzer is of `detectedMode`, 0...1.
    public var confidence: Double
    /// One readable sentence with the reasons and their file:line.
    public var rationale: String
    /// Every fact the decision was made from.
    public var evidence: [Evidence]
    /// Frameworks the function imports (torch, transformers, numpy…), sorted.
    public var frameworks: [String]
    /// Expected work per invocation.
    public var estimatedWork: WorkEstimate
    /// The mode the user forced (`--mode`), if any; it wins over the detected one.
    public var modeOverride: ExecutionMode?
    /// The latency objective the user declared (`--slo p95=300ms`), if any.
    public var slo: SLO?
    /// Fewest instances the user asked to keep (nil: the platform's default).
    public var minScale: Int?
    /// Most instances the user allows (nil: the platform's default).
    public var maxScale: Int?
    /// Requests one instance may run at once (nil: the platform's default, 1).
    public var concurrency: Int?
    /// Keep-alive of idle instances, `adaptive` or `fixed(600s)` (nil: adaptive).
    public var keepAlive: String?
    /// Whether an instance is pre-warmed before the next request is expected (nil: on).
    public var prewarm: Bool?
    /// A rung the user pinned the function to (`cpu-16`, `gpu0`): it runs there and nowhere else
    /// (nil: the mode controller chooses among the mode's rungs).
    public var rung: String?
    /// The largest batch the router groups for `handle_batch(payloads, context)` (nil: the function
    /// defines no `handle_batch`; its requests run one by one).
    public var maxBatch: Int?
    /// Longest one invocation may run, seconds, before its instance is stopped and it answers 504
    /// (nil: the server's `invocation_timeout_seconds`, 60).
    public var timeoutSeconds: Double?
    /// Environment variables its instances get (`gaia deploy --env KEY=VALUE`).
    public var environment: [String: String]?
    /// The names of the secrets its instances get as environment variables; their values are
    /// stored apart, never in the manifest.
    public var secrets: [String]?
    /// The virtual environment its `requirements.txt` was installed in (`PythonEnvironments`' key;
    /// nil: it has none and runs on the server's interpreter).
    public var pythonEnvironment: String?
    /// Anyone may invoke it, without a token (`gaia deploy --public`); everything else about it
    /// still needs one (nil: a token with the `invoke` scope is needed).
    public var publicInvoke: Bool?
    /// True when some file had syntax errors and the decision rests on a partial tree.
    public var partial: Bool
    /// Syntax errors, as `file:line:column: error: message`.
    public var diagnostics: [String]
    /// The analyzer that produced this manifest.
    public var analyzerVersion: String

    enum CodingKeys: String, CodingKey {
        case name, handler, convention, mode, confidence, rationale, evidence, frameworks, partial, diagnostics, slo
        case entryPoint = "entry_point"
        case detectedMode = "detected_mode"
        case estimatedWork = "estimated_work"
        case modeOverride = "mode_override"
        case analyzerVersion = "analyzer_version"
        case minScale = "min_scale"
        case maxScale = "max_scale"
        case concurrency, prewarm, rung
        case maxBatch = "max_batch"
        case timeoutSeconds = "timeout_seconds"
        case keepAlive = "keep_alive"
        case environment, secrets
        case pythonEnvironment = "python_environment"
        case publicInvoke = "public"
    }

    /// Creates a manifest.
    public init(
        name: String, entryPoint: String, handler: String, detectedMode: ExecutionMode, confidence: Double,
        rationale: String, evidence: [Evidence], frameworks: [String], estimatedWork: WorkEstimate,
        modeOverride: ExecutionMode? = nil, partial: Bool = false, diagnostics: [String] = [],
        analyzerVersion: String
    ) {
        self.name = name
        self.entryPoint = entryPoint
        self.handler = handler
        self.mode = modeOverride ?? detectedMode
        self.detectedMode = detectedMode
        self.confidence = confidence
        self.rationale = rationale
        self.evidence = evidence
        self.frameworks = frameworks
        self.estimatedWork = estimatedWork
        self.modeOverride = modeOverride
        self.partial = partial
        self.diagnostics = diagnostics
        self.analyzerVersion = analyzerVersion
    }

    /// The handler's convention, Gaia's own where the manifest names none.
    public var handlerConvention: HandlerConvention { convention ?? .gaia }

    /// Applies a user's override: `mode` becomes it and the manifest records that it was forced.
    public mutating func override(with mode: ExecutionMode?) {
        modeOverride = mode
        self.mode = mode ?? detectedMode
    }
}
