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
    /// `ok` while the server serves.
    public var status: String

    /// A health answer.
    public init(status: String = "ok") {
        self.status = status
    }
}
