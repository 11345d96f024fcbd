import Synchronization

/// The chunks of one invocation whose handler streams (returns a generator), on their way from the
/// worker to whoever answers the client.
///
/// The caller makes one, passes it to `invoke`, and calls `finish()` once `invoke` has returned or
/// thrown. `started()` says whether the answer streams (true at the first chunk) or not (false: the
/// invocation ended without one, and its response is whole). A consumer that stops listening calls
/// `cancel()`: the worker closes the generator before its next item. Without a stream, a worker
/// collects a generator's chunks into one response.
public final class ResponseStream: Sendable {
    /// The chunks, in order, as the worker sends them; ends at `finish()`.
    public let chunks: AsyncStream<[UInt8]>
    private let continuation: AsyncStream<[UInt8]>.Continuation
    private let state = Mutex(State())

    private struct State {
        var started: Bool?
        var contentType: String?
        var firstChunkAt: ContinuousClock.Instant?
        var waiters: [CheckedContinuation<Bool, Never>] = []
        var cancelled = false
        var onCancel: (@Sendable () -> Void)?
    }

    /// A stream nothing has been sent on yet.
    public init() {
        (chunks, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel() }  // the task reading it was cancelled
        }
    }

    /// The first chunk's media type (`text/plain; charset=utf-8`, `application/x-ndjson`,
    /// `application/octet-stream`), once it came.
    public var contentType: String? { state.withLock(\.contentType) }

    /// When the first chunk came (for the time-to-first-chunk metric).
    public var firstChunkAt: ContinuousClock.Instant? { state.withLock(\.firstChunkAt) }

    /// Waits until the answer is known to stream (true, at its first chunk) or not (false, at `finish()`).
    public func started() async -> Bool {
        await withCheckedContinuation { waiter in
            let known = state.withLock { state -> Bool? in
                if state.started == nil { state.waiters.append(waiter) }
                return state.started
            }
            if let known { waiter.resume(returning: known) }
        }
    }

    /// Whether the consumer went away.
    public var isCancelled: Bool { state.withLock(\.cancelled) }

    /// The consumer stopped listening: the producer is told (once).
    public func cancel() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.cancelled else { return nil }
            state.cancelled = true
            defer { state.onCancel = nil }
            return state.onCancel
        }
        action?()
    }

    /// Ends the chunks; an answer that never streamed is known not to.
    public func finish() {
        continuation.finish()
        resolve(started: false, contentType: nil)
    }

    /// One chunk from the producer (`contentType` counts on the first).
    public func yield(_ bytes: [UInt8], contentType: String?) {
        resolve(started: true, contentType: contentType)
        continuation.yield(bytes)
    }

    /// What to do when the consumer goes away (at once if it already has).
    func onCancel(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.cancelled { return true }
            state.onCancel = action
            return false
        }
        if now { action() }
    }

    private func resolve(started: Bool, contentType: String?) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard state.started == nil else { return [] }
            state.started = started
            if started {
                state.contentType = contentType ?? "application/octet-stream"
                state.firstChunkAt = .now
            }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: started) }
    }
}
