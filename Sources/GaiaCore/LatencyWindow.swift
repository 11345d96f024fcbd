/// Recent invocation latencies with the rung that served each: what the mode controller judges.
/// A value; time is an input.
public struct LatencyWindow: Sendable {
    /// One observed invocation.
    struct Sample: Sendable, Hashable {
        /// When it arrived.
        var at: Moment
        /// Its latency from arrival to answer.
        var milliseconds: Double
        /// The part of it the function ran (its service time, without queueing).
        var serviceMilliseconds: Double
        /// The rung that served it.
        var backend: Backend
    }

    /// Samples older than this are dropped.
    public var horizon: Duration
    private var samples = TimeOrdered<Sample>()
    /// The followed rung's recent samples, kept sorted (`follow`).
    private var followed: SortedWindow?

    /// An empty window keeping `horizon` of history.
    public init(horizon: Duration) {
        self.horizon = horizon
    }

    /// Adds one invocation's latency, `at` its arrival. Invocations are reported as they end, so
    /// arrivals come slightly out of order: each is inserted in arrival order.
    public mutating func record(
        _ milliseconds: Double, service serviceMilliseconds: Double? = nil, on backend: Backend, at arrival: ContinuousClock.Instant
    ) {
        record(milliseconds, service: serviceMilliseconds, on: backend, at: Moment(arrival))
    }

    mutating func record(_ milliseconds: Double, service serviceMilliseconds: Double?, on backend: Backend, at arrival: Moment) {
        let latency = milliseconds.isNaN ? 0 : milliseconds  // NaN has no place in an order
        let service = serviceMilliseconds.map { $0.isNaN ? 0 : $0 } ?? latency
        let sample = Sample(at: arrival, milliseconds: latency, serviceMilliseconds: service, backend: backend)
        samples.insert(sample, inOrderOf: \.at)
        followed?.insert(sample)
        guard let newest = samples.last?.at else { return }
        let cutoff = newest.advanced(by: .zero - horizon)
        while let first = samples.first, first.at < cutoff { samples.removeFirst() }
    }

    /// From now on keeps the latencies and service times `backend` serves in the last `span`
    /// (at most `horizon`), not before `since`, sorted as they are recorded: the statistic over
    /// them is then one index (`followedStatistic`) instead of a pass over the window and a
    /// selection at every tick, for every function.
    public mutating func follow(_ backend: Backend, over span: Duration, since: ContinuousClock.Instant) {
        follow(backend, over: span, since: Moment(since))
    }

    mutating func follow(_ backend: Backend, over span: Duration, since: Moment) {
        followed = view(of: backend, over: min(span, horizon), since: since)
    }

    /// The samples of `backend` in the last `span`, not before `since`, sorted.
    private func view(of backend: Backend, over span: Duration, since: Moment) -> SortedWindow {
        var view = SortedWindow(backend: backend, span: span, since: since)
        for sample in samples { view.insert(sample) }
        return view
    }

    /// `statistic` of the followed rung's latencies and of its service times over its span at
    /// `now`, and how many there are; nil when none (or nothing is followed). The same values as
    /// `statistic.of(latenciesAndServiceTimes(on:over:at:since:))` with the followed arguments.
    public mutating func followedStatistic(
        _ statistic: SLO.Statistic, at now: ContinuousClock.Instant
    ) -> (latency: Double, service: Double, count: Int)? {
        followedStatistic(statistic, at: Moment(now))
    }

    mutating func followedStatistic(_ statistic: SLO.Statistic, at now: Moment) -> (latency: Double, service: Double, count: Int)? {
        guard var view = followed else { return nil }
        followed = nil  // no copy of the arrays while it changes
        if !view.expire(at: now) {
            // Asked about an earlier instant than before: what expired since is needed again.
            view = self.view(of: view.backend, over: view.span, since: view.since)
            _ = view.expire(at: now)
        }
        let result = view.statistic(statistic)
        followed = view
        return result.map { ($0.latency, $0.service, view.count) }
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
        let cutoff = Moment(now).advanced(by: .zero - window)  // one comparison per sample, no Duration arithmetic
        let floor = since.map { max(Moment($0), cutoff) } ?? cutoff
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

/// One rung's recent latencies and service times, each kept sorted, in a sliding window of time.
/// What arrives and what expires between two questions is merged in one pass when asked (a tick
/// adds and drops a few values among hundreds: one merge, not a move of the array per value).
struct SortedWindow: Sendable {
    let backend: Backend
    let span: Duration
    let since: Moment
    /// The members in time order (to expire them), each with its two values.
    private var members = TimeOrdered<Member>()
    private var latencies = SortedValues()
    private var service = SortedValues()
    /// The latest instant expired at: an earlier one cannot be answered.
    private var expiredAt: Moment?

    private struct Member {
        var at: Moment
        var latency: Double
        var service: Double
    }

    init(backend: Backend, span: Duration, since: Moment) {
        self.backend = backend
        self.span = span
        self.since = since
    }

    var count: Int { members.count }

    /// Adds `sample` when it is the rung's, not before `since`, and not already expired.
    mutating func insert(_ sample: LatencyWindow.Sample) {
        guard sample.backend == backend, sample.at >= since else { return }
        if let expiredAt, sample.at <= expiredAt.advanced(by: .zero - span) { return }
        members.insert(Member(at: sample.at, latency: sample.milliseconds, service: sample.serviceMilliseconds), inOrderOf: \.at)
        latencies.added.append(sample.milliseconds)
        service.added.append(sample.serviceMilliseconds)
    }

    /// Drops the members at or before `now - span` and sorts in what came; false when `now` is
    /// earlier than the last instant asked (their members may be gone).
    mutating func expire(at now: Moment) -> Bool {
        if let expiredAt, now < expiredAt { return false }
        expiredAt = now
        let cutoff = now.advanced(by: .zero - span)
        while let first = members.first, first.at <= cutoff {
            members.removeFirst()
            latencies.removed.append(first.latency)
            service.removed.append(first.service)
        }
        latencies.settle()
        service.settle()
        return true
    }

    /// The statistic of the latencies and of the service times (nearest rank, as `SLO.Statistic.of`).
    func statistic(_ statistic: SLO.Statistic) -> (latency: Double, service: Double)? {
        guard !latencies.sorted.isEmpty else { return nil }
        guard let rank = statistic.rank(of: latencies.sorted.count) else { return (latencies.mean, service.mean) }
        return (latencies.sorted[rank], service.sorted[rank])
    }
}

/// A sorted multiset of values with what to add and remove pending until `settle`.
private struct SortedValues: Sendable {
    private(set) var sorted: [Double] = []
    var added: [Double] = []
    /// Each one among `sorted` or `added`.
    var removed: [Double] = []
    private var scratch: [Double] = []

    var mean: Double { sorted.reduce(0, +) / Double(sorted.count) }

    /// `sorted` ⊎ `added` ∖ `removed`: the few changes in value order, each found by a forward scan,
    /// the runs of `sorted` between them copied whole.
    mutating func settle() {
        guard !added.isEmpty || !removed.isEmpty else { return }
        added.sort()
        removed.sort()
        scratch.removeAll(keepingCapacity: true)
        scratch.reserveCapacity(sorted.count + added.count)
        // Runs are copied from a buffer of `sorted`, not its slices: a slice retains and releases
        // the array each time (most of what the copies cost).
        sorted.withUnsafeBufferPointer { sorted in
            var (i, j, k) = (0, 0, 0)
            while j < added.count || k < removed.count {
                // An addition before a removal of the same value: the removed one may be that addition.
                if k == removed.count || (j < added.count && added[j] <= removed[k]) {
                    let value = added[j]
                    let end = Self.search(value, in: sorted, from: i, orAbove: true)
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: sorted[i..<end]))
                    scratch.append(value)
                    i = end
                    j += 1
                } else {
                    let value = removed[k]
                    let end = Self.search(value, in: sorted, from: i, orAbove: false)
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: sorted[i..<end]))
                    i = end
                    if i < sorted.count && sorted[i] == value {
                        i += 1
                    } else if scratch.last == value {
                        scratch.removeLast()  // one added since the last settle
                    }
                    k += 1
                }
            }
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: sorted[i...]))
        }
        swap(&sorted, &scratch)
        added.removeAll(keepingCapacity: true)
        removed.removeAll(keepingCapacity: true)
    }

    /// The first index from `start` whose value is not below `value` (`orAbove`: above it). A
    /// forward scan, not a binary search: the few changes are spread over the values, so each scan
    /// is short, its branch predicted but at its end, where a search over random values mispredicts
    /// half its steps (most of the time `settle` took); the run scanned is copied anyway.
    private static func search(_ value: Double, in buffer: UnsafeBufferPointer<Double>, from start: Int, orAbove: Bool) -> Int {
        var index = start
        if orAbove {
            while index < buffer.count && buffer[index] <= value { index += 1 }
        } else {
            while index < buffer.count && buffer[index] < value { index += 1 }
        }
        return index
    }
}

extension SLO.Statistic {
    /// The 0-based index of this percentile among `count` sorted values (nearest rank); nil for the mean.
    func rank(of count: Int) -> Int? {
        let q: Double
        switch self {
        case .p50: q = 0.50
        case .p90: q = 0.90
        case .p95: q = 0.95
        case .p99: q = 0.99
        case .mean: return nil
        }
        return min(max(Int((q * Double(count)).rounded(.up)), 1), count) - 1
    }

    /// This statistic of `values` (nearest-rank percentiles), or nil when there are none.
    public func of(_ values: [Double]) -> Double? {
        var values = values
        return of(reordering: &values)
    }

    /// This statistic of `values`, which it may reorder (no copy).
    public func of(reordering values: inout [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        guard let rank = rank(of: values.count) else { return values.reduce(0, +) / Double(values.count) }
        return Self.select(&values, rank)
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
