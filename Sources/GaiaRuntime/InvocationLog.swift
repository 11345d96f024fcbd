public import GaiaStore
public import Logging

/// Where invocation records go: committed to the database before the invocation's answer leaves
/// (so a client that saw an answer finds its record, even if the server is killed the next
/// instant), by group commit: records that arrive while a transaction is being written wait for
/// the next one, which takes them all. Under load a transaction holds many records; alone, a
/// record costs one commit (WAL, no flush: `GaiaDatabase(path:)`). The writes run on the
/// database's own queue, never on the runtime's executor.
///
/// A database that refuses a write (a full disk) does not hold answers back: the records are
/// logged and kept for the next commit (at most `maxPending`; the oldest beyond are dropped and
/// counted), never silently lost.
public actor InvocationLog {
    private let database: GaiaDatabase
    private let logger: Logger
    /// Records waiting for the next commit, with their callers (a `flush()` waits with no record).
    private var waiting: [(record: InvocationRecord?, caller: CheckedContinuation<Void, Never>?)] = []
    /// Records a failed commit left, written with the next one.
    private var failed: [InvocationRecord] = []
    /// Whether a commit is being written.
    private var writing = false
    /// Most records kept in memory while the database refuses writes.
    static let maxPending = 100_000
    /// Commits written, and records in them (for the benchmark and tests).
    public private(set) var commits = 0
    public private(set) var committed = 0

    /// A log into `database`.
    public init(database: GaiaDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Returns once `record` is committed (or, if the database refused it, kept for a retry).
    public func commit(_ record: InvocationRecord) async {
        await withCheckedContinuation { caller in
            waiting.append((record, caller))
            startWriting()
        }
    }

    /// Records without a caller waiting (a failure noted after its answer left): in the next commit.
    public func append(_ record: InvocationRecord) {
        waiting.append((record, nil))
        startWriting()
    }

    /// Returns once every record handed in before the call is committed (or kept after a failure).
    public func flush() async {
        guard writing || !waiting.isEmpty || !failed.isEmpty else { return }
        await withCheckedContinuation { caller in
            waiting.append((nil, caller))
            startWriting()
        }
    }

    private func startWriting() {
        guard !writing else { return }
        writing = true
        Task { await self.write() }
    }

    /// Writes commits until nothing waits: each takes every record waiting when it begins.
    private func write() async {
        while !waiting.isEmpty {
            let batch = waiting
            waiting = []
            let records = failed + batch.compactMap(\.record)
            failed = []
            guard !records.isEmpty else {
                for entry in batch { entry.caller?.resume() }
                continue
            }
            do {
                try await database.recordAsync(records)
                commits += 1
                committed += records.count
            } catch {
                failed = records
                let excess = failed.count - Self.maxPending
                if excess > 0 { failed.removeFirst(excess) }
                logger.error(
                    "invocation records not written; kept for the next attempt",
                    metadata: ["records.pending": "\(failed.count)", "records.dropped": "\(max(0, excess))", "error": "\(error)"])
            }
            for entry in batch { entry.caller?.resume() }
        }
        writing = false
    }
}
