public import Foundation
public import GaiaCore
public import GRDB

/// A deployed function's current state: its latest revision and manifest.
public struct StoredFunction: Sendable, Equatable {
    /// The function's name.
    public var name: String
    /// The revision that serves (the latest deployed).
    public var revision: Int
    /// Where the revision's files are kept.
    public var sourceDirectory: String
    /// The revision's manifest.
    public var manifest: FunctionManifest
    /// When the revision was deployed.
    public var deployedAt: Date

    /// Creates a value.
    public init(name: String, revision: Int, sourceDirectory: String, manifest: FunctionManifest, deployedAt: Date) {
        self.name = name
        self.revision = revision
        self.sourceDirectory = sourceDirectory
        self.manifest = manifest
        self.deployedAt = deployedAt
    }
}

/// One revision of a function as stored: its files' folder and manifest (JSON), and whether the
/// function was deleted since.
struct RevisionRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "revision"
    var function: String
    var number: Int
    var deployedAt: Date
    var sourceDirectory: String
    /// Stored as JSON text (GRDB encodes nested Codable values so).
    var manifest: FunctionManifest
    var deleted = false

    enum Columns {
        static let function = Column(CodingKeys.function)
        static let number = Column(CodingKeys.number)
        static let deleted = Column(CodingKeys.deleted)
    }

    var stored: StoredFunction {
        StoredFunction(name: function, revision: number, sourceDirectory: sourceDirectory, manifest: manifest, deployedAt: deployedAt)
    }
}

/// A function's instance time on one rung, accumulated tick by tick.
struct UsageRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "usage"
    var function: String
    var backend: String
    var instanceSeconds: Double
    var costUSD: Double
}

/// One invocation, as recorded for history, metrics and cost.
public struct InvocationRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "invocation"
    /// Database id (nil before insertion).
    public var id: Int64?
    /// The function's name.
    public var function: String
    /// The revision that served it.
    public var revision: Int
    /// When it arrived.
    public var at: Date
    /// The rung that served it (`cpu-2`).
    public var backend: String
    /// Whether it waited for an instance to start.
    public var coldStart: Bool
    /// Arrival to response, milliseconds.
    public var durationMs: Double
    /// Arrival until an instance took it, milliseconds.
    public var queueMs: Double
    /// HTTP status returned.
    public var status: Int
    /// Pay-per-use cost in USD.
    public var costUSD: Double
    /// The id its caller was given (`Gaia-Invocation-Id`; an asynchronous invocation's own id);
    /// nil for records stored before ids were given.
    public var invocationId: String?

    /// Creates a record.
    public init(
        id: Int64? = nil, function: String, revision: Int, at: Date, backend: String, coldStart: Bool,
        durationMs: Double, queueMs: Double, status: Int, costUSD: Double, invocationId: String? = nil
    ) {
        self.id = id
        self.invocationId = invocationId
        self.function = function
        self.revision = revision
        self.at = at
        self.backend = backend
        self.coldStart = coldStart
        self.durationMs = durationMs
        self.queueMs = queueMs
        self.status = status
        self.costUSD = costUSD
    }
}

/// What a function cost on one rung.
public struct RungCost: Sendable, Equatable {
    /// The rung (`cpu-2`).
    public var backend: String
    /// Invocations it served (failed ones included).
    public var invocations = 0
    /// Of them, successful.
    public var successful = 0
    /// Pay-per-use: the sum of each invocation's duration × the rung's price.
    public var billedUSD = 0.0
    /// Mean invocation latency, ms.
    public var meanMs = 0.0
    /// Instance time on the rung (starting, serving and idle).
    public var instanceSeconds = 0.0
    /// The provider's cost of that time.
    public var providerUSD = 0.0

    /// Creates a row.
    public init(
        backend: String, invocations: Int = 0, successful: Int = 0, billedUSD: Double = 0, meanMs: Double = 0,
        instanceSeconds: Double = 0, providerUSD: Double = 0
    ) {
        self.backend = backend
        self.invocations = invocations
        self.successful = successful
        self.billedUSD = billedUSD
        self.meanMs = meanMs
        self.instanceSeconds = instanceSeconds
        self.providerUSD = providerUSD
    }
}

/// A function's invocations over a recent span: how many, how they went, what they cost.
public struct Activity: Sendable, Equatable {
    /// Invocations that arrived in the span.
    public var invocations = 0
    /// Of them, answered with an error status.
    public var errors = 0
    /// Of them, waited for an instance to start.
    public var coldStarts = 0
    /// Their pay-per-use cost in USD.
    public var costUSD = 0.0
    /// Latency percentiles (arrival to response) of the successful ones, ms; nil with none.
    public var p50Ms: Double?
    public var p95Ms: Double?
    public var p99Ms: Double?

    /// Creates a value.
    public init(
        invocations: Int = 0, errors: Int = 0, coldStarts: Int = 0, costUSD: Double = 0, p50Ms: Double? = nil, p95Ms: Double? = nil,
        p99Ms: Double? = nil
    ) {
        self.invocations = invocations
        self.errors = errors
        self.coldStarts = coldStarts
        self.costUSD = costUSD
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
    }
}

/// An API token as stored: never the token itself, only its SHA-256.
public struct TokenRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "token"
    /// A short public id (to list and revoke it).
    public var id: String
    /// What it is for, as its creator named it.
    public var name: String
    /// Its scopes, comma-separated (`admin`, `invoke`, `read`).
    public var scopes: String
    /// Hex SHA-256 of the token.
    public var hash: String
    /// When it was made.
    public var createdAt: Date

    /// A record.
    public init(id: String, name: String, scopes: String, hash: String, createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.hash = hash
        self.createdAt = createdAt
    }
}

/// An asynchronous invocation: accepted (stored before its 202), run by the queue, its result kept
/// until `expiresAt`.
public struct AsyncInvocationRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "async_invocation"
    /// Its id (`inv_` and 24 hex digits).
    public var id: String
    public var function: String
    /// The payload and its media type.
    public var body: Data
    public var contentType: String
    /// `queued`, `running`, `succeeded` or `failed`.
    public var state: String
    /// Runs started so far.
    public var attempts: Int
    public var createdAt: Date
    /// A queued one is not run before this (the backoff after a failed attempt).
    public var notBefore: Date
    public var finishedAt: Date?
    /// The HTTP status of its outcome (200, or the error's), once finished.
    public var status: Int?
    /// The handler's answer and its media type, once it succeeded.
    public var result: Data?
    public var resultContentType: String?
    /// Why it failed (the last attempt's error), once it failed.
    public var error: String?
    /// When a finished one is forgotten.
    public var expiresAt: Date?

    /// A newly accepted invocation.
    public init(id: String, function: String, body: Data, contentType: String, at: Date = Date()) {
        self.id = id
        self.function = function
        self.body = body
        self.contentType = contentType
        self.state = AsyncInvocationState.queued.rawValue
        self.attempts = 0
        self.createdAt = at
        self.notBefore = at
    }
}

/// A control decision (scale, switch rung) with its reason, for the decision log.
public struct DecisionRecord: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "decision"
    /// Database id (nil before insertion).
    public var id: Int64?
    /// The function's name.
    public var function: String
    /// When it was taken.
    public var at: Date
    /// What was decided: `scale`, `promote`, `demote`…
    public var kind: String
    /// The state before (`2 instances`, `cpu-1`).
    public var from: String
    /// The state after.
    public var to: String
    /// One line: why.
    public var reason: String
    /// The latency measured when it was taken (rung switches), ms.
    public var measuredMs: Double?
    /// The latency expected after it (rung switches), ms.
    public var predictedMs: Double?
    /// How long carrying it out took (rung switches: resize, or warm start and traffic move), ms.
    public var tookMs: Double?

    /// Creates a record.
    public init(
        id: Int64? = nil, function: String, at: Date, kind: String, from: String, to: String, reason: String,
        measuredMs: Double? = nil, predictedMs: Double? = nil, tookMs: Double? = nil
    ) {
        self.id = id
        self.tookMs = tookMs
        self.measuredMs = measuredMs
        self.predictedMs = predictedMs
        self.function = function
        self.at = at
        self.kind = kind
        self.from = from
        self.to = to
        self.reason = reason
    }
}

/// Gaia's persistent state in SQLite: functions, their revisions and manifests, invocation
/// records and control decisions. Migrations run in `init`; they are named and never edited.
public final class GaiaDatabase: Sendable {
    /// The connection (a queue on disk, or in memory for tests).
    public let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path`, in WAL mode (a `DatabasePool`): a
    /// committed write survives the process being killed, and reads never wait for writes.
    /// `synchronous = NORMAL`: a commit reaches the WAL file (the kernel's page cache) but is not
    /// flushed to the disk each time (at checkpoints only), so a commit costs microseconds, not a
    /// flush; a killed process loses nothing committed, a power cut may lose the last commits.
    public convenience init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        try self.init(try DatabasePool(path: path, configuration: configuration))
    }

    /// An empty in-memory database.
    public static func inMemory() throws -> GaiaDatabase {
        try GaiaDatabase(try DatabaseQueue())
    }

    /// Uses a connection and brings its schema up to date.
    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: functions, revisions, invocations, decisions") { db in
            try db.create(table: "revision") { t in
                t.column("function", .text).notNull()
                t.column("number", .integer).notNull()
                t.column("deployedAt", .datetime).notNull()
                t.column("sourceDirectory", .text).notNull()
                t.column("manifest", .text).notNull()
                t.column("deleted", .boolean).notNull().defaults(to: false)
                t.primaryKey(["function", "number"])
            }
            try db.create(table: "invocation") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("function", .text).notNull().indexed()
                t.column("revision", .integer).notNull()
                t.column("at", .datetime).notNull()
                t.column("backend", .text).notNull()
                t.column("coldStart", .boolean).notNull()
                t.column("durationMs", .double).notNull()
                t.column("queueMs", .double).notNull()
                t.column("status", .integer).notNull()
                t.column("costUSD", .double).notNull()
            }
            try db.create(table: "decision") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("function", .text).notNull().indexed()
                t.column("at", .datetime).notNull()
                t.column("kind", .text).notNull()
                t.column("from", .text).notNull()
                t.column("to", .text).notNull()
                t.column("reason", .text).notNull()
            }
        }
        migrator.registerMigration("v2: decision latencies, instance usage") { db in
            try db.alter(table: "decision") { t in
                t.add(column: "measuredMs", .double)
                t.add(column: "predictedMs", .double)
                t.add(column: "tookMs", .double)
            }
            try db.create(table: "usage") { t in
                t.column("function", .text).notNull()
                t.column("backend", .text).notNull()
                t.column("instanceSeconds", .double).notNull()
                t.column("costUSD", .double).notNull()
                t.primaryKey(["function", "backend"])
            }
        }
        migrator.registerMigration("v3: API tokens") { db in
            try db.create(table: "token") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("scopes", .text).notNull()
                t.column("hash", .text).notNull().unique()
                t.column("createdAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v4: invocations by function and time") { db in
            // The dashboard asks every second for each function's last minute and hour
            // (`activity(of:since:)`): a range of this index, not a scan of all its records.
            try db.create(index: "invocation_function_at", on: "invocation", columns: ["function", "at"])
        }
        migrator.registerMigration("v5: asynchronous invocations") { db in
            try db.create(table: "async_invocation") { t in
                t.primaryKey("id", .text)
                t.column("function", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("contentType", .text).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("notBefore", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.column("status", .integer)
                t.column("result", .blob)
                t.column("resultContentType", .text)
                t.column("error", .text)
                t.column("expiresAt", .datetime)
            }
            try db.create(index: "async_invocation_state", on: "async_invocation", columns: ["state", "notBefore"])
        }
        migrator.registerMigration("v6: sandbox users") { db in
            try db.create(table: "sandbox_user") { t in
                t.primaryKey("function", .text)
                t.column("uid", .integer).notNull().unique()
            }
        }
        migrator.registerMigration("v7: invocation ids, the records journal") { db in
            try db.alter(table: "invocation") { t in t.add(column: "invocationId", .text) }
            try db.create(index: "invocation_by_id", on: "invocation", columns: ["invocationId"])
            // The numbers of the journal files whose records were committed (`applyJournal`).
            try db.create(table: "journal_applied") { t in t.primaryKey("number", .integer) }
        }
        return migrator
    }

    /// The uid a function's sandboxed instances run as: the next free one from `first` the first
    /// time a name asks, the same for that name ever after (also once deleted: never given to
    /// another function). A stored uid outside `first…` and below 2³² − 1 is refused, not used.
    public func sandboxUID(of name: String, first: UInt32) throws -> UInt32 {
        try writer.write { db in
            if let stored = try Int64.fetchOne(db, sql: "SELECT uid FROM sandbox_user WHERE function = ?", arguments: [name]) {
                guard let uid = UInt32(exactly: stored), uid >= first, uid < UInt32.max else {
                    throw DatabaseError(message: "sandbox_user holds uid \(stored) for '\(name)', outside \(first)…\(UInt32.max - 1)")
                }
                return uid
            }
            let last = try Int64.fetchOne(db, sql: "SELECT MAX(uid) FROM sandbox_user") ?? Int64(first) - 1
            guard let uid = UInt32(exactly: max(Int64(first), last + 1)), uid < UInt32.max else {
                throw DatabaseError(message: "no sandbox uid left after \(last)")
            }
            try db.execute(sql: "INSERT INTO sandbox_user (function, uid) VALUES (?, ?)", arguments: [name, Int64(uid)])
            return uid
        }
    }

    /// The number the next deploy of a function gets (deleted revisions count: numbers are never reused).
    public func nextRevision(of name: String) throws -> Int {
        try writer.read { db in try Self.lastRevision(of: name, db) + 1 }
    }

    private static func lastRevision(of name: String, _ db: Database) throws -> Int {
        try RevisionRecord.filter(RevisionRecord.Columns.function == name)
            .select(max(RevisionRecord.Columns.number), as: Int?.self).fetchOne(db)?.flatMap { $0 } ?? 0
    }

    /// Stores a new revision of a function (1 for a new name) and returns its number.
    @discardableResult
    public func deploy(name: String, manifest: FunctionManifest, sourceDirectory: String, at date: Date = Date()) throws -> Int {
        try writer.write { db in
            let number = try Self.lastRevision(of: name, db) + 1
            try RevisionRecord.filter(RevisionRecord.Columns.function == name).updateAll(db, RevisionRecord.Columns.deleted.set(to: false))
            try RevisionRecord(function: name, number: number, deployedAt: date, sourceDirectory: sourceDirectory, manifest: manifest)
                .insert(db)
            return number
        }
    }

    /// The function's latest revision, if it exists and was not deleted.
    public func function(named name: String) throws -> StoredFunction? {
        try writer.read { db in
            try RevisionRecord.filter(RevisionRecord.Columns.function == name && RevisionRecord.Columns.deleted == false)
                .order(RevisionRecord.Columns.number.desc).fetchOne(db)?.stored
        }
    }

    /// Every live function at its latest revision, by name.
    public func functions() throws -> [StoredFunction] {
        try writer.read { db in
            // The latest revision of each function (SQLite's bare column with MAX), unless deleted.
            let latest = try RevisionRecord.select(SQL("*, MAX(number)")).group(RevisionRecord.Columns.function)
                .order(RevisionRecord.Columns.function).fetchAll(db)
            return latest.filter { !$0.deleted }.map(\.stored)
        }
    }

    /// Marks a function deleted (its history stays); false if there was none.
    @discardableResult
    public func delete(name: String) throws -> Bool {
        try writer.write { db in
            try RevisionRecord.filter(RevisionRecord.Columns.function == name && RevisionRecord.Columns.deleted == false)
                .updateAll(db, RevisionRecord.Columns.deleted.set(to: true)) > 0
        }
    }

    /// Stores invocation records in one transaction.
    public func record(_ invocations: [InvocationRecord]) throws {
        try writer.write { db in
            for record in invocations { try record.insert(db) }
        }
    }

    /// Commits the records of journal files in one transaction, each file's number with them, on
    /// the database's own writer queue (the calling task is suspended, no thread of the caller's
    /// executor blocked). A file whose number was committed before is skipped: its records are
    /// stored once, however often it is applied.
    /// Returns how many records it stored (those of files applied before are not).
    @discardableResult
    public func applyJournal(_ files: [(number: Int64, records: [InvocationRecord])]) async throws -> Int {
        try await writer.write { db in
            var stored = 0
            for file in files {
                guard try Int64.fetchOne(db, sql: "SELECT number FROM journal_applied WHERE number = ?", arguments: [file.number]) == nil else { continue }
                for record in file.records { try record.insert(db) }
                try db.execute(sql: "INSERT INTO journal_applied (number) VALUES (?)", arguments: [file.number])
                stored += file.records.count
            }
            return stored
        }
    }

    /// The record of the invocation its caller was given `id` for, or nil.
    public func invocation(id: String) throws -> InvocationRecord? {
        try writer.read { db in try InvocationRecord.filter(Column("invocationId") == id).order(Column("id").desc).fetchOne(db) }
    }

    /// The most recent invocations of a function, newest first.
    public func invocations(of name: String, limit: Int = 100) throws -> [InvocationRecord] {
        try writer.read { db in
            try InvocationRecord.filter(Column("function") == name).order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    /// All-time totals of a function's invocations: count, cold starts and cost in USD.
    public func totals(of name: String) throws -> (invocations: Int, coldStarts: Int, costUSD: Double) {
        try writer.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(coldStart), 0) AS cold, COALESCE(SUM(costUSD), 0) AS cost FROM invocation WHERE function = ?",
                arguments: [name])
            return (row?["n"] ?? 0, row?["cold"] ?? 0, row?["cost"] ?? 0)
        }
    }

    /// A function's invocations that arrived at or after `since`: counts, cost and latency
    /// percentiles (nearest rank over the successful ones, each read by SQLite's sort).
    public func activity(of name: String, since: Date) throws -> Activity {
        try writer.read { db in
            let filter = "FROM invocation WHERE function = ? AND at >= ?"
            let arguments: StatementArguments = [name, since]
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS n, COALESCE(SUM(status <> 200), 0) AS errors, COALESCE(SUM(coldStart), 0) AS cold,
                           COALESCE(SUM(costUSD), 0) AS cost \(filter)
                    """,
                arguments: arguments)
            else { return Activity() }
            var activity = Activity(invocations: row["n"], errors: row["errors"], coldStarts: row["cold"], costUSD: row["cost"])
            let successful = activity.invocations - activity.errors
            func percentile(_ p: Double) throws -> Double? {
                guard successful > 0 else { return nil }
                let rank = max(1, Int((p * Double(successful)).rounded(.up)))
                return try Double.fetchOne(
                    db, sql: "SELECT durationMs \(filter) AND status = 200 ORDER BY durationMs LIMIT 1 OFFSET ?",
                    arguments: arguments + [rank - 1])
            }
            activity.p50Ms = try percentile(0.50)
            activity.p95Ms = try percentile(0.95)
            activity.p99Ms = try percentile(0.99)
            return activity
        }
    }

    /// Adds instance time (running, starting or idle) to a function's running totals per rung.
    public func addUsage(_ usage: [(function: String, backend: String, instanceSeconds: Double, costUSD: Double)]) throws {
        guard !usage.isEmpty else { return }
        try writer.write { db in
            for u in usage {
                // Insert, or add to the rung's running totals.
                _ = try UsageRecord(function: u.function, backend: u.backend, instanceSeconds: u.instanceSeconds, costUSD: u.costUSD)
                    .upsertAndFetch(db, onConflict: ["function", "backend"]) { excluded in
                        [Column("instanceSeconds") += excluded["instanceSeconds"], Column("costUSD") += excluded["costUSD"]]
                    }
            }
        }
    }

    /// What a function has cost, per rung: the user's bill (invocations) and the provider's
    /// instance time (idle included).
    public func costs(of name: String) throws -> [RungCost] {
        try writer.read { db in
            var byBackend: [String: RungCost] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT backend, COUNT(*) AS n, SUM(CASE WHEN status = 200 THEN 1 ELSE 0 END) AS ok,
                           COALESCE(SUM(costUSD), 0) AS cost, COALESCE(AVG(durationMs), 0) AS mean
                    FROM invocation WHERE function = ? GROUP BY backend
                    """,
                arguments: [name])
            for row in rows {
                let backend: String = row["backend"]
                byBackend[backend] = RungCost(
                    backend: backend, invocations: row["n"], successful: row["ok"], billedUSD: row["cost"], meanMs: row["mean"])
            }
            for usage in try UsageRecord.filter(Column("function") == name).fetchAll(db) {
                var cost = byBackend[usage.backend] ?? RungCost(backend: usage.backend)
                cost.instanceSeconds = usage.instanceSeconds
                cost.providerUSD = usage.costUSD
                byBackend[usage.backend] = cost
            }
            return byBackend.values.sorted { $0.backend < $1.backend }
        }
    }

    /// Stores a token record.
    public func add(_ token: TokenRecord) throws {
        try writer.write { db in try token.insert(db) }
    }

    /// Every token record, oldest first.
    public func tokens() throws -> [TokenRecord] {
        try writer.read { db in try TokenRecord.order(Column("createdAt")).fetchAll(db) }
    }

    /// Deletes a token record; false when there is none with that id.
    @discardableResult
    public func deleteToken(id: String) throws -> Bool {
        try writer.write { db in try TokenRecord.deleteOne(db, key: id) }
    }

    // MARK: Asynchronous invocations

    /// Stores an accepted invocation (committed when this returns).
    public func insert(_ invocation: AsyncInvocationRecord) throws {
        try writer.write { db in try invocation.insert(db) }
    }

    /// One asynchronous invocation, or nil.
    public func asyncInvocation(id: String) throws -> AsyncInvocationRecord? {
        try writer.read { db in try AsyncInvocationRecord.fetchOne(db, key: id) }
    }

    /// Marks up to `limit` queued invocations due at `now` as running (oldest first), counting an
    /// attempt for each, and returns them.
    public func claimAsyncInvocations(limit: Int, now: Date = Date()) throws -> [AsyncInvocationRecord] {
        guard limit > 0 else { return [] }
        return try writer.write { db in
            var due = try AsyncInvocationRecord.filter(Column("state") == AsyncInvocationState.queued.rawValue && Column("notBefore") <= now)
                .order(Column("notBefore"), Column("createdAt")).limit(limit).fetchAll(db)
            for i in due.indices {
                due[i].state = AsyncInvocationState.running.rawValue
                due[i].attempts += 1
                try due[i].update(db)
            }
            return due
        }
    }

    /// When the next queued invocation falls due (nil: none is queued).
    public func nextAsyncDue() throws -> Date? {
        try writer.read { db in
            try Date.fetchOne(db, sql: "SELECT MIN(notBefore) FROM async_invocation WHERE state = 'queued'")
        }
    }

    /// Stores an invocation's new state (its result, a retry or its failure).
    public func update(_ invocation: AsyncInvocationRecord) throws {
        try writer.write { db in try invocation.update(db) }
    }

    /// Puts invocations left `running` (by a server that stopped or died) back in the queue; how many.
    @discardableResult
    public func requeueRunningAsyncInvocations() throws -> Int {
        try writer.write { db in
            try db.execute(sql: "UPDATE async_invocation SET state = 'queued' WHERE state = 'running'")
            return db.changesCount
        }
    }

    /// Forgets finished invocations whose results expired by `now`; how many.
    @discardableResult
    public func deleteExpiredAsyncInvocations(now: Date = Date()) throws -> Int {
        try writer.write { db in try AsyncInvocationRecord.filter(Column("expiresAt") != nil && Column("expiresAt") <= now).deleteAll(db) }
    }

    /// SQLite's own check of the database file: `ok`, or what is wrong.
    public func integrityCheck() throws -> String {
        try writer.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// Stores a control decision.
    public func record(_ decision: DecisionRecord) throws {
        try writer.write { db in try decision.insert(db) }
    }

    /// A function's decisions, oldest first: all of them, or the latest `limit` (chosen in SQL).
    public func decisions(of name: String, limit: Int? = nil) throws -> [DecisionRecord] {
        try writer.read { db in
            let all = DecisionRecord.filter(Column("function") == name)
            guard let limit else { return try all.order(Column("id")).fetchAll(db) }
            return try all.order(Column("id").desc).limit(max(0, limit)).fetchAll(db).reversed()
        }
    }
}
