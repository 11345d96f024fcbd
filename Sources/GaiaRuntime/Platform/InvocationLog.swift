import Foundation
public import GaiaStore
public import Logging
import Synchronization

/// Where invocation records go, so that none a client saw answered is lost: each is appended to a
/// journal file (`DATA/records.journal`, one JSON line, one `write(2)`) before its answer leaves,
/// which a killed process cannot undo (the bytes are in the kernel's page cache), and moved into
/// the database in batches off the request path (`flush()`: the control tick, and any query that
/// reads records). A flush rotates the journal first, commits what the rotated file holds in one
/// transaction together with the file's number (`GaiaDatabase.applyJournal`), then removes the
/// file; at start, `recover()` applies every journal file a previous process left, skipping those
/// it had committed already: each record lands exactly once.
///
/// An append costs one small write (microseconds); a commit per invocation cost 0.15 ms of SQLite
/// alone here, 0.3 ms through GRDB's async queue (`docs/PERFORMANCE.md`). A database that refuses a
/// commit does not hold answers back: the batch and its file are kept and retried at the next
/// flush (at most `maxPending` records in memory; the file keeps them all).
public actor InvocationLog {
    private let database: GaiaDatabase
    private let logger: Logger
    private let folder: String
    private let journal: Journal
    /// Rotated files not yet committed (a failed commit's), oldest first.
    private var unapplied: [(number: Int64, path: String, records: [InvocationRecord])] = []
    /// Most records kept in memory while the database refuses commits.
    static let maxPending = 100_000
    /// Records stored in the database by this log (for the benchmark).
    public private(set) var committed = 0

    /// A log whose journal lives in `folder`, committed into `database`.
    public init(database: GaiaDatabase, folder: String, logger: Logger) {
        self.database = database
        self.folder = folder
        self.logger = logger
        self.journal = Journal(path: "\(folder)/records.journal")
    }

    /// Appends a record to the journal: once this returns it survives the process being killed.
    /// Called on the invocation's path; one `write(2)` under a lock, no suspension.
    public nonisolated func append(_ record: InvocationRecord) {
        journal.append(record, logger: logger)
    }

    /// Moves every record appended so far into the database (one transaction), then removes the
    /// journal file that held them.
    public func flush() async {
        if let rotated = journal.rotate(number: Self.newNumber(), folder: folder) { unapplied.append(rotated) }
        guard !unapplied.isEmpty else { return }
        let batch = unapplied
        do {
            committed += try await database.applyJournal(batch.map { ($0.number, $0.records) })
            for file in batch { try? FileManager.default.removeItem(atPath: file.path) }
            // By number: a flush that entered while this one awaited the database may have
            // applied (or skipped, as applied) some of them already.
            let done = Set(batch.map(\.number))
            unapplied.removeAll { done.contains($0.number) }
        } catch {
            var pending = unapplied.reduce(0) { $0 + $1.records.count }
            while pending > Self.maxPending, unapplied.count > 1 {
                // The oldest batch leaves memory; its file stays for the next start's recovery.
                pending -= unapplied.removeFirst().records.count
            }
            logger.error(
                "invocation records not written to the database; kept in the journal for the next attempt",
                metadata: ["records.pending": "\(pending)", "error": "\(error)"])
        }
    }

    /// Applies the journal files a previous process left (its last records, written but not yet
    /// committed when it stopped), then removes them. Run once at start, before serving.
    public func recover() async throws {
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("records.") && $0.hasSuffix(".journal") }
        var files: [(number: Int64, path: String, records: [InvocationRecord])] = []
        for name in names.sorted() {
            let path = "\(folder)/\(name)"
            let number = Int64(name.dropFirst("records.".count).dropLast(".journal".count)) ?? Self.newNumber()
            files.append((number, path, Journal.read(path)))
        }
        guard !files.isEmpty else { return }
        try await database.applyJournal(files.map { ($0.number, $0.records) })
        for file in files { try? fm.removeItem(atPath: file.path) }
        let count = files.reduce(0) { $0 + $1.records.count }
        if count > 0 { logger.info("recovered invocation records from the journal", metadata: ["records": "\(count)"]) }
    }

    /// A number for a rotated journal file, unique across processes (random, positive).
    private static func newNumber() -> Int64 { Int64.random(in: 1...Int64.max) }
}

/// The journal file and the records appended since its last rotation, behind one lock.
private final class Journal: Sendable {
    private struct State {
        var descriptor: Int32 = -1
        var records: [InvocationRecord] = []
    }
    private let path: String
    private let state = Mutex(State())
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    init(path: String) { self.path = path }

    func append(_ record: InvocationRecord, logger: Logger) {
        var line = (try? Self.encoder.encode(record)) ?? Data()
        line.append(UInt8(ascii: "\n"))
        state.withLock { state in
            if state.descriptor < 0 { state.descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }
            let written = line.withUnsafeBytes { write(state.descriptor, $0.baseAddress, $0.count) }
            if written != line.count {
                // A full disk: the record still goes to the database with the next flush.
                logger.error("an invocation record was not written to the journal", metadata: ["errno": "\(errno)"])
            }
            state.records.append(record)
        }
    }

    /// Closes the file and renames it `records.NUMBER.journal`, returning it with its records; nil
    /// when nothing was appended since the last rotation.
    func rotate(number: Int64, folder: String) -> (number: Int64, path: String, records: [InvocationRecord])? {
        state.withLock { state in
            guard !state.records.isEmpty else { return nil }
            let rotated = "\(folder)/records.\(number).journal"
            if state.descriptor >= 0 {
                close(state.descriptor)
                state.descriptor = -1
            }
            rename(path, rotated)
            defer { state.records = [] }
            return (number, rotated, state.records)
        }
    }

    /// The records of a journal file; a last line cut short by a kill is skipped.
    static func read(_ path: String) -> [InvocationRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(InvocationRecord.self, from: Data($0)) }
    }
}
