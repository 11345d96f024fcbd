public import GaiaCore

/// The body of `POST /v1/functions`: a function's files and the user's choices.
public struct DeployFunction: Codable, Sendable, Equatable {
    /// The function's name (`[a-z][a-z0-9-]*`, at most 63 characters).
    public var name: String
    /// Source files by relative path, as UTF-8 text (`handler.py`, `requirements.txt`, …); may be
    /// left out of the `function` part of a multipart deploy whose `archive` part holds them.
    public var files: [String: String]
    /// A forced mode instead of the detected one.
    public var mode: ExecutionMode?
    /// Fewest instances kept (0 allows scale to zero).
    public var minScale: Int?
    /// Most instances.
    public var maxScale: Int?
    /// A latency objective such as `p95=300ms,window=30s,cost=0.05`.
    public var slo: String?
    /// Requests one instance runs at once.
    public var concurrency: Int?
    /// `adaptive` or `fixed(600s)`.
    public var keepAlive: String?
    /// Pre-warm an instance before the next request is expected.
    public var prewarm: Bool?
    /// Pin the function to one rung of this machine's ladder (`cpu-4`, `gpu0`, `gpu0-50q30`), or to a
    /// time-quota share of one (`cpu-1q30`).
    public var rung: String?
    /// The largest batch for a function that defines `handle_batch` (default 8).
    public var maxBatch: Int?
    /// Longest one invocation may run, seconds (default: the server's, 60).
    public var timeoutSeconds: Double?
    /// Environment variables for its instances (absent: the previous revision's; `{}`: none).
    public var env: [String: String]?
    /// Secrets for its instances, as environment variables: stored apart with owner-only
    /// permissions and never shown, only their names (absent: the previous revision's; `{}`: none).
    public var secrets: [String: String]?
    /// Anyone may invoke it without a token (nil: not public).
    public var isPublic: Bool?

    enum CodingKeys: String, CodingKey {
        case name, files, mode, slo, concurrency, prewarm, rung, env, secrets
        case isPublic = "public"
        case maxBatch = "max_batch"
        case timeoutSeconds = "timeout_seconds"
        case keepAlive = "keep_alive"
        case minScale = "min_scale"
        case maxScale = "max_scale"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        files = try c.decodeIfPresent([String: String].self, forKey: .files) ?? [:]
        mode = try c.decodeIfPresent(ExecutionMode.self, forKey: .mode)
        minScale = try c.decodeIfPresent(Int.self, forKey: .minScale)
        maxScale = try c.decodeIfPresent(Int.self, forKey: .maxScale)
        slo = try c.decodeIfPresent(String.self, forKey: .slo)
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency)
        keepAlive = try c.decodeIfPresent(String.self, forKey: .keepAlive)
        prewarm = try c.decodeIfPresent(Bool.self, forKey: .prewarm)
        rung = try c.decodeIfPresent(String.self, forKey: .rung)
        maxBatch = try c.decodeIfPresent(Int.self, forKey: .maxBatch)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
        env = try c.decodeIfPresent([String: String].self, forKey: .env)
        secrets = try c.decodeIfPresent([String: String].self, forKey: .secrets)
        isPublic = try c.decodeIfPresent(Bool.self, forKey: .isPublic)
    }

    /// A deploy body.
    public init(
        name: String, files: [String: String], mode: ExecutionMode? = nil, minScale: Int? = nil, maxScale: Int? = nil,
        slo: String? = nil, concurrency: Int? = nil, keepAlive: String? = nil, prewarm: Bool? = nil, rung: String? = nil,
        maxBatch: Int? = nil
    ) {
        self.rung = rung
        self.maxBatch = maxBatch
        self.name = name
        self.files = files
        self.mode = mode
        self.minScale = minScale
        self.maxScale = maxScale
        self.slo = slo
        self.concurrency = concurrency
        self.keepAlive = keepAlive
        self.prewarm = prewarm
    }
}
