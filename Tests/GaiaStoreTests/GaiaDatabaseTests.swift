import Foundation
import GaiaCore
import GaiaStore
import GRDB
import Testing

struct GaiaDatabaseTests {
    func manifest(_ name: String, mode: ExecutionMode = .cpu) -> FunctionManifest {
        FunctionManifest(
            name: name, entryPoint: "handler.py", handler: "handle", detectedMode: mode, confidence: 0.9,
            rationale: "\(mode): test", evidence: [], frameworks: [], estimatedWork: WorkEstimate(), analyzerVersion: "test")
    }

    @Test func everyDeployIsANewRevisionAndTheLatestServes() throws {
        let db = try GaiaDatabase.inMemory()
        #expect(try db.deploy(name: "matmul", manifest: manifest("matmul"), sourceDirectory: "/r1") == 1)
        #expect(try db.deploy(name: "matmul", manifest: manifest("matmul", mode: .gpu), sourceDirectory: "/r2") == 2)
        try db.deploy(name: "echo", manifest: manifest("echo"), sourceDirectory: "/e1")
        let current = try #require(try db.function(named: "matmul"))
        #expect(current.revision == 2 && current.sourceDirectory == "/r2" && current.manifest.mode == .gpu)
        #expect(try db.functions().map(\.name) == ["echo", "matmul"])
    }

    @Test func deleteHidesTheFunctionAndKeepsItsHistory() throws {
        let db = try GaiaDatabase.inMemory()
        try db.deploy(name: "idle", manifest: manifest("idle"), sourceDirectory: "/i1")
        try db.record([InvocationRecord(function: "idle", revision: 1, at: Date(), backend: "cpu-1", coldStart: true,
                                        durationMs: 5, queueMs: 1, status: 200, costUSD: 1e-7)])
        #expect(try db.delete(name: "idle"))
        #expect(try db.function(named: "idle") == nil)
        #expect(try db.functions().isEmpty)
        #expect(try db.invocations(of: "idle").count == 1)
        #expect(try !db.delete(name: "idle"))
        #expect(try db.deploy(name: "idle", manifest: manifest("idle"), sourceDirectory: "/i2") == 2, "a redeploy continues the numbering")
    }

    @Test func invocationsAndDecisionsRoundTrip() throws {
        let db = try GaiaDatabase.inMemory()
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let records = (0..<5).map { i in
            InvocationRecord(function: "f", revision: 1, at: at.addingTimeInterval(Double(i)), backend: "cpu-2",
                             coldStart: i == 0, durationMs: Double(i), queueMs: 0, status: 200, costUSD: 0.0001)
        }
        try db.record(records)
        let totals = try db.totals(of: "f")
        #expect(totals.invocations == 5 && totals.coldStarts == 1 && abs(totals.costUSD - 0.0005) < 1e-12)
        #expect(try db.totals(of: "none").invocations == 0)
        let newest = try db.invocations(of: "f", limit: 2)
        #expect(newest.map(\.durationMs) == [4, 3])
        #expect(newest[0].at == at.addingTimeInterval(4))
        try db.record(DecisionRecord(function: "f", at: at, kind: "scale", from: "1", to: "3", reason: "panic"))
        #expect(try db.decisions(of: "f").map(\.reason) == ["panic"])
    }

    @Test func activityCountsARecentSpanWithNearestRankPercentilesOfTheSuccessfulOnes() throws {
        let db = try GaiaDatabase.inMemory()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func record(_ ms: Double, ago seconds: Double, status: Int = 200, cold: Bool = false, function: String = "f") -> InvocationRecord {
            InvocationRecord(
                function: function, revision: 1, at: now.addingTimeInterval(-seconds), backend: "cpu-1", coldStart: cold, durationMs: ms,
                queueMs: 0, status: status, costUSD: 0.5)
        }
        // 100 successful invocations of 1…100 ms in the last minute, one failure, one cold start,
        // and what must not count: an older one and another function's.
        var records = (1...100).map { record(Double($0), ago: Double($0) / 10, cold: $0 == 7) }
        records += [record(5_000, ago: 30, status: 500), record(9_999, ago: 120), record(9_999, ago: 1, function: "g")]
        try db.record(records)
        let a = try db.activity(of: "f", since: now.addingTimeInterval(-60))
        #expect(a.invocations == 101 && a.errors == 1 && a.coldStarts == 1 && a.costUSD == 50.5)
        #expect(a.p50Ms == 50 && a.p95Ms == 95 && a.p99Ms == 99)
        let none = try db.activity(of: "f", since: now.addingTimeInterval(1))
        #expect(none == Activity())
        #expect(try db.activity(of: "f", since: now.addingTimeInterval(-3600)).invocations == 102)
    }

    @Test func costsAddTheBillAndInstanceTimePerRung() throws {
        let db = try GaiaDatabase.inMemory()
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try db.record([
            InvocationRecord(function: "f", revision: 1, at: at, backend: "cpu-1", coldStart: true, durationMs: 100, queueMs: 0, status: 200, costUSD: 0.001),
            InvocationRecord(function: "f", revision: 1, at: at, backend: "cpu-1", coldStart: false, durationMs: 300, queueMs: 0, status: 500, costUSD: 0.003),
            InvocationRecord(function: "f", revision: 1, at: at, backend: "cpu-2", coldStart: false, durationMs: 50, queueMs: 0, status: 200, costUSD: 0.002),
        ])
        try db.addUsage([("f", "cpu-1", 10, 0.0004), ("f", "cpu-2", 2, 0.0002)])
        try db.addUsage([("f", "cpu-1", 5, 0.0002), ("g", "cpu-1", 99, 1)])
        let costs = try db.costs(of: "f")
        #expect(costs.map(\.backend) == ["cpu-1", "cpu-2"])
        #expect(costs[0].invocations == 2 && costs[0].successful == 1 && costs[0].meanMs == 200)
        #expect(abs(costs[0].billedUSD - 0.004) < 1e-12 && costs[0].instanceSeconds == 15 && abs(costs[0].providerUSD - 0.0006) < 1e-12)
        #expect(costs[1].invocations == 1 && costs[1].instanceSeconds == 2)
        // Instance time on a rung that served nothing still shows.
        try db.addUsage([("f", "cpu-4", 1, 0.0001)])
        #expect(try db.costs(of: "f").last == RungCost(backend: "cpu-4", instanceSeconds: 1, providerUSD: 0.0001))
        try db.record(DecisionRecord(function: "f", at: at, kind: "promote", from: "cpu-1", to: "cpu-2", reason: "slow", measuredMs: 240, predictedMs: 132))
        let d = try #require(try db.decisions(of: "f").last)
        #expect(d.measuredMs == 240 && d.predictedMs == 132)
    }

    @Test func reopeningAFileKeepsTheData() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try GaiaDatabase(path: path).deploy(name: "echo", manifest: manifest("echo"), sourceDirectory: "/e")
        #expect(try GaiaDatabase(path: path).function(named: "echo")?.revision == 1)
    }

    @Test func sandboxUIDsAreOnePerNameForGoodAndABadRowIsRefused() throws {
        let database = try GaiaDatabase.inMemory()
        #expect(try database.sandboxUID(of: "a", first: 200_000) == 200_000)
        #expect(try database.sandboxUID(of: "b", first: 200_000) == 200_001)
        #expect(try database.sandboxUID(of: "a", first: 200_000) == 200_000, "a name keeps its uid")
        try database.delete(name: "a")
        #expect(try database.sandboxUID(of: "c", first: 200_000) == 200_002, "never given to another name")
        try database.writer.write { try $0.execute(sql: "UPDATE sandbox_user SET uid = 0 WHERE function = 'b'") }
        #expect(throws: (any Error).self, "a stored uid of root is refused, not used") { try database.sandboxUID(of: "b", first: 200_000) }
    }
}
