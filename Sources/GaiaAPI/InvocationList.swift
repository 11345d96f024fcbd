public import Foundation

/// The body of `GET /v1/functions/{name}/invocations`: the latest invocations, newest first.
public struct InvocationList: Codable, Sendable, Equatable {
    /// One invocation as recorded.
    public struct Item: Codable, Sendable, Equatable {
        /// When it arrived.
        public var at: Date
        /// The revision that served it.
        public var revision: Int
        /// The rung that served it.
        public var backend: String
        /// Whether it waited for an instance to start.
        public var coldStart: Bool
        /// Arrival to answer, ms.
        public var durationMs: Double
        /// Arrival until an instance took it, ms.
        public var queueMs: Double
        /// The HTTP status it was answered with.
        public var status: Int
        /// Its billed cost, USD.
        public var costUSD: Double
        /// Its id (`Gaia-Invocation-Id`; nil for invocations recorded before ids were given).
        public var id: String?

        enum CodingKeys: String, CodingKey {
            case at, revision, backend, status, id
            case coldStart = "cold_start"
            case durationMs = "duration_ms"
            case queueMs = "queue_ms"
            case costUSD = "cost_usd"
        }

        /// An invocation.
        public init(
            at: Date, revision: Int, backend: String, coldStart: Bool, durationMs: Double, queueMs: Double, status: Int, costUSD: Double,
            id: String? = nil
        ) {
            self.id = id
            self.at = at
            self.revision = revision
            self.backend = backend
            self.coldStart = coldStart
            self.durationMs = durationMs
            self.queueMs = queueMs
            self.status = status
            self.costUSD = costUSD
        }
    }

    /// An invocation still running or waiting for an instance: not yet recorded.
    public struct Running: Codable, Sendable, Equatable {
        /// Its id (`Gaia-Invocation-Id`).
        public var id: String
        /// When it arrived.
        public var at: Date
        /// The revision serving it.
        public var revision: Int
        /// The rung it was sent to.
        public var backend: String
        /// How long it has been in the platform, ms, when the list was made.
        public var elapsedMs: Double

        enum CodingKeys: String, CodingKey {
            case id, at, revision, backend
            case elapsedMs = "elapsed_ms"
        }

        /// One in flight.
        public init(id: String, at: Date, revision: Int, backend: String, elapsedMs: Double) {
            self.id = id
            self.at = at
            self.revision = revision
            self.backend = backend
            self.elapsedMs = elapsedMs
        }
    }

    /// The invocations.
    public var invocations: [Item]
    /// Those in flight now, newest first (nil from a server that does not say).
    public var inFlight: [Running]?

    enum CodingKeys: String, CodingKey {
        case invocations
        case inFlight = "in_flight"
    }

    /// A list.
    public init(invocations: [Item], inFlight: [Running]? = nil) {
        self.invocations = invocations
        self.inFlight = inFlight
    }
}
