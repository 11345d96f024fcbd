public import GaiaCore

/// Groups the requests dispatched to each instance of a batching function into batches, as its
/// `BatchPolicy` decides, and tells each request its batch once the batch closes (the requests then
/// go to the worker together, which runs `handle_batch` once for them).
public actor BatchFormer {
    /// A request's place in a closed batch.
    public struct Membership: Sendable, Hashable {
        /// The batch's number (unique in the pool).
        public var group: Int
        /// Requests in it.
        public var size: Int
    }

    private struct Forming {
        var group: Int
        var oldest: ContinuousClock.Instant
        var members: [CheckedContinuation<Membership, Never>] = []
        var timer: Task<Void, Never>?
    }

    private var policy: BatchPolicy
    private var forming: [Int: Forming] = [:]
    private var nextGroup = 0
    /// Recent arrivals, for the rate.
    private var arrivals: [ContinuousClock.Instant] = []
    /// Expected service time of a batch by size, ms (from the function's performance predictor).
    private var serviceMs: [Int: Double] = [:]
    private let clock = ContinuousClock()

    /// A former deciding with `policy`.
    public init(policy: BatchPolicy) {
        self.policy = policy
    }

    /// New service-time expectations by batch size, and the SLO budget.
    public func update(serviceMs: [Int: Double], budgetMs: Double? = nil) {
        self.serviceMs = serviceMs
        if let budgetMs { policy.budgetMs = budgetMs }
    }

    /// Adds a request that arrived at `arrived` to the batch forming on `instance`; returns once
    /// that batch closes.
    public func join(instance: Int, arrived: ContinuousClock.Instant) async -> Membership {
        let now = clock.now
        arrivals.append(now)
        if arrivals.count > 64 { arrivals.removeFirst(arrivals.count - 64) }
        return await withCheckedContinuation { continuation in
            var batch = forming[instance] ?? {
                nextGroup += 1
                return Forming(group: nextGroup, oldest: arrived)
            }()
            batch.oldest = min(batch.oldest, arrived)
            batch.members.append(continuation)
            forming[instance] = batch
            evaluate(instance, at: now)
        }
    }

    /// Applies the policy to `instance`'s forming batch: close it, or wait (with a timer) for more.
    private func evaluate(_ instance: Int, at now: ContinuousClock.Instant) {
        guard var batch = forming[instance] else { return }
        let known = serviceMs
        switch policy.decide(count: batch.members.count, oldest: batch.oldest, now: now, rate: rate(at: now), serviceMs: { known[$0] }) {
        case .send:
            close(instance)
        case .wait(let until):
            batch.timer?.cancel()
            let group = batch.group
            batch.timer = Task { [clock] in
                try? await Task.sleep(until: until, clock: clock)
                guard !Task.isCancelled else { return }
                self.deadline(instance, group: group)
            }
            forming[instance] = batch
        }
    }

    /// A forming batch's wait ran out: it goes now, whatever it holds.
    private func deadline(_ instance: Int, group: Int) {
        guard forming[instance]?.group == group else { return }
        close(instance)
    }

    /// Closes `instance`'s forming batch (its timer, if any, is not needed any more): every member
    /// learns its batch and goes.
    private func close(_ instance: Int) {
        guard let batch = forming.removeValue(forKey: instance) else { return }
        batch.timer?.cancel()
        let membership = Membership(group: batch.group, size: batch.members.count)
        for member in batch.members { member.resume(returning: membership) }
    }

    /// Requests per second over the recent arrivals (0 with fewer than two).
    private func rate(at now: ContinuousClock.Instant) -> Double {
        guard arrivals.count >= 2, let first = arrivals.first else { return 0 }
        let seconds = (now - first).inSeconds
        return seconds > 0 ? Double(arrivals.count - 1) / seconds : 0
    }
}
