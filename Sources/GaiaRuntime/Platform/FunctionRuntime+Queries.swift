public import Foundation
public import GaiaCore
import GaiaAnalyzer
public import GaiaStore
import Logging
import PythonSyntax

/// What the runtime answers about its functions: instances, logs, idleness, rungs.
extension FunctionRuntime {
    // MARK: Queries

    /// Every deployed function, by name.
    public func functions() -> [StoredFunction] { live.values.map(\.stored).sorted { $0.name < $1.name } }

    /// One function, or a not-found error.
    /// Whether anyone may invoke a function without a token.
    public func isPublic(_ name: String) -> Bool {
        live[name]?.stored.manifest.publicInvoke == true
    }

    public func function(_ name: String) throws -> StoredFunction {
        guard let f = live[name] else { throw PlatformError("not_found", "no function named '\(name)'", status: 404) }
        return f.stored
    }

    /// Instances running or starting for a function.
    public func instanceCount(_ name: String) async -> Int {
        guard let f = live[name] else { return 0 }
        return await f.pool.instanceCount
    }

    /// Process ids of a function's running instances.
    public func pids(of name: String) async -> [Int32] {
        guard let f = live[name] else { return [] }
        return await f.pool.pids
    }

    /// The end of a function's instance logs (latest revision), oldest instance first.
    /// With `since` (a `LogLines` stamp), the lines at or after it of every log of the revision,
    /// merged in time order, each naming its instance (`i3`) or the platform's notes (`gaia`).
    public func logs(_ name: String, maxBytes: Int = 64 * 1024, since: String? = nil) throws -> String {
        let f = try function(name)
        if configuration.cluster != nil {
            return "\(name) runs on the cluster; its pods' logs: kubectl logs -l gaia.dev/function=\(name) -c function\n"
        }
        let dir = "\(configuration.dataDirectory)/logs/\(name)"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasPrefix("r\(f.revision)-") && $0.hasSuffix(".log") }.sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        // Only the end of each file is read: a function that prints without end costs the server
        // at most `maxBytes` per instance log here.
        let tails = files.compactMap { file -> (file: String, cut: Bool, tail: String)? in
            guard let handle = FileHandle(forReadingAtPath: "\(dir)/\(file)") else { return nil }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0)
            return (file, size > UInt64(maxBytes), String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self))
        }
        var text: String
        if let since {
            // `r1-3f2a-i3.log` → `i3`, `r1-gaia.log` → `gaia`.
            let logs = tails.map { (source: $0.file.dropLast(4).split(separator: "-").last.map(String.init) ?? $0.file, text: $0.tail) }
            text = LogLines.merged(logs, since: since).joined(separator: "\n")
            if !text.isEmpty { text += "\n" }
        } else {
            text = tails.filter { !$0.tail.isEmpty }.map { "==> \($0.file) <==\n\($0.cut ? "…\n" : "")\($0.tail)\n" }.joined()
        }
        return redacted(String(text.suffix(maxBytes)), f)
    }

    /// `text` with the function's secret values replaced by their names.
    func redacted(_ text: String, _ f: StoredFunction) -> String {
        guard f.manifest.secrets != nil else { return text }
        return SecretStore.redact(text, secrets.values(f.name, revision: f.revision))
    }

    /// Instance-seconds a function's instances spent with no request running, and its keep-alive windows.
    public func idleness(of name: String) throws -> (idleInstanceSeconds: Double, windows: KeepAliveWindows) {
        guard let f = live[name] else { throw PlatformError("not_found", "no function named '\(name)'", status: 404) }
        return (f.idleInstanceSeconds, f.controller.keepAlive.windows)
    }

    /// Where a function runs now, where it may run, and what its latency model expects on each rung.
    public func rung(of name: String) throws -> RungStatus {
        guard let f = live[name] else { throw PlatformError("not_found", "no function named '\(name)'", status: 404) }
        let c = f.controller.mode
        return RungStatus(
            current: f.backend, start: c.start, rungs: c.rungs, slo: c.slo,
            predictedMs: Dictionary(uniqueKeysWithValues: c.rungs.compactMap { r in c.model.predict(r).map { (r, $0) } }),
            measured: Set(c.rungs.filter { c.model.isMeasured($0) }), parallelFraction: c.model.parallelFraction,
            fitted: c.model.fitted, failed: c.failedRungs(at: .now), predictorError: f.controller.predictor.error,
            demandForecast: f.controller.demand.planned)
    }
}

/// What the store holds of the functions, read for the API: every read of invocation records first
/// applies the journal (`InvocationLog`), so it sees every invocation already answered. Reads run
/// on the caller's task, not on the runtime's actor (`nonisolated`).
extension FunctionRuntime {
    /// A function's invocation records, newest first.
    public nonisolated func invocationRecords(of name: String, limit: Int) async throws -> [InvocationRecord] {
        await records.flush()
        return try database.invocations(of: name, limit: limit)
    }

    /// One synchronous invocation's record, by its id.
    public nonisolated func invocationRecord(id: String) async throws -> InvocationRecord? {
        await records.flush()
        return try database.invocation(id: id)
    }

    /// One asynchronous invocation, by its id (kept for a day after it finished).
    public nonisolated func asyncInvocationRecord(id: String) throws -> AsyncInvocationRecord? {
        try database.asyncInvocation(id: id)
    }

    /// A function's invocations, cold starts and cost since it was first deployed.
    public nonisolated func totals(of name: String) async throws -> (invocations: Int, coldStarts: Int, costUSD: Double) {
        await records.flush()
        return try database.totals(of: name)
    }

    /// What each of `names` served over each of `windows` (seconds back from `now`): invocations,
    /// errors, cold starts, cost, latency, by name, in the windows' order (one journal flush for
    /// all; a read that fails gives an empty activity).
    public nonisolated func activity(of names: [String], over windows: [Double], until now: Date) async -> [String: [Activity]] {
        await records.flush()
        return Dictionary(uniqueKeysWithValues: names.map { name in
            (name, windows.map { (try? database.activity(of: name, since: now.addingTimeInterval(-$0))) ?? Activity() })
        })
    }

    /// A function's invocations and cost per rung.
    public nonisolated func costs(of name: String) async throws -> [RungCost] {
        await records.flush()
        return try database.costs(of: name)
    }

    /// A function's control decisions, newest last (at most `limit`).
    public nonisolated func decisionRecords(of name: String, limit: Int? = nil) throws -> [DecisionRecord] {
        try database.decisions(of: name, limit: limit)
    }
}

extension FunctionRuntime {
    /// The server will deploy these at start (`/readyz` waits for them).
    public func deploysAtStart(_ names: [String]) { startupDeploys.formUnion(names) }

    /// A deploy at start ended (deployed or refused).
    public func deployAtStartEnded(_ name: String) { startupDeploys.remove(name) }

    /// The deploys at start still in progress, by name.
    public func startupPending() -> [String] { startupDeploys.sorted() }
}

extension FunctionRuntime {
    /// A function's invocations running or waiting for an instance now, newest first: id, arrival,
    /// revision and the rung it was sent to (it may move with a switch).
    public func invocationsInFlight(of name: String) -> [(id: String, at: Date, revision: Int, backend: Backend)] {
        inFlight.filter { $0.value.function == name }.map { ($0.key, $0.value.at, $0.value.revision, $0.value.backend) }
            .sorted { ($0.at, $0.id) > ($1.at, $1.id) }
    }
}
