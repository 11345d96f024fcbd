/// The body of every error response: `{"error": {"code", "message", "traceback"?}}`.
public struct APIErrorBody: Codable, Sendable, Equatable {
    /// What went wrong.
    public struct Detail: Codable, Sendable, Equatable {
        /// A machine-readable code (`not_found`, `invalid_slo`, `handler_error`, …).
        public var code: String
        /// What was wrong and what to do.
        public var message: String
        /// The handler's traceback, for `handler_error`.
        public var traceback: String?

        /// A detail.
        public init(code: String, message: String, traceback: String? = nil) {
            self.code = code
            self.message = message
            self.traceback = traceback
        }
    }

    /// The error.
    public var error: Detail

    /// An error body.
    public init(code: String, message: String, traceback: String? = nil) {
        error = Detail(code: code, message: message, traceback: traceback)
    }
}

/// The body of `GET /healthz`.
public struct Health: Codable, Sendable, Equatable {
    /// `ok` while the server serves (`/healthz`); `ready` or `starting` (`/readyz`).
    public var status: String
    /// What `/readyz` still waits for: the functions deployed at start (`--examples`) not yet
    /// deployed or refused.
    public var waiting: [String]?

    /// A health answer.
    public init(status: String = "ok", waiting: [String]? = nil) {
        self.status = status
        self.waiting = waiting
    }
}
