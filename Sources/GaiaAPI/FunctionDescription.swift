public import Foundation
public import GaiaCore

/// The body of `GET /v1/functions/{name}`: the manifest, where the function runs, what its mode
/// controller expects on each rung, totals, and its decision history.
public struct FunctionDescription: Codable, Sendable, Equatable {
    /// Its name.
    public var name: String
    /// Its current revision.
    public var revision: Int
    /// Instances running or starting.
    public var instances: Int
    /// When the current revision was deployed.
    public var deployedAt: Date
    /// The analyzer's manifest with the user's choices.
    public var manifest: FunctionManifest
    /// Invocations recorded (every revision).
    public var invocations: Int
    /// Of which cold starts.
    public var coldStarts: Int
    /// Billed cost of all invocations, USD.
    public var costUSD: Double
    /// Where it runs and what each rung is expected to take.
    public var rung: RungState
    /// The latest decisions (scaling, rung switches), oldest first.
    public var decisions: [Decision]

    enum CodingKeys: String, CodingKey {
        case name, revision, instances, manifest, invocations, rung, decisions
        case deployedAt = "deployed_at"
        case coldStarts = "cold_starts"
        case costUSD = "cost_usd"
    }

    /// A description.
    public init(
        name: String, revision: Int, instances: Int, deployedAt: Date, manifest: FunctionManifest, invocations: Int,
        coldStarts: Int, costUSD: Double, rung: RungState, decisions: [Decision]
    ) {
        self.name = name
        self.revision = revision
        self.instances = instances
        self.deployedAt = deployedAt
        self.manifest = manifest
        self.invocations = invocations
        self.coldStarts = coldStarts
        self.costUSD = costUSD
        self.rung = rung
        self.decisions = decisions
    }

    /// Where a function runs and what its latency model expects of each rung it may use.
    public struct RungState: Codable, Sendable, Equatable {
        /// The rung serving it now (`cpu-2`, `gpu0`).
        public var current: String
        /// Its start rung, the floor of low-load demotions.
        public var start: String
        /// The SLO it is held to.
        public var slo: String
        /// Every rung its mode allows here, in ladder order.
        public var ladder: [Rung]
        /// The fraction of its work that speeds up with cores (Amdahl).
        public var parallelFraction: Double
        /// Whether that fraction was fitted from two measured rungs (else the analyzer's prior).
        public var fitted: Bool
        /// The performance predictor's error (mean absolute percentage) on held-out recent
        /// invocations (nil: too few yet).
        public var predictorErrorPercent: Double?
        /// The request rate the controller plans for, per second: the larger of the arrival rates over
        /// the autoscaler's stable and panic windows.
        public var demandForecast: Double?

        enum CodingKeys: String, CodingKey {
            case current, start, slo, ladder, fitted
            case parallelFraction = "parallel_fraction"
            case predictorErrorPercent = "predictor_error_percent"
            case demandForecast = "demand_forecast_rps"
        }

        /// A rung state.
        public init(
            current: String, start: String, slo: String, ladder: [Rung], parallelFraction: Double, fitted: Bool,
            predictorErrorPercent: Double? = nil, demandForecast: Double? = nil
        ) {
            self.predictorErrorPercent = predictorErrorPercent
            self.demandForecast = demandForecast
            self.current = current
            self.start = start
            self.slo = slo
            self.ladder = ladder
            self.parallelFraction = parallelFraction
            self.fitted = fitted
        }
    }

    /// One rung of the function's ladder.
    public struct Rung: Codable, Sendable, Equatable {
        /// The rung (`cpu-1`).
        public var backend: String
        /// The SLO statistic expected there, ms (nil: nothing to go on yet).
        public var predictedMs: Double?
        /// Whether it has served enough traffic to be measured (else the figure is a prediction).
        public var measured: Bool
        /// Why it failed to start (a driver error, out of GPU memory), while the controller keeps off it.
        public var failed: String?

        enum CodingKeys: String, CodingKey {
            case backend, measured, failed
            case predictedMs = "predicted_ms"
        }

        /// A rung.
        public init(backend: String, predictedMs: Double?, measured: Bool, failed: String? = nil) {
            self.backend = backend
            self.predictedMs = predictedMs
            self.measured = measured
            self.failed = failed
        }
    }

    /// One decision of the function's controller, with what it saw and expected.
    public struct Decision: Codable, Sendable, Equatable {
        /// When it was made.
        public var at: Date
        /// `scale`, `scale_failed`, `promote`, `demote` or `switch_failed`.
        public var kind: String
        /// What it changed from (`cpu-1`, `1 instances`).
        public var from: String
        /// What it changed to.
        public var to: String
        /// The deciding rule's reason, with its figures.
        public var reason: String
        /// The SLO statistic measured before a switch, ms.
        public var measuredMs: Double?
        /// The statistic predicted on the target rung, ms.
        public var predictedMs: Double?
        /// How long the switch took, ms.
        public var tookMs: Double?

        enum CodingKeys: String, CodingKey {
            case at, kind, from, to, reason
            case measuredMs = "measured_ms"
            case predictedMs = "predicted_ms"
            case tookMs = "took_ms"
        }

        /// A decision.
        public init(
            at: Date, kind: String, from: String, to: String, reason: String, measuredMs: Double? = nil, predictedMs: Double? = nil,
            tookMs: Double? = nil
        ) {
            self.at = at
            self.kind = kind
            self.from = from
            self.to = to
            self.reason = reason
            self.measuredMs = measuredMs
            self.predictedMs = predictedMs
            self.tookMs = tookMs
        }
    }
}
