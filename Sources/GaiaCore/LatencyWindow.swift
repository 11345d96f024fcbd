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
        latenciesAndServiceTimes(on: backend, over: window, at: now, since: since).latencies
    }

    /// Latencies and service times served by `backend` recorded in `(now - window, now]` and not
    /// before `since`, in one pass (the controller's per-tick read).
    public func latenciesAndServiceTimes(
        on backend: Backend, over window: Duration, at now: ContinuousClock.Instant, since: ContinuousClock.Instant? = nil
    ) -> (latencies: [Double], service: [Double]) {
        var latencies: [Double] = []
        var service: [Double] = []
        let cutoff = now.advanced(by: .zero - window)  // one comparison of instants per sample, no Duration arithmetic
        let floor = since.map { max($0, cutoff) } ?? cutoff
        for sample in samples.reversed() {
            if sample.at <= cutoff || sample.at < floor { break }
            if sample.backend == backend {
                latencies.append(sample.milliseconds)
                service.append(sample.serviceMilliseconds)
            }
        }
        return (latencies, service)
    }
}

extension SLO.Statistic {
    /// This statistic of `values` (nearest-rank percentiles), or nil when there are none.
    public func of(_ values: [Double]) -> Double? {
        var values = values
        return of(reordering: &values)
    }

    /// This statistic of `values`, which it may reorder (no copy).
    public func of(reordering values: inout [Double]) -> Double? {
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
        let rank = Int((q * Double(values.count)).rounded(.up))
        return Self.select(&values, min(max(rank, 1), values.count) - 1)
    }

    /// The `k`-th smallest of `values` (0-based), by quickselect: linear time on average where a
    /// sort would be n log n (the controller asks every tick for every function). Reorders `values`.
    static func select(_ values: inout [Double], _ k: Int) -> Double {
        var low = 0
        var high = values.count - 1
        while low < high {
            // Median of three as the pivot: deterministic, and no worst case on sorted input.
            let mid = low + (high - low) / 2
            if values[mid] < values[low] { values.swapAt(mid, low) }
            if values[high] < values[low] { values.swapAt(high, low) }
            if values[high] < values[mid] { values.swapAt(high, mid) }
            let pivot = values[mid]
            var i = low
            var j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { high = j } else if k >= i { low = i } else { return values[k] }
        }
        return values[k]
    }
}
