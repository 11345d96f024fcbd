public import Foundation

/// The body of `202` to `POST /v1/functions/{name}/invoke` with `Prefer: respond-async`, and of
/// `GET /v1/invocations/{id}`: an asynchronous invocation's state and, once finished, its outcome.
public struct AsyncInvocation: Codable, Sendable, Equatable {
    /// Its id.
    public var id: String
    /// The function it invokes.
    public var function: String
    /// `queued`, `running`, `succeeded` or `failed`.
    public var state: String
    /// Runs started so far (a failed instance's attempt is retried with backoff).
    public var attempts: Int
    /// Where to ask for it: `/v1/invocations/{id}`.
    public var statusURL: String
    public var createdAt: Date
    public var finishedAt: Date?
    /// The HTTP status of its outcome, once finished (200, or the error's).
    public var status: Int?
    /// The handler's answer, once it succeeded: as text when it is UTF-8, else base64.
    public var result: String?
    /// `utf-8` or `base64`.
    public var resultEncoding: String?
    /// The answer's media type.
    public var contentType: String?
    /// The last attempt's error (also while a retry waits).
    public var error: String?
    /// When a finished invocation is forgotten.
    public var expiresAt: Date?
    /// True for a synchronous invocation (its record: no result, kept for good).
    public var synchronous: Bool?
    /// The rung that served it (synchronous invocations).
    public var backend: String?
    /// Arrival to answer, ms (synchronous invocations).
    public var durationMs: Double?
    /// Whether it waited for an instance to start (synchronous invocations).
    public var coldStart: Bool?

    enum CodingKeys: String, CodingKey {
        case id, function, state, attempts, status, result, error
        case statusURL = "status_url"
        case createdAt = "created_at"
        case finishedAt = "finished_at"
        case resultEncoding = "result_encoding"
        case contentType = "content_type"
        case expiresAt = "expires_at"
        case synchronous, backend
        case durationMs = "duration_ms"
        case coldStart = "cold_start"
    }

    /// A description.
    public init(
        id: String, function: String, state: String, attempts: Int, statusURL: String, createdAt: Date, finishedAt: Date? = nil,
        status: Int? = nil, result: String? = nil, resultEncoding: String? = nil, contentType: String? = nil, error: String? = nil,
        expiresAt: Date? = nil, synchronous: Bool? = nil, backend: String? = nil, durationMs: Double? = nil, coldStart: Bool? = nil
    ) {
        self.synchronous = synchronous
        self.backend = backend
        self.durationMs = durationMs
        self.coldStart = coldStart
        self.id = id
        self.function = function
        self.state = state
        self.attempts = attempts
        self.statusURL = statusURL
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.status = status
        self.result = result
        self.resultEncoding = resultEncoding
        self.contentType = contentType
        self.error = error
        self.expiresAt = expiresAt
    }
}
