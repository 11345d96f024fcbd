/// The body of `PATCH /v1/functions/{name}`: settings to change, each left as it is when absent.
/// The function's files stay; the change is stored as a new revision, which starts and proves an
/// instance before traffic moves to it (as a deploy does).
public struct FunctionUpdate: Codable, Sendable, Equatable {
    /// A new latency objective (`p95=300ms,window=30s`), or `default` for the platform's.
    public var slo: String?
    /// Force a mode (`cpu`, `cpu_preferred`, `gpu_preferred`, `gpu`), or `auto` to release a
    /// forced one and run in the detected mode.
    public var mode: String?
    /// Fewest instances kept (0 allows scale to zero).
    public var minScale: Int?
    /// Most instances.
    public var maxScale: Int?
    /// Longest one invocation may run, seconds.
    public var timeoutSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case slo, mode
        case minScale = "min_scale"
        case maxScale = "max_scale"
        case timeoutSeconds = "timeout_seconds"
    }

    /// An update.
    public init(slo: String? = nil, mode: String? = nil, minScale: Int? = nil, maxScale: Int? = nil, timeoutSeconds: Double? = nil) {
        self.slo = slo
        self.mode = mode
        self.minScale = minScale
        self.maxScale = maxScale
        self.timeoutSeconds = timeoutSeconds
    }

    /// True when it changes nothing.
    public var isEmpty: Bool { slo == nil && mode == nil && minScale == nil && maxScale == nil && timeoutSeconds == nil }
}

/// The body of `GET /v1/functions/{name}/source`: the files of the serving revision that are
/// UTF-8 text (what the analyzer's evidence points into).
public struct FunctionSourceFiles: Codable, Sendable, Equatable {
    /// The function's name.
    public var name: String
    /// The revision the files are of.
    public var revision: Int
    /// The file the handler is in.
    public var entryPoint: String
    /// Text files by relative path.
    public var files: [String: String]

    enum CodingKeys: String, CodingKey {
        case name, revision, files
        case entryPoint = "entry_point"
    }

    /// A value.
    public init(name: String, revision: Int, entryPoint: String, files: [String: String]) {
        self.name = name
        self.revision = revision
        self.entryPoint = entryPoint
        self.files = files
    }
}

/// The body of `GET /v1/functions/{name}/decisions`: the latest decisions, oldest first.
public struct DecisionList: Codable, Sendable, Equatable {
    /// The decisions.
    public var decisions: [FunctionDescription.Decision]

    /// A list.
    public init(decisions: [FunctionDescription.Decision]) {
        self.decisions = decisions
    }
}
