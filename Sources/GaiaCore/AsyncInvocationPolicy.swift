/// Where an asynchronous invocation is in its life: `queued` (waiting for its first run or a
/// retry), `running`, and finally `succeeded` or `failed`. Stored by name.
public enum AsyncInvocationState: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed

    /// Whether it has ended (its result or error is final).
    public var isFinished: Bool { self == .succeeded || self == .failed }
}

/// Why a run of an asynchronous invocation failed, as far as running it again goes.
public enum AttemptFailure: Sendable, Hashable {
    /// Its instance failed (crashed, timed out, broke the protocol, failed to start): another run,
    /// on another instance, may succeed.
    case instanceFailed
    /// No instance could take it (the queue or the machine was full, the pool was being replaced):
    /// a later run may find room.
    case noRoom
    /// The function itself refused it (its handler raised, the payload was bad, the function is
    /// gone): another run would fail the same way.
    case final
}

/// What follows a failed run of an asynchronous invocation: a retry after a backoff that doubles
/// with each run, while runs are left, or the end. A pure value: the queue (`AsyncInvocations`)
/// carries it out.
public struct AsyncRetryPolicy: Sendable, Hashable {
    /// Runs of one invocation at most.
    public var maxAttempts: Int
    /// The wait before the first retry, doubled for each later one.
    public var backoff: Duration

    /// What to do after a failed run.
    public enum Decision: Sendable, Hashable {
        /// Queue it again, to run no sooner than this after now.
        case retry(after: Duration)
        /// It failed for good.
        case fail
    }

    /// A policy (at least one run; no negative backoff).
    public init(maxAttempts: Int, backoff: Duration) {
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = max(.zero, backoff)
    }

    /// The decision after run number `attempts` (1 for the first) failed with `failure`.
    public func afterFailure(_ failure: AttemptFailure, attempts: Int) -> Decision {
        guard failure != .final, attempts < maxAttempts else { return .fail }
        return .retry(after: backoff * (1 << min(20, max(0, attempts - 1))))
    }
}
