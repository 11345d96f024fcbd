import Foundation
public import GaiaCore
import GaiaStore

/// How asynchronous invocations run.
public struct AsyncInvocationSettings: Sendable, Equatable {
    /// Asynchronous invocations running at once (over all functions).
    public var concurrency = 8
    /// Runs of one invocation at most: an attempt that fails because its instance did (502, 503,
    /// 504) is retried until then; a handler's error or a bad payload is not.
    public var maxAttempts = 3
    /// The wait before the first retry, doubled for each later one.
    public var backoff: Duration = .seconds(1)
    /// How long a finished invocation's result is kept.
    public var retention: Duration = .seconds(24 * 3600)

    /// What follows a failed run (GaiaCore).
    public var retries: AsyncRetryPolicy { AsyncRetryPolicy(maxAttempts: maxAttempts, backoff: backoff) }

    /// The defaults.
    public init() {}
}

/// The queue of asynchronous invocations (`Prefer: respond-async`): each is stored in the database
/// before it is accepted, claimed from there by this queue (at most `concurrency` at once), run by
/// the function's pools like any invocation, retried with backoff when its instance failed, and its
/// outcome stored with the result. Those left `running` by a server that stopped or died are queued
/// again when the next one starts; one stored as finished is never run again.
public actor AsyncInvocations {
    let database: GaiaDatabase
    let settings: AsyncInvocationSettings
    private weak var runtime: FunctionRuntime?
    private var running = 0
    private var closed = false
    private var started = false
    /// Wakes the queue when the next retry falls due.
    private var timer: Task<Void, Never>?
    private var lastPurge = Date.distantPast

    init(database: GaiaDatabase, settings: AsyncInvocationSettings) {
        self.database = database
        self.settings = settings
    }

    /// Starts running what the database holds for `runtime` (once): invocations a previous server
    /// left running are queued again first.
    func start(runtime: FunctionRuntime) throws {
        guard !started else { return }
        started = true
        self.runtime = runtime
        try database.requeueRunningAsyncInvocations()
        pump()
    }

    /// Accepts an invocation of `function`: stored (committed) when this returns, run later.
    func submit(function: String, body: [UInt8], contentType: String, runtime: FunctionRuntime) throws -> AsyncInvocationRecord {
        guard !closed else { throw PlatformError("shutting_down", "the platform is shutting down", status: 503) }
        let id = FunctionRuntime.newInvocationID()
        let record = AsyncInvocationRecord(id: id, function: function, body: Data(body), contentType: contentType)
        try database.insert(record)
        try start(runtime: runtime)
        pump()
        return record
    }

    /// Runs no more; those running now are left `running`, to be queued again by the next start.
    func close() {
        closed = true
        timer?.cancel()
    }

    /// Claims what is due, up to the free slots, and sets the timer for the next retry.
    private func pump() {
        guard !closed, let runtime else { return }
        if Date().timeIntervalSince(lastPurge) > 60 {
            lastPurge = Date()
            _ = try? database.deleteExpiredAsyncInvocations()
        }
        let claimed = (try? database.claimAsyncInvocations(limit: settings.concurrency - running)) ?? []
        for record in claimed {
            running += 1
            Task { await self.run(record, on: runtime) }
        }
        timer?.cancel()
        guard running < settings.concurrency, let due = try? database.nextAsyncDue() else { return }
        let delay = max(0, due.timeIntervalSinceNow)
        timer = Task { [weak self] in
            try? await Task.sleep(for: .seconds(delay))
            guard !Task.isCancelled else { return }
            await self?.pump()
        }
    }

    private func run(_ claimed: AsyncInvocationRecord, on runtime: FunctionRuntime) async {
        var record = claimed
        do {
            let result = try await runtime.invoke(record.function, body: Array(record.body), contentType: record.contentType, id: record.id)
            record.state = AsyncInvocationState.succeeded.rawValue
            record.status = 200
            record.result = Data(result.outcome.response.body)
            record.resultContentType = result.outcome.response.contentType
            record.error = nil
        } catch {
            if closed {  // cut by the shutdown: queued again at the next start
                running -= 1
                return
            }
            record.error = "\(error)"
            switch settings.retries.afterFailure(FunctionRuntime.attemptFailure(of: error), attempts: record.attempts) {
            case .retry(let wait):
                record.state = AsyncInvocationState.queued.rawValue
                record.notBefore = Date().addingTimeInterval(wait.inSeconds)
            case .fail:
                record.state = AsyncInvocationState.failed.rawValue
                record.status = FunctionRuntime.status(of: error)
            }
        }
        if AsyncInvocationState(rawValue: record.state)?.isFinished == true {
            let now = Date()
            record.finishedAt = now
            record.expiresAt = now.addingTimeInterval(settings.retention.inSeconds)
        }
        do {
            try database.update(record)
        } catch {
            // Left `running` in the database: the next start queues it again.
        }
        running -= 1
        pump()
    }
}
