public import Foundation
public import GaiaCore

/// The body of `GET /v1/functions`.
public struct FunctionList: Codable, Sendable, Equatable {
    /// One deployed function.
    public struct Item: Codable, Sendable, Equatable {
        /// Its name.
        public var name: String
        /// Its current revision.
        public var revision: Int
        /// Its execution mode.
        public var mode: ExecutionMode
        /// How sure the analyzer was of the mode it detected, 0...1.
        public var confidence: Double
        /// The rung it runs on now.
        public var backend: String
        /// Instances running or starting.
        public var instances: Int
        /// When the current revision was deployed.
        public var deployedAt: Date
        /// The objective it is held to (its own, or the platform's default), as written.
        public var slo: String
        /// The objective's statistic (`p95`).
        public var sloStatistic: String
        /// The objective's threshold, ms.
        public var sloMs: Double
        /// Its invocations over the last minute (rate and latency now).
        public var lastMinute: Activity
        /// Its invocations over the last hour.
        public var lastHour: Activity

        enum CodingKeys: String, CodingKey {
            case name, revision, mode, confidence, backend, instances, slo
            case deployedAt = "deployed_at"
            case sloStatistic = "slo_statistic"
            case sloMs = "slo_ms"
            case lastMinute = "last_minute"
            case lastHour = "last_hour"
        }

        /// An item.
        public init(
            name: String, revision: Int, mode: ExecutionMode, confidence: Double, backend: String, instances: Int, deployedAt: Date,
            slo: SLO, lastMinute: Activity, lastHour: Activity
        ) {
            self.name = name
            self.revision = revision
            self.mode = mode
            self.confidence = confidence
            self.backend = backend
            self.instances = instances
            self.deployedAt = deployedAt
            self.slo = slo.description
            self.sloStatistic = slo.statistic.rawValue
            self.sloMs = slo.thresholdMs
            self.lastMinute = lastMinute
            self.lastHour = lastHour
        }
    }

    /// A function's invocations over a recent span.
    public struct Activity: Codable, Sendable, Equatable {
        /// The span, seconds.
        public var seconds: Double
        /// Invocations that arrived in it.
        public var invocations: Int
        /// Of them, answered with an error.
        public var errors: Int
        /// Of them, waited for an instance to start.
        public var coldStarts: Int
        /// Their pay-per-use cost, USD.
        public var costUSD: Double
        /// Latency percentiles of the successful ones, ms (absent with none).
        public var p50Ms: Double?
        public var p95Ms: Double?
        public var p99Ms: Double?

        enum CodingKeys: String, CodingKey {
            case seconds, invocations, errors
            case coldStarts = "cold_starts"
            case costUSD = "cost_usd"
            case p50Ms = "p50_ms"
            case p95Ms = "p95_ms"
            case p99Ms = "p99_ms"
        }

        /// A value.
        public init(
            seconds: Double, invocations: Int = 0, errors: Int = 0, coldStarts: Int = 0, costUSD: Double = 0, p50Ms: Double? = nil,
            p95Ms: Double? = nil, p99Ms: Double? = nil
        ) {
            self.seconds = seconds
            self.invocations = invocations
            self.errors = errors
            self.coldStarts = coldStarts
            self.costUSD = costUSD
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.p99Ms = p99Ms
        }
    }

    /// Every deployed function, by name.
    public var functions: [Item]

    /// A list.
    public init(functions: [Item]) {
        self.functions = functions
    }
}
