/// When the router sends a forming batch of a function that defines `handle_batch`: a pure rule
/// with time as input, carried out per instance by the runtime's `BatchFormer`.
///
/// A batch goes at once when it is full, when nothing more is expected in time, or when batching
/// is measured to bring nothing; otherwise it waits for more requests, but never past the point
/// where its oldest request could still finish within the SLO: `oldest + threshold − service time
/// of the larger batch`, so waiting never holds a request past its budget.
public struct BatchPolicy: Sendable, Hashable {
    /// The largest batch.
    public var maxBatch: Int
    /// The latency budget of one request (the SLO threshold), ms.
    public var budgetMs: Double

    /// A policy.
    public init(maxBatch: Int, budgetMs: Double) {
        self.maxBatch = max(1, maxBatch)
        self.budgetMs = budgetMs.isFinite ? max(0, budgetMs) : 0
    }

    /// What to do with a forming batch.
    public enum Decision: Sendable, Hashable {
        /// Send the batch now.
        case send
        /// Wait for more requests, until at most this instant.
        case wait(until: ContinuousClock.Instant)
    }

    /// The decision for a batch of `count` requests, the oldest of which arrived at `oldest`, at
    /// `now`, with requests arriving at `rate` per second and `serviceMs(k)` the expected service
    /// time of a batch of `k` (nil: not measured).
    public func decide(
        count: Int, oldest: ContinuousClock.Instant, now: ContinuousClock.Instant, rate: Double, serviceMs: (Int) -> Double?
    ) -> Decision {
        guard count < maxBatch, rate.isFinite, rate > 0 else { return .send }
        let single = serviceMs(1)
        let current = serviceMs(count) ?? single.map { $0 * Double(count) }
        let larger = serviceMs(count + 1) ?? single.map { $0 * Double(count + 1) } ?? 0
        // Measured to bring nothing: one more in the batch costs as much as running it alone.
        if let current, let measuredLarger = serviceMs(count + 1), count >= 1,
            measuredLarger / Double(count + 1) >= current / Double(count) * 0.98
        {
            return .send
        }
        let latest = oldest.advanced(by: .clamped(milliseconds: max(0, budgetMs - larger)))
        let nextArrival = now.advanced(by: .clamped(seconds: 1 / rate))
        guard now < latest, nextArrival <= latest else { return .send }
        return .wait(until: min(latest, now.advanced(by: .clamped(seconds: 2 / rate))))
    }
}
