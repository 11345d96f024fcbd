import DequeModule

/// Recent invocation latencies with the rung that served each: what the mode controller judges.
/// A value; time is an input.
public struct LatencyWindow: Sendable {
    /// One observed invocation.
    public struct Sample: Sendable, Hashable {
        /// When it arrived.
        public var at: ContinuousClock.Instant
        /// Its latency from arrival to answer.
        public var milliseconds: Double
        /// The part of it the function ran (its service time, without queueing).
        public var serviceMilliseconds: Double
        /// The rung that served it.
        public var backend: Backend
    }

    /// Samples older than this are dropped.
    public var horizon: Duration
    private var samples: Deque<Sample> = []

    /// An empty window keeping `horizon` of history.
    public init(horizon: Duration) {
        self.horizon = horizon
    }

    /// Adds one invocation's latency, `at` its arrival. Invocations are reported as they end, so
    /// arrivals come slightly out of order: each is inserted in arrival order.
    public mutating func record(
        _ milliseconds: Double, service serviceMilliseconds: Double? = nil, on backend: Backend, at arrival: ContinuousClock.Instant
    ) {
        var index = samples.endIndex
        while index > samples.startIndex && samples[index - 1].at > arrival { index -= 1 }
        let sample = Sample(at: arrival, milliseconds: milliseconds, serviceMilliseconds: serviceMilliseconds ?? milliseconds, backend: backend)
        samples.insert(sample, at: index)
        guard let newest = samples.last?.at else { return }
        while let first = samples.first, newest - first.at > horizon { samples.removeFirst() }
    }

    /// Latencies served by `backend` recorded in `(now - window, now]` and not before `since`.
    public func latencies(
        on backend: Backend, over window: Duration, at now: ContinuousClock.Instant, since: ContinuousClock.Instant? = nil
    ) -> [Double] {
        samples(on: backend, over: window, at: now, since: since).map(\.milliseconds)
    }

    /// The samples served by `backend` recorded in `(now - window, now]` and not before `since`, newest first.
    public func samples(
        on backend: Backend, over window: Duration, at now: ContinuousClock.Instant, since: ContinuousClock.Instant? = nil
    ) -> [Sample] {
        var result: [Sample] = []
        for sample in samples.reversed() {
            if now - sample.at >= window { break }
            if let since, sample.at < since { break }
            if sample.backend == backend { result.append(sample) }
        }
        return result
    }
}

extension SLO.Statistic {
    /// This statistic of `values` (nearest-rank percentiles), or nil when there are none.
    public func of(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        if self == .mean { return values.reduce(0, +) / Double(values.count) }
        let q: Double =
            switch self {
            case .p50: 0.50
            case .p90: 0.90
            case .p95: 0.95
            case .p99: 0.99
            case .mean: 0
            }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
